from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from openbooking.sms.base import SmsDeliveryError, SmsMessage
from openbooking.sms.outbox import OutboxSender, read_outbox
from tests.sms.conftest import SECRET_TEXT

if TYPE_CHECKING:
    from pathlib import Path


class TestOutboxSender:
    async def test_writes_one_json_object_per_line(self, tmp_path: Path) -> None:
        path = tmp_path / "new" / "dir" / "outbox.jsonl"
        sender = OutboxSender(path)
        await sender.send(SmsMessage(to="+4915112345678", text=SECRET_TEXT, location_id=7))
        await sender.send(SmsMessage(to="+4915100000000", text="two\u2028three", location_id=8))

        assert path.stat().st_mode & 0o077 == 0  # codes are for the owner only
        raw = path.read_bytes()
        assert "Привет".encode() in raw  # UTF-8, not \u escapes
        lines = raw.decode().split("\n")
        assert lines[-1] == ""
        first, second = (json.loads(line) for line in lines[:-1])
        assert set(first) == {"to", "text", "location_id", "created_at"}
        assert first["to"] == "+4915112345678"
        assert first["text"] == SECRET_TEXT
        assert first["location_id"] == 7
        assert second["text"] == "two\u2028three"
        created = datetime.fromisoformat(first["created_at"])
        assert created.utcoffset() == timedelta(0)

    async def test_a_folder_removed_between_sends_is_made_again(self, tmp_path: Path) -> None:
        path = tmp_path / "var" / "outbox.jsonl"
        sender = OutboxSender(path)
        await sender.send(SmsMessage(to="+1555", text="first", location_id=1))
        path.unlink()
        path.parent.rmdir()
        await sender.send(SmsMessage(to="+1555", text="second", location_id=1))
        assert [record["text"] for record in read_outbox(path)] == ["second"]

    async def test_concurrent_sends_give_intact_lines(self, tmp_path: Path) -> None:
        path = tmp_path / "outbox.jsonl"
        sender = OutboxSender(path)
        texts = [f"message {n} " + "x" * 4000 for n in range(50)]
        await asyncio.gather(
            *(sender.send(SmsMessage(to="+1555", text=text, location_id=1)) for text in texts)
        )
        lines = path.read_text(encoding="utf-8").splitlines()
        assert len(lines) == 50
        assert sorted(json.loads(line)["text"] for line in lines) == sorted(texts)

    def test_processes_appending_at_once_give_intact_lines(self, tmp_path: Path) -> None:
        path = tmp_path / "outbox.jsonl"
        script = (
            "import asyncio, sys\n"
            "from pathlib import Path\n"
            "from openbooking.sms.base import SmsMessage\n"
            "from openbooking.sms.outbox import OutboxSender\n"
            "sender = OutboxSender(Path(sys.argv[1]))\n"
            "async def main():\n"
            "    await asyncio.gather(*(sender.send(SmsMessage(\n"
            "        to=sys.argv[2], text=str(n) + 'y' * 8000, location_id=n))\n"
            "        for n in range(25)))\n"
            "asyncio.run(main())\n"
        )
        workers = [
            subprocess.Popen([sys.executable, "-c", script, str(path), f"+100{worker}"])
            for worker in range(4)
        ]
        assert [worker.wait(timeout=120) for worker in workers] == [0, 0, 0, 0]
        records = read_outbox(path)
        assert len(records) == 100
        assert {(record["to"], record["location_id"]) for record in records} == {
            (f"+100{worker}", n) for worker in range(4) for n in range(25)
        }

    async def test_an_unwritable_outbox_is_a_delivery_error(self, tmp_path: Path) -> None:
        blocker = tmp_path / "file"
        blocker.write_text("")
        sender = OutboxSender(blocker / "outbox.jsonl")
        with pytest.raises(SmsDeliveryError) as caught:
            await sender.send(SmsMessage(to="+1555", text=SECRET_TEXT, location_id=1))
        assert SECRET_TEXT not in str(caught.value)


class TestReadOutbox:
    @pytest.fixture
    async def outbox(self, tmp_path: Path) -> Path:
        path = tmp_path / "outbox.jsonl"
        sender = OutboxSender(path)
        for to, text in [("+49151123", "a"), ("+1555", "b"), ("+49151123", "c")]:
            await sender.send(SmsMessage(to=to, text=text, location_id=1))
        return path

    def test_missing_file_is_empty(self, tmp_path: Path) -> None:
        assert read_outbox(tmp_path / "nothing.jsonl") == []

    def test_all_in_file_order(self, outbox: Path) -> None:
        assert [record["text"] for record in read_outbox(outbox)] == ["a", "b", "c"]

    @pytest.mark.parametrize("phone", ["+49151123", "+49 151 123", "+49-(151)-123"])
    def test_filters_by_phone_digits(self, outbox: Path, phone: str) -> None:
        assert [record["text"] for record in read_outbox(outbox, phone=phone)] == ["a", "c"]

    def test_last_is_the_newest_match(self, outbox: Path) -> None:
        assert [record["text"] for record in read_outbox(outbox, last=True)] == ["c"]
        assert [record["text"] for record in read_outbox(outbox, "+1555", last=True)] == ["b"]
        assert read_outbox(outbox, "+7000", last=True) == []

    def test_a_broken_line_is_named(self, outbox: Path) -> None:
        with outbox.open("a", encoding="utf-8") as handle:
            handle.write('{"to": "+1"\n')
        with pytest.raises(ValueError, match=r"outbox\.jsonl:4: not an outbox record"):
            read_outbox(outbox)
