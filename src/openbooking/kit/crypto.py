"""Codes and keys from `secrets`, stored only as keyed hashes, compared in constant time."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

CODE_DIGITS = 6


def new_code() -> str:
    """Six ASCII digits, uniformly random (20 bits)."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def keyed_digest(key: bytes, *parts: str | int) -> str:
    """HMAC-SHA256 over the parts, separated so that no two part lists collide."""
    mac = _keyed(key).copy()
    mac.update("\x1f".join(str(part) for part in parts).encode())
    return mac.hexdigest()


@functools.lru_cache(maxsize=8)
def _keyed(key: bytes) -> hmac.HMAC:
    """HMAC-SHA256 keyed with `key`, to copy: the key and the hash are set up once, not per
    digest (a server has one or two keys)."""
    return hmac.new(key, digestmod=hashlib.sha256)


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def load_or_create_key(path: Path) -> bytes:
    """A 256-bit key kept in `path` (mode 0600), created once even with racing processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):
            text = path.read_text().strip()
            if text:
                return bytes.fromhex(text)
            import time  # noqa: PLC0415 - only on this rare path

            time.sleep(0.01)
        raise
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "w") as handle:
        handle.write(key.hex())
    return key


def _subkey(key: bytes, purpose: str) -> bytes:
    return hmac.new(key, f"seal\x1f{purpose}".encode(), hashlib.sha256).digest()


def seal(key: bytes, purpose: str, text: str) -> str:
    """A secret that must be read back (a TOTP seed), encrypted (AES-256-GCM) under a key
    derived from the server secret for `purpose`: url-safe base64 of nonce + ciphertext."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: PLC0415

    nonce = secrets.token_bytes(12)
    sealed = AESGCM(_subkey(key, purpose)).encrypt(nonce, text.encode(), purpose.encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(key: bytes, purpose: str, sealed: str) -> str:
    """What `seal` sealed; raises `ValueError` if it was tampered with or sealed otherwise."""
    from cryptography.exceptions import InvalidTag  # noqa: PLC0415
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: PLC0415

    raw = base64.urlsafe_b64decode(sealed.encode())
    try:
        text = AESGCM(_subkey(key, purpose)).decrypt(raw[:12], raw[12:], purpose.encode())
    except InvalidTag:
        raise ValueError("not sealed with this key") from None
    return text.decode()
