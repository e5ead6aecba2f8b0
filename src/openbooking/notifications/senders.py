"""E-mail senders: SMTP (STARTTLS, implicit TLS, or plain on a trusted network) via aiosmtplib,
and for development and tests an outbox file, one JSON line per message
(`openbooking notifications outbox`)."""

from __future__ import annotations

import json
import os
import ssl
from email.message import EmailMessage
from email.utils import make_msgid
from typing import TYPE_CHECKING, Any, Protocol

import aiosmtplib
import anyio.to_thread

from openbooking.kit import clock

if TYPE_CHECKING:
    from pathlib import Path

    from openbooking.config import Settings


class MailError(Exception):
    """The mail server did not take the message. Names no address and no content."""


class MailSender(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


def build(sender: str, to: str, payload: dict[str, Any]) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = str(payload["subject"])
    if payload.get("reply_to"):
        message["Reply-To"] = str(payload["reply_to"])
    message["Message-ID"] = make_msgid(domain="openbooking")
    message.set_content(str(payload["text"]))
    if payload.get("ics"):
        message.add_attachment(
            str(payload["ics"]).encode(),
            maintype="text",
            subtype="calendar",
            filename="appointment.ics",
            params={"method": "PUBLISH"},
        )
    return message


class OutboxMailer:
    """Appends each message as one JSON line (several processes may append)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def send(self, message: EmailMessage) -> None:
        attachments = [
            {"filename": part.get_filename(), "content": part.get_content()}
            for part in message.iter_attachments()
        ]
        body = message.get_body(("plain",))
        record = {
            "to": message["To"],
            "from": message["From"],
            "subject": message["Subject"],
            "text": body.get_content() if body is not None else "",
            "attachments": attachments,
            "created_at": clock.now().isoformat(),
        }
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode()
        try:
            await anyio.to_thread.run_sync(self._append, line)
        except OSError as exc:
            raise MailError(f"outbox {self.path}: {exc.strerror or exc}") from None

    def _append(self, line: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            if os.write(fd, line) != len(line):
                raise OSError("short write")
        finally:
            os.close(fd)


def read_outbox(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


class SmtpMailer:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        security: str,
        username: str,
        password: str,
        timeout: float,
        ca_file: Path | None = None,
    ) -> None:
        self.host, self.port, self.security = host, port, security
        self.username, self.password, self.timeout = username, password, timeout
        self.context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)

    async def send(self, message: EmailMessage) -> None:
        try:
            await aiosmtplib.send(
                message,
                hostname=self.host,
                port=self.port,
                username=self.username or None,
                password=self.password or None,
                use_tls=self.security == "tls",
                start_tls=self.security == "starttls",
                tls_context=self.context if self.security != "none" else None,
                timeout=self.timeout,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise MailError(f"SMTP {self.host}:{self.port}: {type(exc).__name__}") from None


def create_mailer(settings: Settings) -> MailSender:
    if settings.email_provider == "smtp":
        if not settings.smtp_host.strip():
            raise ValueError("OPENBOOKING_EMAIL_PROVIDER=smtp needs OPENBOOKING_SMTP_HOST")
        return SmtpMailer(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value(),
            timeout=settings.smtp_timeout_seconds,
            ca_file=settings.smtp_ca_file,
        )
    return OutboxMailer(settings.email_outbox_path())
