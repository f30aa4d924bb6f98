"""Which server the app talks to and with which key (the rules of the command line, in one place).

Server: ``--demo`` wins; else ``--base-url``; else ``--env production|sandbox``; else the one chosen
last time; else production when a key exists and the demo when none does.
Key: ``--api-key-env NAME`` (the name of a variable), else ``PRISM_API_KEY``, else the key saved for
that server in the OS keyring. The demo server needs no key from the user (it has its own).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

from viewer.api.client import PRODUCTION_URL, SANDBOX_URL

DEMO = "demo"
PRODUCTION = "production"
SANDBOX = "sandbox"
KEY_ENV_VAR = "PRISM_API_KEY"

_BUILT_IN = {PRODUCTION: PRODUCTION_URL, SANDBOX: SANDBOX_URL}


@dataclass(frozen=True)
class ServerTarget:
    #: DEMO, PRODUCTION, SANDBOX or the custom base URL itself
    name: str
    base_url: str | None  # None for the demo: known once the local server has started

    @property
    def is_demo(self) -> bool:
        return self.name == DEMO

    @property
    def label(self) -> str:
        """What the window shows: Demo data, Sandbox, Production or the URL."""
        return {DEMO: "Demo data", PRODUCTION: "Production", SANDBOX: "Sandbox"}.get(self.name, self.name)

    @property
    def keyring_service(self) -> str:
        return f"scan-viewer:{self.name}"


def target_from_name(name: str) -> ServerTarget:
    if name == DEMO:
        return ServerTarget(DEMO, None)
    if name in _BUILT_IN:
        return ServerTarget(name, _BUILT_IN[name])
    return ServerTarget(name.rstrip("/"), name.rstrip("/"))


@dataclass(frozen=True)
class KeyChoice:
    key: str | None
    source: str  # "--api-key-env NAME", "PRISM_API_KEY", "keyring", "demo" or "none"


def choose_server(
    *,
    demo: bool,
    base_url: str | None,
    env: str | None,
    remembered: str | None,
    key_available: bool,
) -> ServerTarget:
    if demo:
        return target_from_name(DEMO)
    if base_url:
        return target_from_name(base_url)
    if env:
        return target_from_name(env)
    if remembered:
        return target_from_name(remembered)
    return target_from_name(PRODUCTION if key_available else DEMO)


def choose_key(
    target: ServerTarget,
    *,
    api_key_env: str | None,
    environ: Mapping[str, str],
    keyring_get: Callable[[str], str | None],
) -> KeyChoice:
    if target.is_demo:
        return KeyChoice(None, "demo")
    if api_key_env:
        value = environ.get(api_key_env)
        return KeyChoice(value or None, f"--api-key-env {api_key_env}" if value else "none")
    if environ.get(KEY_ENV_VAR):
        return KeyChoice(environ[KEY_ENV_VAR], KEY_ENV_VAR)
    saved = keyring_get(target.keyring_service)
    return KeyChoice(saved, "keyring") if saved else KeyChoice(None, "none")
