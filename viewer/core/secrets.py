"""API keys in the OS keyring, one per server; a session-only store where no keyring works.

Keys are never written in plain text and never logged. Any keyring failure (no backend, locked,
D-Bus missing on a bare box) degrades to "not saved": the key then lasts for the session only.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

_ACCOUNT = "api-key"


class KeyStore:
    def __init__(self, use_keyring: bool = True) -> None:
        self._session: dict[str, str] = {}
        self._use_keyring = use_keyring

    def get(self, service: str) -> str | None:
        if service in self._session:
            return self._session[service]
        if not self._use_keyring:
            return None
        try:
            import keyring

            return keyring.get_password(service, _ACCOUNT) or None
        except Exception as exc:  # noqa: BLE001 - any backend problem means "no saved key"
            log.info("keyring unavailable (%s); no saved key for %s", type(exc).__name__, service)
            return None

    def set(self, service: str, key: str) -> bool:
        """Remember ``key`` for this session and try the keyring; True when the keyring kept it."""
        self._session[service] = key
        if not self._use_keyring:
            return False
        try:
            import keyring
            from keyring.backends import fail

            if isinstance(keyring.get_keyring(), fail.Keyring):
                return False
            keyring.set_password(service, _ACCOUNT, key)
            return True
        except Exception as exc:  # noqa: BLE001
            log.info("keyring unavailable (%s); key kept for this session only", type(exc).__name__)
            return False
