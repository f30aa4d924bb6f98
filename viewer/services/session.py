"""One connection to one server: the client, the asset cache and the scan opener, together.

For the demo it also owns the in-process local server, started here (in a worker: generating the
demo set the first time takes a few seconds) and stopped by ``close()``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from viewer.api.client import PrismClient
from viewer.assets.cache import AssetCache
from viewer.core.paths import cache_dir
from viewer.core.server_choice import ServerTarget
from viewer.core.settings import Settings
from viewer.services.scan_opening import ScanOpener

log = logging.getLogger(__name__)


@dataclass
class ServerSession:
    target: ServerTarget
    base_url: str
    client: PrismClient
    cache: AssetCache
    opener: ScanOpener
    demo_server: Any = field(default=None, repr=False)  # PrismStandInServer for the demo

    def close(self) -> None:
        self.client.close()
        if self.demo_server is not None:
            self.demo_server.stop()
            self.demo_server = None


def _cache_for(target: ServerTarget, settings: Settings) -> AssetCache:
    # One cache folder per server: a demo scan id must never shadow a production one.
    folder = "".join(c if c.isalnum() or c in "-." else "_" for c in target.name)
    return AssetCache(cache_dir() / "assets" / folder, budget_bytes=settings.cache_budget_mb * 1024 * 1024,
                      retention_days=settings.cache_retention_days)


def connect(target: ServerTarget, api_key: str | None, settings: Settings) -> ServerSession:
    """Open a session; for the demo, start the local server first (slow the first time)."""
    demo_server = None
    if target.is_demo:
        from viewer.demo.server import start_demo_server

        demo_server = start_demo_server()
        base_url, api_key = demo_server.base_url, demo_server.api_key
    else:
        if not api_key:
            raise ValueError("a non-demo server needs an API key")
        base_url = target.base_url or ""
    client = PrismClient(base_url, api_key)
    cache = _cache_for(target, settings)
    return ServerSession(target, base_url, client, cache, ScanOpener(client, cache), demo_server)
