"""The user's remembered setup, stored as JSON in the config directory (no Qt needed).

Unknown or malformed values fall back to defaults: a damaged settings file never stops the app.
Window geometry and splitter sizes are Qt byte blobs and live in ``QSettings`` in the Qt layer.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from viewer.core.atomic_files import write_json_atomic
from viewer.core.paths import config_dir

log = logging.getLogger(__name__)

SETTINGS_FILE = "settings.json"
MAX_RECENT_TOKENS = 12


@dataclass(frozen=True)
class Settings:
    #: "demo", "production", "sandbox" or a custom base URL
    last_server: str | None = None
    recent_user_tokens: tuple[str, ...] = ()
    unit_system: str = "metric"
    cache_budget_mb: int = 2048
    cache_retention_days: float | None = 30.0
    extra: dict = field(default_factory=dict)

    def with_recent_token(self, token: str) -> "Settings":
        tokens = [token] + [t for t in self.recent_user_tokens if t != token]
        return replace(self, recent_user_tokens=tuple(tokens[:MAX_RECENT_TOKENS]))


def _coerce(data: dict) -> Settings:
    defaults = Settings()
    values = {}
    for f in fields(Settings):
        value = data.get(f.name, getattr(defaults, f.name))
        default = getattr(defaults, f.name)
        if f.name == "recent_user_tokens":
            value = tuple(t for t in value if isinstance(t, str)) if isinstance(value, list) else default
        elif f.name == "unit_system":
            value = value if value in ("metric", "imperial") else default
        elif f.name == "cache_budget_mb":
            value = int(value) if isinstance(value, (int, float)) and value > 0 else default
        elif f.name == "cache_retention_days":
            value = float(value) if isinstance(value, (int, float)) and value > 0 else None
        elif f.name == "last_server":
            value = value if isinstance(value, str) and value else None
        elif f.name == "extra":
            value = value if isinstance(value, dict) else {}
        values[f.name] = value
    return Settings(**values)


def load_settings(path: Path | None = None) -> Settings:
    path = path or config_dir() / SETTINGS_FILE
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable settings %s: %s", path, exc)
        return Settings()
    return _coerce(data) if isinstance(data, dict) else Settings()


def save_settings(settings: Settings, path: Path | None = None) -> None:
    path = path or config_dir() / SETTINGS_FILE
    data = asdict(settings)
    data["recent_user_tokens"] = list(settings.recent_user_tokens)
    write_json_atomic(path, data)
