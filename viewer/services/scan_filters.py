"""QA filters over scans: predicates, "stuck" detection, counts and saved filters (no Qt).

Rules:
- A ``ScanFilter`` holds one optional condition per kind (stage state, failed anywhere, stuck,
  status, device, user, date range); a scan matches when it meets every condition that is set
  (AND across kinds). The empty filter matches everything.
- A stage is *stuck* when it has been ``started`` for longer than a threshold, measured from its
  ``<stage>UpdatedAt``; a started stage without that time is measured from the scan's
  ``updatedAt``, else its ``createdAt`` (a started stage with no time at all is not called stuck).
- "Failed anywhere" means a stage failed or the scan's status is FAILED.
- Dates are local calendar days, both ends included (the list shows local times).
- Saved filters (with the stuck threshold and the reviewer's name) live as JSON in the config
  directory, written atomically (temp file + rename).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Iterable, Mapping

from viewer.core.atomic_files import write_text_atomic
from viewer.core.models import STAGES, Scan, ScanStatus, StageInfo, StageState
from viewer.core.paths import config_dir

log = logging.getLogger(__name__)

DEFAULT_STUCK_AFTER = timedelta(minutes=30)
PREFERENCES_FILE = "qa-preferences.json"

#: Stage states a filter may ask for (UNKNOWN is not offered: it is not a pipeline situation).
FILTERABLE_STATES: tuple[StageState, ...] = (
    StageState.FAILED, StageState.STARTED, StageState.SUCCEEDED, StageState.NONE)


@dataclass(frozen=True)
class ScanFilter:
    """One condition per kind; ``None`` / ``False`` = that kind does not filter."""

    stage: str | None = None  # with stage_state: this stage is in that state
    stage_state: StageState | None = None
    failed_anywhere: bool = False
    stuck: bool = False
    status: ScanStatus | None = None
    device: str | None = None  # the API's deviceConfigName, e.g. "IPHONE_SCANNER"
    user_token: str | None = None
    created_from: date | None = None  # local day, included
    created_to: date | None = None  # local day, included

    def __post_init__(self) -> None:
        if (self.stage is None) != (self.stage_state is None):
            raise ValueError("stage and stage_state go together")
        if self.stage is not None and self.stage not in STAGES:
            raise ValueError(f"unknown stage {self.stage!r}")

    @property
    def is_empty(self) -> bool:
        return self == ScanFilter()

    def matches(self, scan: Scan, now: datetime, stuck_after: timedelta = DEFAULT_STUCK_AFTER) -> bool:
        if self.stage is not None and scan.assets.state(self.stage) is not self.stage_state:
            return False
        if self.failed_anywhere and not failed_anywhere(scan):
            return False
        if self.stuck and stuck_stage(scan, now, stuck_after) is None:
            return False
        if self.status is not None and scan.status is not self.status:
            return False
        if self.device is not None and scan.device_config_name != self.device:
            return False
        if self.user_token is not None and scan.user_token != self.user_token:
            return False
        if self.created_from is not None or self.created_to is not None:
            day = local_day(scan.created_at)
            if day is None:
                return False
            if self.created_from is not None and day < self.created_from:
                return False
            if self.created_to is not None and day > self.created_to:
                return False
        return True

    def to_json(self) -> dict[str, Any]:
        """Only the kinds that are set, under stable names."""
        data: dict[str, Any] = {}
        if self.stage is not None and self.stage_state is not None:
            data["stage"] = self.stage
            data["stageState"] = self.stage_state.value
        if self.failed_anywhere:
            data["failedAnywhere"] = True
        if self.stuck:
            data["stuck"] = True
        if self.status is not None:
            data["status"] = self.status.value
        if self.device is not None:
            data["device"] = self.device
        if self.user_token is not None:
            data["userToken"] = self.user_token
        if self.created_from is not None:
            data["createdFrom"] = self.created_from.isoformat()
        if self.created_to is not None:
            data["createdTo"] = self.created_to.isoformat()
        return data

    @classmethod
    def from_json(cls, data: Any) -> "ScanFilter":
        """Lenient: a value that does not parse leaves its kind unset."""
        if not isinstance(data, Mapping):
            return cls()
        stage, state = data.get("stage"), _enum(StageState, data.get("stageState"))
        if stage not in STAGES or state is None:
            stage, state = None, None
        return cls(
            stage=stage,
            stage_state=state,
            failed_anywhere=data.get("failedAnywhere") is True,
            stuck=data.get("stuck") is True,
            status=_enum(ScanStatus, data.get("status")),
            device=_text(data.get("device")),
            user_token=_text(data.get("userToken")),
            created_from=_day(data.get("createdFrom")),
            created_to=_day(data.get("createdTo")),
        )


def failed_anywhere(scan: Scan) -> bool:
    return scan.assets.failed_stage is not None or scan.status is ScanStatus.FAILED


def stuck_stage(scan: Scan, now: datetime, stuck_after: timedelta = DEFAULT_STUCK_AFTER) -> StageInfo | None:
    """The first stage ``started`` for longer than ``stuck_after`` at ``now`` (aware), if any."""
    for stage in scan.assets.stages:
        if stage.state is not StageState.STARTED:
            continue
        since = stage.updated_at or scan.updated_at or scan.created_at
        if since is not None and now - since > stuck_after:
            return stage
    return None


def local_day(moment: datetime | None) -> date | None:
    return None if moment is None else moment.astimezone().date()


# -- counts ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FilterCounts:
    """How many scans each single condition would keep, over a set of scans."""

    total: int
    matching: int  # scans the whole filter keeps
    stage_states: Mapping[tuple[str, StageState], int]
    failed_anywhere: int
    stuck: int
    statuses: Mapping[ScanStatus, int]
    devices: Mapping[str | None, int]
    users: Mapping[str | None, int]


def count_scans(scans: Iterable[Scan], active: ScanFilter, now: datetime,
                stuck_after: timedelta = DEFAULT_STUCK_AFTER) -> FilterCounts:
    """Per-condition counts (each on its own, over all ``scans``) and the active filter's count."""
    total = matching = failed = stuck = 0
    stage_states: Counter[tuple[str, StageState]] = Counter()
    statuses: Counter[ScanStatus] = Counter()
    devices: Counter[str | None] = Counter()
    users: Counter[str | None] = Counter()
    for scan in scans:
        total += 1
        matching += active.matches(scan, now, stuck_after)
        failed += failed_anywhere(scan)
        stuck += stuck_stage(scan, now, stuck_after) is not None
        for stage in scan.assets.stages:
            stage_states[(stage.name, stage.state)] += 1
        statuses[scan.status] += 1
        devices[scan.device_config_name] += 1
        users[scan.user_token] += 1
    return FilterCounts(total, matching, dict(stage_states), failed, stuck, dict(statuses), dict(devices),
                        dict(users))


# -- saved filters --------------------------------------------------------------------------------


@dataclass(frozen=True)
class QaPreferences:
    """What the QA tools remember: named filters, the stuck threshold, the reviewer's name."""

    saved: Mapping[str, ScanFilter]
    stuck_after: timedelta = DEFAULT_STUCK_AFTER
    reviewer: str | None = None  # None: the OS user name

    def with_saved(self, name: str, scan_filter: ScanFilter) -> "QaPreferences":
        return replace(self, saved={**self.saved, name: scan_filter})

    def without(self, name: str) -> "QaPreferences":
        return replace(self, saved={k: v for k, v in self.saved.items() if k != name})


def preferences_path() -> Path:
    return config_dir() / PREFERENCES_FILE


def load_preferences(path: Path | None = None) -> QaPreferences:
    """Never raises: a missing or damaged file gives the defaults (and a log line)."""
    path = path or preferences_path()
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return QaPreferences({})
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable QA filters %s: %s", path, exc)
        return QaPreferences({})
    if not isinstance(data, Mapping):
        return QaPreferences({})
    filters = data.get("filters")
    saved = ({str(name): ScanFilter.from_json(value) for name, value in filters.items()}
             if isinstance(filters, Mapping) else {})
    minutes = data.get("stuckAfterMinutes")
    valid = isinstance(minutes, (int, float)) and not isinstance(minutes, bool) and minutes > 0
    stuck_after = timedelta(minutes=minutes) if valid else DEFAULT_STUCK_AFTER
    return QaPreferences(saved, stuck_after, _text(data.get("reviewer")))


def save_preferences(preferences: QaPreferences, path: Path | None = None) -> None:
    path = path or preferences_path()
    data = {
        "stuckAfterMinutes": preferences.stuck_after.total_seconds() / 60,
        "filters": {name: f.to_json() for name, f in preferences.saved.items()},
        "reviewer": preferences.reviewer,
    }
    write_text_atomic(path, json.dumps(data, indent=1, ensure_ascii=False))


def _enum(kind: Any, value: Any) -> Any:
    try:
        return kind(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
