from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_VAR_DIR = Path("var")
DATABASE_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")
DATABASE_URL_FORMS = "sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER:PASSWORD@HOST/DB"


class Settings(BaseSettings):
    """Every setting can be set as an environment variable `OPENBOOKING_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="OPENBOOKING_", env_file=None, extra="ignore")

    database_url: str = Field(
        default=f"sqlite+aiosqlite:///{DEFAULT_VAR_DIR / 'openbooking.db'}",
        description="SQLAlchemy URL: sqlite+aiosqlite:///path or postgresql+asyncpg://...",
    )
    database_pool_size: int = Field(
        default=20,
        ge=1,
        le=500,
        description="PostgreSQL connections each process keeps open for reuse, and the most it "
        "opens: a request that finds them all in use waits for one (up to 5 s, then 503).",
    )
    var_dir: Path = Field(
        default=DEFAULT_VAR_DIR, description="Runtime files (demo token, outbox)."
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    default_dialect: Literal["altegio", "yclients"] = Field(
        default="altegio",
        description="Dialect used when the Accept header names neither vendor media type.",
    )
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    body_timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, description="A body not in after this long gets 408."
    )
    shutdown_timeout_seconds: int = Field(
        default=20,
        gt=0,
        le=600,
        description="On SIGTERM, requests in flight get this long to finish before the exit.",
    )
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = Field(
        default="text", description="`json`: every log line of `serve` is one JSON object."
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token GET /metrics requires; unset: only loopback scrapers, unproxied.",
    )
    metrics_dir: Path | None = Field(
        default=None,
        description="Where the workers of `serve` keep their metric values (emptied at start); "
        "default var_dir/metrics.",
    )
    db_echo: bool = False

    partner_cache_seconds: float = Field(
        default=2.0,
        ge=0,
        le=60,
        description="How long a process trusts a partner token it found valid (revocation delay).",
    )
    # Reviews after a visit (docs/activities.md).
    review_url: str | None = Field(
        default=None,
        max_length=512,
        description="The review page customers open from the review SMS, `{token}` standing for "
        "the visit's token, e.g. https://book.example.com/review/{token}; "
        "`openbooking reviews run` needs it.",
    )

    # Secrets and shared state.
    secret_key: SecretStr | None = Field(
        default=None,
        description="HMAC key for SMS codes; unset: a random key kept in var_dir/secret-key.",
    )
    redis_url: str | None = Field(default=None, description="redis://... for shared rate limits.")
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Peers (IPs or CIDRs) whose X-Forwarded-For is believed.",
    )

    # SMS delivery.
    sms_provider: Literal["outbox", "console", "twilio", "http"] = "outbox"
    sms_outbox: Path | None = Field(default=None, description="Default: var_dir/sms-outbox.jsonl.")
    sms_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    twilio_account_sid: str = ""
    twilio_auth_token: SecretStr = SecretStr("")
    twilio_from: str = ""
    twilio_api_url: str = "https://api.twilio.com"
    sms_http_url: str = ""
    sms_http_headers: dict[str, str] = Field(default_factory=dict)
    sms_http_body: str = Field(
        default='{"to": "{to}", "text": "{text}"}',
        description="JSON template; {to}, {text} and {location_id} are replaced (JSON-escaped).",
    )

    # E-mail and webhook notices (docs/business-api.md: E-mail, Webhooks, Calendar feeds).
    email_provider: Literal["outbox", "smtp"] = Field(
        default="outbox", description="`outbox`: one JSON line per e-mail in email_outbox."
    )
    email_outbox: Path | None = Field(
        default=None, description="Default: var_dir/email-outbox.jsonl."
    )
    email_from: str = Field(
        default="OpenBooking <noreply@localhost>", description="The From of every e-mail."
    )
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description="`starttls` (port 587), `tls` (implicit TLS, port 465), or `none`.",
    )
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_ca_file: Path | None = Field(
        default=None, description="CA certificates (PEM) to trust instead of the system's."
    )
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    public_url: str = Field(
        default="",
        description="The server's address as customers and calendars reach it, e.g. "
        "https://booking.example.com; default http://HOST:PORT.",
    )

    # Verification limits (docs/security.md).
    code_ttl_seconds: int = Field(default=300, ge=30, le=600)
    code_max_attempts: int = Field(default=5, ge=1, le=10)
    phone_failures_per_hour: int = Field(
        default=10, ge=1, description="Failed code checks per hour of one phone from one address."
    )
    phone_failures_per_day: int = Field(
        default=20, ge=1, description="Failed code checks per day of one phone from one address."
    )
    code_failures_per_ip_hour: int = Field(
        default=20, ge=1, description="Failed code checks per hour from one address, any phone."
    )
    sms_min_interval_seconds: int = Field(default=60, ge=1)
    sms_per_phone_hour: int = Field(default=5, ge=1)
    sms_per_phone_day: int = Field(default=10, ge=1)
    sms_per_ip_hour: int = Field(default=20, ge=1)
    sms_phones_per_ip_hour: int = Field(default=5, ge=1)
    sms_per_prefix_hour: int = Field(
        default=10,
        ge=1,
        description="Code SMS per hour to one block of 10,000 numbers (the number less its last "
        "4 digits), from any address: SMS pumping walks through adjacent numbers.",
    )
    sms_location_daily_budget: int = Field(default=500, ge=1)
    password_failures_per_minute: int = Field(default=5, ge=1)
    password_checks_per_ip_minute: int = Field(
        default=10,
        ge=1,
        description="Password checks (argon2 runs) per minute per client address, whatever the "
        "login; counted before argon2 runs.",
    )
    password_hash_slots: int | None = Field(
        default=None,
        ge=1,
        description="argon2 hashes running at once per process (64 MiB each); unset: half the "
        "cores, at least 1.",
    )
    password_hash_queue: int = Field(
        default=8,
        ge=0,
        description="Password checks that may wait for a free argon2 slot; one more answers 429.",
    )
    user_token_ttl_days: int = Field(default=30, ge=1, le=30)
    admin_idle_minutes: int = Field(
        default=30,
        ge=1,
        le=720,
        description="The business page's session ends after this many minutes without use "
        "(its 12-hour limit stays); the page's own polling does not count as use.",
    )
    widget_requests_per_ip_minute: int = Field(
        default=240,
        ge=1,
        description="API calls per minute from one address with a booking form's public widget "
        "key (docs/widget.md).",
    )

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        # The messages never repeat the URL: it may carry a password.
        try:
            driver = make_url(value).drivername
        except ArgumentError:
            raise ValueError(f"not a database URL; expected {DATABASE_URL_FORMS}") from None
        if driver not in DATABASE_DRIVERS:
            raise ValueError(f"unsupported database {driver!r}; expected {DATABASE_URL_FORMS}")
        return value

    @field_validator("review_url")
    @classmethod
    def _review_link(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("https://", "http://")) or value.count("{token}") != 1:
            raise ValueError("expected an http(s) URL with {token} once in it")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            ipaddress.ip_network(entry, strict=False)  # ValueError names the bad entry
        return value

    def metrics_path(self) -> Path:
        return self.metrics_dir or self.var_dir / "metrics"

    def email_outbox_path(self) -> Path:
        return self.email_outbox or self.var_dir / "email-outbox.jsonl"

    def outbox_path(self) -> Path:
        return self.sms_outbox or self.var_dir / "sms-outbox.jsonl"
