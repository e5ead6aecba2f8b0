"""The Authorization header: `Bearer <partner>` or `Bearer <partner>, User <user>`."""

from __future__ import annotations

import functools
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
MAX_ADDRESS_LENGTH = 64  # longer text (a scoped IPv6 address, noise) is parsed, not kept
IPV6_PREFIX = 64  # per-address limits count an IPv6 client's whole /64


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
    """Who the client is, for per-address limits: the socket peer, or, when the peer is a
    trusted proxy, the nearest untrusted address in X-Forwarded-For (clients can prepend
    anything, so the list is read from the right). An IPv6 client is its /64 network: one
    subscriber usually holds a whole /64, and would otherwise get a fresh budget per address."""
    if not peer:
        return "unknown"
    networks = _networks(tuple(trusted))

    def is_trusted(ip: Address | None) -> bool:
        return ip is not None and any(ip in network for network in networks)

    if forwarded_for and is_trusted(_address(peer)):
        for hop in reversed([part.strip() for part in forwarded_for.split(",")]):
            ip = _address(hop)
            if not is_trusted(ip):
                return _bucket(ip) if ip is not None else _peer_bucket(peer)
    return _peer_bucket(peer)


Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in trusted)


def _address(text: str) -> Address | None:
    """`text` as an IP address, or None. Parsed once per address seen recently: every request
    asks for its peer's."""
    return _parsed_address(text) if len(text) <= MAX_ADDRESS_LENGTH else _parse_address(text)


def _parse_address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


_parsed_address = functools.lru_cache(maxsize=4096)(_parse_address)


@functools.lru_cache(maxsize=4096)
def _peer_bucket(peer: str) -> str:
    ip = _address(peer)
    return _bucket(ip) if ip is not None else peer  # not an address: a test client, a socket


def _bucket(ip: Address) -> str:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_PREFIX), strict=False))
    return str(ip)
