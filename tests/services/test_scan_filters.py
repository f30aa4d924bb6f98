"""QA filter predicates, stuck detection, counts and saved filters, on the demo server's real scans."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest

from viewer.api.client import PrismClient
from viewer.core.models import Scan, ScanStatus, StageState
from viewer.demo.catalog import SCENARIOS, demo_scan_id
from viewer.demo.server import DEMO_API_KEY
from viewer.services.scan_filters import (
    DEFAULT_STUCK_AFTER,
    QaPreferences,
    ScanFilter,
    count_scans,
    failed_anywhere,
    load_preferences,
    local_day,
    preferences_path,
    save_preferences,
    stuck_stage,
)

#: scenarios whose state changes while the session's server runs (left out of exact expectations)
MOVING = {"progressing"}


@pytest.fixture(scope="module")
def scans(demo_server) -> dict[str, Scan]:
    """Every demo scan as the server sends it, by scenario name."""
    client = PrismClient(demo_server.base_url, DEMO_API_KEY)
    try:
        by_id = {scan.id: scan for scan in client.iter_scans(page_size=100)}
    finally:
        client.close()
    return {s.name: by_id[demo_scan_id(s.name)] for s in SCENARIOS}


def names(scans: dict[str, Scan], scan_filter: ScanFilter, now: datetime,
          stuck_after: timedelta = DEFAULT_STUCK_AFTER) -> set[str]:
    return {name for name, scan in scans.items()
            if name not in MOVING and scan_filter.matches(scan, now, stuck_after)}


def expected(predicate) -> set[str]:
    return {s.name for s in SCENARIOS if s.name not in MOVING and predicate(s)}


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


# --------------------------------------------------------------------------- stuck


def test_the_demo_stuck_scan_is_stuck_from_its_body_updated_at(scans):
    stuck = scans["stuck"]
    body = stuck.assets.stage("body")
    assert body.state is StageState.STARTED and body.updated_at is not None
    started = body.updated_at
    # the catalog: created 3 h before the server started, body last changed 95 s after creation
    assert now_utc() - started > timedelta(hours=2, minutes=50)

    assert stuck_stage(stuck, started + timedelta(minutes=31)) == body  # default threshold: 30 min
    assert stuck_stage(stuck, started + timedelta(minutes=29)) is None
    assert stuck_stage(stuck, started + timedelta(minutes=61), timedelta(hours=1)) == body
    assert stuck_stage(stuck, started + timedelta(minutes=59), timedelta(hours=1)) is None
    assert stuck_stage(stuck, now_utc(), timedelta(hours=4)) is None  # a generous threshold: not stuck


def test_only_the_stuck_scan_is_stuck_now(scans):
    assert names(scans, ScanFilter(stuck=True), now_utc()) == {"stuck"}
    # the processing scan's body started moments ago: running, not stuck
    processing = scans["processing"]
    assert processing.assets.state("body") is StageState.STARTED
    assert stuck_stage(processing, now_utc()) is None


def test_a_started_stage_without_its_own_time_falls_back_to_the_scans_times():
    data = {"id": "s1", "status": "PROCESSING", "createdAt": "2025-01-01T10:00:00Z",
            "scanAssets": {"captureData": "succeeded", "body": "started", "bodyUpdatedAt": None}}
    scan = Scan.parse(data)
    assert stuck_stage(scan, datetime(2025, 1, 1, 10, 29, tzinfo=timezone.utc)) is None
    assert stuck_stage(scan, datetime(2025, 1, 1, 10, 31, tzinfo=timezone.utc)).name == "body"
    no_times = Scan.parse({"id": "s2", "status": "PROCESSING", "scanAssets": {"body": "started"}})
    assert stuck_stage(no_times, datetime(2030, 1, 1, tzinfo=timezone.utc)) is None


# --------------------------------------------------------------------------- single predicates


def test_stage_state_filters(scans):
    now = now_utc()
    assert names(scans, ScanFilter(stage="body", stage_state=StageState.FAILED), now) == {"failed-body"}
    assert names(scans, ScanFilter(stage="fittedBody", stage_state=StageState.FAILED), now) == {"failed-fitted-body"}
    assert names(scans, ScanFilter(stage="body", stage_state=StageState.STARTED), now) == {"processing", "stuck"}
    assert names(scans, ScanFilter(stage="captureData", stage_state=StageState.NONE), now) == {"created"}
    assert names(scans, ScanFilter(stage="measurement", stage_state=StageState.SUCCEEDED), now) == expected(
        lambda s: s.stages["measurement"] == "succeeded")


def test_failed_anywhere_status_device_user_and_dates(scans):
    now = now_utc()
    assert names(scans, ScanFilter(failed_anywhere=True), now) == {
        "failed-body", "failed-fitted-body", "failed-measurement"}
    assert all(failed_anywhere(scans[n]) for n in ("failed-body", "failed-measurement"))
    assert names(scans, ScanFilter(status=ScanStatus.PROCESSING), now) == {"processing", "stuck"}
    assert names(scans, ScanFilter(status=ScanStatus.CREATED), now) == {"created"}
    assert names(scans, ScanFilter(device="ANDROID_SCANNER"), now) == expected(lambda s: s.device == "ANDROID_SCANNER")
    assert names(scans, ScanFilter(user_token="demo-kim"), now) == expected(lambda s: s.user_token == "demo-kim")

    # a date range in local days, both ends included
    day = local_day(scans["ready-sam"].created_at)  # 20 days ago
    assert names(scans, ScanFilter(created_from=day, created_to=day), now) == {"ready-sam"}
    recent = local_day(scans["ready-tall"].created_at)  # 5 days ago
    assert names(scans, ScanFilter(created_from=recent), now) == expected(
        lambda s: local_day(scans[s.name].created_at) >= recent)
    assert {"ready", "stuck", "created"} <= names(scans, ScanFilter(created_from=recent), now)
    assert "ready-sam" not in names(scans, ScanFilter(created_from=recent), now)
    assert names(scans, ScanFilter(created_to=date(2000, 1, 1)), now) == set()


def test_filters_combine_with_and(scans):
    now = now_utc()
    assert names(scans, ScanFilter(failed_anywhere=True, user_token="demo-sam"), now) == {"failed-body"}
    assert names(scans, ScanFilter(device="ANDROID_SCANNER", status=ScanStatus.READY), now) == {"ready-petite"}
    assert names(scans, ScanFilter(stuck=True, user_token="demo-alex"), now) == set()
    assert names(scans, ScanFilter(stuck=True, user_token="demo-sam", status=ScanStatus.PROCESSING), now) == {"stuck"}
    assert names(scans, ScanFilter(stage="body", stage_state=StageState.FAILED,
                                   created_to=local_day(scans["ready-sam"].created_at)), now) == set()
    assert names(scans, ScanFilter(), now) == expected(lambda s: True)


def test_a_stage_without_a_state_is_refused():
    with pytest.raises(ValueError):
        ScanFilter(stage="body")
    with pytest.raises(ValueError):
        ScanFilter(stage="nose", stage_state=StageState.FAILED)


# --------------------------------------------------------------------------- counts


def test_counts_per_condition_and_for_the_active_filter(scans):
    stable = [scan for name, scan in scans.items() if name not in MOVING]
    active = ScanFilter(failed_anywhere=True, user_token="demo-jordan")
    counts = count_scans(stable, active, now_utc())
    assert counts.total == len(SCENARIOS) - len(MOVING)
    assert counts.matching == 1  # failed-fitted-body
    assert counts.failed_anywhere == 3
    assert counts.stuck == 1
    assert counts.stage_states[("body", StageState.FAILED)] == 1
    assert counts.stage_states[("body", StageState.STARTED)] == 2
    assert counts.statuses[ScanStatus.FAILED] == 3
    assert counts.statuses[ScanStatus.PROCESSING] == 2
    assert counts.devices["ANDROID_SCANNER"] == sum(
        s.device == "ANDROID_SCANNER" for s in SCENARIOS if s.name not in MOVING)
    assert counts.users["demo-jordan"] == sum(s.user_token == "demo-jordan" for s in SCENARIOS)
    assert sum(counts.statuses.values()) == counts.total
    # a higher threshold: the stuck scan is no longer counted
    assert count_scans(stable, ScanFilter(), now_utc(), timedelta(hours=4)).stuck == 0


# --------------------------------------------------------------------------- saved filters


def test_a_filter_round_trips_through_json():
    full = ScanFilter(stage="body", stage_state=StageState.FAILED, failed_anywhere=True, stuck=True,
                      status=ScanStatus.FAILED, device="IPHONE_SCANNER", user_token="demo-sam",
                      created_from=date(2025, 1, 2), created_to=date(2025, 2, 3))
    text = json.dumps(full.to_json())
    assert ScanFilter.from_json(json.loads(text)) == full
    assert ScanFilter().to_json() == {} and ScanFilter.from_json({}) == ScanFilter()
    # values that do not parse leave their kind unset instead of failing
    lenient = ScanFilter.from_json({"stage": "body", "stageState": "exploded", "status": "NOPE",
                                    "createdFrom": "yesterday", "stuck": "yes", "userToken": "demo-kim"})
    assert lenient == ScanFilter(user_token="demo-kim")


def test_preferences_are_saved_atomically_and_survive_damage(tmp_path):
    assert preferences_path().parent.name == "config"  # the isolated SCAN_VIEWER_CONFIG_DIR
    path = tmp_path / "qa.json"
    assert load_preferences(path) == QaPreferences({})
    body_failed = ScanFilter(stage="body", stage_state=StageState.FAILED)
    prefs = QaPreferences({}).with_saved("body failed", body_failed).with_saved("sam", ScanFilter(user_token="demo-sam"))
    save_preferences(QaPreferences(prefs.saved, timedelta(minutes=45), "qa-anna"), path)
    loaded = load_preferences(path)
    assert dict(loaded.saved) == {"body failed": body_failed, "sam": ScanFilter(user_token="demo-sam")}
    assert loaded.stuck_after == timedelta(minutes=45) and loaded.reviewer == "qa-anna"
    assert [p.name for p in tmp_path.iterdir()] == ["qa.json"]  # no temporary file left behind
    assert list(loaded.without("sam").saved) == ["body failed"]

    path.write_text("{not json", encoding="utf-8")
    assert load_preferences(path) == QaPreferences({})
    path.write_text(json.dumps({"stuckAfterMinutes": -3, "filters": []}), encoding="utf-8")
    assert load_preferences(path) == QaPreferences({}, DEFAULT_STUCK_AFTER)
