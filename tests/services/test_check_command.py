"""The ``--check`` command: exit codes, text and JSON output, against the real local server."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys

from viewer.core.server_choice import DEMO, target_from_name
from viewer.core.settings import Settings
from viewer.demo.catalog import demo_scan_id
from viewer.demo.server import DEMO_API_KEY
from viewer.services.check_command import run_check_command

CHECK_NAMES = ["pipeline", "file-sizes", "model", "material-links", "texture", "uvs", "units", "height",
               "closed", "faces", "template-vertices"]


def run(server, *names_or_ids: str, as_json: bool = False) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    ids = [demo_scan_id(n) if not n.startswith("raw:") else n[4:] for n in names_or_ids]
    code = run_check_command(ids, as_json=as_json, target=target_from_name(server.base_url),
                             api_key=DEMO_API_KEY, settings=Settings(), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_ready_scan_exits_0_with_aligned_pass_lines(demo_server):
    code, out, err = run(demo_server, "ready")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == f"Scan {demo_scan_id('ready')}: PASS"
    rows = lines[1:]
    assert [row.split()[1] for row in rows] == CHECK_NAMES
    assert all(row.startswith("  PASS  ") for row in rows)
    detail_columns = {re.match(r"  \w{4}  \S+\s+", row).end() for row in rows}
    assert detail_columns == {len("  PASS  template-vertices  ")}


def test_warnings_alone_exit_0_and_a_failed_check_exits_1(demo_server):
    code, out, _ = run(demo_server, "legacy-ply")
    assert code == 0 and ": WARN" in out.splitlines()[0] and "  WARN  texture" in out
    code, out, _ = run(demo_server, "ready", "not-a-mesh")
    assert code == 1
    assert re.search(r"^  FAIL  model +avatar\.obj does not load: .*not a mesh$", out, re.MULTILINE)
    assert out.rstrip().endswith("2 scans: 1 passed, 0 with warnings, 1 failed, 0 not checked")


def test_unknown_scan_exits_2_even_beside_a_failure(demo_server):
    code, out, _ = run(demo_server, "failed-body", "raw:not-a-real-scan")
    assert code == 2
    assert "Scan not-a-real-scan: NOT CHECKED\n  could not be checked: Not found" in out


def test_json_has_the_documented_shape(demo_server):
    code, out, _ = run(demo_server, "ready", "failed-body", "raw:not-a-real-scan", as_json=True)
    assert code == 2
    entries = json.loads(out)
    assert [e["scanId"] for e in entries] == [demo_scan_id("ready"), demo_scan_id("failed-body"), "not-a-real-scan"]
    ready, failed, unknown = entries
    assert set(ready) == {"scanId", "checks"}
    assert [c["name"] for c in ready["checks"]] == CHECK_NAMES
    assert all(set(c) == {"name", "status", "detail"} and c["status"] == "pass" for c in ready["checks"])
    assert failed["checks"][0] == {"name": "pipeline", "status": "fail",
                                   "detail": "the Body stage failed (scan status FAILED)"}
    assert {c["status"] for c in failed["checks"][1:]} == {"warn"}
    assert set(unknown) == {"scanId", "checks", "error"} and unknown["checks"] == []
    assert "not found" in unknown["error"].lower()


def test_no_api_key_for_a_real_server_exits_2():
    out, err = io.StringIO(), io.StringIO()
    code = run_check_command(["x"], as_json=False, target=target_from_name("https://example.invalid"),
                             api_key=None, settings=Settings(), out=out, err=err)
    assert code == 2 and out.getvalue() == "" and "no API key" in err.getvalue()


def test_demo_target_starts_its_own_server(demo_dataset, demo_cache_dir, monkeypatch):
    monkeypatch.setenv("SCAN_VIEWER_CACHE_DIR", str(demo_cache_dir))  # where demo_dataset lives
    out = io.StringIO()
    code = run_check_command([demo_scan_id("no-texture")], as_json=True, target=target_from_name(DEMO),
                             api_key=None, settings=Settings(), out=out, err=io.StringIO())
    assert code == 1
    texture = next(c for c in json.loads(out.getvalue())[0]["checks"] if c["name"] == "texture")
    assert texture["status"] == "fail"


def test_command_line_in_a_subprocess(demo_dataset, demo_cache_dir, tmp_path):
    env = {**os.environ, "SCAN_VIEWER_CACHE_DIR": str(demo_cache_dir),
           "SCAN_VIEWER_CONFIG_DIR": str(tmp_path / "config"), "SCAN_VIEWER_DATA_DIR": str(tmp_path / "data")}
    env.pop("PRISM_API_KEY", None)
    done = subprocess.run(
        [sys.executable, "-m", "viewer.app", "--demo", "--json", "--check",
         demo_scan_id("ready"), demo_scan_id("legacy-ply")],
        capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    entries = json.loads(done.stdout)
    assert [len(e["checks"]) for e in entries] == [11, 11]
    assert done.stderr == ""
