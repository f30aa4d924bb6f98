"""Immutable models of what the Prism Hosted API returns, parsed leniently.

Rules (the API grew fields over time, see ``../shared/prism-api/NOTES.md``):
- A missing optional key becomes ``None``; an unknown key is ignored (kept in ``raw``).
- An enum value we do not know becomes ``UNKNOWN`` instead of raising.
- Only a body that is not the right *kind* of thing (not an object, no id) raises
  ``BadResponseError``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from types import MappingProxyType
from typing import Any, Iterator, Mapping

from viewer.core.errors import BadResponseError


class StageState(Enum):
    """State of one pipeline stage (``ScanAssetsDto``)."""

    STARTED = "started"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    NONE = "none"  # the API sends null: the stage has not begun
    UNKNOWN = "unknown"  # a value this version does not know

    @classmethod
    def parse(cls, value: Any) -> "StageState":
        if value is None:
            return cls.NONE
        if isinstance(value, str):
            try:
                state = cls(value.strip().lower())
            except ValueError:
                return cls.UNKNOWN
            return cls.UNKNOWN if state in (cls.NONE, cls.UNKNOWN) else state
        return cls.UNKNOWN


class ScanStatus(Enum):
    """Lifecycle of a scan (``ScanDto.status``)."""

    CREATED = "CREATED"
    PROCESSING = "PROCESSING"
    READY = "READY"
    FAILED = "FAILED"
    UNKNOWN = "UNKNOWN"

    @classmethod
    def parse(cls, value: Any) -> "ScanStatus":
        if isinstance(value, str):
            try:
                status = cls(value.strip().upper())
            except ValueError:
                return cls.UNKNOWN
            return status
        return cls.UNKNOWN

    @property
    def is_final(self) -> bool:
        """READY and FAILED do not change any more; the others are worth re-polling."""
        return self in (ScanStatus.READY, ScanStatus.FAILED)


#: The four pipeline stages, in pipeline order, under their API names.
STAGES: tuple[str, ...] = ("captureData", "body", "fittedBody", "measurement")

STAGE_LABELS: Mapping[str, str] = MappingProxyType({
    "captureData": "Capture data",
    "body": "Body",
    "fittedBody": "Fitted body",
    "measurement": "Measurement",
})


class AssetType(Enum):
    """A downloadable asset: value = path segment of ``asset-urls/{assetType}``."""

    PREVIEW_IMAGE = "preview-image"
    MODEL = "model"
    CANONICAL_BODY = "canonical-body"
    TEXTURE = "texture"
    MATERIAL = "material"
    STRIPES = "stripes"
    CAPTURE_VIDEO = "capture-video"

    @property
    def json_key(self) -> str:
        """Key of this asset in ``ScanAssetUrlsDto``."""
        return _ASSET_JSON_KEYS[self]

    @classmethod
    def from_json_key(cls, key: str) -> "AssetType | None":
        for asset, json_key in _ASSET_JSON_KEYS.items():
            if json_key == key:
                return asset
        return None


_ASSET_JSON_KEYS = {
    AssetType.PREVIEW_IMAGE: "previewImage",
    AssetType.MODEL: "model",
    AssetType.CANONICAL_BODY: "canonicalBody",
    AssetType.TEXTURE: "texture",
    AssetType.MATERIAL: "material",
    AssetType.STRIPES: "stripes",
    AssetType.CAPTURE_VIDEO: "captureVideo",
}


class UnitSystem(Enum):
    METRIC = "metric"
    IMPERIAL = "imperial"


def parse_datetime(value: Any) -> datetime | None:
    """ISO-8601 (with ``Z`` or an offset) to an aware datetime; anything else to None."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _require_object(data: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise BadResponseError(f"Expected {what} as a JSON object, got {type(data).__name__}.")
    return data


@dataclass(frozen=True)
class Quantity:
    """A value with its unit as the API sent it (``kg``/``lb``, ``m``/``in``)."""

    value: float
    unit: str

    @classmethod
    def parse(cls, data: Any) -> "Quantity | None":
        if not isinstance(data, Mapping):
            return None
        value = _number(data.get("value"))
        if value is None:
            return None
        return cls(value, str(data.get("unit") or ""))

    def __str__(self) -> str:
        return f"{self.value:g} {self.unit}".strip()


@dataclass(frozen=True)
class StageInfo:
    name: str
    state: StageState
    updated_at: datetime | None
    raw_state: Any = None  # what the API sent, for tooltips on UNKNOWN

    @property
    def label(self) -> str:
        return STAGE_LABELS.get(self.name, self.name)


@dataclass(frozen=True)
class ScanAssets:
    """Per-stage pipeline states (``ScanAssetsDto``)."""

    id: str | None
    scan_id: str | None
    stages: tuple[StageInfo, ...]
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def parse(cls, data: Any) -> "ScanAssets":
        data = _require_object(data, "scan assets")
        stages = tuple(
            StageInfo(
                name=name,
                state=StageState.parse(data.get(name)),
                updated_at=parse_datetime(data.get(f"{name}UpdatedAt")),
                raw_state=data.get(name),
            )
            for name in STAGES
        )
        return cls(
            id=_string(data.get("id")),
            scan_id=_string(data.get("scanId")),
            stages=stages,
            created_at=parse_datetime(data.get("createdAt")),
            updated_at=parse_datetime(data.get("updatedAt")),
        )

    @classmethod
    def empty(cls) -> "ScanAssets":
        return cls(None, None, tuple(StageInfo(n, StageState.NONE, None) for n in STAGES))

    def stage(self, name: str) -> StageInfo:
        for info in self.stages:
            if info.name == name:
                return info
        raise KeyError(name)

    def state(self, name: str) -> StageState:
        return self.stage(name).state

    @property
    def failed_stage(self) -> StageInfo | None:
        return next((s for s in self.stages if s.state is StageState.FAILED), None)

    @property
    def running_stage(self) -> StageInfo | None:
        return next((s for s in self.stages if s.state is StageState.STARTED), None)


#: API measurement keys in display order, with labels a person reads.
MEASUREMENT_LABELS: Mapping[str, str] = MappingProxyType({
    "neckFit": "Neck",
    "shoulderFit": "Shoulders",
    "upperChestFit": "Upper chest",
    "chestFit": "Chest",
    "lowerChestFit": "Lower chest",
    "waistFit": "Waist",
    "waistNavyFit": "Waist (navy)",
    "stomachFit": "Stomach",
    "hipsFit": "Hips",
    "upperThighLeftFit": "Left upper thigh",
    "upperThighRightFit": "Right upper thigh",
    "thighLeftFit": "Left thigh",
    "thighRightFit": "Right thigh",
    "lowerThighLeftFit": "Left lower thigh",
    "lowerThighRightFit": "Right lower thigh",
    "calfLeftFit": "Left calf",
    "calfRightFit": "Right calf",
    "ankleLeftFit": "Left ankle",
    "ankleRightFit": "Right ankle",
    "midArmLeftFit": "Left bicep",
    "midArmRightFit": "Right bicep",
    "lowerArmLeftFit": "Left lower arm",
    "lowerArmRightFit": "Right lower arm",
    "forearmLeftFit": "Left forearm",
    "forearmRightFit": "Right forearm",
    "wristLeftFit": "Left wrist",
    "wristRightFit": "Right wrist",
    "waistToHipRatio": "Waist-to-hip ratio",
    "bmiPredicted": "BMI (predicted)",
    "bmiConfidence": "BMI confidence",
    "bodyRoundnessIndex": "Body roundness index",
    "fullBodyVolume": "Full body volume",
})

#: Measurement keys that are lengths (metres in metric, inches in imperial); the rest are unitless.
LENGTH_MEASUREMENTS: frozenset[str] = frozenset(k for k in MEASUREMENT_LABELS if k.endswith("Fit"))


@dataclass(frozen=True)
class Measurements:
    """``MeasurementDto``: numbers by API key, in the unit system they were requested in."""

    values: Mapping[str, float]
    unit_system: UnitSystem = UnitSystem.METRIC

    @classmethod
    def parse(cls, data: Any, unit_system: UnitSystem = UnitSystem.METRIC) -> "Measurements":
        data = _require_object(data, "measurements")
        values = {k: v for k, v in ((k, _number(v)) for k, v in data.items()) if v is not None}
        return cls(MappingProxyType(values), unit_system)

    def __iter__(self) -> Iterator[tuple[str, str, float]]:
        """(key, label, value) in display order; unknown keys last, labelled by their key."""
        for key, label in MEASUREMENT_LABELS.items():
            if key in self.values:
                yield key, label, self.values[key]
        for key, value in self.values.items():
            if key not in MEASUREMENT_LABELS:
                yield key, key, value

    def get(self, key: str) -> float | None:
        return self.values.get(key)


@dataclass(frozen=True)
class Scan:
    """``ScanDto``."""

    id: str
    status: ScanStatus
    user_token: str | None = None
    user_id: str | None = None
    prism_scan_id: str | None = None
    device_config_name: str | None = None
    asset_config_id: str | None = None
    weight: Quantity | None = None
    height: Quantity | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    assets: ScanAssets = field(default_factory=ScanAssets.empty)
    measurements: Measurements | None = None
    bodyfat: Mapping[str, Any] | None = None
    raw_status: Any = None

    @classmethod
    def parse(cls, data: Any) -> "Scan":
        data = _require_object(data, "a scan")
        scan_id = data.get("id")
        if not isinstance(scan_id, str) or not scan_id:
            raise BadResponseError("A scan in the server's answer has no id.")
        assets_data = data.get("scanAssets")
        measurements = data.get("measurements")
        bodyfat = data.get("bodyfat")
        return cls(
            id=scan_id,
            status=ScanStatus.parse(data.get("status")),
            user_token=_string(data.get("userToken")),
            user_id=_string(data.get("userId")),
            prism_scan_id=_string(data.get("prismScanId")),
            device_config_name=_string(data.get("deviceConfigName")),
            asset_config_id=_string(data.get("assetConfigId")),
            weight=Quantity.parse(data.get("weight")),
            height=Quantity.parse(data.get("height")),
            created_at=parse_datetime(data.get("createdAt")),
            updated_at=parse_datetime(data.get("updatedAt")),
            assets=ScanAssets.parse(assets_data) if isinstance(assets_data, Mapping) else ScanAssets.empty(),
            measurements=Measurements.parse(measurements) if isinstance(measurements, Mapping) else None,
            bodyfat=MappingProxyType(dict(bodyfat)) if isinstance(bodyfat, Mapping) else None,
            raw_status=data.get("status"),
        )


@dataclass(frozen=True)
class ScanPage:
    """One page of ``GET /scans``."""

    results: tuple[Scan, ...]
    cursor: str | None

    @classmethod
    def parse(cls, data: Any) -> "ScanPage":
        data = _require_object(data, "a page of scans")
        results = data.get("results")
        if not isinstance(results, list):
            raise BadResponseError("The list of scans has no 'results' array.")
        page_info = data.get("pageInfo")
        cursor = page_info.get("cursor") if isinstance(page_info, Mapping) else None
        return cls(tuple(Scan.parse(item) for item in results), cursor if isinstance(cursor, str) and cursor else None)


@dataclass(frozen=True)
class AssetUrls:
    """``ScanAssetUrlsDto``: a URL or None per asset type (missing keys are None)."""

    urls: Mapping[AssetType, str | None]

    @classmethod
    def parse(cls, data: Any) -> "AssetUrls":
        data = _require_object(data, "asset URLs")
        return cls(MappingProxyType({a: _string(data.get(a.json_key)) or None for a in AssetType}))

    def get(self, asset: AssetType) -> str | None:
        return self.urls.get(asset)


@dataclass(frozen=True)
class User:
    """``UserDto``."""

    token: str
    id: str | None = None
    sex: str | None = None
    region: str | None = None
    birth_date: str | None = None
    weight: Quantity | None = None
    height: Quantity | None = None

    @classmethod
    def parse(cls, data: Any) -> "User":
        data = _require_object(data, "a user")
        token = data.get("token")
        if not isinstance(token, str):
            raise BadResponseError("The user in the server's answer has no token.")
        return cls(
            token=token,
            id=_string(data.get("id")),
            sex=_string(data.get("sex")),
            region=_string(data.get("region")),
            birth_date=_string(data.get("birthDate")),
            weight=Quantity.parse(data.get("weight")),
            height=Quantity.parse(data.get("height")),
        )
