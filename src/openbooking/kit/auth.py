"""The Authorization header: `Bearer <partner>` or `Bearer <partner>, User <user>`."""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
from dataclasses import dataclass

_AUTHORIZATION = re.compile(
    r"^\s*Bearer\s+(?P<partner>[^\s,]+)\s*(?:,\s*User\s+(?P<user>[^\s,]+)\s*)?$",
    re.IGNORECASE,
)
MAX_HEADER_LENGTH = 1024


@dataclass(frozen=True, slots=True)
class Credentials:
    partner_token: str
    user_token: str | None


def parse_authorization(header: str | None) -> Credentials | None:
    """Both tokens from the header, tolerant of spacing around the comma; None if malformed."""
    if not header or len(header) > MAX_HEADER_LENGTH:
        return None
    match = _AUTHORIZATION.match(header)
    if match is None:
        return None
    return Credentials(match["partner"], match["user"])


def new_token() -> str:
    """256 bits from the OS CSPRNG, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What is stored for a token. A plain SHA-256 suffices for 256-bit random secrets."""
    return hashlib.sha256(token.encode()).hexdigest()


def client_address(peer: str | None, forwarded_for: str | None, trusted: list[str]) -> str:
    """The socket peer, or, when the peer is a trusted proxy, the nearest untrusted address in
    X-Forwarded-For (clients can prepend anything, so the list is read from the right)."""
    if not peer:
        return "unknown"
    networks = [ipaddress.ip_network(entry, strict=False) for entry in trusted]

    def is_trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in networks)

    if not forwarded_for or not is_trusted(peer):
        return peer
    for hop in reversed([part.strip() for part in forwarded_for.split(",")]):
        if not is_trusted(hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer
    return peer
