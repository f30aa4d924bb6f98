"""Generate the demo scans (``catalog.SCENARIOS``) as a data folder ``ScanStore`` can serve; cached.

The folder is keyed by ``DATASET_VERSION`` and the seed. It is written into a hidden temporary
folder beside its final place and renamed when complete, so a killed generation never looks
finished, and two processes racing both end up using the one that was renamed first.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

from viewer.demo import catalog
from viewer.demo.bundle_writer import write_obj_bundle, write_ply
from viewer.demo.catalog import DemoUser, Scenario
from viewer.demo.humanoid import BodyParams, GeneratedBody, generate_body
from viewer.demo.preview import render_preview
from viewer.demo.scan_store import (
    DEMO_KEY,
    MEASUREMENTS_FILE,
    SCAN_FILE,
    USERS_FILE,
    complete_measurements,
)
from viewer.mesh.measure import measure_body
from viewer.mesh.mesh_data import PRISM_TO_VIEW

log = logging.getLogger(__name__)

#: Bump whenever the generated files would differ, so stale caches are not reused.
DATASET_VERSION = 1

#: Temporary folders older than this are leftovers of a killed generation and are removed.
_STALE_TEMP_S = 15 * 60

#: What an S3 bucket answers for a missing or forbidden key; saved as the model of "not-a-mesh".
S3_ERROR_DOCUMENT = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    "<Error><Code>AccessDenied</Code><Message>Access Denied</Message>"
    "<RequestId>5QG4W3KZ8E1Y7R2T</RequestId>"
    "<HostId>p0Vd1pZ9xq3nW8m2kR+fT6yLh4Jc5sB7eA1uG0oN9iM=</HostId></Error>\n"
)

#: Folder of the demo data sets inside the cache folder.
DEMO_SUBFOLDER = "demo-scans"

#: Year the demo users' ages are computed for (keeps the body-fat numbers stable).
_REFERENCE_YEAR = 2025


def default_root() -> Path:
    """``demo-scans`` in ``$SCAN_VIEWER_CACHE_DIR``, else in the platform's user cache folder."""
    override = os.environ.get("SCAN_VIEWER_CACHE_DIR")
    base = Path(override) if override else Path(platformdirs.user_cache_dir("scan-viewer"))
    return base / DEMO_SUBFOLDER


def ensure_demo_dataset(root: Path | None = None, seed: int = 0) -> Path:
    """The demo data folder for ``seed`` under ``root``, generated on first use."""
    root = Path(root) if root is not None else default_root()
    final = root / f"v{DATASET_VERSION}-seed{seed}"
    if final.is_dir():
        return final
    root.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(root)
    temporary = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=root))
    try:
        started = time.perf_counter()
        write_demo_dataset(temporary, seed)
        try:
            os.rename(temporary, final)
        except OSError:
            if not final.is_dir():
                raise
            log.info("another process generated %s first; using it", final)
            shutil.rmtree(temporary, ignore_errors=True)
        else:
            log.info("generated demo scans in %s in %.1f s", final, time.perf_counter() - started)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return final


def remove_stale_temporaries(root: Path) -> None:
    """Delete temporary folders that a killed generation left in ``root``."""
    now = time.time()
    for candidate in root.glob(".v*-seed*.*"):
        try:
            if candidate.is_dir() and now - candidate.stat().st_mtime > _STALE_TEMP_S:
                shutil.rmtree(candidate, ignore_errors=True)
        except OSError:
            continue


def write_demo_dataset(folder: Path, seed: int = 0) -> None:
    """Write every demo scan and ``users.json`` into ``folder`` (which must exist).

    Scans are generated on a few threads (the work is mostly numpy and VTK, which release the
    GIL), the large one first so it does not finish last alone.
    """
    ordered = sorted(catalog.SCENARIOS, key=lambda s: s.detail == "standard")
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        futures = [pool.submit(_write_scan, folder / catalog.demo_scan_id(s.name, seed), s, seed) for s in ordered]
        for future in futures:
            future.result()
    users = [_user_fields(user) for user in catalog.USERS]
    (folder / USERS_FILE).write_text(json.dumps(users, indent=2), encoding="utf-8")


def _body_params(scenario: Scenario, seed: int) -> BodyParams:
    person = catalog.user(scenario.user_token)
    return BodyParams(
        height_m=person.height_m,
        girth=scenario.girth,
        build=person.build,
        skin_tone=person.skin_tone,
        top_color=scenario.top_color,
        shorts_color=scenario.shorts_color,
        detail=scenario.detail,
        seed=seed,
    )


def _produced(scenario: Scenario, stage: str) -> bool:
    """Whether the stage's files exist on disk (a progressing scan has all of them from the start)."""
    return scenario.progression_s is not None or scenario.stage_succeeded(stage)


def _write_scan(folder: Path, scenario: Scenario, seed: int) -> None:
    folder.mkdir()
    person = catalog.user(scenario.user_token)
    weight = catalog.weight_kg(person, scenario.girth)
    measured = _produced(scenario, "measurement")
    if _produced(scenario, "captureData"):
        body = generate_body(_body_params(scenario, seed))
        render_preview(body).save(folder / "preview.png")
        if _produced(scenario, "body"):
            _write_bundle(body, folder, scenario)
        if measured:
            values = _measure(body, scenario, seed, weight)
            (folder / MEASUREMENTS_FILE).write_text(json.dumps(values, indent=2), encoding="utf-8")
    scan = _scan_fields(scenario, person, weight, seed, with_bodyfat=measured)
    (folder / SCAN_FILE).write_text(json.dumps(scan, indent=2), encoding="utf-8")


def _write_bundle(body: GeneratedBody, folder: Path, scenario: Scenario) -> None:
    if scenario.bundle == "ply":
        write_ply(body, folder / "model.ply")
        return
    write_obj_bundle(body, folder)
    if scenario.bundle == "obj-without-texture":
        (folder / "texture.png").unlink()
    elif scenario.bundle == "not-a-mesh":
        (folder / "avatar.obj").write_text(S3_ERROR_DOCUMENT, encoding="utf-8")


def _measure(body: GeneratedBody, scenario: Scenario, seed: int, weight: float) -> dict[str, float]:
    """MeasurementDto values in metres. A large body is measured on its standard-detail twin (same
    shape, a fraction of the cost)."""
    if scenario.detail != "standard":
        body = generate_body(dataclasses.replace(body.params, detail="standard"))
    vertices = np.asarray(body.vertices, dtype=np.float64) @ PRISM_TO_VIEW.T
    measured = measure_body(vertices, body.faces, weight_kg=weight)
    values = complete_measurements(measured.values)
    if values is None:
        raise RuntimeError(f"demo scan {scenario.name!r} could not be measured fully: {measured.warnings}")
    return {key: round(value, 5) for key, value in values.items()}


def _stage_times(scenario: Scenario) -> dict[str, float]:
    """Seconds before the server's start for createdAt and each stage that has a state."""
    created = scenario.created_before_start_s
    times = {"createdAt": created}
    if scenario.progression_s is not None:
        return times
    last_offset = max(catalog.STAGE_OFFSETS_S.values())
    squeeze = min(1.0, 0.8 * created / last_offset)  # a very recent scan has not had time for all steps
    for stage, offset in catalog.STAGE_OFFSETS_S.items():
        if scenario.stages.get(stage) is not None:
            times[f"{stage}UpdatedAt"] = round(created - offset * squeeze, 3)
    return times


def _bodyfat(person: DemoUser, weight: float) -> dict[str, Any]:
    """Deurenberg's adult body-fat estimate from BMI, age and sex (plausible, not a measurement)."""
    bmi = weight / person.height_m**2
    age = _REFERENCE_YEAR - int(person.birth_date[:4])
    percent = round(1.2 * bmi + 0.23 * age - 10.8 * (person.sex == "male") - 5.4, 1)
    fat_mass = round(weight * percent / 100, 1)
    return {
        "bodyfatMethod": "coco",
        "bodyfatPercentage": percent,
        "leanMassPercentage": round(100 - percent, 1),
        "fatMass": fat_mass,
        "leanMass": round(weight - fat_mass, 1),
        "vatPercentage": None,
        "vatMass": None,
        "appendicularLeanMassPercentage": None,
        "appendicularLeanMass": None,
        "skeletalMuscleMassPercentage": None,
        "skeletalMuscleMass": None,
    }


def _scan_fields(scenario: Scenario, person: DemoUser, weight: float, seed: int, *, with_bodyfat: bool) -> dict[str, Any]:
    scan_id = catalog.demo_scan_id(scenario.name, seed)
    demo: dict[str, Any] = {
        "scenario": scenario.name,
        "purpose": scenario.purpose,
        "secondsBeforeStart": _stage_times(scenario),
    }
    if scenario.progression_s is not None:
        demo["progression"] = {"durationSeconds": scenario.progression_s}
    return {
        "status": scenario.status,
        "prismScanId": f"prism-{scan_id[:8]}",
        "deviceConfigName": scenario.device,
        "assetConfigId": scenario.asset_config_id,
        "weight": {"value": weight, "unit": "kg"},
        "height": {"value": person.height_m, "unit": "m"},
        "userId": catalog.demo_user_id(person.token),
        "userToken": person.token,
        "bodyfat": _bodyfat(person, weight) if with_bodyfat else None,
        "scanAssets": dict(scenario.stages),
        DEMO_KEY: demo,
    }


def _user_fields(person: DemoUser) -> dict[str, Any]:
    latest = min(
        (s for s in catalog.SCENARIOS if s.user_token == person.token),
        key=lambda s: s.created_before_start_s,
    )
    return {
        "id": catalog.demo_user_id(person.token),
        "token": person.token,
        "sex": person.sex,
        "region": person.region,
        "usaResidence": person.usa_residence,
        "birthDate": person.birth_date,
        "weight": {"value": catalog.weight_kg(person, latest.girth), "unit": "kg"},
        "targetWeight": None if person.target_weight_kg is None else {"value": person.target_weight_kg, "unit": "kg"},
        "height": {"value": person.height_m, "unit": "m"},
        "email": None,
        "researchConsent": person.research_consent,
    }
