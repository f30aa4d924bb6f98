from viewer.core.formatting import (
    device_name,
    failure_summary,
    format_measurement,
    why_not_viewable,
)
from viewer.core.models import Scan, UnitSystem


def scan(status, **stages):
    assets = {"captureData": None, "body": None, "fittedBody": None, "measurement": None}
    assets.update(stages)
    return Scan.parse({"id": "s", "status": status, "scanAssets": assets})


def test_measurement_units():
    assert format_measurement("chestFit", 1.0, UnitSystem.METRIC, UnitSystem.METRIC) == "100.0 cm"
    assert format_measurement("chestFit", 1.0, UnitSystem.METRIC, UnitSystem.IMPERIAL) == "39.4 in"
    assert format_measurement("chestFit", 39.37, UnitSystem.IMPERIAL, UnitSystem.METRIC) == "100.0 cm"
    assert format_measurement("waistToHipRatio", 0.8123, UnitSystem.METRIC, UnitSystem.IMPERIAL) == "0.812"


def test_why_not_viewable_names_the_stage():
    assert why_not_viewable(scan("READY", captureData="succeeded", body="succeeded")) is None
    assert "failed at the body stage" in why_not_viewable(scan("FAILED", captureData="succeeded", body="failed"))
    fitted_failed = scan("FAILED", captureData="succeeded", body="succeeded", fittedBody="failed")
    assert why_not_viewable(fitted_failed) is None  # the body exists: show it, with the failure
    assert "fitted body stage" in failure_summary(fitted_failed)
    assert "body stage is running" in why_not_viewable(scan("PROCESSING", captureData="succeeded", body="started"))
    assert "not been uploaded" in why_not_viewable(scan("CREATED"))
    assert device_name("ANDROID_SCANNER") == "Android" and device_name(None) == "Unknown device"
