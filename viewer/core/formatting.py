"""Words and numbers for people: measurement values, scan states, devices (no Qt)."""

from __future__ import annotations

from datetime import datetime

from viewer.core.models import (
    LENGTH_MEASUREMENTS,
    Scan,
    ScanStatus,
    StageInfo,
    StageState,
    UnitSystem,
)

METRES_PER_INCH = 0.0254

DEVICE_NAMES = {"IPHONE_SCANNER": "iPhone", "ANDROID_SCANNER": "Android"}

STATE_WORDS = {
    StageState.SUCCEEDED: "succeeded",
    StageState.STARTED: "running",
    StageState.FAILED: "failed",
    StageState.NONE: "not started",
    StageState.UNKNOWN: "unknown state",
}


def device_name(raw: str | None) -> str:
    if not raw:
        return "Unknown device"
    return DEVICE_NAMES.get(raw, raw)


def format_time(value: datetime | None, *, short: bool = False) -> str:
    """Local date and time, e.g. ``2026-11-22 14:05`` (``short``: ``Nov 22 14:05``); a dash when unknown."""
    if value is None:
        return "\u2014"
    return value.astimezone().strftime("%b %d %H:%M" if short else "%Y-%m-%d %H:%M")


def format_measurement(key: str, value: float, source: UnitSystem, target: UnitSystem) -> str:
    """A measurement value in the target unit system (lengths: cm or in; others as they are).

    Values arrive in ``source`` units: metres for metric, inches for imperial (NOTES.md 6.4).
    """
    if key in LENGTH_MEASUREMENTS:
        metres = value if source is UnitSystem.METRIC else value * METRES_PER_INCH
        if target is UnitSystem.METRIC:
            return f"{metres * 100:.1f} cm"
        return f"{metres / METRES_PER_INCH:.1f} in"
    if key == "fullBodyVolume":
        return f"{value:.4g} m\u00b3" if source is UnitSystem.METRIC else f"{value:.4g}"
    return f"{value:.3g}"


def stage_line(stage: StageInfo) -> str:
    state = STATE_WORDS[stage.state]
    if stage.state is StageState.UNKNOWN and stage.raw_state is not None:
        state = f"unknown state {stage.raw_state!r}"
    when = f" at {format_time(stage.updated_at)}" if stage.updated_at else ""
    return f"{stage.label}: {state}{when}"


def failure_summary(scan: Scan) -> str | None:
    """Which stage failed, in words (shown even when the body itself can be displayed)."""
    failed = scan.assets.failed_stage
    if failed is not None:
        return f"Processing failed at the {failed.label.lower()} stage ({stage_line(failed)})."
    if scan.status is ScanStatus.FAILED:
        return "Processing failed (the server did not say at which stage)."
    return None


def why_not_viewable(scan: Scan) -> str | None:
    """Why a scan has no body to show, in words; None when it should have one.

    A body that was produced is worth showing even when a later stage (fitting, measurement)
    failed: that is exactly what QA wants to look at.
    """
    body = scan.assets.stage("body")
    if body.state is StageState.SUCCEEDED:
        return None
    failure = failure_summary(scan)
    if failure is not None:
        return failure
    if scan.status is ScanStatus.READY:
        return None
    running = scan.assets.running_stage
    if running is not None:
        return f"Not ready yet: the {running.label.lower()} stage is running ({stage_line(running)})."
    if scan.status is ScanStatus.CREATED:
        return "Not ready yet: the scan was created but its capture has not been uploaded."
    if scan.status is ScanStatus.UNKNOWN:
        return None  # a status this version does not know: try to open it and let the server say
    return "Not ready yet: the body has not been produced."
