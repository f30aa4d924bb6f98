"""``scan-viewer-server`` as a real subprocess: one stdout line, serves, stops cleanly on a signal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from viewer.demo import catalog
from viewer.demo.server import DEMO_API_KEY

SCRIPT = Path(sys.executable).parent / "scan-viewer-server"


def _start(args: list[str], env_overrides: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    if not SCRIPT.exists():
        pytest.fail(f"console script not installed at {SCRIPT}; run pip install -e .")
    env = {**os.environ, **env_overrides}
    process = subprocess.Popen([str(SCRIPT), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env)
    watchdog = threading.Timer(120, process.kill)
    watchdog.start()
    try:
        first_line = process.stdout.readline()
    finally:
        watchdog.cancel()
    if not first_line:
        process.kill()
        pytest.fail(f"server printed nothing; stderr:\n{process.stderr.read()}")
    return process, first_line


def _finish(process: subprocess.Popen[str], sig: int) -> tuple[int, str, str]:
    process.send_signal(sig)
    try:
        rest, errors = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return process.returncode, rest, errors


def test_cli_serves_the_demo_set_and_stops_on_sigterm(demo_dataset, demo_cache_dir):
    process, line = _start(["--port", "0"], {"SCAN_VIEWER_CACHE_DIR": str(demo_cache_dir)})
    assert line.startswith("serving http://127.0.0.1:")
    base_url = line.split()[1]
    response = requests.get(f"{base_url}/scans/{catalog.demo_scan_id('ready')}",
                            headers={"authorization": f"Bearer {DEMO_API_KEY}"}, timeout=30)
    assert response.status_code == 200 and response.json()["status"] == "READY"
    model_url = requests.get(f"{base_url}/scans/{catalog.demo_scan_id('ready')}/asset-urls/model",
                             headers={"authorization": f"Bearer {DEMO_API_KEY}"}, timeout=30).json()
    assert requests.head(model_url, timeout=30).status_code == 200

    code, rest, errors = _finish(process, signal.SIGTERM)
    assert code == 0, errors
    assert rest == "", "stdout must hold exactly one line"
    assert line.endswith("\n") and line.count("\n") == 1
    assert DEMO_API_KEY in errors  # the key goes to stderr
    assert "asset host: http://" in errors


def test_cli_serves_a_data_folder_with_its_options_and_stops_on_ctrl_c(tmp_path, shared_testdata):
    folder = tmp_path / "data" / "my-scan"
    folder.mkdir(parents=True)
    for name in ("avatar.obj", "avatar.obj.mtl", "texture.png"):
        (folder / name).symlink_to(shared_testdata / "prismlabs-prism-tools" / name)
    process, line = _start(
        ["--port", "0", "--data", str(tmp_path / "data"), "--api-key", "k-123", "--url-ttl", "7",
         "--latency", "1"],
        {"SCAN_VIEWER_CACHE_DIR": str(tmp_path / "cache")},
    )
    base_url = line.split()[1]
    assert requests.get(f"{base_url}/scans", timeout=30).status_code == 401
    page = requests.get(f"{base_url}/scans", headers={"authorization": "Bearer k-123"}, timeout=30).json()
    assert [scan["id"] for scan in page["results"]] == ["my-scan"]
    url = requests.get(f"{base_url}/scans/my-scan/asset-urls/texture",
                       headers={"authorization": "Bearer k-123"}, timeout=30).json()
    expires = int(url.split("X-Expires=")[1].split("&")[0])
    assert expires - time.time() <= 8
    code, rest, errors = _finish(process, signal.SIGINT)
    assert code == 0, errors
    assert rest == ""
    assert not (tmp_path / "cache").exists(), "a data folder needs no demo set"


def test_cli_rejects_a_missing_data_folder(tmp_path):
    result = subprocess.run([str(SCRIPT), "--data", str(tmp_path / "absent")], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    assert result.stdout == ""
    assert "not found" in result.stderr
