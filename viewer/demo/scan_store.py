"""Scans read from a data folder, and the Prism DTOs built from them at the current moment.

Layout of a data folder (the generated demo set is one too)::

    <root>/users.json                 optional: list of partial UserDto objects (metric)
    <root>/<scanId>/scan.json         optional: any subset of a ScanDto (+ partial ``scanAssets``)
    <root>/<scanId>/measurements.json optional: a MeasurementDto in metres
    <root>/<scanId>/avatar.obj, avatar.obj.mtl, texture.png | model.ply, preview.png

Rules:
- The folder name is the scan id. Fields missing from ``scan.json`` get plausible defaults: user
  ``data-user``, READY with every stage succeeded, 70 kg, the height of the mesh, ``IPHONE_SCANNER``,
  the default native pipeline.
- An asset has a file only when its file exists *and* the stage producing it has succeeded.
- Measurements: ``measurements.json``, else ``scan.json``'s ``measurements``, else computed from the
  mesh (cached); none until the measurement stage has succeeded.
- Demo-only timing lives in ``scan.json`` under ``x-demo``: ``secondsBeforeStart`` gives timestamps
  relative to the store's start (``restart_clock``), and ``progression.durationSeconds`` makes a scan
  replay its pipeline (stages started -> succeeded, PROCESSING -> READY) over that many seconds.
- Everything is stored in metric units; ``unit_system="imperial"`` converts on the way out.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping

import numpy as np

from viewer.core.models import MEASUREMENT_LABELS
from viewer.demo.catalog import DEFAULT_NATIVE_PIPELINE

log = logging.getLogger(__name__)

SCAN_FILE = "scan.json"
MEASUREMENTS_FILE = "measurements.json"
USERS_FILE = "users.json"
DEMO_KEY = "x-demo"
DEFAULT_USER_TOKEN = "data-user"
DEFAULT_WEIGHT_KG = 70.0
FALLBACK_HEIGHT_M = 1.75

STAGES: tuple[str, ...] = ("captureData", "body", "fittedBody", "measurement")

#: ScanAssetUrlsDto key -> file names that can hold it (first existing wins).
ASSET_FILES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "previewImage": ("preview.png", "preview.jpg"),
    "model": ("avatar.obj", "model.ply"),
    "canonicalBody": ("canonical_body.obj", "canonical_body.ply"),
    "texture": ("texture.png",),
    "material": ("avatar.obj.mtl",),
    "stripes": ("stripes.ply",),
    "captureVideo": ("capture.mp4",),
})

#: ScanAssetUrlsDto key -> pipeline stage that produces it.
ASSET_STAGE: Mapping[str, str] = MappingProxyType({
    "previewImage": "captureData",
    "captureVideo": "captureData",
    "model": "body",
    "texture": "body",
    "material": "body",
    "canonicalBody": "fittedBody",
    "stripes": "fittedBody",
})

#: assetType path value -> ScanAssetUrlsDto key.
ASSET_TYPES: Mapping[str, str] = MappingProxyType({
    "preview-image": "previewImage",
    "model": "model",
    "canonical-body": "canonicalBody",
    "material": "material",
    "texture": "texture",
    "stripes": "stripes",
    "capture-video": "captureVideo",
})

#: Fraction of a progression's duration at which each stage starts and succeeds.
PROGRESSION_PLAN: Mapping[str, tuple[float, float]] = MappingProxyType({
    "captureData": (0.0, 0.15),
    "body": (0.15, 0.55),
    "fittedBody": (0.55, 0.8),
    "measurement": (0.8, 1.0),
})

#: Stage states implied by a status when ``scan.json`` gives a status but no ``scanAssets``.
_STAGES_FOR_STATUS: Mapping[str, tuple[str | None, ...]] = MappingProxyType({
    "READY": ("succeeded", "succeeded", "succeeded", "succeeded"),
    "PROCESSING": ("succeeded", "started", None, None),
    "CREATED": (None, None, None, None),
    "FAILED": ("succeeded", "failed", None, None),
})

KG_TO_LB = 2.2046226218
M_TO_IN = 39.37007874
_BODYFAT_MASSES = ("fatMass", "leanMass", "vatMass", "appendicularLeanMass", "skeletalMuscleMass")


def iso_time(timestamp: float) -> str:
    """Unix time -> ``2024-05-01T12:00:00.000Z`` (the form NestJS sends)."""
    moment = datetime.fromtimestamp(timestamp, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse_time(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _metric_quantity(value: Any, metric_unit: str, imperial_unit: str, factor: float) -> dict[str, Any] | None:
    if not isinstance(value, Mapping) or not isinstance(value.get("value"), (int, float)):
        return None
    number = float(value["value"])
    if value.get("unit") == imperial_unit:
        number /= factor
    return {"value": number, "unit": metric_unit}


def _metric_weight(value: Any) -> dict[str, Any] | None:
    return _metric_quantity(value, "kg", "lb", KG_TO_LB)


def _metric_height(value: Any) -> dict[str, Any] | None:
    return _metric_quantity(value, "m", "in", M_TO_IN)


def _convert(quantity: Mapping[str, Any] | None, unit: str, factor: float, decimals: int) -> dict[str, Any] | None:
    if quantity is None:
        return None
    return {"value": round(float(quantity["value"]) * factor, decimals), "unit": unit}


def convert_user(dto: Mapping[str, Any], unit_system: str) -> dict[str, Any]:
    """A metric UserDto in the requested unit system."""
    result = dict(dto)
    if unit_system == "imperial":
        result["weight"] = _convert(dto["weight"], "lb", KG_TO_LB, 1)
        result["targetWeight"] = _convert(dto.get("targetWeight"), "lb", KG_TO_LB, 1)
        result["height"] = _convert(dto["height"], "in", M_TO_IN, 1)
    return result


def convert_measurements(values: Mapping[str, float], unit_system: str) -> dict[str, float]:
    """Metric MeasurementDto -> requested units: every ``*Fit`` length m -> in; ratios unchanged."""
    if unit_system != "imperial":
        return dict(values)
    return {key: round(value * M_TO_IN, 3) if key.endswith("Fit") else value for key, value in values.items()}


def convert_bodyfat(bodyfat: Mapping[str, Any] | None, unit_system: str) -> dict[str, Any] | None:
    """A metric BodyfatDto in the requested unit system: masses kg -> lb, percentages unchanged."""
    if bodyfat is None:
        return None
    result = dict(bodyfat)
    if unit_system == "imperial":
        for key in _BODYFAT_MASSES:
            if isinstance(result.get(key), (int, float)):
                result[key] = round(result[key] * KG_TO_LB, 2)
    return result


@dataclass(frozen=True)
class ScanSnapshot:
    """One scan as the API shows it at one moment, in metric units."""

    scan_id: str
    user_token: str
    created_at: float
    status: str
    stages: Mapping[str, str | None]
    #: ScanAssetUrlsDto key -> file to serve, None when the asset does not exist (yet)
    assets: Mapping[str, Path | None]
    measurements: Mapping[str, float] | None
    #: the ScanDto in metric units (read it through ``scan_dto``)
    metric_dto: Mapping[str, Any] = field(repr=False)

    def scan_dto(self, unit_system: str = "metric") -> dict[str, Any]:
        dto = copy.deepcopy(dict(self.metric_dto))
        if unit_system == "imperial":
            dto["weight"] = _convert(dto["weight"], "lb", KG_TO_LB, 1)
            dto["height"] = _convert(dto["height"], "in", M_TO_IN, 1)
        dto["measurements"] = self.measurements_dto(unit_system)
        dto["bodyfat"] = convert_bodyfat(dto.get("bodyfat"), unit_system)
        return dto

    def scan_assets_dto(self) -> dict[str, Any]:
        return dict(self.metric_dto["scanAssets"])

    def measurements_dto(self, unit_system: str = "metric") -> dict[str, float] | None:
        return None if self.measurements is None else convert_measurements(self.measurements, unit_system)

    def asset_path(self, filename: str) -> Path | None:
        """The file of an available asset named ``filename``, else None."""
        for path in self.assets.values():
            if path is not None and path.name == filename:
                return path
        return None


@dataclass
class _ScanSource:
    """What one scan folder holds, read once."""

    scan_id: str
    folder: Path
    fields: dict[str, Any]
    stage_fields: dict[str, Any]
    demo: dict[str, Any]
    files: dict[str, Path]
    measurements_file: Path | None


@dataclass(frozen=True)
class _MeshFacts:
    height_m: float
    measurements: Mapping[str, float] | None


def _read_json_object(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable %s: %s", path, exc)
        return {}
    if not isinstance(data, dict):
        log.warning("ignoring %s: not a JSON object", path)
        return {}
    return data


def _read_source(folder: Path) -> _ScanSource:
    raw = _read_json_object(folder / SCAN_FILE) if (folder / SCAN_FILE).is_file() else {}
    demo = raw.pop(DEMO_KEY, None)
    stage_fields = raw.pop("scanAssets", None)
    files: dict[str, Path] = {}
    for key, names in ASSET_FILES.items():
        for name in names:
            if (folder / name).is_file():
                files[key] = folder / name
                break
    measurements_file = folder / MEASUREMENTS_FILE
    return _ScanSource(
        scan_id=folder.name,
        folder=folder,
        fields=raw,
        stage_fields=stage_fields if isinstance(stage_fields, dict) else {},
        demo=demo if isinstance(demo, dict) else {},
        files=files,
        measurements_file=measurements_file if measurements_file.is_file() else None,
    )


def complete_measurements(data: Any) -> dict[str, float] | None:
    """A MeasurementDto with every key a number, else None (the spec makes every key required)."""
    if not isinstance(data, Mapping):
        return None
    values = {key: data.get(key) for key in MEASUREMENT_LABELS}
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values.values()):
        return None
    return {key: float(value) for key, value in values.items()}


class ScanStore:
    """All scans of one data folder; every read builds the state at ``clock()``.

    Thread-safe: the server calls it from many request threads. Mesh-derived facts (height,
    measurements) are computed at most once per scan.
    """

    def __init__(
        self,
        root: Path,
        *,
        clock: Callable[[], float] = time.time,
        progress_seconds: float | None = None,
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"data folder not found: {self.root}")
        self._clock = clock
        self._progress_seconds = progress_seconds
        self.started_at = clock()
        self._sources = {
            folder.name: _read_source(folder)
            for folder in sorted(self.root.iterdir())
            if folder.is_dir() and not folder.name.startswith(".")
        }
        users_file = self.root / USERS_FILE
        self._user_fields = self._read_users(users_file) if users_file.is_file() else {}
        self._mesh_facts: dict[str, _MeshFacts | None] = {}
        self._mesh_locks = {scan_id: threading.Lock() for scan_id in self._sources}

    # ----------------------------------------------------------------- public API

    def restart_clock(self) -> None:
        """Make "now" the start that demo times are relative to (the server calls this on start)."""
        self.started_at = self._clock()

    @property
    def scan_ids(self) -> tuple[str, ...]:
        return tuple(self._sources)

    @property
    def user_tokens(self) -> tuple[str, ...]:
        tokens = dict.fromkeys(self._user_fields)
        for source in self._sources.values():
            tokens.setdefault(self._user_token(source), None)
        return tuple(tokens)

    def snapshot(self, scan_id: str) -> ScanSnapshot | None:
        source = self._sources.get(scan_id)
        return None if source is None else self._snapshot(source, self._clock())

    def snapshots(self, user_token: str | None = None) -> list[ScanSnapshot]:
        """Scans (of one user, or of everyone) ordered by ``(createdAt, id)`` ascending."""
        now = self._clock()
        chosen = [s for s in self._sources.values() if user_token is None or self._user_token(s) == user_token]
        return sorted((self._snapshot(s, now) for s in chosen), key=lambda snap: (snap.created_at, snap.scan_id))

    def user_dto(self, token: str, unit_system: str = "metric") -> dict[str, Any] | None:
        if token not in self.user_tokens:
            return None
        scans = self.snapshots(token)
        latest = scans[-1].metric_dto if scans else None  # the user's weight and height today
        dto: dict[str, Any] = {
            "id": self._user_id(token),
            "sex": "undefined",
            "region": "north_america",
            "usaResidence": None,
            "birthDate": "1990-01-01",
            "weight": latest["weight"] if latest else {"value": DEFAULT_WEIGHT_KG, "unit": "kg"},
            "targetWeight": None,
            "height": latest["height"] if latest else {"value": FALLBACK_HEIGHT_M, "unit": "m"},
            "token": token,
            "email": None,
            "researchConsent": False,
        }
        dto.update(self._user_fields.get(token, {}))
        dto["token"] = token
        return convert_user(dto, unit_system)

    # ------------------------------------------------------------------ internals

    @staticmethod
    def _read_users(path: Path) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable %s: %s", path, exc)
            return {}
        users: dict[str, dict[str, Any]] = {}
        for item in data if isinstance(data, list) else []:
            if isinstance(item, dict) and isinstance(item.get("token"), str):
                fields = dict(item)
                for key, convert in (("weight", _metric_weight), ("targetWeight", _metric_weight),
                                     ("height", _metric_height)):
                    if key in fields and fields[key] is not None:
                        fields[key] = convert(fields[key])
                users[item["token"]] = fields
        return users

    def _user_token(self, source: _ScanSource) -> str:
        token = source.fields.get("userToken")
        return token if isinstance(token, str) and token else DEFAULT_USER_TOKEN

    def _user_id(self, token: str) -> str:
        given = self._user_fields.get(token, {}).get("id")
        return given if isinstance(given, str) else str(uuid.uuid5(uuid.NAMESPACE_URL, f"scan-viewer-user:{token}"))

    def _time_before_start(self, source: _ScanSource, key: str) -> float | None:
        offsets = source.demo.get("secondsBeforeStart")
        if isinstance(offsets, Mapping) and isinstance(offsets.get(key), (int, float)):
            return self.started_at - float(offsets[key])
        return None

    def _created_at(self, source: _ScanSource) -> float:
        explicit = _parse_time(source.fields.get("createdAt"))
        if explicit is not None:
            return explicit
        relative = self._time_before_start(source, "createdAt")
        if relative is not None:
            return relative
        anchor = source.files.get("model", source.folder)
        return anchor.stat().st_mtime

    def _progression_s(self, source: _ScanSource) -> float | None:
        progression = source.demo.get("progression")
        if not isinstance(progression, Mapping):
            return None
        if self._progress_seconds is not None:
            return self._progress_seconds
        duration = progression.get("durationSeconds")
        return float(duration) if isinstance(duration, (int, float)) and duration > 0 else None

    def _stages(self, source: _ScanSource, created: float, now: float) -> tuple[str, dict[str, str | None], dict[str, float | None]]:
        """(status, stage states, stage update times) of a scan at ``now``."""
        duration = self._progression_s(source)
        if duration is not None:
            return self._progressed_stages(duration, now)
        status = source.fields.get("status")
        status = status if status in _STAGES_FOR_STATUS else "READY"
        states = dict(zip(STAGES, _STAGES_FOR_STATUS[status]))
        times: dict[str, float | None] = {}
        for stage in STAGES:
            if stage in source.stage_fields:
                value = source.stage_fields[stage]
                states[stage] = value if value in ("started", "succeeded", "failed") else None
            moment = _parse_time(source.stage_fields.get(f"{stage}UpdatedAt"))
            if moment is None:
                moment = self._time_before_start(source, f"{stage}UpdatedAt")
            if moment is None and states[stage] is not None:
                moment = created
            times[stage] = moment if states[stage] is not None else None
        return status, states, times

    def _progressed_stages(self, duration: float, now: float) -> tuple[str, dict[str, str | None], dict[str, float | None]]:
        progress = (now - self.started_at) / duration
        states: dict[str, str | None] = {}
        times: dict[str, float | None] = {}
        for stage, (begin, end) in PROGRESSION_PLAN.items():
            if progress >= end:
                states[stage], times[stage] = "succeeded", self.started_at + end * duration
            elif progress >= begin:
                states[stage], times[stage] = "started", self.started_at + begin * duration
            else:
                states[stage], times[stage] = None, None
        return ("READY" if progress >= 1.0 else "PROCESSING"), states, times

    def _snapshot(self, source: _ScanSource, now: float) -> ScanSnapshot:
        created = self._created_at(source)
        status, states, times = self._stages(source, created, now)
        token = self._user_token(source)
        assets = {
            key: source.files.get(key) if states[ASSET_STAGE[key]] == "succeeded" else None
            for key in ASSET_FILES
        }
        measurements = self._measurements(source) if states["measurement"] == "succeeded" else None
        stage_times = [t for t in times.values() if t is not None]
        updated = _parse_time(source.fields.get("updatedAt")) or max([created, *stage_times])
        scan_assets: dict[str, Any] = {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"scan-viewer-scan-assets:{source.scan_id}")),
            "scanId": source.scan_id,
        }
        for stage in STAGES:
            scan_assets[stage] = states[stage]
            moment = times[stage]
            scan_assets[f"{stage}UpdatedAt"] = None if moment is None else iso_time(moment)
        scan_assets["createdAt"] = iso_time(created)
        scan_assets["updatedAt"] = iso_time(max([created, *stage_times]))

        # keys in the order of the spec's ScanDto; scan.json may add more
        dto: dict[str, Any] = {
            "id": source.scan_id,
            "status": status,
            "prismScanId": f"prism-{source.scan_id}",
            "deviceConfigName": "IPHONE_SCANNER",
            "assetConfigId": DEFAULT_NATIVE_PIPELINE,
            "weight": None,
            "height": None,
            "userId": None,
            "userToken": token,
            "createdAt": None,
            "updatedAt": None,
            "scanAssets": scan_assets,
            "measurements": None,
            "bodyfat": None,
        }
        dto.update({k: v for k, v in source.fields.items() if k != "measurements"})
        dto.update({
            "id": source.scan_id,
            "status": status,
            "userToken": token,
            "userId": source.fields.get("userId") or self._user_id(token),
            "weight": _metric_weight(source.fields.get("weight")) or {"value": DEFAULT_WEIGHT_KG, "unit": "kg"},
            "height": _metric_height(source.fields.get("height")) or {"value": self._default_height(source), "unit": "m"},
            "createdAt": iso_time(created),
            "updatedAt": iso_time(updated),
            "scanAssets": scan_assets,
            "measurements": None,
        })
        if states["measurement"] != "succeeded":
            dto["bodyfat"] = None
        return ScanSnapshot(
            scan_id=source.scan_id,
            user_token=token,
            created_at=created,
            status=status,
            stages=MappingProxyType(states),
            assets=MappingProxyType(assets),
            measurements=None if measurements is None else MappingProxyType(measurements),
            metric_dto=MappingProxyType(dto),
        )

    def _default_height(self, source: _ScanSource) -> float:
        facts = self._facts(source)
        return round(facts.height_m, 3) if facts is not None else FALLBACK_HEIGHT_M

    def _measurements(self, source: _ScanSource) -> dict[str, float] | None:
        if source.measurements_file is not None:
            return complete_measurements(_read_json_object(source.measurements_file))
        given = complete_measurements(source.fields.get("measurements"))
        if given is not None:
            return given
        facts = self._facts(source)
        return None if facts is None or facts.measurements is None else dict(facts.measurements)

    def _facts(self, source: _ScanSource) -> _MeshFacts | None:
        """Height and measurements of the scan's mesh, computed once; None when it is not a mesh."""
        with self._mesh_locks[source.scan_id]:
            if source.scan_id not in self._mesh_facts:
                self._mesh_facts[source.scan_id] = self._measure_mesh(source)
            return self._mesh_facts[source.scan_id]

    def _measure_mesh(self, source: _ScanSource) -> _MeshFacts | None:
        path = source.files.get("model")
        if path is None:
            return None
        # imported here: trimesh and the measuring code are only needed for plain data folders
        import trimesh

        from viewer.mesh.measure import measure_body
        from viewer.mesh.mesh_data import PRISM_TO_VIEW

        try:
            mesh = trimesh.load(path, force="mesh", process=False)
            vertices = np.asarray(mesh.vertices, dtype=np.float64) @ PRISM_TO_VIEW.T
            faces = np.asarray(mesh.faces)
        except Exception as exc:  # trimesh raises many kinds of error for a file that is not a mesh
            log.warning("scan %s: model %s is not a readable mesh: %s", source.scan_id, path.name, exc)
            return None
        if len(vertices) == 0 or len(faces) == 0:
            return None
        height = float(np.ptp(vertices[:, 2]))
        weight = _metric_weight(source.fields.get("weight"))
        try:
            measured = measure_body(vertices, faces, weight_kg=weight["value"] if weight else DEFAULT_WEIGHT_KG)
        except ValueError as exc:  # measure_body's way of saying "not a body"
            log.warning("scan %s: cannot measure %s: %s", source.scan_id, path.name, exc)
            return _MeshFacts(height_m=height, measurements=None)
        values = complete_measurements(measured.values)
        if values is None:
            log.warning("scan %s: %s gives only some measurements: %s", source.scan_id, path.name,
                        "; ".join(measured.warnings))
        return _MeshFacts(height_m=height, measurements=None if values is None else MappingProxyType(values))
