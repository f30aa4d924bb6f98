"""The SQLite verdict store: round trip, durability across a killed process, CSV and JSON export."""

from __future__ import annotations

import csv
import io
import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import datetime, timezone
from pathlib import Path

import pytest

from viewer.core.models import Scan
from viewer.core.paths import data_dir
from viewer.services.verdicts import (
    CSV_COLUMNS,
    REVIEWER_ENV,
    Verdict,
    VerdictStore,
    default_reviewer,
    export_verdicts,
    verdicts_csv,
    verdicts_path,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def make_scan(scan_id: str, token: str | None = "demo-sam", status: str = "FAILED",
              states=("succeeded", "failed", None, None)) -> Scan:
    stages = dict(zip(("captureData", "body", "fittedBody", "measurement"), states))
    return Scan.parse({"id": scan_id, "status": status, "userToken": token,
                       "createdAt": "2025-03-01T10:00:00Z", "scanAssets": stages})


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 6, 1, 12, 0, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


def test_verdicts_round_trip_replace_and_remove(tmp_path):
    clock = Clock()
    path = tmp_path / "v.sqlite"
    with VerdictStore(path, reviewer="qa-anna", clock=clock) as store:
        record = store.set(make_scan("scan-1"), Verdict.REJECT, "  body has a hole  ")
        assert record.note == "body has a hole" and record.reviewer == "qa-anna"
        assert record.time_text == "2025-06-01T12:00:00Z"
        store.set(make_scan("scan-2", token=None, status="READY", states=("succeeded",) * 4), Verdict.ACCEPT)
        clock.now = clock.now.replace(minute=5)
        store.set(make_scan("scan-1"), Verdict.FLAG, "ask the pipeline team", reviewer="qa-ben")
        assert len(store) == 2

    with VerdictStore(path, clock=clock) as store:  # reopened: everything is still there
        first = store.get("scan-1")
        assert first is not None
        assert (first.verdict, first.note, first.reviewer, first.time_text) == (
            Verdict.FLAG, "ask the pipeline team", "qa-ben", "2025-06-01T12:05:00Z")
        assert first.user_token == "demo-sam" and first.scan_status == "FAILED"
        assert dict(first.stage_states) == {"captureData": "succeeded", "body": "failed",
                                            "fittedBody": "none", "measurement": "none"}
        assert store.verdicts_by_scan() == {"scan-1": Verdict.FLAG, "scan-2": Verdict.ACCEPT}
        assert [r.scan_id for r in store.all()] == ["scan-2", "scan-1"]  # oldest decision first
        assert store.remove("scan-2") is True and store.remove("scan-2") is False
        assert store.get("scan-2") is None and len(store) == 1
    assert [letter for letter in (v.letter for v in Verdict)] == ["A", "R", "F"]


def test_the_database_is_in_wal_mode_with_full_sync(tmp_path):
    path = tmp_path / "v.sqlite"
    with VerdictStore(path, reviewer="qa") as store:
        store.set(make_scan("s"), Verdict.ACCEPT)
        synchronous = store._db.execute("PRAGMA synchronous").fetchone()[0]
    assert synchronous == 2  # FULL
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        db.close()


def test_default_location_and_reviewer(monkeypatch):
    assert verdicts_path() == data_dir() / "verdicts.sqlite"
    monkeypatch.setenv(REVIEWER_ENV, "night-shift")
    assert default_reviewer() == "night-shift"
    with VerdictStore() as store:
        assert store.path == verdicts_path() and store.reviewer == "night-shift"
    monkeypatch.delenv(REVIEWER_ENV)
    assert default_reviewer()  # the OS user name (or "unknown"), never empty


WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from viewer.core.models import Scan
    from viewer.services.verdicts import Verdict, VerdictStore

    store = VerdictStore(Path(sys.argv[1]), reviewer="qa-crash")
    scan = Scan.parse({"id": "scan-killed", "status": "READY", "userToken": "demo-alex",
                       "scanAssets": {"captureData": "succeeded", "body": "succeeded"}})
    store.set(scan, Verdict.REJECT, "confirmed just before the crash")
    print("confirmed", flush=True)
    time.sleep(60)  # killed here, with the database still open
""")


def test_a_confirmed_verdict_survives_the_process_being_killed(tmp_path):
    path = tmp_path / "verdicts.sqlite"
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True,
                               cwd=PROJECT_ROOT)
    try:
        line = process.stdout.readline()
        assert line.strip() == "confirmed"
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=10) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
    assert (tmp_path / "verdicts.sqlite-wal").exists()  # the commit lives in the WAL: no checkpoint ran
    with VerdictStore(path) as store:
        record = store.get("scan-killed")
    assert record is not None
    assert (record.verdict, record.note, record.reviewer, record.user_token) == (
        Verdict.REJECT, "confirmed just before the crash", "qa-crash", "demo-alex")


def test_export_csv_and_json_content(tmp_path):
    clock = Clock()
    with VerdictStore(tmp_path / "v.sqlite", reviewer="qa-anna", clock=clock) as store:
        store.set(make_scan("scan-1"), Verdict.REJECT, 'hole in the "left" arm, see ticket')
        clock.now = clock.now.replace(hour=13)
        store.set(make_scan("scan-2", token="=HYPERLINK(\"x\")", status="READY", states=("succeeded",) * 4),
                  Verdict.ACCEPT, "+1 looks fine")
        records = store.all()

    export_verdicts(records, tmp_path / "out.csv")
    export_verdicts(records, tmp_path / "out.json")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text(encoding="utf-8"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[0] == {"scan_id": "scan-1", "user_token": "demo-sam", "verdict": "reject",
                       "note": 'hole in the "left" arm, see ticket', "reviewer": "qa-anna",
                       "time": "2025-06-01T12:00:00Z", "status": "FAILED", "captureData": "succeeded",
                       "body": "failed", "fittedBody": "none", "measurement": "none"}
    # cells a spreadsheet would run as formulas are defused
    assert rows[1]["user_token"] == "'=HYPERLINK(\"x\")" and rows[1]["note"] == "'+1 looks fine"
    assert rows[1]["time"] == "2025-06-01T13:00:00Z" and rows[1]["measurement"] == "succeeded"

    document = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert document["count"] == 2 and document["exportedAt"].endswith("Z")
    assert document["verdicts"][0] == {
        "scanId": "scan-1", "userToken": "demo-sam", "verdict": "reject",
        "note": 'hole in the "left" arm, see ticket', "reviewer": "qa-anna", "time": "2025-06-01T12:00:00Z",
        "status": "FAILED",
        "stages": {"captureData": "succeeded", "body": "failed", "fittedBody": "none", "measurement": "none"}}
    assert document["verdicts"][1]["userToken"] == "=HYPERLINK(\"x\")"  # JSON keeps values as they are
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("v.sqlite")) == ["out.csv", "out.json"]
    assert verdicts_csv([]).splitlines() == [",".join(CSV_COLUMNS)]


def test_the_schema_refuses_an_unknown_verdict(tmp_path):
    path = tmp_path / "v.sqlite"
    VerdictStore(path, reviewer="qa").close()
    db = sqlite3.connect(path)
    try:
        with pytest.raises(sqlite3.IntegrityError):
            db.execute("INSERT INTO verdicts (scan_id, verdict, reviewer, decided_at) "
                       "VALUES ('x', 'maybe', 'qa', '2025-01-01T00:00:00Z')")
    finally:
        db.close()
    with VerdictStore(path, reviewer="qa") as store:
        assert store.get("x") is None
