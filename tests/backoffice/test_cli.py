"""`openbooking user ...` as an operator runs it: a real process, a real SQLite file; the
password arrives on stdin, and the users it makes log in through the API."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import httpx
import pyotp

from openbooking.app import close_resources, create_app
from openbooking.config import Settings
from openbooking.kit.db import create_sessionmaker
from openbooking.partners import service as partners
from tests.conftest import SECRETS

if TYPE_CHECKING:
    from pathlib import Path

PASSWORD = "a long owner passphrase"
SECRETS.add(PASSWORD)


class Operator:
    def __init__(self, tmp_path: Path) -> None:
        self.url = f"sqlite+aiosqlite:///{tmp_path / 'ops.db'}"
        self.var = tmp_path / "var"
        self.env = {**os.environ, "OPENBOOKING_DATABASE_URL": self.url}
        self.env["OPENBOOKING_VAR_DIR"] = str(self.var)
        self.env.pop("OPENBOOKING_TEST_POSTGRES_URL", None)

    def __call__(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "openbooking", *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def one_line_error(result: subprocess.CompletedProcess[str], words: str) -> None:
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("openbooking: error:")
    assert words in line


async def test_add_log_in_change_password_and_remove(tmp_path: Path) -> None:
    run = Operator(tmp_path)
    assert run("demo").returncode == 0
    added = run("user", "add", "Olga@Example.org", "--role", "owner", "--chain", "1",
                "--name", "Olga", stdin=PASSWORD + "\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert PASSWORD not in added.stdout + added.stderr
    member = run("user", "add", "cam@example.org", "--role", "member", "--staff", "204",
                 stdin=PASSWORD + "\n")  # fmt: skip
    assert member.returncode == 0, member.stderr
    listed = run("user", "list")
    assert listed.stdout.splitlines() == [
        "1\tolga@example.org\towner\tchain 1\t-\t1001,1002",
        "2\tcam@example.org\tmember\t-\t204\t1002",
    ]
    one_line_error(run("user", "add", "x@example.org", "--role", "administrator",
                       "--location", "1001", stdin="short\n"), "at least 15")  # fmt: skip
    one_line_error(run("user", "add", "x@example.org", "--role", "boss", "--location", "1001",
                       stdin=PASSWORD + "\n"), "role must be")  # fmt: skip
    one_line_error(run("user", "add", "olga@example.org", "--role", "owner", "--chain", "1",
                       stdin=PASSWORD + "\n"), "exists")  # fmt: skip
    one_line_error(run("user", "add", "y@example.org", "--role", "member", "--location", "1001",
                       stdin=PASSWORD + "\n"), "--staff")  # fmt: skip
    one_line_error(run("user", "remove", "nobody@example.org"), "no business user")

    settings = Settings(database_url=run.url, var_dir=run.var)
    app = create_app(settings)
    try:
        async with create_sessionmaker(app.state.engine)() as session, session.begin():
            partner = await partners.create(session, "ops")
        SECRETS.add(partner)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:

            async def login(password: str = PASSWORD, **extra: Any) -> httpx.Response:
                return await http.post(
                    "/api/v1/auth",
                    json={"login": "olga@example.org", "password": password, **extra},
                    headers={"Authorization": f"Bearer {partner}"},
                )

            first = await login()
            assert first.status_code == 201, first.text
            token = first.json()["data"]["user_token"]
            SECRETS.add(token)
            headers = {"Authorization": f"Bearer {partner}, User {token}"}
            assert (await http.get("/api/v1/staff/1001", headers=headers)).status_code == 200

            new = "another long owner passphrase"
            SECRETS.add(new)
            assert run("user", "password", "olga@example.org", stdin=new + "\n").returncode == 0
            assert (await http.get("/api/v1/staff/1001", headers=headers)).status_code == 401
            assert (await login()).status_code == 401
            assert (await login(new)).status_code == 201

            enrolled = run("user", "totp", "olga@example.org")
            assert enrolled.returncode == 0, enrolled.stderr
            totp = pyotp.parse_uri(enrolled.stdout.strip())
            assert isinstance(totp, pyotp.TOTP)
            assert (await login(new)).status_code == 422
            code = totp.now()
            SECRETS.add(code)
            assert (await login(new, totp=code)).status_code == 201
            one_line_error(run("user", "totp", "cam@example.org"), "owners and administrators")
            assert run("user", "totp", "olga@example.org", "--off").returncode == 0

            assert run("user", "remove", "olga@example.org").returncode == 0
            assert (await login(new)).status_code == 401
    finally:
        await close_resources(app)
