"""QA verdicts (accept / reject / flag, with a note) kept in a local SQLite file, and their export.

Durability rules: the database runs in WAL mode with ``synchronous=FULL`` and every write is one
autocommitted statement, so when ``VerdictStore.set`` returns the verdict is on disk and survives a
killed process or a power cut; the UI says "saved" only after it returned. One verdict per scan:
marking a scan again replaces its verdict. The store is safe to share between threads.

Exports (CSV and JSON) carry: scan id, user token, verdict, note, reviewer, time (ISO 8601, UTC),
the scan status and each stage's state when the verdict was given. In CSV, free-text cells that a
spreadsheet would run as a formula (leading ``= + - @``, tab, CR) get a leading apostrophe.
"""

from __future__ import annotations

import csv
import enum
import getpass
import io
import json
import logging
import os
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping

from viewer.core.atomic_files import write_text_atomic
from viewer.core.models import STAGES, Scan
from viewer.core.paths import data_dir

log = logging.getLogger(__name__)

VERDICTS_FILE = "verdicts.sqlite"
REVIEWER_ENV = "SCAN_VIEWER_REVIEWER"
SCHEMA_VERSION = 1

CSV_COLUMNS: tuple[str, ...] = (
    "scan_id", "user_token", "verdict", "note", "reviewer", "time", "status", *STAGES)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS verdicts (
    scan_id      TEXT PRIMARY KEY,
    verdict      TEXT NOT NULL CHECK (verdict IN ('accept', 'reject', 'flag')),
    note         TEXT NOT NULL DEFAULT '',
    reviewer     TEXT NOT NULL,
    decided_at   TEXT NOT NULL,
    user_token   TEXT,
    scan_status  TEXT,
    stage_states TEXT NOT NULL DEFAULT '{}'
)
"""
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class Verdict(enum.Enum):
    ACCEPT = "accept"
    REJECT = "reject"
    FLAG = "flag"

    @property
    def letter(self) -> str:
        return self.value[0].upper()

    @property
    def label(self) -> str:
        return self.value.capitalize()


@dataclass(frozen=True)
class VerdictRecord:
    scan_id: str
    verdict: Verdict
    note: str
    reviewer: str
    decided_at: datetime  # aware, UTC
    user_token: str | None
    scan_status: str | None
    stage_states: Mapping[str, str]  # API stage name -> "succeeded", "started", "failed", "none", ...

    @property
    def time_text(self) -> str:
        """ISO 8601 in UTC with a ``Z``, to the second."""
        return self.decided_at.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")

    def to_json(self) -> dict[str, Any]:
        return {
            "scanId": self.scan_id,
            "userToken": self.user_token,
            "verdict": self.verdict.value,
            "note": self.note,
            "reviewer": self.reviewer,
            "time": self.time_text,
            "status": self.scan_status,
            "stages": dict(self.stage_states),
        }


def default_reviewer() -> str:
    """``SCAN_VIEWER_REVIEWER`` if set, else the OS user name."""
    name = os.environ.get(REVIEWER_ENV, "").strip()
    if name:
        return name
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        return "unknown"


def verdicts_path() -> Path:
    return data_dir() / VERDICTS_FILE


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class VerdictStore:
    """Verdicts by scan id in ``path`` (default: ``data_dir()/verdicts.sqlite``)."""

    def __init__(self, path: Path | None = None, *, reviewer: str | None = None,
                 clock: Callable[[], datetime] = _utc_now) -> None:
        self.path = path or verdicts_path()
        self.reviewer = reviewer or default_reviewer()
        self._clock = clock
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: autocommit, each statement is committed (and synced) when it returns
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10.0)
        try:
            mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                log.warning("verdict store %s: journal mode is %s, not WAL", self.path, mode)
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.Error:
            self._db.close()
            raise

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> "VerdictStore":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- writing ----------------------------------------------------------------------------------

    def set(self, scan: Scan, verdict: Verdict, note: str = "", *, reviewer: str | None = None) -> VerdictRecord:
        """Record ``verdict`` for ``scan`` (replacing an earlier one); on disk when this returns."""
        record = VerdictRecord(
            scan_id=scan.id,
            verdict=verdict,
            note=note.strip(),
            reviewer=(reviewer or self.reviewer).strip() or "unknown",
            decided_at=self._clock().astimezone(timezone.utc),
            user_token=scan.user_token,
            scan_status=scan.status.value,
            stage_states=MappingProxyType({s.name: s.state.value for s in scan.assets.stages}),
        )
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO verdicts (scan_id, verdict, note, reviewer, decided_at, user_token,"
                " scan_status, stage_states) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (record.scan_id, record.verdict.value, record.note, record.reviewer, record.time_text,
                 record.user_token, record.scan_status, json.dumps(dict(record.stage_states))),
            )
        return record

    def remove(self, scan_id: str) -> bool:
        """Forget the verdict of ``scan_id``; True when there was one."""
        with self._lock:
            return self._db.execute("DELETE FROM verdicts WHERE scan_id = ?", (scan_id,)).rowcount > 0

    # -- reading ----------------------------------------------------------------------------------

    def get(self, scan_id: str) -> VerdictRecord | None:
        with self._lock:
            row = self._db.execute(f"SELECT {_COLUMNS} FROM verdicts WHERE scan_id = ?", (scan_id,)).fetchone()
        return None if row is None else _record(row)

    def all(self) -> list[VerdictRecord]:
        """Every verdict, oldest decision first."""
        with self._lock:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM verdicts ORDER BY decided_at, scan_id").fetchall()
        return [_record(row) for row in rows]

    def verdicts_by_scan(self) -> dict[str, Verdict]:
        with self._lock:
            rows = self._db.execute("SELECT scan_id, verdict FROM verdicts").fetchall()
        return {scan_id: Verdict(value) for scan_id, value in rows}

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0])


_COLUMNS = "scan_id, verdict, note, reviewer, decided_at, user_token, scan_status, stage_states"


def _record(row: tuple[Any, ...]) -> VerdictRecord:
    scan_id, verdict, note, reviewer, decided_at, user_token, status, stages = row
    try:
        states = json.loads(stages)
    except ValueError:
        states = {}
    moment = datetime.fromisoformat(decided_at.replace("Z", "+00:00"))
    return VerdictRecord(scan_id, Verdict(verdict), note, reviewer, moment, user_token, status,
                         MappingProxyType({str(k): str(v) for k, v in states.items()}
                                          if isinstance(states, dict) else {}))


# -- export ---------------------------------------------------------------------------------------


def verdicts_csv(records: Iterable[VerdictRecord]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in records:
        writer.writerow([r.scan_id, _cell(r.user_token or ""), r.verdict.value, _cell(r.note), _cell(r.reviewer),
                         r.time_text, r.scan_status or "", *(r.stage_states.get(s, "") for s in STAGES)])
    return out.getvalue()


def verdicts_json(records: Iterable[VerdictRecord], exported_at: datetime | None = None) -> str:
    items = [r.to_json() for r in records]
    moment = (exported_at or _utc_now()).astimezone(timezone.utc)
    document = {"exportedAt": moment.isoformat(timespec="seconds").replace("+00:00", "Z"),
                "count": len(items), "verdicts": items}
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def export_verdicts(records: Iterable[VerdictRecord], path: Path) -> None:
    """Write CSV or JSON by the file's suffix (``.json``: JSON, anything else: CSV), atomically."""
    text = verdicts_json(records) if path.suffix.lower() == ".json" else verdicts_csv(records)
    write_text_atomic(path, text)


def _cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_STARTS) else text
