"""Busy time: what keeps a team member from taking a booking besides their schedule.

Each source is a SELECT of `(staff_id, starts_at, ends_at)` (aware UTC) over the members
`staff_ids` whose intervals intersect [`start`, `end`). `earliest` is `start` less the longest
an interval of any source can last, so that a source can keep its query an index range scan on
(member, start) however much history it holds. Availability reads every source in one
statement with the records of a request (`repository.BUSY_AND_VERSION`), and the booking rules
see the same intervals through it: a new kind of busy time (group-event sessions) is one more
entry in `SOURCES`.
"""

from __future__ import annotations

from sqlalchemy import Select, bindparam, select

from openbooking.models import Record
from openbooking.models.records import MAX_RECORD_SECONDS, RECORD_ACTIVE

# No interval of any source is longer than this.
MAX_BUSY_SECONDS = MAX_RECORD_SECONDS

_records = Record.__table__.c

RECORDS: Select[tuple[int, object, object]] = select(
    _records.staff_id.label("staff_id"),
    _records.starts_at.label("starts_at"),
    _records.ends_at.label("ends_at"),
).where(
    _records.staff_id.in_(bindparam("staff_ids", expanding=True)),
    _records.status == RECORD_ACTIVE,
    _records.starts_at >= bindparam("earliest"),
    _records.starts_at < bindparam("end"),
    _records.ends_at > bindparam("start"),
)

SOURCES: tuple[Select[tuple[int, object, object]], ...] = (RECORDS,)
