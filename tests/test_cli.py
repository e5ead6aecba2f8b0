"""The `openbooking` command as a user runs it: a real process, a real SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory

from openbooking import migrations
from tests.conftest import free_port

GOOD_FILE = """
version: 1
locations:
  - id: 7001
    title: Pop-up Studio
    timezone: Europe/Lisbon
"""


class Cli:
    def __init__(self, tmp_path: Path) -> None:
        self.db = tmp_path / "nested" / "dir" / "cli.db"
        self.env = {
            **os.environ,
            "OPENBOOKING_DATABASE_URL": f"sqlite+aiosqlite:///{self.db}",
            "OPENBOOKING_VAR_DIR": str(tmp_path / "var"),
        }
        self.env.pop("OPENBOOKING_TEST_POSTGRES_URL", None)

    def __call__(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "openbooking", *args],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    runner = Cli(tmp_path)
    assert runner("db", "upgrade").returncode == 0
    return runner


def assert_one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("openbooking: error:")
    for word in words:
        assert word in lines[0]


def test_db_upgrade_creates_the_database_and_its_folder(cli: Cli) -> None:
    assert cli.db.exists()
    assert cli("db", "upgrade").returncode == 0  # idempotent


def test_load_good_and_bad_files(cli: Cli, tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(GOOD_FILE)
    assert cli("load", str(good)).returncode == 0
    assert cli("load", str(good)).returncode == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD_FILE.replace("Europe/Lisbon", "Atlantis/Capital"))
    assert_one_line_error(cli("load", str(bad)), "locations[0].timezone")
    assert_one_line_error(
        cli("load", str(tmp_path / "missing.yaml")), "cannot read", "missing.yaml"
    )


def test_partner_tokens(cli: Cli) -> None:
    created = cli("partner-token", "create", "acme widget")
    assert created.returncode == 0
    token = created.stdout.strip()
    assert created.stdout == token + "\n"
    assert len(token) >= 43
    assert token.encode() not in cli.db.read_bytes(), "only a hash is stored"
    assert_one_line_error(cli("partner-token", "create", "acme widget"), "already exists")
    listing = cli("partner-token", "list")
    assert "acme widget" in listing.stdout
    assert "active" in listing.stdout
    assert token not in listing.stdout
    assert cli("partner-token", "revoke", "acme widget").returncode == 0
    assert "revoked" in cli("partner-token", "list").stdout
    assert_one_line_error(cli("partner-token", "revoke", "nobody"), "no partner token")


def test_demo_loads_once_and_keeps_its_token(cli: Cli) -> None:
    first = cli("demo")
    assert first.returncode == 0, first.stderr
    assert "demo business loaded" in first.stderr
    second = cli("demo")
    assert "already loaded" in second.stderr
    token = first.stdout.split("Demo partner token: ")[1].split()[0]
    assert token in second.stdout


def test_bad_setting_names_the_variable(cli: Cli) -> None:
    assert_one_line_error(cli("serve", OPENBOOKING_PORT="not-a-port"), "OPENBOOKING_PORT")
    assert_one_line_error(
        cli("serve", OPENBOOKING_TRUSTED_PROXIES="[not json"), "OPENBOOKING_TRUSTED_PROXIES"
    )
    assert_one_line_error(
        cli("serve", OPENBOOKING_TRUSTED_PROXIES='["300.1.1.1"]'), "OPENBOOKING_TRUSTED_PROXIES"
    )


@pytest.mark.parametrize(
    ("url", "command"),
    [
        ("mysql://user:hunter2secret@db/x", ["db", "upgrade"]),
        ("garbage", ["partner-token", "list"]),
        ("postgresql://user:hunter2secret@db/x", ["serve"]),
    ],
)
def test_unsupported_database_url_names_the_variable(
    tmp_path: Path, url: str, command: list[str]
) -> None:
    result = Cli(tmp_path)(*command, OPENBOOKING_DATABASE_URL=url)
    assert_one_line_error(result, "OPENBOOKING_DATABASE_URL", "postgresql+asyncpg://")
    assert "hunter2secret" not in result.stderr


NEEDS_UPGRADE = (
    ["partner-token", "create", "acme"],
    ["partner-token", "list"],
    ["partner-token", "revoke", "acme"],
    ["user-token", "revoke", "+4915112345678"],
    ["reminders", "run"],
)


def test_commands_on_a_database_never_migrated_say_to_upgrade(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    for command in NEEDS_UPGRADE:  # no file, not even its folder
        assert_one_line_error(cli(*command), "openbooking db upgrade")
    assert not cli.db.exists()
    cli.db.parent.mkdir(parents=True)
    cli.db.touch()  # an empty SQLite file
    for command in NEEDS_UPGRADE[1::2]:
        assert_one_line_error(cli(*command), "openbooking db upgrade")


def test_commands_on_an_older_schema_say_to_upgrade(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    cli.db.parent.mkdir(parents=True)
    head = migrations.head()
    assert head is not None
    script = ScriptDirectory.from_config(migrations.alembic_config(""))
    previous = script.get_revision(head).down_revision
    assert isinstance(previous, str)
    migrations.upgrade(cli.env["OPENBOOKING_DATABASE_URL"], previous)
    assert_one_line_error(cli("partner-token", "list"), previous, head, "openbooking db upgrade")
    upgraded = cli("db", "upgrade")
    assert upgraded.returncode == 0
    assert f"migrated from revision {previous} to {head}" in upgraded.stderr
    assert cli("partner-token", "list").returncode == 0


def test_db_upgrade_says_what_it_did(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    created = cli("db", "upgrade")
    assert created.returncode == 0
    assert "schema created" in created.stderr
    again = cli("db", "upgrade")
    assert "already up to date" in again.stderr
    assert "created" not in again.stderr


def test_load_and_demo_create_the_schema_first(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(GOOD_FILE)
    loaded = Cli(tmp_path / "load")("load", str(good))
    assert loaded.returncode == 0, loaded.stderr
    assert "schema created" in loaded.stderr
    demo = Cli(tmp_path / "demo")("demo")
    assert demo.returncode == 0, demo.stderr
    assert "schema created" in demo.stderr
    assert "Demo partner token: " in demo.stdout
    assert "schema created" not in Cli(tmp_path / "demo")("demo").stderr


def test_serve_answers_over_http(tmp_path: Path) -> None:
    cli = Cli(tmp_path)  # `serve --demo` (scripts/run) migrates and loads the demo itself
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "openbooking",
            "serve",
            "--demo",
            *["--port", str(port), "--workers", "2"],
        ],
        # Without the partner cache a revocation is seen at once (tests/auth covers the cache).
        env={**cli.env, "OPENBOOKING_PARTNER_CACHE_SECONDS": "0"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/api/v1/bookform/1"
        deadline = time.monotonic() + 30
        while True:
            try:
                token = (tmp_path / "var" / "demo-partner-token").read_text().strip()
                response = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
                break
            except (httpx.TransportError, FileNotFoundError):
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert response.status_code == 200
        assert response.json()["data"]["company_id"] == 1001
        assert httpx.get(url).status_code == 401
        secret_path = f"/api/v1/user/records/1/{'ab12' * 8}"
        hashed = httpx.get(
            f"http://127.0.0.1:{port}{secret_path}", headers={"Authorization": f"Bearer {token}"}
        )
        assert hashed.status_code == 404
        assert cli("partner-token", "revoke", "demo").returncode == 0
        revoked = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
        assert revoked.status_code == 401
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    # The hints name the port the server really listens on.
    assert f"Demo partner token: {token}\n" in output
    assert f"'Authorization: Bearer {token}' {url}\n" in output
    assert f"docs: http://127.0.0.1:{port}/docs" in output
    # R18: the access log names the route, never the record hash in the path.
    assert "/user/records/{record_id}/{record_hash} 404" in output
    assert "ab12ab12" not in output


def test_user_token_revoke_errors_are_one_line(cli: Cli) -> None:
    assert_one_line_error(cli("user-token", "revoke", "+4915112345678"), "no customer")
    assert_one_line_error(cli("user-token", "revoke", "not a phone"), "not a phone")


def test_sms_outbox_lists_messages(cli: Cli, tmp_path: Path) -> None:
    empty = cli("sms", "outbox")
    assert empty.returncode == 0
    assert empty.stdout == ""
    outbox = tmp_path / "var" / "sms-outbox.jsonl"
    outbox.parent.mkdir(parents=True, exist_ok=True)
    outbox.write_text(
        '{"to": "+4915112345678", "text": "123456 is your code", "location_id": 1001, '
        '"created_at": "2026-12-01T08:00:00+00:00"}\n'
    )
    shown = cli("sms", "outbox", "--phone", "+49 151 12345678", "--last")
    assert shown.returncode == 0
    assert "123456 is your code" in shown.stdout


def test_business_schema_prints_the_published_schema(tmp_path: Path) -> None:
    result = Cli(tmp_path)("business-schema")
    assert result.returncode == 0, result.stderr
    published = Path(__file__).parent.parent / "docs" / "business-file.schema.json"
    assert result.stdout == published.read_text("utf-8")
