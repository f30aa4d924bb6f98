"""The whole window against the real local server, on a real X display, asserted on pixels."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from viewer.core.secrets import KeyStore
from viewer.core.server_choice import target_from_name
from viewer.core.settings import Settings, load_settings
from viewer.demo.catalog import SCENARIOS, demo_scan_id, scenario
from viewer.demo.server import DEMO_API_KEY
from viewer.mesh.render_checks import (
    A_POSE_MIN_ASPECT,
    VIEW_BACKGROUND,
    body_mask,
    colour_fraction,
    corner_colours,
    looks_like_body,
    silhouette_aspect,
)

pytestmark = pytest.mark.gui

BODY_TIMEOUT_MS = 60000


@pytest.fixture
def window(qtbot, demo_server):
    from viewer.qt.main_window import MainWindow

    win = MainWindow(target_from_name(demo_server.base_url), DEMO_API_KEY, Settings(),
                     KeyStore(use_keyring=False))
    win.resize(1280, 800)
    qtbot.addWidget(win)
    win.show()
    win.start()
    qtbot.waitUntil(lambda: win.session is not None and win.body_view is not None, timeout=30000)
    qtbot.waitUntil(lambda: win.scan_list.model.rowCount() > 0, timeout=30000)
    yield win
    win.close()
    assert win.runner.pending == 0
    assert win.body_view.is_closed


def open_and_wait(qtbot, win, name: str, states=("body",)):
    scan = win.session.client.get_scan(demo_scan_id(name))
    win.open_scan(scan)
    qtbot.waitUntil(lambda: win.details_scan_id == scan.id and win.view_area.state in states,
                    timeout=BODY_TIMEOUT_MS)
    return scan


def test_lists_every_demo_scan_and_says_which_server(window):
    model = window.scan_list.model
    window.scan_list.view.scrollToBottom()
    from PySide6.QtCore import QCoreApplication

    for _ in range(200):
        if model.exhausted:
            break
        if model.canFetchMore():
            model.fetchMore()
        QCoreApplication.processEvents()
        import time

        time.sleep(0.02)
    ids = {s.id for s in model.scans()}
    assert ids == {demo_scan_id(s.name) for s in SCENARIOS}
    assert window._server_label.text() == window.target.label


def test_ready_scan_renders_textured_upright_body(qtbot, window):
    open_and_wait(qtbot, window, "ready")
    img = window.body_view.render_image()
    ok, reason = looks_like_body(img, min_aspect=A_POSE_MIN_ASPECT)
    assert ok, reason
    corners = corner_colours(img)
    assert np.abs(corners[:2] - np.array(VIEW_BACKGROUND.top)).max() <= 3  # top corners
    assert np.abs(corners[2:] - np.array(VIEW_BACKGROUND.bottom)).max() <= 3  # bottom corners
    mask = body_mask(img)
    assert silhouette_aspect(mask) > A_POSE_MIN_ASPECT  # taller than wide: upright
    # the "ready" person wears a red top: its texture colour appears on the body
    top = scenario("ready").top_color
    assert colour_fraction(img, mask, top, tol=60) > 0.03
    assert window.view_area.state == "body"


def test_failed_scan_shows_which_stage_failed(qtbot, window):
    open_and_wait(qtbot, window, "failed-body", states=("error",))
    assert "body stage" in window.view_area.message_text
    assert "Scan failed" in window.view_area.message_text


def test_not_ready_scan_says_which_stage_runs(qtbot, window):
    open_and_wait(qtbot, window, "processing", states=("message",))
    assert "body stage is running" in window.view_area.message_text


def test_corrupt_model_shows_its_error(qtbot, window):
    open_and_wait(qtbot, window, "not-a-mesh", states=("error",))
    text = window.view_area.message_text
    assert "avatar.obj" in text and "XML" in text


def test_ply_only_scan_renders_with_vertex_colours(qtbot, window):
    open_and_wait(qtbot, window, "legacy-ply")
    img = window.body_view.render_image()
    ok, reason = looks_like_body(img, min_aspect=A_POSE_MIN_ASPECT)
    assert ok, reason


def test_fitted_body_failure_still_shows_the_body_with_a_banner(qtbot, window):
    open_and_wait(qtbot, window, "failed-fitted-body")
    assert "fitted body" in window.view_area.banner.text()


def test_quick_selection_ends_with_the_last_one(qtbot, window):
    names = [s.name for s in SCENARIOS if s.name not in ("large",)]
    scans = [window.session.client.get_scan(demo_scan_id(n)) for n in names]
    sequence = (scans * 2)[:19] + [window.session.client.get_scan(demo_scan_id("ready-tall"))]
    for scan in sequence:
        window.open_scan(scan)
        qtbot.wait(5)
    last = sequence[-1]
    qtbot.waitUntil(lambda: window.view_area.state == "body", timeout=BODY_TIMEOUT_MS)
    qtbot.wait(300)  # any stale result would land now
    assert window.details_scan_id == last.id
    assert window.details.measurement_rows == [] or window.details._scan.id == last.id
    assert window.view_area.state == "body"
    # the body on screen is the tall man's: 1.95 m
    bounds = window.body_view.body_actors[0].GetBounds()
    assert bounds[5] - bounds[4] == pytest.approx(1.95, abs=0.02)


def test_reopen_from_cache_needs_no_network(qtbot, window, demo_server):
    open_and_wait(qtbot, window, "ready")
    open_and_wait(qtbot, window, "ready-sam")
    demo_server.faults.add(r".*", 500, times=None, target="assets")
    try:
        open_and_wait(qtbot, window, "ready")
    finally:
        demo_server.faults.clear()


def test_server_down_shows_retry(qtbot, make_demo_server):
    from viewer.qt.main_window import MainWindow

    server = make_demo_server()
    server.faults.add(r"^/scans$", 503, times=None, target="api")
    win = MainWindow(target_from_name(server.base_url), DEMO_API_KEY, Settings(), KeyStore(use_keyring=False))
    qtbot.addWidget(win)
    win.show()
    win.start()
    win.session_retry = None
    qtbot.waitUntil(lambda: win.view_area.state == "error", timeout=60000)
    assert "scan list could not be loaded" in win.view_area.message_text
    win.close()


def test_wrong_key_asks_for_a_key(qtbot, demo_server):
    from viewer.qt.main_window import MainWindow

    win = MainWindow(target_from_name(demo_server.base_url), "wrong-key", Settings(), KeyStore(use_keyring=False))
    qtbot.addWidget(win)
    win.show()
    win.start()
    qtbot.waitUntil(lambda: win.view_area.state == "error", timeout=30000)
    assert "API key" in win.view_area.message_text
    win.close()


def test_units_and_tokens_are_remembered(qtbot, window):
    window.details.toggle_units()
    window.scan_list.token_box.setEditText("demo-kim")
    window.scan_list._choose_token("demo-kim")
    qtbot.waitUntil(lambda: window.scan_list.model.rowCount() > 0
                    and all(s.user_token == "demo-kim" for s in window.scan_list.model.scans()), timeout=30000)
    window.close()
    saved = load_settings()
    assert saved.unit_system == "imperial"
    assert saved.recent_user_tokens[0] == "demo-kim"


def test_screenshot_command_writes_a_png_of_a_body(tmp_path, demo_cache_dir, demo_dataset):
    out = tmp_path / "shot.png"
    env = dict(os.environ, SCAN_VIEWER_CACHE_DIR=str(demo_cache_dir), QT_QPA_PLATFORM="xcb")
    result = subprocess.run(
        [sys.executable, "-m", "viewer.app", "--demo", "--scan", demo_scan_id("ready"),
         "--screenshot", str(out)], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "rendered the body in 3D" in result.stderr
    img = np.asarray(Image.open(out).convert("RGB"))
    assert img.shape[:2] == (800, 1280)
    # the 3D area of the window shows a textured, upright body
    window_mask = ~np.all(np.abs(img.astype(int) - np.array(VIEW_BACKGROUND.bottom)) < 12, axis=2)
    assert window_mask.any()
    centre = img[60:740, 420:960]
    ok, reason = looks_like_body(centre, min_aspect=A_POSE_MIN_ASPECT)
    assert ok, reason


def test_user_option_scopes_the_list(qtbot, demo_server):
    from viewer.qt.main_window import MainWindow

    win = MainWindow(target_from_name(demo_server.base_url), DEMO_API_KEY, Settings(),
                     KeyStore(use_keyring=False), user_token="demo-kim")
    qtbot.addWidget(win)
    win.show()
    win.start()
    qtbot.waitUntil(lambda: win.scan_list.model.rowCount() > 0, timeout=30000)
    tokens = {s.user_token for s in win.scan_list.model.scans()}
    win.close()
    assert tokens == {"demo-kim"}


def test_local_obj_bundle_opens_from_file(qtbot, window, shared_testdata):
    window.open_local_file(shared_testdata / "prismlabs-prism-tools" / "avatar.obj")
    qtbot.waitUntil(lambda: window.view_area.state in ("body", "error"), timeout=BODY_TIMEOUT_MS)
    assert window.view_area.state == "body"
    ok, reason = looks_like_body(window.body_view.render_image())  # Prism's avatar: narrow A-pose
    assert ok, reason
    assert window.current_mesh.is_textured and window.current_mesh.source_up_axis == "+X"


def test_window_geometry_is_remembered(qtbot, demo_server):
    from viewer.qt.main_window import MainWindow

    def make():
        win = MainWindow(target_from_name(demo_server.base_url), DEMO_API_KEY, Settings(),
                         KeyStore(use_keyring=False))
        qtbot.addWidget(win)
        return win

    first = make()
    first.resize(1100, 700)
    first.show()
    first.splitter.setSizes([300, 500, 300])
    sizes = first.splitter.sizes()
    first.close()
    second = make()
    assert second.restored_geometry
    second.show()
    assert second.size().width() == 1100 and second.size().height() == 700
    assert second.splitter.sizes() == sizes
    second.close()


def test_cli_without_key_for_a_server_exits_with_a_message(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PRISM_API_KEY"}
    result = subprocess.run(
        [sys.executable, "-m", "viewer.app", "--base-url", "http://127.0.0.1:9", "--screenshot",
         str(tmp_path / "x.png")], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "no API key" in result.stderr and "Traceback" not in result.stderr
