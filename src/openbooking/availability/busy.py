"""Busy time: what keeps a team member from taking a booking besides their schedule.

Each source is a SELECT of `(staff_id, starts_at, ends_at)` (aware UTC) over the members
`staff_ids` whose intervals intersect [`start`, `end`). `earliest` is `start` less the longest
an interval of any source can last, so that a source can keep its query an index range scan on
(member, start) however much history it holds. Availability reads every source in one
statement with the records of a request (`repository.BUSY_AND_VERSION`), and the booking rules
see the same intervals through it: a new kind of busy time (group-event sessions) is one more
entry in `SOURCES`.

Group-event sessions are one: an active session is busy time of its leader. Sessions are read
with the records of each request, never cached, so a reloaded business file counts at once.
"""

from __future__ import annotations

from sqlalchemy import ColumnClause, Select, String, bindparam, literal_column, select

from openbooking.models import EventSession, Record
from openbooking.models.activities import MAX_SESSION_SECONDS, SESSION_ACTIVE
from openbooking.models.records import MAX_RECORD_SECONDS, RECORD_ACTIVE

# No interval of any source is longer than this.
MAX_BUSY_SECONDS = max(MAX_RECORD_SECONDS, MAX_SESSION_SECONDS)

# The status is written into the SQL, not bound: the range indexes are partial (`WHERE status =
# 'active'`), and SQLite prepares a statement again on every run when a bound value decides
# whether such an index may be used (about 0.1 ms each time for these statements).
_ACTIVE_RECORD: ColumnClause[str] = literal_column(f"'{RECORD_ACTIVE}'", String)
_ACTIVE_SESSION: ColumnClause[str] = literal_column(f"'{SESSION_ACTIVE}'", String)

_records = Record.__table__.c

RECORDS: Select[tuple[int, object, object]] = select(
    _records.staff_id.label("staff_id"),
    _records.starts_at.label("starts_at"),
    _records.ends_at.label("ends_at"),
).where(
    _records.staff_id.in_(bindparam("staff_ids", expanding=True)),
    _records.status == _ACTIVE_RECORD,
    _records.starts_at >= bindparam("earliest"),
    _records.starts_at < bindparam("end"),
    _records.ends_at > bindparam("start"),
)

_sessions = EventSession.__table__.c

EVENT_SESSIONS: Select[tuple[int, object, object]] = select(
    _sessions.staff_id.label("staff_id"),
    _sessions.starts_at.label("starts_at"),
    _sessions.ends_at.label("ends_at"),
).where(
    _sessions.staff_id.in_(bindparam("staff_ids", expanding=True)),
    _sessions.status == _ACTIVE_SESSION,
    _sessions.starts_at >= bindparam("earliest"),
    _sessions.starts_at < bindparam("end"),
    _sessions.ends_at > bindparam("start"),
)

SOURCES: tuple[Select[tuple[int, object, object]], ...] = (RECORDS, EVENT_SESSIONS)
