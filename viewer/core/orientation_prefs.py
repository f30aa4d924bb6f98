"""Orientation corrections the user made, remembered per scan id and per local file (pure Python).

A correction is stored as the file's own axes the user settled on: which file axis points up and
which one the face looks toward (e.g. up "+Y", front "+Z"), in the loader's axis notation. Storing
axes rather than a turn keeps a correction right even if the loader's own detection changes: when
it detects the same axes, there is nothing left to correct.

The file is JSON in ``viewer.core.paths.data_dir()``: ``{"version": 1, "axes": {key: {"up": ..,
"front": ..}}}``, keys made by ``scan_key`` / ``file_key``. Writes are atomic (a temporary file
renamed over the old one), so a crash never leaves a half-written file; an unreadable or damaged
file counts as empty (logged), and invalid entries are skipped.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from viewer.core.atomic_files import write_json_atomic
from viewer.core.paths import data_dir

log = logging.getLogger(__name__)

PREFS_FILE = "orientation.json"
_VERSION = 1
_AXIS = re.compile(r"^[+-][XYZ]$")


@dataclass(frozen=True)
class BodyAxes:
    """The file axis pointing up and the one the face looks toward, e.g. ``BodyAxes("+Y", "+Z")``."""

    up: str
    front: str

    def __post_init__(self) -> None:
        for name in (self.up, self.front):
            if not _AXIS.match(name):
                raise ValueError(f"an axis is a sign and a letter such as '+Y', not {name!r}")
        if self.up[1] == self.front[1]:
            raise ValueError(f"up {self.up} and front {self.front} must be perpendicular axes")


def scan_key(scan_id: str) -> str:
    return f"scan:{scan_id}"


def file_key(path: Path | str) -> str:
    """Key of a local model file: its absolute, resolved path."""
    return f"file:{Path(path).expanduser().resolve()}"


class OrientationPrefs:
    """Remembered ``BodyAxes`` by key, read once at construction and written on every change."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path or data_dir() / PREFS_FILE
        self._axes: dict[str, BodyAxes] = _read(self._path)

    @property
    def path(self) -> Path:
        return self._path

    def get(self, key: str) -> BodyAxes | None:
        return self._axes.get(key)

    def set(self, key: str, axes: BodyAxes | None) -> None:
        """Remember ``axes`` for ``key`` (``None`` forgets it) and write the file; raises OSError."""
        if axes is None:
            if self._axes.pop(key, None) is None:
                return
        elif self._axes.get(key) == axes:
            return
        else:
            self._axes[key] = axes
        _write(self._path, self._axes)

    def __len__(self) -> int:
        return len(self._axes)


def _read(path: Path) -> dict[str, BodyAxes]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable orientation corrections %s: %s", path, exc)
        return {}
    entries = data.get("axes") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        log.warning("ignoring orientation corrections %s: no 'axes' table", path)
        return {}
    axes = {}
    for key, value in entries.items():
        try:
            axes[str(key)] = BodyAxes(up=value["up"], front=value["front"])
        except (TypeError, KeyError, ValueError) as exc:
            log.warning("skipping orientation correction %r in %s: %s", key, path, exc)
    return axes


def _write(path: Path, axes: dict[str, BodyAxes]) -> None:
    write_json_atomic(path, {
        "version": _VERSION,
        "axes": {key: {"up": value.up, "front": value.front} for key, value in sorted(axes.items())},
    })
