"""Where the app keeps its cache, data and settings (platformdirs, overridable for tests).

``SCAN_VIEWER_CACHE_DIR``, ``SCAN_VIEWER_DATA_DIR`` and ``SCAN_VIEWER_CONFIG_DIR`` override the
platform's user directories; tests point them at temporary folders.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "scan-viewer"


def _dir(env: str, default: str) -> Path:
    value = os.environ.get(env)
    return Path(value) if value else Path(default)


def cache_dir() -> Path:
    return _dir("SCAN_VIEWER_CACHE_DIR", platformdirs.user_cache_dir(APP_NAME))


def data_dir() -> Path:
    return _dir("SCAN_VIEWER_DATA_DIR", platformdirs.user_data_dir(APP_NAME))


def config_dir() -> Path:
    return _dir("SCAN_VIEWER_CONFIG_DIR", platformdirs.user_config_dir(APP_NAME))
