"""The window's timings for ``python -m viewer.bench --gui`` (needs a display: Xvfb is fine).

- Launch: a fresh ``python`` process, from its start to the window shown and to the first page of
  scans listed (a child process, so import costs count as a user would feel them).
- Opening a scan: from the selection to the first textured frame, cache cold and warm, for the
  Prism-size demo scan ("ready") and the 500k-face one ("large").
- GUI stalls: a 10 ms timer measures the event loop's lateness while a scan downloads and loads;
  the render call itself (timed separately) is excluded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass

_STARTUP_CHILD = r"""
import json, sys, time
t_start = float(sys.argv[1])
from viewer.app import build_parser, make_config
from viewer.core.secrets import KeyStore
from viewer.qt.launch import _make_app
from viewer.qt.main_window import MainWindow
from PySide6.QtCore import QTimer
config = make_config(build_parser().parse_args(["--demo"]), keys=KeyStore(use_keyring=False))
app = _make_app()
window = MainWindow(config.target, None, config.settings, KeyStore(use_keyring=False), remember_geometry=False)
window.resize(1280, 800)
marks = {}
def shown():
    marks["shown"] = time.time() - t_start
def listed(_n):
    if "listed" not in marks:
        marks["listed"] = time.time() - t_start
        QTimer.singleShot(0, window.close)
window.scan_list.model.pageLoaded.connect(listed)
window.show()
QTimer.singleShot(0, shown)
window.start()
QTimer.singleShot(60000, window.close)
window.destroyed.connect(app.quit)
app.lastWindowClosed.connect(app.quit)
app.exec()
print(json.dumps(marks))
"""


def startup_times(runs: int = 3) -> list[dict]:
    results = []
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "xcb"))
    for _ in range(runs):
        t0 = time.time()
        out = subprocess.run([sys.executable, "-c", _STARTUP_CHILD, repr(t0)], capture_output=True,
                             text=True, env=env, timeout=120)
        lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
        if out.returncode != 0 or not lines:
            raise RuntimeError(f"start-up child failed: {out.stderr[-2000:]}")
        results.append(json.loads(lines[-1]))
    return results


@dataclass
class OpenTiming:
    scenario: str
    cache: str
    to_frame_s: float
    render_s: float
    max_stall_ms: float


def open_times() -> list[OpenTiming]:
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer

    from viewer.app import build_parser, make_config
    from viewer.core.secrets import KeyStore
    from viewer.demo.catalog import demo_scan_id
    from viewer.qt.launch import _make_app
    from viewer.qt.main_window import MainWindow

    app = _make_app()
    config = make_config(build_parser().parse_args(["--demo"]), keys=KeyStore(use_keyring=False))
    window = MainWindow(config.target, None, config.settings, KeyStore(use_keyring=False),
                        remember_geometry=False)
    window.resize(1280, 800)
    window.show()
    window.start()

    def wait_until(predicate, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError("benchmark step timed out")
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)

    wait_until(lambda: window.session is not None and window.body_view is not None)
    wait_until(lambda: window.scan_list.model.rowCount() > 0)
    # Let start-up finish (VTK warm-up, thumbnails) as it does before a person's first click;
    # the launch timings above cover start-up itself.
    settle = time.monotonic() + 1.5
    wait_until(lambda: time.monotonic() > settle)
    session = window.session
    results: list[OpenTiming] = []

    def measure(scenario: str, cache: str) -> None:
        scan = session.client.get_scan(demo_scan_id(scenario))
        rendered: list[tuple[float, float]] = []
        stalls: list[tuple[float, float]] = []
        clock = QElapsedTimer()
        clock.start()
        last = [clock.nsecsElapsed()]

        def tick() -> None:
            now = clock.nsecsElapsed()
            stalls.append((last[0] / 1e9, (now - last[0]) / 1e9))
            last[0] = now

        def on_rendered(seconds: float) -> None:
            rendered.append((clock.nsecsElapsed() / 1e9, seconds))

        window.body_view.rendered.connect(on_rendered)
        timer = QTimer()
        timer.setInterval(10)
        timer.timeout.connect(tick)
        timer.start()
        started = clock.nsecsElapsed() / 1e9
        window.open_scan(scan)
        wait_until(lambda: bool(rendered) or window.view_area.state == "error")
        timer.stop()
        window.body_view.rendered.disconnect(on_rendered)
        if not rendered:
            raise RuntimeError(f"{scenario}: {window.view_area.message_text}")
        end, render_s = rendered[0]
        render_start = end - render_s

        def outside_render(gap_start: float, gap: float) -> float:
            gap_end = gap_start + gap
            overlap = max(0.0, min(gap_end, end) - max(gap_start, render_start))
            return max(0.0, gap - overlap - 0.010)

        worst = max((outside_render(s, g) for s, g in stalls), default=0.0)
        results.append(OpenTiming(scenario, cache, end - started, render_s, worst * 1000))

    for scenario in ("ready", "large"):
        session.cache.clear()
        measure(scenario, "cold")
        measure("ready-sam" if scenario != "ready-sam" else "ready", "cold")  # show something else
        measure(scenario, "warm")
    window.close()
    return results


def run_gui_bench() -> None:
    starts = startup_times()
    print("| launch (fresh process) | best s | median s |")
    print("|---|---:|---:|")
    for key, label in (("shown", "to window shown"), ("listed", "to first page listed")):
        values = sorted(r[key] for r in starts if key in r)
        if values:
            print(f"| {label} | {values[0]:.2f} | {values[len(values) // 2]:.2f} |")
    print()
    print("| open scan | cache | selection to first textured frame s | of which render s | "
          "longest GUI stall outside render ms |")
    print("|---|---|---:|---:|---:|")
    for t in open_times():
        if t.scenario in ("ready", "large"):
            print(f"| {t.scenario} | {t.cache} | {t.to_frame_s:.3f} | {t.render_s:.3f} | {t.max_stall_ms:.0f} |")
