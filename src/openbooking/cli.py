"""The `openbooking` command. A user's mistake prints one line and exits 1, never a traceback."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from sqlalchemy.engine import make_url

from openbooking.config import Settings
from openbooking.sms.cli import app as sms_app

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
token_app = typer.Typer(no_args_is_help=True, help="Partner (integrator) API tokens.")
app.add_typer(db_app, name="db")
app.add_typer(token_app, name="partner-token")
app.add_typer(sms_app, name="sms", help="The SMS outbox of the development sender.")
user_token_app = typer.Typer(no_args_is_help=True, help="Customers' API tokens.")
app.add_typer(user_token_app, name="user-token")
reminders_app = typer.Typer(no_args_is_help=True, help="SMS reminders of appointments.")
app.add_typer(reminders_app, name="reminders")
reviews_app = typer.Typer(no_args_is_help=True, help="Review requests after visits.")
app.add_typer(reviews_app, name="reviews")
events_app = typer.Typer(no_args_is_help=True, help="Group events (classes, workshops).")
app.add_typer(events_app, name="events")
calendar_app = typer.Typer(no_args_is_help=True, help="Team members' private calendar feeds.")
app.add_typer(calendar_app, name="calendar")
notifications_app = typer.Typer(
    no_args_is_help=True, help="E-mails and webhook calls about bookings."
)
app.add_typer(notifications_app, name="notifications")
webhooks_app = typer.Typer(no_args_is_help=True, help="Integrators' webhooks.")
app.add_typer(webhooks_app, name="webhooks")
business_user_app = typer.Typer(
    no_args_is_help=True, help="Business users: owners, administrators, team members."
)
app.add_typer(business_user_app, name="user")

DEMO_TOKEN_NAME = "demo"  # noqa: S105 - a name, not a secret
NO_SCHEMA = "the database has no schema yet: run `openbooking db upgrade`"


class CliError(Exception):
    """Printed as one line on stderr; exit status 1."""


def _settings() -> Settings:
    from pydantic import ValidationError  # noqa: PLC0415

    try:
        return Settings()
    except ValidationError as exc:
        # Name the variable; never echo the value (a database URL carries its password).
        raise CliError(
            "; ".join(
                f"bad {_variable(error['loc'])}: {error['msg'].removeprefix('Value error, ')}"
                for error in exc.errors()
            )
        ) from None
    except ValueError as exc:  # pydantic-settings' SettingsError: a list or map that is not JSON
        field = re.search(r'field "(\w+)"', str(exc))
        name = _variable((field[1],)) if field else "OPENBOOKING_* setting"
        raise CliError(f"bad {name}: not valid JSON") from None


def _variable(loc: tuple[int | str, ...]) -> str:
    return f"OPENBOOKING_{str(loc[0]).upper()}" if loc else "OPENBOOKING_* setting"


def _prepare_sqlite_dir(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_file_missing(url: str) -> bool:
    parsed = make_url(url)
    return (
        parsed.get_backend_name() == "sqlite"
        and parsed.database not in (None, "", ":memory:")
        and not Path(parsed.database).exists()
    )


async def _revision(engine: AsyncEngine) -> str | None:
    from openbooking import migrations  # noqa: PLC0415

    async with engine.connect() as connection:
        return await connection.run_sync(migrations.current)


async def _check_schema(engine: AsyncEngine) -> None:
    """A one-line error instead of SQL errors when the database was never migrated, or is
    older than this version of OpenBooking."""
    from openbooking import migrations  # noqa: PLC0415

    found = await _revision(engine)
    if found is None:
        raise CliError(NO_SCHEMA)
    if found != (head := migrations.head()):
        raise CliError(
            f"the database schema is at revision {found}, this version needs {head}: "
            "run `openbooking db upgrade`"
        )


def _in_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
    from openbooking.kit.db import create_engine, create_sessionmaker  # noqa: PLC0415

    if _sqlite_file_missing(settings.database_url):
        raise CliError(NO_SCHEMA)

    async def run() -> Any:
        engine = create_engine(settings.database_url)
        try:
            await _check_schema(engine)
            async with create_sessionmaker(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _upgrade(settings: Settings) -> tuple[str, bool]:
    """Migrate to the newest schema; returns what happened and whether anything changed."""
    from openbooking import migrations  # noqa: PLC0415
    from openbooking.kit.db import create_engine  # noqa: PLC0415

    async def revision() -> str | None:
        engine = create_engine(settings.database_url)
        try:
            return await _revision(engine)
        finally:
            await engine.dispose()

    _prepare_sqlite_dir(settings.database_url)
    before = None if _sqlite_file_missing(settings.database_url) else asyncio.run(revision())
    migrations.upgrade(settings.database_url)
    head = migrations.head()
    if before is None:
        return f"database schema created (revision {head})", True
    if before != head:
        return f"database migrated from revision {before} to {head}", True
    return f"database is already up to date (revision {head})", False


def _upgrade_quietly(settings: Settings) -> None:
    """`load` and `demo` create or migrate the schema first and say so only if they did."""
    message, changed = _upgrade(settings)
    if changed:
        typer.echo(message, err=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to the newest version."""
    message, _ = _upgrade(_settings())
    typer.echo(message, err=True)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port.", min=1, max=65535)] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes.", min=1, max=64)] = None,
    with_demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="First migrate, load the demo business once and print its partner token "
            "with a curl line to try (what scripts/run does).",
        ),
    ] = False,
) -> None:
    """Serve the HTTP API."""
    import uvicorn  # noqa: PLC0415

    settings = _settings()
    _metrics_dir(settings)  # first: before anything imports prometheus_client
    host = host or settings.host
    port = port or settings.port
    base = _base_url(host, port)
    if with_demo:
        _upgrade_quietly(settings)
        typer.echo(_demo_hints(_load_demo(settings), base, with_docs=False))
        typer.echo(_widget_urls(settings, base))
    typer.echo(_admin_hint(base, demo=with_demo))
    typer.echo(f"OpenBooking API on {base}/api/v1 (docs: {base}/docs)")
    # Links the server sends (manage links in SMS, calendar feeds) point here unless set.
    os.environ.setdefault("OPENBOOKING_PUBLIC_URL", base)
    from openbooking.server import MAX_HEAD_BYTES, BoundedHttpToolsProtocol  # noqa: PLC0415

    uvicorn.run(
        "openbooking.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers or settings.workers,
        log_level=settings.log_level.lower(),
        proxy_headers=False,
        access_log=False,  # ours (kit/middleware.Edge) logs route templates, not paths
        log_config=_log_config(settings.log_level, settings.log_format),
        http=BoundedHttpToolsProtocol,  # 431 for oversized heads, 408 for slow ones
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
    )


def _log_config(level: str, log_format: str = "text") -> dict[str, Any]:
    """uvicorn's logging setup, plus our own loggers and the root logger (other libraries) on
    the same console handler; every line carries the request id of the request it was logged
    in (kit/logs.py), and `json` makes every line one JSON object."""
    from uvicorn.config import LOGGING_CONFIG  # noqa: PLC0415

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["openbooking"] = {
        "handlers": ["default"],
        "level": level.upper(),
        "propagate": False,
    }
    config["root"] = {"handlers": ["default"], "level": "WARNING"}
    config["filters"] = {"request_id": {"()": "openbooking.kit.logs.RequestIdFilter"}}
    for handler in config["handlers"].values():
        handler["filters"] = ["request_id"]
    if log_format == "json":
        json_lines = {"()": "openbooking.kit.logs.JsonFormatter"}
        config["formatters"] = {"default": json_lines, "access": json_lines}
    else:
        config["formatters"]["default"]["()"] = "openbooking.kit.logs.TextFormatter"
    return config


def _metrics_dir(settings: Settings) -> None:
    """Prepare the directory where the worker processes keep their metric values (kit/metrics.py):
    created, emptied of an earlier run's value files (those only), and named in
    PROMETHEUS_MULTIPROC_DIR for this process and the workers it starts. prometheus-client reads
    the variable when it is first imported, hence before anything imports it."""
    directory = settings.metrics_path()
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory.resolve())


def _base_url(host: str, port: int) -> str:
    """The URL to type for a server listening on host:port (any-address binds: loopback)."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)  # noqa: S104
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@app.command()
def load(file: Annotated[Path, typer.Argument(help="A business file (YAML or JSON).")]) -> None:
    """Load a business file: all of it or nothing; reloading updates in place.
    Creates or migrates the database schema first."""
    from openbooking.business import service  # noqa: PLC0415
    from openbooking.business.document import BusinessFileError  # noqa: PLC0415

    settings = _settings()
    _upgrade_quietly(settings)
    try:
        _in_transaction(settings, lambda session: service.load_file(session, file))
    except BusinessFileError as exc:
        raise CliError(f"{file}: {exc}") from None
    typer.echo(f"loaded {file}", err=True)


@app.command()
def demo() -> None:
    """Load the bundled demo business once and print a partner token for it.
    Creates or migrates the database schema first."""
    settings = _settings()
    _upgrade_quietly(settings)
    token = _load_demo(settings)
    typer.echo(_demo_hints(token, _base_url(settings.host, settings.port), with_docs=True))


def _load_demo(settings: Settings) -> str:
    """Load the demo business once; the demo partner token (kept in var_dir, made anew if it
    no longer works)."""
    from openbooking.business import service  # noqa: PLC0415
    from openbooking.partners import service as partners  # noqa: PLC0415

    token_file = settings.var_dir / "demo-partner-token"
    saved = token_file.read_text().strip() if token_file.exists() else None

    async def work(session: AsyncSession) -> str:
        loaded = await service.load_demo_once(session)
        typer.echo("demo business loaded" if loaded else "demo business already loaded", err=True)
        if saved and await partners.find_active(session, saved):
            return saved
        await partners.delete(session, DEMO_TOKEN_NAME)
        return await partners.create(session, DEMO_TOKEN_NAME)

    token = _in_transaction(settings, work)
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return str(token)


def _widget_urls(settings: Settings, base: str) -> str:
    """One line per live booking form: the page where a person books on it."""
    from openbooking.widget import service  # noqa: PLC0415

    forms = _in_transaction(settings, service.pages)
    return "\n".join(f"Booking widget: {base}/b/{form_id}  ({title})" for form_id, title in forms)


def _admin_hint(base: str, *, demo: bool) -> str:
    """Where the business page is, and how its first user is made (docs/admin.md)."""
    scope = "--chain 1" if demo else "--location LOCATION_ID"
    return (
        f"Business page on {base}/admin; the first owner (the password is asked, or read from"
        f" stdin): openbooking user add EMAIL --role owner {scope}"
    )


def _demo_hints(token: str, base: str, *, with_docs: bool) -> str:
    lines = [
        f"Demo partner token: {token}",
        f"Try: curl -H 'Accept: application/vnd.api.v2+json' "
        f"-H 'Authorization: Bearer {token}' {base}/api/v1/bookform/1",
    ]
    if with_docs:
        lines.append(f"API docs: {base}/docs")
    return "\n".join(lines)


@token_app.command("create")
def token_create(name: str) -> None:
    """Create a token; it is printed once, alone on stdout, and only its hash is stored."""
    from openbooking.partners import service as partners  # noqa: PLC0415

    token = _in_transaction(_settings(), lambda session: partners.create(session, name))
    typer.echo(token)


@token_app.command("list")
def token_list() -> None:
    """Names, creation times and state of all partner tokens (never the tokens)."""
    from openbooking.partners import service as partners  # noqa: PLC0415

    async def work(session: AsyncSession) -> list[str]:
        return [
            f"{row.name}\t{row.created_at.isoformat()}\t"
            + ("revoked" if row.revoked_at else "active")
            for row in await partners.list_all(session)
        ]

    for line in _in_transaction(_settings(), work):
        typer.echo(line)


@token_app.command("revoke")
def token_revoke(name: str) -> None:
    """Revoke a token by name; requests with it get 401 from then on."""
    from openbooking.partners import service as partners  # noqa: PLC0415

    _in_transaction(_settings(), lambda session: partners.revoke(session, name))
    typer.echo(f"revoked {name}", err=True)


@user_token_app.command("revoke")
def user_token_revoke(
    phone: Annotated[str, typer.Argument(help="The customer's phone, e.g. +4915112345678.")],
) -> None:
    """Revoke every token of the customer with this phone; they fail on the next request."""
    from openbooking.kit.phones import PhoneError, normalize  # noqa: PLC0415
    from openbooking.verification import service  # noqa: PLC0415

    try:
        e164 = normalize(phone)
    except PhoneError as exc:
        raise CliError(f"{phone!r}: {exc}") from None
    count = _in_transaction(_settings(), lambda session: service.revoke_all(session, e164))
    typer.echo(f"revoked {count} token(s) of {e164}", err=True)


@reminders_app.command("run")
def reminders_run(
    limit: Annotated[int, typer.Option(help="At most this many reminders.", min=1)] = 500,
) -> None:
    """Send the SMS reminders that are due. Run it from cron every few minutes; overlapping
    runs, on one machine or several, send each reminder once."""
    from openbooking.bookings.notify import send_due_reminders  # noqa: PLC0415
    from openbooking.kit.db import create_engine, create_sessionmaker  # noqa: PLC0415
    from openbooking.sms.factory import create_sender  # noqa: PLC0415

    settings = _settings()
    if _sqlite_file_missing(settings.database_url):
        raise CliError(NO_SCHEMA)

    async def run() -> Any:
        engine = create_engine(settings.database_url)
        sender = create_sender(settings)
        try:
            await _check_schema(engine)
            return await send_due_reminders(create_sessionmaker(engine), sender, limit=limit)
        finally:
            if (close := getattr(sender, "aclose", None)) is not None:
                await close()
            await engine.dispose()

    result = asyncio.run(run())
    typer.echo(f"reminders: {result.due} due, {result.sent} sent, {result.failed} failed", err=True)
    if result.failed:
        raise typer.Exit(1)


def _secret_key(settings: Settings) -> bytes:
    """The server's HMAC key, as `serve` finds it (setting, or var_dir/secret-key)."""
    from openbooking.kit.crypto import load_or_create_key  # noqa: PLC0415

    if settings.secret_key:
        return settings.secret_key.get_secret_value().encode()
    return load_or_create_key(settings.var_dir / "secret-key")


def _public_url(settings: Settings) -> str:
    return settings.public_url.rstrip("/") or _base_url(settings.host, settings.port)


LocationOption = Annotated[int, typer.Option("--location", help="The location id.", min=1)]
StaffOption = Annotated[int, typer.Option("--staff", help="The team member's (staff) id.", min=1)]


@calendar_app.command("issue")
def calendar_issue(location: LocationOption, staff: StaffOption) -> None:
    """Print a new private feed URL of the member's appointments, once (only a keyed hash of
    its token is kept). Subscribe to it in Google, Apple or Outlook calendars."""
    from openbooking.notifications import service  # noqa: PLC0415

    settings = _settings()
    key = _secret_key(settings)
    token = _in_transaction(
        settings, lambda session: service.issue_calendar(session, key, location, staff)
    )
    typer.echo(f"{_public_url(settings)}/calendar/{token}.ics")


@calendar_app.command("revoke")
def calendar_revoke(location: LocationOption, staff: StaffOption) -> None:
    """Revoke every feed URL of the member; calendars subscribed to them get 404."""
    from openbooking.notifications import service  # noqa: PLC0415

    count = _in_transaction(
        _settings(), lambda session: service.revoke_calendar(session, location, staff)
    )
    typer.echo(f"revoked {count} calendar feed(s) of member {staff}", err=True)


@calendar_app.command("list")
def calendar_list() -> None:
    """Feeds: id, location, member, created, state (never the tokens)."""
    from openbooking.notifications import service  # noqa: PLC0415

    async def work(session: AsyncSession) -> list[str]:
        return [
            f"{row.id}\t{row.location_id}\t{row.staff_id}\t{row.created_at.isoformat()}\t"
            + ("revoked" if row.revoked_at else "active")
            for row in await service.calendar_tokens(session)
        ]

    for line in _in_transaction(_settings(), work):
        typer.echo(line)


@notifications_app.command("run")
def notifications_run(
    limit: Annotated[int, typer.Option(help="At most this many per round.", min=1)] = 100,
    forever: Annotated[
        bool, typer.Option("--forever", help="Keep delivering (a service), not one round (cron).")
    ] = False,
    poll: Annotated[
        float, typer.Option(help="With --forever: seconds between rounds.", min=0.1)
    ] = 5.0,
) -> None:
    """Deliver the e-mails and webhook calls that are due, and retry failed ones (backoff).
    Any number of runs, on one machine or several, may overlap: each message is leased to one
    of them at a time."""
    import httpx  # noqa: PLC0415

    from openbooking.kit.db import create_engine, create_sessionmaker  # noqa: PLC0415
    from openbooking.notifications import worker  # noqa: PLC0415
    from openbooking.notifications.senders import create_mailer  # noqa: PLC0415

    settings = _settings()
    if _sqlite_file_missing(settings.database_url):
        raise CliError(NO_SCHEMA)
    try:
        mailer = create_mailer(settings)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    key = _secret_key(settings)

    async def run() -> Any:
        engine = create_engine(settings.database_url)
        try:
            await _check_schema(engine)
            async with httpx.AsyncClient(follow_redirects=False) as client:
                delivery = worker.Delivery(
                    mailer, client, key, settings.email_from, settings.webhook_timeout_seconds
                )
                sessions = create_sessionmaker(engine)
                if forever:
                    await worker.run_forever(sessions, delivery, poll_seconds=poll, limit=limit)
                return await worker.deliver_due(sessions, delivery, limit=limit)
        finally:
            await engine.dispose()

    result = asyncio.run(run())
    typer.echo(
        f"notifications: {result.claimed} due, {result.sent} sent, {result.retrying} to retry, "
        f"{result.given_up} given up",
        err=True,
    )
    if result.retrying or result.given_up:
        raise typer.Exit(1)


@notifications_app.command("outbox")
def notifications_outbox() -> None:
    """The e-mails the outbox provider wrote, oldest first: created_at, to, subject."""
    from openbooking.notifications.senders import read_outbox  # noqa: PLC0415

    for mail in read_outbox(_settings().email_outbox_path()):
        typer.echo(f"{mail['created_at']}\t{mail['to']}\t{mail['subject']}")


@webhooks_app.command("secrets")
def webhooks_secrets(location: LocationOption) -> None:
    """Print the location's webhook endpoints with their signing secrets: URL, events,
    secret (tab-separated). The secrets are derived from the server key; raise an endpoint's
    `secret_version` in the business file to rotate its secret."""
    from openbooking.notifications import service  # noqa: PLC0415
    from openbooking.notifications.webhooks import secret  # noqa: PLC0415

    settings = _settings()
    key = _secret_key(settings)
    hooks = _in_transaction(settings, lambda session: service.webhooks_of(session, location))
    for hook in hooks:
        events = ",".join(hook.get("events", []))
        version = int(hook.get("secret_version", 1))
        typer.echo(f"{hook['url']}\t{events}\t{secret(key, location, hook['url'], version)}")


@reviews_app.command("run")
def reviews_run(
    limit: Annotated[int, typer.Option(help="At most this many visits.", min=1)] = 500,
) -> None:
    """Text each customer whose visit has ended a link to review it (once per visit). Run it
    from cron every few minutes; overlapping runs, on one machine or several, text each visit
    once. Needs OPENBOOKING_REVIEW_URL."""
    from openbooking.kit.db import create_engine, create_sessionmaker  # noqa: PLC0415
    from openbooking.reviews.notify import send_review_requests  # noqa: PLC0415
    from openbooking.sms.factory import create_sender  # noqa: PLC0415

    settings = _settings()
    if not settings.review_url:
        raise CliError(
            "set OPENBOOKING_REVIEW_URL to the review page, with {token} where the visit's "
            "token goes (e.g. https://book.example.com/review/{token})"
        )
    if _sqlite_file_missing(settings.database_url):
        raise CliError(NO_SCHEMA)
    key = _secret_key(settings)
    link = settings.review_url

    async def run() -> Any:
        engine = create_engine(settings.database_url)
        sender = create_sender(settings)
        try:
            await _check_schema(engine)
            return await send_review_requests(
                create_sessionmaker(engine), sender, key=key, link=link, limit=limit
            )
        finally:
            if (close := getattr(sender, "aclose", None)) is not None:
                await close()
            await engine.dispose()

    result = asyncio.run(run())
    typer.echo(
        f"review requests: {result.due} due, {result.sent} sent, {result.failed} failed", err=True
    )
    if result.failed:
        raise typer.Exit(1)


@events_app.command("extend")
def events_extend() -> None:
    """Make the sessions of every weekly series up to each location's booking horizon as it
    stands today. Run it daily from cron; loading the business file does the same."""
    from openbooking.activities import service  # noqa: PLC0415

    settings = _settings()
    locations, skipped = _in_transaction(settings, service.extend)
    typer.echo(
        f"events: sessions of {locations} location(s) made up to their horizon; "
        f"{skipped} left out over appointments",
        err=True,
    )


def _sqlite_path(settings: Settings, what: str) -> Path:
    parsed = make_url(settings.database_url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        raise CliError(
            f"{what} handles the SQLite database; for PostgreSQL use pg_dump and pg_restore "
            "(docs/deploy.md)"
        )
    return Path(str(parsed.database))


@app.command()
def backup(file: Annotated[Path, typer.Argument(help="Where to write the copy.")]) -> None:
    """Copy the SQLite database to FILE while the server keeps serving (one consistent
    snapshot, checked before it replaces FILE; readable by its owner only)."""
    from openbooking.kit.backup import BackupError, backup  # noqa: PLC0415

    database = _sqlite_path(_settings(), "backup")
    try:
        backup(database, file)
    except BackupError as exc:
        raise CliError(str(exc)) from None
    typer.echo(f"backed up {database} to {file}", err=True)


@app.command()
def restore(file: Annotated[Path, typer.Argument(help="A file made by `backup`.")]) -> None:
    """Replace the SQLite database's content with the backup FILE. Running servers need no
    restart: they see the restored data at their next request."""
    from openbooking import migrations  # noqa: PLC0415
    from openbooking.kit.backup import BackupError, restore  # noqa: PLC0415

    database = _sqlite_path(_settings(), "restore")
    if not database.exists():
        raise CliError(NO_SCHEMA)
    try:
        restore(database, file, expected_revision=migrations.head() or "")
    except BackupError as exc:
        raise CliError(str(exc)) from None
    typer.echo(f"restored {database} from {file}", err=True)


@app.command()
def openapi() -> None:
    """Print the API's OpenAPI document (the committed openapi.json is this output)."""
    from openbooking.app import create_app  # noqa: PLC0415

    schema = create_app(Settings(database_url="sqlite+aiosqlite://")).openapi()
    typer.echo(json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True))


@app.command("business-schema")
def business_schema() -> None:
    """Print the business file's JSON Schema (docs/business-file.schema.json is this output)."""
    from openbooking.business.schemas import json_schema  # noqa: PLC0415

    typer.echo(json.dumps(json_schema(), indent=2, ensure_ascii=False))


def _read_password(email: str, name: str, phone: str | None) -> str:
    """The new password from stdin (never from the command line): typed twice at a terminal,
    else the first line of what is piped in."""
    import getpass  # noqa: PLC0415

    from openbooking.backoffice import accounts  # noqa: PLC0415

    if sys.stdin.isatty():
        password = getpass.getpass("New password: ")
        if getpass.getpass("Again: ") != password:
            raise CliError("the passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    problem = accounts.password_problem(password, email, name, phone)
    if problem is not None:
        raise CliError(f"password refused: {problem}")
    return password


@business_user_app.command("add")
def business_user_add(  # noqa: PLR0917 - the command's options
    email: Annotated[str, typer.Argument(help="The login e-mail.")],
    role: Annotated[str, typer.Option(help="owner, administrator or member.")],
    location: Annotated[
        list[int] | None, typer.Option(help="A location (repeat for several).")
    ] = None,
    chain: Annotated[int | None, typer.Option(help="An owner's chain: all its locations.")] = None,
    staff: Annotated[int | None, typer.Option(help="A team member's own member id.")] = None,
    name: Annotated[str, typer.Option(help="The name shown in the history.")] = "",
    phone: Annotated[str | None, typer.Option(help="A phone that also logs in.")] = None,
) -> None:
    """Add a business user; the password is read from stdin (typed twice at a terminal)."""
    from openbooking.backoffice import accounts  # noqa: PLC0415
    from openbooking.kit.pool import BoundedPool  # noqa: PLC0415
    from openbooking.verification import passwords  # noqa: PLC0415

    settings = _settings()
    password = _read_password(email.strip().lower(), name, phone)
    password_hash = asyncio.run(passwords.hash_password(password, BoundedPool(1, 1)))

    async def work(session: AsyncSession) -> int:
        try:
            user = await accounts.add_user(
                session,
                email=email,
                role=role,
                location_ids=location or [],
                chain_id=chain,
                staff_id=staff,
                name=name,
                phone=phone,
                password_hash=password_hash,
            )
        except accounts.UserError as exc:
            raise CliError(str(exc)) from None
        return user.id

    user_id = _in_transaction(settings, work)
    typer.echo(f"added business user {user_id} ({role}) {email.strip().lower()}", err=True)


@business_user_app.command("password")
def business_user_password(
    email: Annotated[str, typer.Argument(help="The login e-mail.")],
) -> None:
    """Set a new password, read from stdin; every token of the user stops working."""
    from openbooking.backoffice import accounts  # noqa: PLC0415
    from openbooking.kit.pool import BoundedPool  # noqa: PLC0415
    from openbooking.verification import passwords  # noqa: PLC0415

    settings = _settings()

    async def find(session: AsyncSession) -> tuple[str, str, str | None]:
        try:
            user = await accounts.user_by_email(session, email)
        except accounts.UserError as exc:
            raise CliError(str(exc)) from None
        return user.email, user.name, user.phone

    password = _read_password(*_in_transaction(settings, find))
    password_hash = asyncio.run(passwords.hash_password(password, BoundedPool(1, 1)))

    async def work(session: AsyncSession) -> int:
        return await accounts.set_password(session, email, password_hash)

    count = _in_transaction(settings, work)
    typer.echo(f"password set; revoked {count} token(s)", err=True)


@business_user_app.command("list")
def business_user_list() -> None:
    """Id, e-mail, role, member and locations of every business user (never secrets)."""
    from openbooking.backoffice import accounts  # noqa: PLC0415

    async def work(session: AsyncSession) -> list[str]:
        return [
            f"{user.id}\t{user.email}\t{user.role}\t"
            f"{'chain ' + str(user.chain_id) if user.chain_id else '-'}\t"
            f"{user.staff_id or '-'}\t{','.join(map(str, locations)) or '-'}"
            for user, locations in await accounts.list_users(session)
        ]

    for line in _in_transaction(_settings(), work):
        typer.echo(line)


@business_user_app.command("remove")
def business_user_remove(email: Annotated[str, typer.Argument(help="The login e-mail.")]) -> None:
    """Remove a business user; their tokens stop working at once."""
    from openbooking.backoffice import accounts  # noqa: PLC0415

    async def work(session: AsyncSession) -> None:
        try:
            await accounts.remove_user(session, email)
        except accounts.UserError as exc:
            raise CliError(str(exc)) from None

    _in_transaction(_settings(), work)
    typer.echo(f"removed {email.strip().lower()}", err=True)


@business_user_app.command("revoke")
def business_user_revoke(email: Annotated[str, typer.Argument(help="The login e-mail.")]) -> None:
    """Revoke every token of a business user (they log in again)."""
    from openbooking.backoffice import accounts  # noqa: PLC0415

    async def work(session: AsyncSession) -> int:
        try:
            return await accounts.revoke_all(session, email)
        except accounts.UserError as exc:
            raise CliError(str(exc)) from None

    count = _in_transaction(_settings(), work)
    typer.echo(f"revoked {count} token(s) of {email.strip().lower()}", err=True)


@business_user_app.command("totp")
def business_user_totp(
    email: Annotated[str, typer.Argument(help="An owner's or administrator's e-mail.")],
    off: Annotated[bool, typer.Option("--off", help="Remove the second factor.")] = False,
) -> None:
    """Enrol a TOTP second factor (RFC 6238): prints the otpauth:// URI to scan, once; the
    user's tokens are revoked, and from then on POST /auth needs the app's code."""
    from openbooking.backoffice import accounts  # noqa: PLC0415

    settings = _settings()
    key = _secret_key(settings)

    async def work(session: AsyncSession) -> str | None:
        try:
            if off:
                await accounts.remove_totp(session, email)
                return None
            return await accounts.enroll_totp(session, key, email)
        except accounts.UserError as exc:
            raise CliError(str(exc)) from None

    uri = _in_transaction(settings, work)
    if uri is None:
        typer.echo(f"second factor removed for {email.strip().lower()}", err=True)
    else:
        typer.echo(uri)


def main() -> None:
    from openbooking.business.document import BusinessFileError  # noqa: PLC0415
    from openbooking.kit.errors import ApiError  # noqa: PLC0415
    from openbooking.partners.service import PartnerTokenError  # noqa: PLC0415

    try:
        app()
    except (CliError, BusinessFileError, PartnerTokenError, ApiError) as exc:
        typer.echo(f"openbooking: error: {exc}", err=True)
        sys.exit(1)
    except OSError as exc:
        typer.echo(f"openbooking: error: {exc.strerror or exc}", err=True)
        sys.exit(1)
