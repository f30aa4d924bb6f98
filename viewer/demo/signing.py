"""HMAC-signed tokens of the stand-in server: pre-signed asset URLs and opaque list cursors.

Asset URLs imitate pre-signed S3 GET URLs: ``/<scanId>/<filename>?X-Expires=<unix>&X-Signature=<hex>``
where the signature is an HMAC-SHA256 of ``path + "\\n" + expires`` under the server's secret. A URL
is refused once its expiry has passed or when any of path, expiry or signature was changed.

List cursors are ``base64url(json) + "." + hmac`` so a client can pass them back but not forge or
edit them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import secrets
import time
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable


def new_secret() -> bytes:
    """A fresh random secret (each server instance signs with its own)."""
    return secrets.token_bytes(32)


def _mac(secret: bytes, message: str) -> str:
    return hmac.new(secret, message.encode("utf-8"), hashlib.sha256).hexdigest()


class UrlCheck(Enum):
    """Verdict on a pre-signed asset URL."""

    VALID = "valid"
    EXPIRED = "expired"
    BAD_SIGNATURE = "bad-signature"


@dataclass(frozen=True)
class SignedQuery:
    expires: int
    signature: str

    def as_query(self) -> str:
        return f"X-Expires={self.expires}&X-Signature={self.signature}"


class UrlSigner:
    """Signs asset paths for ``ttl_s`` seconds and checks signed requests against ``clock``."""

    def __init__(self, secret: bytes, ttl_s: float, clock: Callable[[], float] = time.time) -> None:
        if ttl_s <= 0:
            raise ValueError("URL lifetime must be positive")
        self._secret = secret
        self.ttl_s = ttl_s
        self._clock = clock

    def sign(self, path: str) -> SignedQuery:
        expires = math.ceil(self._clock() + self.ttl_s)
        return SignedQuery(expires, _mac(self._secret, f"{path}\n{expires}"))

    def check(self, path: str, expires: str | None, signature: str | None) -> UrlCheck:
        if not expires or not signature or not expires.isdigit():
            return UrlCheck.BAD_SIGNATURE
        expected = _mac(self._secret, f"{path}\n{expires}")
        if not hmac.compare_digest(expected, signature):
            return UrlCheck.BAD_SIGNATURE
        if self._clock() > int(expires):
            return UrlCheck.EXPIRED
        return UrlCheck.VALID


class CursorCodec:
    """Opaque, tamper-evident cursors carrying a small JSON object."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def encode(self, payload: dict[str, Any]) -> str:
        text = json.dumps(payload, separators=(",", ":"), sort_keys=True)
        body = base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")
        return f"{body}.{_mac(self._secret, body)[:32]}"

    def decode(self, cursor: str) -> dict[str, Any] | None:
        """The payload, or None when the cursor is malformed or was not made by this codec."""
        body, dot, mac = cursor.partition(".")
        if not dot or not hmac.compare_digest(_mac(self._secret, body)[:32], mac):
            return None
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            payload = json.loads(raw.decode("utf-8"))
        except (binascii.Error, ValueError):
            return None
        return payload if isinstance(payload, dict) else None
