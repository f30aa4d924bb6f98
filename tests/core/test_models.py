"""Lenient parsing of API bodies: unknown values and missing keys never raise."""

from datetime import timezone

import pytest

from viewer.core.errors import BadResponseError
from viewer.core.models import (
    AssetType,
    AssetUrls,
    Measurements,
    Scan,
    ScanPage,
    ScanStatus,
    StageState,
    User,
    parse_datetime,
)

FULL_SCAN = {
    "id": "scan-1", "status": "PROCESSING", "prismScanId": "p-1", "deviceConfigName": "IPHONE_SCANNER",
    "assetConfigId": "25f6d3a6-a634-40c3-8452-0342bee242d0",
    "weight": {"value": 70, "unit": "kg"}, "height": {"value": 1.8, "unit": "m"},
    "userId": "u-1", "userToken": "alice", "createdAt": "2026-11-01T10:00:00.000Z",
    "updatedAt": "2026-11-01T10:05:00Z",
    "scanAssets": {
        "id": "a-1", "scanId": "scan-1", "captureData": "succeeded",
        "captureDataUpdatedAt": "2026-11-01T10:01:00Z", "body": "started",
        "bodyUpdatedAt": "2026-11-01T10:02:00Z", "fittedBody": None, "fittedBodyUpdatedAt": None,
        "measurement": None, "measurementUpdatedAt": None,
        "createdAt": "2026-11-01T10:00:00Z", "updatedAt": "2026-11-01T10:02:00Z",
    },
    "measurements": None, "bodyfat": None,
}


def test_full_scan_parses_every_field():
    scan = Scan.parse(FULL_SCAN)
    assert scan.id == "scan-1" and scan.status is ScanStatus.PROCESSING
    assert scan.user_token == "alice" and scan.device_config_name == "IPHONE_SCANNER"
    assert scan.weight.value == 70 and scan.weight.unit == "kg" and str(scan.height) == "1.8 m"
    assert scan.created_at.tzinfo is not None and scan.created_at.hour == 10
    assert [s.state for s in scan.assets.stages] == [
        StageState.SUCCEEDED, StageState.STARTED, StageState.NONE, StageState.NONE]
    assert scan.assets.running_stage.name == "body"
    assert scan.assets.failed_stage is None
    assert scan.assets.stage("body").updated_at.minute == 2
    assert not scan.status.is_final


def test_unknown_enum_values_become_unknown():
    data = dict(FULL_SCAN, status="ARCHIVED", scanAssets=dict(FULL_SCAN["scanAssets"], body="queued"))
    scan = Scan.parse(data)
    assert scan.status is ScanStatus.UNKNOWN and scan.raw_status == "ARCHIVED"
    assert scan.assets.state("body") is StageState.UNKNOWN
    assert scan.assets.stage("body").raw_state == "queued"
    # a literal "none"/"unknown" string from the server is not a state we know either
    assert StageState.parse("none") is StageState.UNKNOWN
    assert StageState.parse(3) is StageState.UNKNOWN


def test_minimal_scan_with_missing_optional_keys():
    scan = Scan.parse({"id": "x", "status": "READY", "newFieldFrom2027": {"a": 1}})
    assert scan.status is ScanStatus.READY and scan.status.is_final
    assert scan.weight is None and scan.created_at is None and scan.measurements is None
    assert all(s.state is StageState.NONE for s in scan.assets.stages)


@pytest.mark.parametrize("bad", [None, [], "scan", {"status": "READY"}, {"id": ""}])
def test_not_a_scan_raises_bad_response(bad):
    with pytest.raises(BadResponseError):
        Scan.parse(bad)


def test_page_cursor_and_results():
    page = ScanPage.parse({"results": [FULL_SCAN], "pageInfo": {"cursor": "abc"}})
    assert page.cursor == "abc" and page.results[0].id == "scan-1"
    assert ScanPage.parse({"results": [], "pageInfo": {"cursor": None}}).cursor is None
    assert ScanPage.parse({"results": []}).cursor is None
    with pytest.raises(BadResponseError):
        ScanPage.parse({"pageInfo": {}})


def test_asset_urls_tolerate_missing_keys_and_nulls():
    urls = AssetUrls.parse({"previewImage": "https://s3/x.png", "model": None})
    assert urls.get(AssetType.PREVIEW_IMAGE) == "https://s3/x.png"
    assert urls.get(AssetType.MODEL) is None and urls.get(AssetType.CAPTURE_VIDEO) is None
    assert AssetType.from_json_key("canonicalBody") is AssetType.CANONICAL_BODY
    assert AssetType.CANONICAL_BODY.value == "canonical-body"


def test_measurements_keep_numbers_in_display_order():
    m = Measurements.parse({"waistFit": 0.8, "chestFit": 1.0, "futureFit": 0.5, "bad": "x", "nan": float("nan")})
    assert [k for k, _label, _v in m] == ["chestFit", "waistFit", "futureFit"]
    assert dict((k, label) for k, label, _ in m)["chestFit"] == "Chest"


def test_user_and_datetimes():
    user = User.parse({"token": "alice", "height": {"value": 1.7, "unit": "m"}, "sex": "female"})
    assert user.height.value == 1.7 and user.sex == "female" and user.weight is None
    assert parse_datetime("2026-11-01T10:00:00Z").tzinfo == timezone.utc
    assert parse_datetime("yesterday") is None and parse_datetime(None) is None
