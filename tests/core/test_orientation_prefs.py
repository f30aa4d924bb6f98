"""Remembered orientation corrections: JSON on disk, atomic writes, lenient reading."""

from __future__ import annotations

import json
import logging

import pytest

from viewer.core.orientation_prefs import (
    PREFS_FILE,
    BodyAxes,
    OrientationPrefs,
    file_key,
    scan_key,
)
from viewer.core.paths import data_dir


def test_a_correction_survives_a_new_instance(tmp_path):
    path = tmp_path / "orientation.json"
    prefs = OrientationPrefs(path)
    prefs.set(scan_key("abc"), BodyAxes("+Y", "+Z"))
    prefs.set(file_key(tmp_path / "body.obj"), BodyAxes("-Z", "+X"))

    again = OrientationPrefs(path)
    assert again.get(scan_key("abc")) == BodyAxes("+Y", "+Z")
    assert again.get(file_key(tmp_path / "body.obj")) == BodyAxes("-Z", "+X")
    assert again.get(scan_key("other")) is None
    assert len(again) == 2
    assert json.loads(path.read_text("utf-8"))["axes"]["scan:abc"] == {"up": "+Y", "front": "+Z"}


def test_forgetting_removes_the_entry_and_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "prefs" / "orientation.json"  # the folder is created on first write
    prefs = OrientationPrefs(path)
    prefs.set(scan_key("abc"), BodyAxes("+Y", "+Z"))
    prefs.set(scan_key("abc"), None)
    prefs.set(scan_key("never-set"), None)

    assert OrientationPrefs(path).get(scan_key("abc")) is None
    assert sorted(p.name for p in path.parent.iterdir()) == ["orientation.json"]


def test_default_location_is_the_data_dir():
    prefs = OrientationPrefs()
    prefs.set(scan_key("abc"), BodyAxes("+Y", "+Z"))
    assert prefs.path == data_dir() / PREFS_FILE and prefs.path.is_file()


def test_file_keys_are_absolute_resolved_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert file_key("sub/../body.obj") == f"file:{tmp_path.resolve() / 'body.obj'}"
    assert scan_key("x-1") == "scan:x-1"


@pytest.mark.parametrize("up, front", [("Y", "+Z"), ("+Y", "+Y"), ("+W", "+Z"), ("+Y", "-y")])
def test_invalid_axes_are_refused(up, front):
    with pytest.raises(ValueError):
        BodyAxes(up, front)


def test_damaged_files_count_as_empty_and_bad_entries_are_skipped(tmp_path, caplog):
    path = tmp_path / "orientation.json"
    path.write_text("{not json", "utf-8")
    with caplog.at_level(logging.WARNING):
        assert len(OrientationPrefs(path)) == 0
    assert "unreadable" in caplog.text

    path.write_text(json.dumps({"version": 1, "axes": {
        "scan:good": {"up": "-X", "front": "+Y"},
        "scan:parallel": {"up": "+X", "front": "-X"},
        "scan:missing": {"up": "+X"},
        "scan:wrong-type": ["+X", "+Y"],
    }}), "utf-8")
    prefs = OrientationPrefs(path)
    assert prefs.get("scan:good") == BodyAxes("-X", "+Y")
    assert len(prefs) == 1
    # writing keeps the good entry and drops the bad ones
    prefs.set(scan_key("new"), BodyAxes("+Z", "-Y"))
    assert set(json.loads(path.read_text("utf-8"))["axes"]) == {"scan:good", "scan:new"}
