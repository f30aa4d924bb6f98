"""The saved demo list: which scans a salesperson presents, in order, per server (pure Python).

Scan ids only mean something on the server they came from (a demo id never names a production
scan), so the file keeps one list per server name (``ServerTarget.name``).

The file is JSON in ``viewer.core.paths.config_dir()``: ``{"version": 1, "lists": {server:
[scan_id, ...]}}``. Writes are atomic (a temporary file renamed over the old one), so a crash never
leaves a half-written file; an unreadable or damaged file counts as empty (logged); entries that
are not non-empty strings are skipped and duplicates dropped, keeping the first place.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Iterable, Iterator

from viewer.core.atomic_files import write_json_atomic
from viewer.core.paths import config_dir

log = logging.getLogger(__name__)

DEMO_LIST_FILE = "demo_list.json"
_VERSION = 1


class DemoList:
    """The ordered scan ids saved for one server; read at construction, written on every change."""

    def __init__(self, server: str, path: Path | None = None) -> None:
        self._server = server
        self._path = path or config_dir() / DEMO_LIST_FILE
        self._lists = _read(self._path)

    @property
    def path(self) -> Path:
        return self._path

    @property
    def server(self) -> str:
        return self._server

    @property
    def scan_ids(self) -> tuple[str, ...]:
        return tuple(self._lists.get(self._server, ()))

    def set(self, scan_ids: Iterable[str]) -> None:
        """Replace the list (duplicates dropped, order kept) and write the file; raises OSError."""
        ids = _unique(scan_ids)
        if ids == self._lists.get(self._server, []):
            return
        if ids:
            self._lists[self._server] = ids
        else:
            self._lists.pop(self._server, None)
        _write(self._path, self._lists)

    def add(self, scan_id: str) -> bool:
        """Append ``scan_id``; False when it was already there."""
        if scan_id in self:
            return False
        self.set([*self.scan_ids, scan_id])
        return True

    def remove(self, scan_id: str) -> bool:
        """Take ``scan_id`` out; False when it was not there."""
        if scan_id not in self:
            return False
        self.set(i for i in self.scan_ids if i != scan_id)
        return True

    def clear(self) -> None:
        self.set([])

    def __contains__(self, scan_id: object) -> bool:
        return scan_id in self._lists.get(self._server, ())

    def __iter__(self) -> Iterator[str]:
        return iter(self.scan_ids)

    def __len__(self) -> int:
        return len(self._lists.get(self._server, ()))


def _unique(scan_ids: Iterable[object]) -> list[str]:
    seen: dict[str, None] = {}
    for scan_id in scan_ids:
        if isinstance(scan_id, str) and scan_id.strip():
            seen.setdefault(scan_id.strip(), None)
    return list(seen)


def _read(path: Path) -> dict[str, list[str]]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable demo list %s: %s", path, exc)
        return {}
    lists = data.get("lists") if isinstance(data, dict) else None
    if not isinstance(lists, dict):
        log.warning("ignoring demo list %s: no 'lists' table", path)
        return {}
    result = {}
    for server, ids in lists.items():
        if not isinstance(ids, list):
            log.warning("skipping the demo list of %r in %s: not a list", server, path)
            continue
        unique = _unique(ids)
        if unique:
            result[str(server)] = unique
    return result


def _write(path: Path, lists: dict[str, list[str]]) -> None:
    write_json_atomic(path, {"version": _VERSION, "lists": dict(sorted(lists.items()))})
