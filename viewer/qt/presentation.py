"""Presentation mode for salespeople: full screen, a slow turntable, large measurement cards, a cycle
of scans that keeps going with the network off.

``install(window)`` adds View > Presentation mode (F11) and View > Demo list, and the keys used while
presenting. It talks to the window only through its public hooks.

Rules:
- Entering hides every control (menu bar, status bar, toolbars, docks, every splitter pane but the
  one holding the 3D area, the 3D area's banner line) and goes full screen; leaving gives each
  widget back its own hidden flag and restores the splitter sizes, window state and geometry.
- Nothing identifying is on screen: the cards show measurement names and values only (no scan id,
  user token, date or device).
- Which scans: the rows selected in the list when there are two or more, else the saved demo list
  (``viewer.core.demo_list``, per server), else every READY scan loaded in the list.
- Never stall on stage: entering prefetches every scan of the cycle in one background task, from
  the first shown on (model, material, texture and mesh sidecar into the cache; scan records and
  measurements into memory). While a body is on screen the cycle moves only to scans whose files
  are in the cache, so a step never waits for a download and keeps working when the server goes
  away; a scan not cached (yet, or ever) is skipped silently. With no body on screen (the first
  scan, or after a failure) any scan may be opened, downloading if need be. With the server
  gone, requests fail at once after the first one has used up its retries (the client's
  ``RetryPolicy.fail_fast_s``), so no worker thread sits in a backoff delaying the next body.
- A scan is shown with ``window.open_scan`` (cache first). When the view ends on an error or
  message page, a curtain covers it at once (it never appears) and the next scan is shown; the
  skipped scan is not tried again in this presentation. When no scan of the cycle can be shown,
  the curtain stays and the next cycle tick tries them all again: never a traceback on stage.
- Turntable: a QTimer on the GUI thread at ~30 fps turns the camera about +Z through its focal
  point, keeping view-up +Z. Each frame turns by ``degrees_per_second`` x the time elapsed since
  the previous one, so a slow software renderer turns just as fast with fewer frames; when frames
  take long the timer interval widens so the GUI thread keeps time for input.
- Keys while presenting: Left / Right previous / next scan, Space pauses (turntable and cycle),
  Esc or F11 leave. They are window actions enabled only while presenting, so the arrows reach the
  scan list otherwise.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

from PySide6.QtCore import QEvent, QObject, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QFont, QKeySequence, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QFrame,
    QInputDialog,
    QLabel,
    QMenu,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from viewer.core.demo_list import DemoList
from viewer.core.errors import ScanViewerError
from viewer.core.formatting import METRES_PER_INCH, format_measurement
from viewer.core.models import (
    MEASUREMENT_LABELS,
    Measurements,
    Quantity,
    Scan,
    ScanStatus,
    StageState,
    UnitSystem,
)
from viewer.core.settings import save_settings
from viewer.mesh.mesh_data import VIEW_FRAME
from viewer.qt.tasks import Task
from viewer.services.scan_opening import Cancelled

log = logging.getLogger(__name__)

#: the key of the presentation choices in ``Settings.extra``
EXTRA_KEY = "presentation"
DEFAULT_CYCLE_SECONDS = 20
DEGREES_PER_SECOND = 12.0
FRAME_INTERVAL_MS = 33  # ~30 fps
MAX_FRAME_INTERVAL_MS = 100
#: longest step a frame may take: after a stall (a body being added) the body does not jump
MAX_FRAME_STEP_S = 0.25
#: the measurements on the cards, in order ("height" is the scan's declared height)
CARD_KEYS = ("height", "chestFit", "waistFit", "hipsFit")
CARD_LABELS = {"height": "Height", "chestFit": "Chest", "waistFit": "Waist", "hipsFit": "Hips"}
CURTAIN_RGB = (0xEE, 0xF1, 0xF5)  # the poster page's background

_PREFETCH_GROUP = "presentation-prefetch"
_RESOLVE_GROUP = "presentation-resolve"
_METRES_PER_UNIT = {"m": 1.0, "cm": 0.01, "mm": 0.001, "in": METRES_PER_INCH}

SHORTCUTS = (("F11", "Presentation mode on / off"), ("Left / Right", "Presentation: previous / next scan"),
             ("Space", "Presentation: pause / resume"), ("Esc", "Leave presentation mode"))


# --------------------------------------------------------------------------------- camera, clock

def turn_about_up(position: Sequence[float], focal_point: Sequence[float],
                  degrees: float) -> tuple[float, float, float]:
    """``position`` turned by ``degrees`` about the vertical (+Z) axis through ``focal_point``."""
    angle = math.radians(degrees)
    cos, sin = math.cos(angle), math.sin(angle)
    dx, dy = position[0] - focal_point[0], position[1] - focal_point[1]
    return (focal_point[0] + cos * dx - sin * dy, focal_point[1] + sin * dx + cos * dy, float(position[2]))


def camera_azimuth(position: Sequence[float], focal_point: Sequence[float]) -> float:
    """Direction of the camera from its focal point seen from above, in degrees (-180, 180]."""
    return math.degrees(math.atan2(position[1] - focal_point[1], position[0] - focal_point[0]))


class FrameClock:
    """Seconds between frames (clamped) and the frame rate over the last second."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last: float | None = None
        self._times: deque[float] = deque()

    def reset(self) -> None:
        """Forget the previous frame: the next ``tick`` returns 0 (after a pause or a new body)."""
        self._last = None
        self._times.clear()

    def tick(self) -> float:
        now = self._clock()
        step = 0.0 if self._last is None else min(MAX_FRAME_STEP_S, max(0.0, now - self._last))
        self._last = now
        self._times.append(now)
        while self._times and now - self._times[0] > 1.0:
            self._times.popleft()
        return step

    @property
    def fps(self) -> float:
        if len(self._times) < 2:
            return 0.0
        span = self._times[-1] - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0


# --------------------------------------------------------------------------------- cards

def height_in_metres(height: Quantity | None) -> float | None:
    if height is None or height.value <= 0:
        return None
    per_unit = _METRES_PER_UNIT.get(height.unit.strip().lower())
    return height.value * per_unit if per_unit is not None else None


def format_height(metres: float, units: UnitSystem) -> str:
    """``1.75 m``, or feet and inches: ``5 ft 9 in``."""
    if units is UnitSystem.METRIC:
        return f"{metres:.2f} m"
    inches = round(metres / METRES_PER_INCH)
    return f"{inches // 12} ft {inches % 12} in"


def card_rows(measurements: Measurements | None, height_m: float | None, units: UnitSystem,
              shown_rows: Sequence[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """(label, value) for each card that has a value: ``measurements`` first, else the rows the
    details pane shows (label, formatted value) for the same scan."""
    shown = dict(shown_rows)
    rows = []
    for key in CARD_KEYS:
        if key == "height":
            text = format_height(height_m, units) if height_m is not None else None
        elif measurements is not None and measurements.get(key) is not None:
            text = format_measurement(key, measurements.values[key], measurements.unit_system, units)
        else:
            text = shown.get(MEASUREMENT_LABELS[key])
        if text:
            rows.append((CARD_LABELS[key], text))
    return rows


class PresentationOverlay(QWidget):
    """Large translucent measurement cards over the 3D area, a "Paused" pill, and a curtain that
    hides whatever page is below it. Mouse events pass through to the view."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setObjectName("presentationOverlay")
        self.setStyleSheet(
            "QFrame#presentationCard { background: rgba(24, 28, 36, 165); border-radius: 18px; }"
            "QLabel#cardLabel { color: rgba(255, 255, 255, 205); background: transparent; }"
            "QLabel#cardValue { color: white; background: transparent; }"
            "QLabel#pausedPill { color: white; background: rgba(24, 28, 36, 165); border-radius: 12px;"
            " padding: 6px 14px; }")
        self._curtain = False
        self._cards: list[tuple[QFrame, QLabel, QLabel]] = []
        self._column = QVBoxLayout()
        self._column.setSpacing(16)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(40, 40, 40, 40)
        layout.addStretch(1)
        layout.addLayout(self._column)
        layout.addStretch(1)
        self._paused = QLabel("\u275a\u275a  Paused", self)
        self._paused.setObjectName("pausedPill")
        self._paused.hide()
        self._value_px = 40

    @property
    def card_texts(self) -> list[tuple[str, str]]:
        """(label, value) of each card, top to bottom."""
        return [(label.text(), value.text()) for _frame, label, value in self._cards]

    @property
    def curtain(self) -> bool:
        return self._curtain

    def set_cards(self, rows: Sequence[tuple[str, str]]) -> None:
        if [tuple(r) for r in rows] == self.card_texts:
            return
        for frame, _label, _value in self._cards:
            self._column.removeWidget(frame)
            frame.hide()
            frame.setParent(None)  # gone from the overlay now, not at the next event-loop turn
            frame.deleteLater()
        self._cards = []
        for text, value_text in rows:
            frame = QFrame(self)
            frame.setObjectName("presentationCard")
            label, value = QLabel(text, frame), QLabel(value_text, frame)
            label.setObjectName("cardLabel")
            value.setObjectName("cardValue")
            box = QVBoxLayout(frame)
            box.setContentsMargins(24, 14, 32, 16)
            box.setSpacing(2)
            box.addWidget(label)
            box.addWidget(value)
            self._column.addWidget(frame, 0, Qt.AlignmentFlag.AlignLeft)
            self._cards.append((frame, label, value))
        self._apply_scale()

    def set_curtain(self, on: bool) -> None:
        if on != self._curtain:
            self._curtain = on
            self.update()

    def set_paused(self, paused: bool) -> None:
        self._paused.setVisible(paused)
        self._place_pill()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        if self._curtain:
            QPainter(self).fillRect(self.rect(), QColor(*CURTAIN_RGB))

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._value_px = max(22, min(72, round(self.height() * 0.05)))
        self._apply_scale()
        self._place_pill()

    def _apply_scale(self) -> None:
        label_font, value_font = QFont(self.font()), QFont(self.font())
        label_font.setPixelSize(max(12, round(self._value_px * 0.42)))
        value_font.setPixelSize(self._value_px)
        value_font.setWeight(QFont.Weight.DemiBold)
        for _frame, label, value in self._cards:
            label.setFont(label_font)
            value.setFont(value_font)
        self._paused.setFont(label_font)
        self._paused.adjustSize()

    def _place_pill(self) -> None:
        self._paused.adjustSize()
        self._paused.move(self.width() - self._paused.width() - 24, 24)


# --------------------------------------------------------------------------------- background work

@dataclass(frozen=True)
class _Prefetched:
    scan_id: str
    scan: Scan | None  # None when its record could not be fetched
    measurements: Measurements | None


def _prefetch(task: Task, session: Any, scan_ids: Sequence[str], known: dict[str, Scan],
              opened_elsewhere: str | None) -> None:
    """Fetch each scan's record and measurements and put its files in the cache; report each."""
    for scan_id in scan_ids:
        if task.cancelled:
            return
        scan = known.get(scan_id)
        if scan is None:
            try:
                scan = session.client.get_scan(scan_id)
            except ScanViewerError as exc:
                log.info("presentation: no record for a scan (%s)", exc)
        measurements = None
        if scan is not None and scan.assets.state("measurement") is StageState.SUCCEEDED:
            try:
                measurements = session.client.get_measurements(scan_id)
            except ScanViewerError as exc:
                log.info("presentation: no measurements for a scan (%s)", exc)
        if scan_id != opened_elsewhere and not session.cache.is_complete(scan_id):
            try:
                session.opener.open(scan_id, is_cancelled=lambda: task.cancelled)
            except Cancelled:
                return
            except (ScanViewerError, OSError) as exc:
                log.info("presentation: a scan could not be cached, it will be skipped (%s)", exc)
        task.report(_Prefetched(scan_id, scan, measurements))


def _resolve_scan(_task: Task, session: Any, scan_id: str) -> Scan:
    """The scan's record; offline, a stand-in READY record when its files are cached."""
    try:
        return session.client.get_scan(scan_id)
    except ScanViewerError:
        if session.cache.is_complete(scan_id):
            return Scan(id=scan_id, status=ScanStatus.READY)
        raise


# --------------------------------------------------------------------------------- the mode

@dataclass(frozen=True)
class _SavedLayout:
    """What presenting changed, to put back exactly."""

    hidden_flags: tuple[tuple[QWidget, bool], ...]  # each widget hidden and its own hidden flag before
    splitter_sizes: tuple[int, ...]
    window_state: Qt.WindowState
    geometry: QRect  # the window's normal geometry, frame excluded


def install(window: Any, demo_list: DemoList | None = None) -> Presentation:
    """Attach presentation mode to ``window`` (a ``MainWindow``); call once. Safe to call again:
    the window's existing ``presentation`` is returned."""
    existing = getattr(window, "presentation", None)
    if isinstance(existing, Presentation):
        return existing
    return Presentation(window, demo_list)


class Presentation(QObject):
    """Presentation mode of one window: enter / leave, the cycle of scans, the turntable, the cards."""

    #: presentation mode started (True) or ended (False)
    activeChanged = Signal(bool)

    def __init__(self, window: Any, demo_list: DemoList | None = None) -> None:
        super().__init__(window)
        self._window = window
        self.demo_list = demo_list or DemoList(window.target.name)
        choices = window.settings.extra.get(EXTRA_KEY) if isinstance(window.settings.extra, dict) else None
        seconds = choices.get("cycle_seconds") if isinstance(choices, dict) else None
        valid = isinstance(seconds, (int, float)) and seconds >= 3
        self._cycle_seconds = int(seconds) if valid else DEFAULT_CYCLE_SECONDS
        self.degrees_per_second = DEGREES_PER_SECOND

        self._active = False
        self._paused = False
        self._cycle: list[str] = []
        self._index = -1
        self._direction = 1
        self._failures = 0  # scans skipped in a row since a body was last shown
        self._scans: dict[str, Scan] = {}
        self._measurements: dict[str, Measurements] = {}
        self._unavailable: set[str] = set()
        self._saved: _SavedLayout | None = None
        self._render_seconds = 0.0  # moving average of one turntable frame
        self._prefetch_done = False

        self.clock = FrameClock()
        self._frame_timer = QTimer(self)
        self._frame_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._frame_timer.setInterval(FRAME_INTERVAL_MS)
        self._frame_timer.timeout.connect(self._on_frame)
        self._cycle_timer = QTimer(self)
        self._cycle_timer.setSingleShot(True)
        self._cycle_timer.timeout.connect(lambda: self.step(1))

        self.overlay = PresentationOverlay(window.view_area)
        self.overlay.hide()
        window.view_area.installEventFilter(self)
        window.installEventFilter(self)
        self.actions: dict[str, QAction] = {}
        self._build_actions()
        window.viewStateChanged.connect(self._on_view_state)
        window.bodyShown.connect(lambda _scan, _mesh: self._update_cards())
        window.details.unitSystemChanged.connect(lambda _units: self._update_cards())

    # --- public --------------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        return self._active

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def cycle(self) -> tuple[str, ...]:
        """The scan ids being presented, in order."""
        return tuple(self._cycle)

    @property
    def current_scan_id(self) -> str | None:
        return self._cycle[self._index] if self._active and 0 <= self._index < len(self._cycle) else None

    @property
    def prefetch_done(self) -> bool:
        """Every scan of the cycle has been fetched into the cache, or found impossible to fetch."""
        return self._prefetch_done

    @property
    def fps(self) -> float:
        """Turntable frames per second over the last second."""
        return self.clock.fps

    @property
    def frame_interval_ms(self) -> int:
        return self._frame_timer.interval()

    @property
    def cycle_seconds(self) -> int:
        return self._cycle_seconds

    def set_cycle_seconds(self, seconds: int) -> None:
        """Time each scan stays on screen (3 s or more); remembered in the settings."""
        self._cycle_seconds = max(3, int(seconds))
        window = self._window
        window.settings = replace(window.settings, extra={**window.settings.extra,
                                                          EXTRA_KEY: {"cycle_seconds": self._cycle_seconds}})
        try:
            save_settings(window.settings)
        except OSError as exc:
            log.warning("presentation settings not saved: %s", exc)
        if self._active and self._cycle_timer.isActive():
            self._cycle_timer.start(self._cycle_seconds * 1000)

    def toggle(self) -> None:
        if self._active:
            self.leave()
        else:
            self.enter()

    def enter(self, scan_ids: Sequence[str] | None = None) -> bool:
        """Start presenting ``scan_ids`` (default: selection, demo list or READY scans, see the
        module rules); False, with a status bar note, when there is nothing to present yet."""
        if self._active:
            return True
        window = self._window
        known = {scan.id: scan for scan in window.scan_list.model.scans()}
        ids = list(dict.fromkeys(scan_ids)) if scan_ids is not None else self._default_cycle(known)
        problem = None
        if window.session is None or window.body_view is None:
            problem = "Presentation mode: the app is still starting, try again in a moment."
        elif not ids:
            problem = "Presentation mode: no ready scans to present."
        if problem is not None:
            window.statusBar().showMessage(problem, 8000)
            self._sync_toggle()
            return False
        self._cycle = ids
        self._scans = {i: known[i] for i in ids if i in known}
        self._measurements, self._unavailable = {}, set()
        self._failures, self._direction, self._paused, self._prefetch_done = 0, 1, False, False
        current = window.details_scan_id
        start = ids.index(current) if current in ids else 0
        self._hide_controls()
        self._active = True
        self.overlay.setGeometry(window.view_area.rect())
        self.overlay.set_paused(False)
        self.overlay.set_curtain(False)
        self.overlay.show()
        self.overlay.raise_()
        self._set_keys_enabled(True)
        self._sync_toggle()
        session = window.session
        order = ids[start:] + ids[:start]
        window.runner.submit(_prefetch, session, order, dict(self._scans), ids[start], group=_PREFETCH_GROUP,
                             on_progress=self._on_prefetched, on_done=self._on_prefetch_done,
                             on_error=lambda e: log.warning("presentation prefetch stopped: %s", e))
        self.clock.reset()
        self._frame_timer.start()
        if current == ids[start] and window.view_area.state in ("body", "loading"):
            self._index = start  # already on screen, or on its way (its "body" state follows)
            if window.view_area.state == "body":
                self._on_body()
        else:
            self._show(start)
        log.info("presentation mode: %d scans, %d s each", len(ids), self._cycle_seconds)
        self.activeChanged.emit(True)
        return True

    def leave(self) -> None:
        """Stop presenting and give every control back as it was."""
        if not self._active:
            return
        window = self._window
        shown = self.current_scan_id
        self._active = False
        self._frame_timer.stop()
        self._cycle_timer.stop()
        window.runner.cancel_group(_PREFETCH_GROUP)
        window.runner.cancel_group(_RESOLVE_GROUP)
        self._set_keys_enabled(False)
        self.overlay.hide()
        self.overlay.set_curtain(False)
        self._restore_controls()
        banner = _banner(window.view_area)
        if banner is not None:
            banner.setVisible(bool(banner.text()))
        view = window.body_view
        if view is not None and window.view_area.state == "body":
            view.show_view(view.view_name)  # back from wherever the turntable left the camera
        self._follow_in_list(shown)
        self._sync_toggle()
        log.info("presentation mode ended (%.0f fps at the end)", self.fps)
        self.activeChanged.emit(False)

    def step(self, delta: int = 1) -> None:
        """Show the next (``delta`` > 0) or previous scan of the cycle that can be shown."""
        if not self._active or not self._cycle:
            return
        self._direction = 1 if delta >= 0 else -1
        self._advance()

    def set_paused(self, paused: bool) -> None:
        """Hold the turntable and the cycle (the arrows still change scans)."""
        if not self._active or paused == self._paused:
            return
        self._paused = paused
        self.overlay.set_paused(paused)
        if paused:
            self._frame_timer.stop()
            self._cycle_timer.stop()
        else:
            self.clock.reset()
            self._frame_timer.start()
            self._cycle_timer.start(self._cycle_seconds * 1000)

    def add_current_to_demo_list(self) -> None:
        scan_id = self._window.details_scan_id
        if scan_id is not None:
            self._edit_demo_list(lambda: self.demo_list.add(scan_id), "Added to the demo list")

    def remove_current_from_demo_list(self) -> None:
        scan_id = self._window.details_scan_id
        if scan_id is not None:
            self._edit_demo_list(lambda: self.demo_list.remove(scan_id), "Removed from the demo list")

    def clear_demo_list(self) -> None:
        self._edit_demo_list(self.demo_list.clear, "Demo list cleared")

    def ask_cycle_seconds(self) -> None:
        seconds, ok = QInputDialog.getInt(self._window, "Presentation", "Seconds per scan:",
                                          self._cycle_seconds, 3, 3600)
        if ok:
            self.set_cycle_seconds(seconds)

    # --- cycle ---------------------------------------------------------------------------------

    def _default_cycle(self, known: dict[str, Scan]) -> list[str]:
        selected = self._selected_ids()
        if len(selected) >= 2:
            return selected
        if len(self.demo_list):
            return list(self.demo_list.scan_ids)
        return [scan_id for scan_id, scan in known.items() if scan.status is ScanStatus.READY]

    def _selected_ids(self) -> list[str]:
        panel = self._window.scan_list
        rows = sorted(panel.view.selectionModel().selectedRows(), key=lambda index: index.row())
        ids = []
        for index in rows:
            source = panel.proxy.mapToSource(index)
            if source.isValid():
                ids.append(panel.model.scan(source.row()).id)
        return ids

    def _advance(self) -> None:
        """Show the next scan in ``_direction`` that did not fail: one whose files are cached
        while a body is on screen (no waiting for a download), else any."""
        session = self._window.session
        if session is None:  # reconnecting: stay on what is shown
            self._restart_cycle_timer()
            return
        body_on_screen = self._window.view_area.state == "body"
        count = len(self._cycle)
        order = [(self._index + self._direction * k) % count for k in range(1, count + 1)]
        candidates = [i for i in order if self._cycle[i] not in self._unavailable]
        cached = [i for i in candidates if session.cache.is_complete(self._cycle[i])]
        chosen = cached[0] if cached else (None if body_on_screen or not candidates else candidates[0])
        if chosen is None:
            if body_on_screen:
                self._restart_cycle_timer()  # the others are not in the cache (yet): stay
            else:
                self._nothing_to_show()
        elif chosen == self._index and body_on_screen:
            self._restart_cycle_timer()  # the only scan ready is already on screen
        else:
            self._show(chosen)

    def _show(self, index: int) -> None:
        self._index = index
        scan_id = self._cycle[index]
        self._update_cards()
        self._restart_cycle_timer()  # a body that never arrives does not hold the cycle
        scan = self._scans.get(scan_id)
        if scan is not None:
            self._window.open_scan(scan)
            return
        self._window.runner.submit(_resolve_scan, self._window.session, scan_id, group=_RESOLVE_GROUP,
                                   on_done=self._on_resolved, on_error=lambda e: self._skip(scan_id, str(e)))

    def _on_resolved(self, scan: Scan) -> None:
        self._scans[scan.id] = scan
        if scan.id == self.current_scan_id:
            self._window.open_scan(scan)

    def _skip(self, scan_id: str, why: str) -> None:
        if not self._active:
            return
        log.info("presentation: skipping a scan that cannot be shown now (%s)", why)
        self.overlay.set_curtain(True)
        self._unavailable.add(scan_id)
        self._failures += 1
        if self._failures >= len(self._cycle) or self._unavailable.issuperset(self._cycle):
            self._nothing_to_show()
            return
        QTimer.singleShot(0, self._advance_if_active)

    def _advance_if_active(self) -> None:
        if self._active:
            self._advance()

    def _nothing_to_show(self) -> None:
        log.warning("presentation: no scan of the cycle can be shown now; trying again in %d s",
                    self._cycle_seconds)
        self.overlay.set_curtain(True)
        self._unavailable.clear()
        self._failures = 0
        self._restart_cycle_timer()

    def _restart_cycle_timer(self) -> None:
        if self._active and not self._paused:
            self._cycle_timer.start(self._cycle_seconds * 1000)

    def _on_view_state(self, state: str) -> None:
        if not self._active:
            return
        self.overlay.raise_()
        if state == "body":
            self._on_body()
        elif state in ("error", "message"):
            scan_id = self.current_scan_id
            if scan_id is not None:
                self._skip(scan_id, f"the view shows an {state} page")

    def _on_body(self) -> None:
        banner = _banner(self._window.view_area)
        if banner is not None:
            banner.hide()
        self.overlay.set_curtain(False)
        self._failures = 0
        self._update_cards()
        self.clock.reset()
        self._restart_cycle_timer()

    def _on_prefetched(self, item: _Prefetched) -> None:
        if not self._active:
            return
        if item.scan is not None:
            self._scans.setdefault(item.scan_id, item.scan)
        if item.measurements is not None:
            self._measurements[item.scan_id] = item.measurements
        if item.scan_id == self.current_scan_id:
            self._update_cards()

    def _on_prefetch_done(self, _result: None) -> None:
        self._prefetch_done = self._active
        cache = self._window.session.cache
        log.info("presentation: %d of %d scans are in the cache", sum(map(cache.is_complete, self._cycle)),
                 len(self._cycle))

    # --- cards ---------------------------------------------------------------------------------

    def _update_cards(self) -> None:
        if not self._active:
            return
        window = self._window
        scan_id = self.current_scan_id
        scan = self._scans.get(scan_id) if scan_id is not None else None
        measurements = self._measurements.get(scan_id) if scan_id is not None else None
        if measurements is None and scan is not None:
            measurements = scan.measurements
        on_screen = scan_id is not None and window.details_scan_id == scan_id
        height = height_in_metres(scan.height) if scan is not None else None
        mesh = window.current_mesh
        if height is None and on_screen and mesh is not None and mesh.units == "m":
            height = float(mesh.height)
        shown_rows = window.details.measurement_rows if on_screen else ()
        self.overlay.set_cards(card_rows(measurements, height, window.details.unit_system, shown_rows))

    # --- turntable -----------------------------------------------------------------------------

    def _on_frame(self) -> None:
        step = self.clock.tick()
        view = self._window.body_view
        if view is None or view.is_closed or not view.has_body or self._window.view_area.state != "body":
            return
        started = time.perf_counter()
        plotter = view.plotter
        camera = plotter.camera
        camera.position = turn_about_up(camera.position, camera.focal_point, self.degrees_per_second * step)
        camera.up = VIEW_FRAME.up
        plotter.reset_camera_clipping_range()
        plotter.render()
        self._adapt_interval(time.perf_counter() - started)

    def _adapt_interval(self, seconds: float) -> None:
        """Leave the GUI thread at least a third of its time for input when frames are slow."""
        self._render_seconds = 0.8 * self._render_seconds + 0.2 * seconds
        wanted = max(FRAME_INTERVAL_MS, min(MAX_FRAME_INTERVAL_MS, round(self._render_seconds * 1500)))
        if abs(wanted - self._frame_timer.interval()) >= 5:
            self._frame_timer.setInterval(wanted)

    # --- controls ------------------------------------------------------------------------------

    def _controls(self) -> list[QWidget]:
        window = self._window
        widgets: list[QWidget] = [window.menuBar(), window.statusBar()]
        widgets += [w for w in window.findChildren(QToolBar) if w.parentWidget() is window]
        widgets += [w for w in window.findChildren(QDockWidget) if w.parentWidget() is window]
        splitter = window.splitter
        for i in range(splitter.count()):
            pane = splitter.widget(i)
            if pane is not window.view_area and not pane.isAncestorOf(window.view_area):
                widgets.append(pane)
        return widgets

    def _hide_controls(self) -> None:
        window = self._window
        controls = self._controls()
        self._saved = _SavedLayout(
            hidden_flags=tuple((w, w.isHidden()) for w in controls),
            splitter_sizes=tuple(window.splitter.sizes()),
            window_state=window.windowState(),
            geometry=window.normalGeometry())
        for widget in controls:
            widget.hide()
        banner = _banner(window.view_area)
        if banner is not None:
            banner.hide()
        window.setWindowState(window.windowState() | Qt.WindowState.WindowFullScreen)
        window.show()
        window.view_area.setFocus()

    def _restore_controls(self) -> None:
        saved, self._saved = self._saved, None
        if saved is None:
            return
        window = self._window
        window.setWindowState(saved.window_state)
        normal = not saved.window_state & (Qt.WindowState.WindowMaximized | Qt.WindowState.WindowFullScreen)
        if normal and window.geometry() != saved.geometry:
            window.setGeometry(saved.geometry)
        for widget, was_hidden in saved.hidden_flags:
            widget.setHidden(was_hidden)
        window.splitter.setSizes(list(saved.splitter_sizes))

    def _follow_in_list(self, scan_id: str | None) -> None:
        """After presenting, the list selects the scan on screen (or nothing when it is not listed)."""
        panel = self._window.scan_list
        if scan_id is None or self._window.details_scan_id != scan_id:
            return
        current = panel.current_scan()
        if current is not None and current.id == scan_id:
            return
        source = panel.model.index_of(scan_id)
        if source.isValid() and panel.proxy.mapFromSource(source).isValid():
            panel.select_scan(scan_id)
        else:
            panel.clear_current()

    # --- actions -------------------------------------------------------------------------------

    def _build_actions(self) -> None:
        window = self._window

        def make(name: str, text: str, slot: Callable[[], None], shortcut: str | None = None) -> QAction:
            action = QAction(text, window)
            if shortcut:
                action.setShortcut(QKeySequence(shortcut))
            action.triggered.connect(lambda _checked=False: slot())
            window.addAction(action)  # in the window itself: it works while the menu bar is hidden
            self.actions[name] = action
            return action

        toggle = make("toggle", "&Presentation mode", self.toggle, "F11")
        toggle.setCheckable(True)
        toggle.setToolTip("Full screen, turning body, large measurement cards (F11; Esc leaves)")
        make("next", "Next scan", lambda: self.step(1), "Right")
        make("previous", "Previous scan", lambda: self.step(-1), "Left")
        make("pause", "Pause", lambda: self.set_paused(not self._paused), "Space")
        make("leave", "Leave presentation", self.leave, "Esc")
        make("demo-add", "&Add this scan to the demo list", self.add_current_to_demo_list)
        make("demo-remove", "&Remove this scan from the demo list", self.remove_current_from_demo_list)
        make("demo-clear", "&Clear the demo list", self.clear_demo_list)
        make("interval", "&Time per scan\u2026", self.ask_cycle_seconds)
        self._set_keys_enabled(False)

        view_menu = self._view_menu()
        view_menu.addSeparator()
        view_menu.addAction(toggle)
        demo_menu = view_menu.addMenu("&Demo list")
        for name in ("demo-add", "demo-remove", "demo-clear"):
            demo_menu.addAction(self.actions[name])
        demo_menu.addSeparator()
        demo_menu.addAction(self.actions["interval"])
        self.demo_menu = demo_menu

    def _view_menu(self) -> QMenu:
        bar = self._window.menuBar()
        for action in bar.actions():
            if action.menu() is not None and action.text().replace("&", "") == "View":
                return action.menu()
        return bar.addMenu("&View")

    def _set_keys_enabled(self, enabled: bool) -> None:
        for name in ("next", "previous", "pause", "leave"):
            self.actions[name].setEnabled(enabled)

    def _sync_toggle(self) -> None:
        toggle = self.actions["toggle"]
        toggle.blockSignals(True)
        toggle.setChecked(self._active)
        toggle.blockSignals(False)

    def _edit_demo_list(self, change: Callable[[], object], done: str) -> None:
        try:
            change()
        except OSError as exc:
            self._window.statusBar().showMessage(f"The demo list could not be saved: {exc}", 8000)
            return
        self._window.statusBar().showMessage(f"{done} ({len(self.demo_list)} scans).", 5000)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        kind = event.type()
        if watched is self._window.view_area and kind == QEvent.Type.Resize:
            self.overlay.setGeometry(self._window.view_area.rect())
        elif watched is self._window and kind == QEvent.Type.Close and self._active:
            self.leave()  # the window remembers its normal geometry, not the full screen one
        return False


def _banner(view_area: Any) -> QLabel | None:
    """The 3D area's banner line (warnings about the body)."""
    banner = getattr(view_area, "banner", None)
    return banner if isinstance(banner, QLabel) else None
