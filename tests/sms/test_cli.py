"""`openbooking sms outbox` in a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pathlib import Path

RECORDS = [
    {
        "to": "+49151123",
        "text": "Code 1111",
        "location_id": 1,
        "created_at": "2025-01-01T10:00:00Z",
    },
    {"to": "+1555", "text": "Code 2222", "location_id": 2, "created_at": "2025-01-01T10:01:00Z"},
    {
        "to": "+49151123",
        "text": "Code 3333\nsecond\tline",
        "location_id": 1,
        "created_at": "2025-01-01T10:02:00+00:00",
    },
]
LINES = [
    "2025-01-01T10:00:00Z\t+49151123\t1\tCode 1111",
    "2025-01-01T10:01:00Z\t+1555\t2\tCode 2222",
    "2025-01-01T10:02:00+00:00\t+49151123\t1\tCode 3333\\nsecond\\tline",
]


class Outbox:
    def __init__(self, var_dir: Path) -> None:
        self.path = var_dir / "sms-outbox.jsonl"
        self.env = {**os.environ, "OPENBOOKING_VAR_DIR": str(var_dir)}
        self.env.pop("OPENBOOKING_SMS_OUTBOX", None)

    def write(self, *lines: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")

    def __call__(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", "from openbooking.sms.cli import app; app()", "outbox", *args],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    return Outbox(tmp_path / "var")


def lines_of(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout.splitlines()


def test_no_outbox_prints_nothing(outbox: Outbox) -> None:
    assert lines_of(outbox()) == []
    assert lines_of(outbox("--phone", "+1555", "--last")) == []


def test_prints_every_message_oldest_first(outbox: Outbox) -> None:
    outbox.write(*(json.dumps(record) for record in RECORDS))
    assert lines_of(outbox()) == LINES


def test_phone_matches_however_it_is_written(outbox: Outbox) -> None:
    outbox.write(*(json.dumps(record) for record in RECORDS))
    assert lines_of(outbox("--phone", "+49 151 123")) == [LINES[0], LINES[2]]
    assert lines_of(outbox("--phone", "+49-(151)-123", "--last")) == [LINES[2]]
    assert lines_of(outbox("--phone", "+7 000")) == []


def test_last_alone_is_the_newest_message(outbox: Outbox) -> None:
    outbox.write(*(json.dumps(record) for record in RECORDS))
    assert lines_of(outbox("--last")) == [LINES[2]]


def test_a_broken_outbox_is_one_line_on_stderr(outbox: Outbox) -> None:
    outbox.write(json.dumps(RECORDS[0]), "{broken")
    result = outbox()
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"openbooking: error: {outbox.path}:2: not an outbox record"
    ]


def test_a_bad_setting_is_one_line_on_stderr(outbox: Outbox) -> None:
    result = outbox(OPENBOOKING_SMS_TIMEOUT_SECONDS="soon")
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("openbooking: error: bad OPENBOOKING_* setting:")
