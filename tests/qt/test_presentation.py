"""Presentation mode in a real window against the real demo server, on a real X display.

One window for most tests (building one costs seconds); the offline test has its own server, which
it faults, and its own window.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QPoint, Qt
from PySide6.QtWidgets import QApplication, QFrame, QLabel, QLineEdit, QToolBar, QWidget

from tests.qt.helpers import wait_until
from viewer.core.formatting import format_measurement
from viewer.core.models import ScanStatus, UnitSystem
from viewer.core.secrets import KeyStore
from viewer.core.server_choice import target_from_name
from viewer.core.settings import Settings
from viewer.demo.catalog import demo_scan_id
from viewer.demo.server import DEMO_API_KEY
from viewer.qt import presentation
from viewer.qt.presentation import camera_azimuth

pytestmark = pytest.mark.gui

CYCLE = ("ready", "ready-tall", "ready-petite")




def spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QCoreApplication.processEvents()
        time.sleep(0.005)


def build_window(server, root):
    from viewer.qt.main_window import MainWindow

    window = MainWindow(target_from_name(server.base_url), DEMO_API_KEY, Settings(), KeyStore(use_keyring=False),
                        remember_geometry=False)
    pres = presentation.install(window)
    window.resize(1200, 760)
    window.show()
    window.start()
    wait_until(lambda: window.session is not None and window.body_view is not None)
    wait_until(lambda: window.scan_list.model.rowCount() > 0)
    window.activateWindow()
    wait_until(window.isActiveWindow)  # window shortcuts need the active window
    return window, pres


def close_window(window) -> None:
    window.close()
    assert window.runner.pending == 0


def showing(window, pres, scan_id: str) -> bool:
    return (window.details_scan_id == scan_id and window.view_area.state == "body"
            and pres.current_scan_id == scan_id)


@pytest.fixture(scope="module")
def ui(qapp, demo_server, tmp_path_factory):
    """(window, presentation) on the session demo server, with user folders of this module."""
    root = tmp_path_factory.mktemp("presentation-userdirs")
    with pytest.MonkeyPatch.context() as patch:
        for kind in ("CACHE", "DATA", "CONFIG"):
            patch.setenv(f"SCAN_VIEWER_{kind}_DIR", str(root / kind.lower()))
        window, pres = build_window(demo_server, root)
        yield window, pres
        close_window(window)


@pytest.fixture
def presenting(ui):
    """The module's window presenting ``CYCLE`` (from the scan on screen when it is one of them,
    else the first); left again afterwards."""
    window, pres = ui
    ids = [demo_scan_id(name) for name in CYCLE]
    try:
        assert pres.enter(ids)
        wait_until(lambda: showing(window, pres, pres.current_scan_id))
        yield window, pres, ids
    finally:
        pres.leave()
        window.details.set_unit_system(UnitSystem.METRIC)


def controls(window) -> list[QWidget]:
    return [window.menuBar(), window.statusBar(), window.scan_list, window.details,
            *[t for t in window.findChildren(QToolBar) if t.parentWidget() is window]]


def test_entering_hides_every_control_full_screen_and_esc_restores_them(ui, qtbot):
    window, pres = ui
    toolbars = [t for t in window.findChildren(QToolBar) if t.parentWidget() is window]
    assert toolbars, "the window has toolbars to hide"
    toolbars[0].hide()  # a control the user had hidden stays hidden afterwards
    before = [(w, w.isHidden()) for w in controls(window)]
    sizes, geometry = window.splitter.sizes(), window.geometry()
    assert not window.isFullScreen()

    qtbot.keyClick(window, Qt.Key.Key_F11)
    assert pres.active
    assert window.isFullScreen() and window.windowState() & Qt.WindowState.WindowFullScreen
    assert all(not w.isVisible() for w in controls(window))
    assert window.view_area.isVisible() and pres.overlay.isVisible()
    assert pres.actions["toggle"].isChecked()

    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert not pres.active
    assert not window.isFullScreen()
    assert [(w, w.isHidden()) for w in controls(window)] == before
    assert window.splitter.sizes() == sizes and window.geometry() == geometry
    assert not pres.overlay.isVisible() and not pres.actions["toggle"].isChecked()
    toolbars[0].show()


def test_turntable_turns_the_camera_about_z_and_keeps_the_body_upright(presenting, qtbot):
    window, pres, _ids = presenting
    camera = window.body_view.plotter.camera
    start = camera_azimuth(camera.position, camera.focal_point)
    height = camera.position[2]
    began = time.monotonic()
    spin(1.0)
    turned = (camera_azimuth(camera.position, camera.focal_point) - start) % 360
    elapsed = time.monotonic() - began
    assert 0.4 * pres.degrees_per_second * elapsed < turned < 1.3 * pres.degrees_per_second * elapsed
    assert np.allclose(camera.up, (0, 0, 1))
    assert camera.position[2] == pytest.approx(height)  # turned about +Z: same height
    assert pres.fps > 5, f"turntable at {pres.fps:.1f} fps"
    print(f"turntable: {pres.fps:.1f} fps, frame interval {pres.frame_interval_ms} ms")

    qtbot.keyClick(window, Qt.Key.Key_Space)  # pause: the camera stays where it is
    assert pres.paused
    held = camera_azimuth(camera.position, camera.focal_point)
    spin(0.3)
    assert camera_azimuth(camera.position, camera.focal_point) == pytest.approx(held)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not pres.paused


def test_right_and_left_change_the_scan_shown(presenting, qtbot):
    window, pres, ids = presenting
    at = ids.index(pres.current_scan_id)
    qtbot.keyClick(window, Qt.Key.Key_Right)
    wait_until(lambda: showing(window, pres, ids[(at + 1) % 3]))
    qtbot.keyClick(window, Qt.Key.Key_Right)
    wait_until(lambda: showing(window, pres, ids[(at + 2) % 3]))
    qtbot.keyClick(window, Qt.Key.Key_Left)
    wait_until(lambda: showing(window, pres, ids[(at + 1) % 3]))


def test_cards_show_measurements_in_the_users_units_and_nothing_identifies_anyone(presenting):
    window, pres, _ids = presenting
    shown = pres.current_scan_id
    measurements = window.session.client.get_measurements(shown)
    expected_chest = format_measurement("chestFit", measurements.values["chestFit"], measurements.unit_system,
                                        UnitSystem.METRIC)
    wait_until(lambda: ("Chest", expected_chest) in pres.overlay.card_texts)
    labels = [label for label, _value in pres.overlay.card_texts]
    assert labels == ["Height", "Chest", "Waist", "Hips"]
    assert dict(pres.overlay.card_texts)["Height"].endswith(" m")
    cards = [f for f in pres.overlay.findChildren(QFrame) if f.objectName() == "presentationCard"]
    assert len(cards) == 4 and all(card.isVisible() for card in cards)
    spin(0.1)
    screen = QApplication.primaryScreen().grabWindow(0).toImage()
    card = cards[1]
    inside = card.mapToGlobal(QPoint(8, card.height() // 2))  # the card's padding, left of its text
    outside = card.mapToGlobal(QPoint(-20, card.height() // 2))  # the 3D view's background beside it
    assert screen.pixelColor(inside).lightness() < 140 < screen.pixelColor(outside).lightness()

    texts = [w.text() for w in window.findChildren(QLabel) + window.findChildren(QLineEdit) if w.isVisible()]
    scan = window.session.client.get_scan(shown)
    assert scan.user_token
    for secret in (scan.id, scan.id[:8], scan.user_token):
        assert not any(secret in text for text in texts), f"{secret!r} is on screen"

    window.details.set_unit_system(UnitSystem.IMPERIAL)
    cards = dict(pres.overlay.card_texts)
    assert cards["Chest"].endswith(" in") and " ft " in cards["Height"]


def test_an_unreadable_scan_is_skipped_without_showing_its_error(ui):
    window, pres = ui
    ids = [demo_scan_id("not-a-mesh"), demo_scan_id("ready-sam")]
    states = []

    def record(state: str) -> None:  # runs after the presentation's own slot (connected later)
        states.append((state, pres.overlay.curtain))

    window.viewStateChanged.connect(record)
    try:
        assert pres.enter(ids)
        wait_until(lambda: showing(window, pres, ids[1]))
    finally:
        pres.leave()
        window.viewStateChanged.disconnect(record)
    assert ("error", True) in states  # the model file is an XML document: its page was covered
    assert all(covered for state, covered in states if state == "error")


def test_default_cycle_is_the_demo_list_else_every_ready_scan(ui):
    window, pres = ui
    saved = [demo_scan_id("ready-sam"), demo_scan_id("ready")]
    pres.demo_list.set(saved)
    assert pres.enter()
    assert pres.cycle == tuple(saved)
    pres.leave()
    pres.demo_list.clear()
    assert pres.enter()
    ready = [s.id for s in window.scan_list.model.scans() if s.status is ScanStatus.READY]
    assert pres.cycle == tuple(ready) and len(ready) >= 2
    pres.leave()


def test_presentation_keeps_going_from_the_cache_when_the_server_goes_away(qapp, make_demo_server, tmp_path):
    server = make_demo_server()
    window, pres = build_window(server, tmp_path)
    uncovered_errors = []
    window.viewStateChanged.connect(
        lambda s: uncovered_errors.append(s) if s == "error" and not pres.overlay.curtain else None)
    try:
        first, second = (window.session.client.get_scan(demo_scan_id(n)) for n in ("ready", "ready-petite"))
        for scan in (first, second):  # open once: files and mesh sidecar are now in the cache
            window.open_scan(scan)
            wait_until(lambda s=scan: window.details_scan_id == s.id and window.view_area.state == "body")

        assert pres.enter([first.id, second.id])
        wait_until(lambda: showing(window, pres, second.id) and pres.prefetch_done)
        server.faults.add(r".*", 503, times=None, target="both")  # the server is gone
        for expected in (first, second, first):
            pres.step(1)
            wait_until(lambda s=expected: showing(window, pres, s.id))
            assert ("Chest", "") not in pres.overlay.card_texts
            assert "Chest" in dict(pres.overlay.card_texts)  # measurements fetched on entering
        pres.leave()

        never_opened = demo_scan_id("ready-sam")
        assert pres.enter([first.id, never_opened, second.id])  # entered while the server is gone
        pres.step(1)  # the scan never opened cannot be fetched: skipped silently
        wait_until(lambda: showing(window, pres, second.id))
        pres.step(1)
        wait_until(lambda: showing(window, pres, first.id))
        assert uncovered_errors == []
    finally:
        close_window(window)  # while presenting: it leaves first
    assert not pres.active and not window.isFullScreen() and window.menuBar().isVisibleTo(window)
