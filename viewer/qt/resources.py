"""Find bundled resources (icons, styles) by name, wherever the app runs from.

One function for all three layouts: the source tree (``<repo>/resources``), an installed wheel
(``<prefix>/share/scan-viewer``) and a frozen PyInstaller bundle (``<bundle>/resources``).
"""

from __future__ import annotations

import sys
from pathlib import Path


def _roots() -> list[Path]:
    roots = []
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        roots.append(Path(bundle) / "resources")
    roots.append(Path(__file__).resolve().parents[2] / "resources")
    roots.append(Path(sys.prefix) / "share" / "scan-viewer")
    return roots


def resource_path(name: str) -> Path | None:
    """The file ``name`` (e.g. ``icons/scan-viewer.svg``) or None when no layout has it."""
    for root in _roots():
        candidate = root / name
        if candidate.is_file():
            return candidate
    return None
