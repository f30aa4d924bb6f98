"""The demo scans: who scanned, what body, and which pipeline situation each scan shows.

Every scenario is a scan the viewer must handle: finished scans of different bodies, scans still
processing, failed stages, a stuck stage, a legacy PLY bundle, broken or incomplete bundles, a large
mesh, and one scan that progresses by itself after the server starts. Times are given in seconds
*before the server starts*, so the stuck scan is always stuck and the recent ones always recent.

Scan ids are uuid5 of the seed and the scenario name: ``demo_scan_id("ready")`` finds a scan.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, Mapping

#: Pipeline ids (``assetConfigId``), NOTES.md section 5.
DEFAULT_NATIVE_PIPELINE = "25f6d3a6-a634-40c3-8452-0342bee242d0"
DEFAULT_WEB_PIPELINE = "ee651a9e-6de1-4621-a5c9-5d31ca874718"
LEGACY_NATIVE_PIPELINE = "c979ab6b-e46b-4c1c-89e1-bb02435b5cbf"

_ID_NAMESPACE = uuid.UUID("5b0c3f8e-1d7a-4c52-9f0e-7a6d2b9c4e11")

StageValue = Literal["started", "succeeded", "failed"] | None

#: What ends up in the scan folder once the body stage has succeeded:
#: "obj" = avatar.obj + avatar.obj.mtl + texture.png; "ply" = model.ply (legacy, vertex colours);
#: "obj-without-texture" = OBJ + MTL naming a texture.png that is absent;
#: "not-a-mesh" = an S3 XML error document saved as avatar.obj (plus a valid MTL and texture).
Bundle = Literal["obj", "ply", "obj-without-texture", "not-a-mesh"]

HOUR = 3600.0
DAY = 24 * HOUR


@dataclass(frozen=True)
class DemoUser:
    token: str
    sex: Literal["male", "female"]
    region: str
    birth_date: str
    height_m: float
    skin_tone: int
    usa_residence: str | None = None
    target_weight_kg: float | None = None
    research_consent: bool = True

    @property
    def build(self) -> Literal["male", "female"]:
        return self.sex


def _stages(capture: StageValue, body: StageValue, fitted: StageValue, measurement: StageValue) -> Mapping[str, StageValue]:
    return MappingProxyType({"captureData": capture, "body": body, "fittedBody": fitted, "measurement": measurement})


ALL_SUCCEEDED = _stages("succeeded", "succeeded", "succeeded", "succeeded")


@dataclass(frozen=True)
class Scenario:
    name: str
    user_token: str
    purpose: str
    created_before_start_s: float
    status: Literal["CREATED", "PROCESSING", "READY", "FAILED"] = "READY"
    stages: Mapping[str, StageValue] = field(default_factory=lambda: ALL_SUCCEEDED)
    girth: float = 1.0
    bundle: Bundle = "obj"
    detail: Literal["standard", "large"] = "standard"
    asset_config_id: str = DEFAULT_NATIVE_PIPELINE
    device: Literal["IPHONE_SCANNER", "ANDROID_SCANNER"] = "IPHONE_SCANNER"
    top_color: tuple[int, int, int] = (40, 44, 52)
    shorts_color: tuple[int, int, int] = (30, 30, 34)
    #: when set, the scan replays its pipeline (started -> succeeded) over this many seconds after start
    progression_s: float | None = None

    def stage_succeeded(self, stage: str) -> bool:
        return self.stages.get(stage) == "succeeded"


USERS: tuple[DemoUser, ...] = (
    DemoUser("demo-alex", "female", "europe", "1991-04-12", 1.68, skin_tone=1, target_weight_kg=60.0),
    DemoUser("demo-sam", "male", "north_america", "1986-09-30", 1.82, skin_tone=3, usa_residence="California"),
    DemoUser("demo-kim", "female", "asia", "1998-01-22", 1.50, skin_tone=2),
    DemoUser("demo-jordan", "male", "africa", "1979-06-05", 1.95, skin_tone=5, target_weight_kg=100.0,
             research_consent=False),
)

SCENARIOS: tuple[Scenario, ...] = (
    Scenario("ready", "demo-alex", "README screenshot: a finished, textured scan", 2 * DAY,
             top_color=(196, 64, 82), shorts_color=(38, 52, 96)),
    Scenario("ready-earlier", "demo-alex", "the same person two months earlier, fuller figure", 62 * DAY,
             girth=1.12, top_color=(60, 120, 170), shorts_color=(40, 40, 44)),
    Scenario("ready-tall", "demo-jordan", "tall, broad male body (1.95 m, girth 1.3)", 5 * DAY,
             girth=1.3, top_color=(230, 230, 230), shorts_color=(20, 60, 40)),
    Scenario("ready-petite", "demo-kim", "short, slim female body (1.50 m, girth 0.85), web pipeline", 9 * DAY,
             girth=0.85, asset_config_id=DEFAULT_WEB_PIPELINE, device="ANDROID_SCANNER",
             top_color=(250, 190, 60), shorts_color=(90, 60, 120)),
    Scenario("ready-sam", "demo-sam", "average male body", 20 * DAY,
             top_color=(70, 130, 80), shorts_color=(30, 30, 30)),
    # girth 1.3: the generator's face count grows with girth; a slimmer "large" body stays under 500k
    Scenario("large", "demo-jordan", "large mesh (>= 500k faces)", 12 * DAY, detail="large", girth=1.3,
             top_color=(50, 90, 160), shorts_color=(25, 25, 25)),
    # same createdAt as "large": pagination must order ties by id and neither lose nor repeat one
    Scenario("legacy-ply", "demo-sam", "legacy PLY-only bundle (model.ply + preview)", 12 * DAY,
             bundle="ply", asset_config_id=LEGACY_NATIVE_PIPELINE, girth=1.08,
             top_color=(150, 150, 155), shorts_color=(60, 60, 66)),
    Scenario("no-texture", "demo-kim", "READY, OBJ + MTL but the texture is missing (texture URL null)", 30 * DAY,
             bundle="obj-without-texture", girth=0.9),
    Scenario("not-a-mesh", "demo-jordan", "READY, but the model file is an S3 XML error document", 40 * DAY,
             bundle="not-a-mesh", girth=1.25),
    Scenario("processing", "demo-kim", "processing: body stage started a minute ago", 90,
             status="PROCESSING", stages=_stages("succeeded", "started", None, None), girth=0.88,
             top_color=(200, 90, 140)),
    Scenario("created", "demo-jordan", "just created: no capture data yet", 30,
             status="CREATED", stages=_stages(None, None, None, None), girth=1.3),
    Scenario("failed-body", "demo-sam", "FAILED: the body stage failed (no model)", 3 * DAY,
             status="FAILED", stages=_stages("succeeded", "failed", None, None), top_color=(170, 120, 60)),
    Scenario("failed-fitted-body", "demo-jordan", "FAILED: the fitted body stage failed", 4 * DAY,
             status="FAILED", stages=_stages("succeeded", "succeeded", "failed", None), girth=1.28),
    Scenario("failed-measurement", "demo-alex", "FAILED: the measurement stage failed", 6 * DAY,
             status="FAILED", stages=_stages("succeeded", "succeeded", "succeeded", "failed"), girth=1.02),
    Scenario("stuck", "demo-sam", "body stage started more than an hour ago and never finished", 3 * HOUR,
             status="PROCESSING", stages=_stages("succeeded", "started", None, None), girth=1.05),
    Scenario("progressing", "demo-alex", "progresses by itself after start: PROCESSING -> READY", 5,
             progression_s=60.0, girth=0.98, top_color=(120, 60, 150), shorts_color=(30, 30, 40)),
)

#: Offsets after ``createdAt`` at which each stage last changed, for scans that do not progress.
STAGE_OFFSETS_S: Mapping[str, float] = MappingProxyType(
    {"captureData": 25.0, "body": 95.0, "fittedBody": 160.0, "measurement": 190.0}
)

_BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}
_USERS_BY_TOKEN = {user.token: user for user in USERS}


def scenario(name: str) -> Scenario:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown demo scenario {name!r}; known: {', '.join(_BY_NAME)}") from None


def user(token: str) -> DemoUser:
    return _USERS_BY_TOKEN[token]


def demo_scan_id(scenario_name: str, seed: int = 0) -> str:
    """The scan id of a demo scenario for a seed (stable across runs and machines)."""
    scenario(scenario_name)  # raises on a typo
    return str(uuid.uuid5(_ID_NAMESPACE, f"scan-viewer-demo/{seed}/{scenario_name}"))


def demo_user_id(token: str) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, f"scan-viewer-demo-user/{token}"))


def weight_kg(person: DemoUser, girth: float) -> float:
    """A weight that fits the body: BMI ~21.5 (female) / 23 (male) at girth 1, growing with girth squared."""
    bmi = (21.5 if person.sex == "female" else 23.0) * girth**2
    return round(bmi * person.height_m**2, 1)
