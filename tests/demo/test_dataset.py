"""The generated demo data set: content, caching, atomic publication."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from viewer.demo import catalog
from viewer.demo.dataset import (
    DATASET_VERSION,
    DEMO_SUBFOLDER,
    default_root,
    ensure_demo_dataset,
    remove_stale_temporaries,
)
from viewer.demo.scan_store import DEMO_KEY, MEASUREMENTS_FILE, SCAN_FILE, USERS_FILE


def _folder(demo_dataset: Path, name: str) -> Path:
    return demo_dataset / catalog.demo_scan_id(name)


def _face_count(obj_path: Path) -> int:
    count = 0
    with obj_path.open("rb") as stream:
        for line in stream:
            count += line.startswith(b"f ")
    return count


def test_every_scenario_has_a_folder_and_the_users_file(demo_dataset):
    folders = {p.name for p in demo_dataset.iterdir() if p.is_dir()}
    assert folders == {catalog.demo_scan_id(s.name) for s in catalog.SCENARIOS}
    users = json.loads((demo_dataset / USERS_FILE).read_text())
    assert {u["token"] for u in users} == {u.token for u in catalog.USERS}
    for scenario in catalog.SCENARIOS:
        scan = json.loads((_folder(demo_dataset, scenario.name) / SCAN_FILE).read_text())
        assert scan[DEMO_KEY]["scenario"] == scenario.name
        assert scan["userToken"] == scenario.user_token
        assert scan["height"]["value"] == catalog.user(scenario.user_token).height_m


def test_files_follow_the_pipeline_state(demo_dataset, prism_openapi_path):
    measurement_keys = set(json.loads(prism_openapi_path.read_text())["components"]["schemas"]
                           ["MeasurementDto"]["required"])
    for scenario in catalog.SCENARIOS:
        files = {p.name for p in _folder(demo_dataset, scenario.name).iterdir()}
        replays = scenario.progression_s is not None
        assert ("preview.png" in files) == (replays or scenario.stage_succeeded("captureData")), scenario.name
        has_model = bool(files & {"avatar.obj", "model.ply"})
        assert has_model == (replays or scenario.stage_succeeded("body")), scenario.name
        assert (MEASUREMENTS_FILE in files) == (replays or scenario.stage_succeeded("measurement")), scenario.name
        if MEASUREMENTS_FILE in files:
            values = json.loads((_folder(demo_dataset, scenario.name) / MEASUREMENTS_FILE).read_text())
            assert set(values) >= measurement_keys
            assert 0.4 < values["waistFit"] < 1.8  # metres


def test_bundle_variants_on_disk(demo_dataset):
    assert sorted(p.name for p in _folder(demo_dataset, "created").iterdir()) == [SCAN_FILE]

    legacy = {p.name for p in _folder(demo_dataset, "legacy-ply").iterdir()}
    assert {"model.ply", "preview.png"} <= legacy and not legacy & {"avatar.obj", "texture.png", "avatar.obj.mtl"}
    assert (_folder(demo_dataset, "legacy-ply") / "model.ply").read_bytes()[:4] == b"ply\n"

    no_texture = _folder(demo_dataset, "no-texture")
    assert (no_texture / "avatar.obj").exists() and not (no_texture / "texture.png").exists()
    assert "texture.png" in (no_texture / "avatar.obj.mtl").read_text()

    not_a_mesh = (_folder(demo_dataset, "not-a-mesh") / "avatar.obj").read_text()
    assert not_a_mesh.startswith("<?xml") and "<Code>AccessDenied</Code>" in not_a_mesh


def test_the_large_scan_has_at_least_500k_faces(demo_dataset):
    assert _face_count(_folder(demo_dataset, "large") / "avatar.obj") >= 500_000
    assert _face_count(_folder(demo_dataset, "ready") / "avatar.obj") < 100_000


def test_the_data_set_is_cached_per_version_and_seed(demo_dataset, demo_cache_dir, monkeypatch):
    assert demo_dataset == demo_cache_dir / DEMO_SUBFOLDER / f"v{DATASET_VERSION}-seed0"
    monkeypatch.setenv("SCAN_VIEWER_CACHE_DIR", str(demo_cache_dir))
    assert default_root() == demo_cache_dir / DEMO_SUBFOLDER
    stamp = (demo_dataset / USERS_FILE).stat().st_mtime_ns
    started = time.perf_counter()
    assert ensure_demo_dataset(seed=0) == demo_dataset
    assert time.perf_counter() - started < 0.5
    assert (demo_dataset / USERS_FILE).stat().st_mtime_ns == stamp
    # no temporary folders are left behind
    assert [p.name for p in demo_dataset.parent.iterdir()] == [demo_dataset.name]


_GENERATE = (
    "import sys; from pathlib import Path; from viewer.demo.dataset import ensure_demo_dataset; "
    "print(ensure_demo_dataset(Path(sys.argv[1]), seed=int(sys.argv[2])))"
)


def test_racing_processes_share_one_complete_data_set(tmp_path):
    root = tmp_path / "cache"
    started = time.perf_counter()
    processes = [subprocess.Popen([sys.executable, "-c", _GENERATE, str(root), "7"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [process.communicate(timeout=180) for process in processes]
    elapsed = time.perf_counter() - started
    assert [p.returncode for p in processes] == [0, 0], [err for _, err in results]
    paths = {out.strip() for out, _ in results}
    assert paths == {str(root / f"v{DATASET_VERSION}-seed7")}
    assert [p.name for p in root.iterdir()] == [f"v{DATASET_VERSION}-seed7"]
    folders = {p.name for p in Path(paths.pop()).iterdir() if p.is_dir()}
    assert folders == {catalog.demo_scan_id(s.name, seed=7) for s in catalog.SCENARIOS}
    assert elapsed < 120


def test_a_killed_generation_never_looks_complete(tmp_path):
    root = tmp_path / "cache"
    process = subprocess.Popen([sys.executable, "-c", _GENERATE, str(root), "3"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    partial: list[Path] = []
    while time.monotonic() < deadline and process.poll() is None:
        partial = [p for p in root.glob(".v*-seed3.*") if any(p.iterdir())] if root.exists() else []
        if partial:
            break
        time.sleep(0.02)
    process.kill()
    process.wait()
    if not partial:
        pytest.skip("generation finished before it could be interrupted")
    assert not (root / f"v{DATASET_VERSION}-seed3").exists()
    # a stale leftover is swept by the next generation (made to look old here)
    old = time.time() - 3600
    os.utime(partial[0], (old, old))
    remove_stale_temporaries(root)
    assert not partial[0].exists()
