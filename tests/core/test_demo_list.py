"""The saved demo list: order, per-server lists, atomic writes, damaged files."""

from __future__ import annotations

import json

from viewer.core.demo_list import DEMO_LIST_FILE, DemoList
from viewer.core.paths import config_dir


def test_saved_list_is_read_back_in_order_from_the_config_dir():
    demo = DemoList("demo")
    demo.set(["scan-b", "scan-a", "scan-b", "", "scan-c"])
    assert demo.path == config_dir() / DEMO_LIST_FILE
    assert DemoList("demo").scan_ids == ("scan-b", "scan-a", "scan-c")


def test_add_remove_and_clear_are_written_at_once():
    demo = DemoList("demo")
    assert demo.add("one") and demo.add("two")
    assert not demo.add("one")
    assert DemoList("demo").scan_ids == ("one", "two")
    assert demo.remove("one") and not demo.remove("absent")
    assert list(DemoList("demo")) == ["two"]
    assert "two" in demo and "one" not in demo and len(demo) == 1
    demo.clear()
    assert DemoList("demo").scan_ids == ()


def test_each_server_keeps_its_own_list():
    DemoList("demo").set(["d1", "d2"])
    DemoList("production").set(["p1"])
    assert DemoList("demo").scan_ids == ("d1", "d2")
    assert DemoList("production").scan_ids == ("p1",)
    assert DemoList("sandbox").scan_ids == ()
    data = json.loads((config_dir() / DEMO_LIST_FILE).read_text("utf-8"))
    assert data == {"version": 1, "lists": {"demo": ["d1", "d2"], "production": ["p1"]}}


def test_writes_leave_no_temporary_files(tmp_path):
    path = tmp_path / "lists" / "demo.json"
    demo = DemoList("demo", path)
    for i in range(5):
        demo.add(f"s{i}")
    assert sorted(p.name for p in path.parent.iterdir()) == ["demo.json"]


def test_damaged_file_counts_as_empty_and_is_replaced_on_save(tmp_path):
    path = tmp_path / "demo.json"
    path.write_text("{not json", "utf-8")
    demo = DemoList("demo", path)
    assert demo.scan_ids == ()
    demo.add("fresh")
    assert DemoList("demo", path).scan_ids == ("fresh",)


def test_invalid_entries_are_skipped(tmp_path):
    path = tmp_path / "demo.json"
    path.write_text(json.dumps({"version": 1, "lists": {
        "demo": ["ok", 3, None, "ok", "  ", "also"], "broken": "not a list"}}), "utf-8")
    assert DemoList("demo", path).scan_ids == ("ok", "also")
    assert DemoList("broken", path).scan_ids == ()
    path.write_text(json.dumps(["no", "table"]), "utf-8")
    assert DemoList("demo", path).scan_ids == ()
