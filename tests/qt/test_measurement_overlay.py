"""Measurement rings in the window, against the real local server, asserted on geometry and pixels."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.qt.helpers import wait_until
from viewer.core.models import Quantity, UnitSystem
from viewer.core.secrets import KeyStore
from viewer.core.server_choice import target_from_name
from viewer.core.settings import Settings
from viewer.demo.catalog import demo_scan_id
from viewer.demo.server import DEMO_API_KEY
from viewer.mesh.mesh_data import BodyMesh
from viewer.mesh.render_checks import body_mask
from viewer.mesh.ring_placement import place_rings
from viewer.qt import measurement_overlay
from viewer.qt.measurement_overlay import (
    RING_RGB,
    format_length,
    height_text,
    ring_label,
)

pytestmark = pytest.mark.gui







@pytest.fixture(scope="module")
def window(qapp, demo_server, module_user_dirs):
    from viewer.qt.main_window import MainWindow

    win = MainWindow(target_from_name(demo_server.base_url), DEMO_API_KEY, Settings(),
                     KeyStore(use_keyring=False), remember_geometry=False)
    overlay = measurement_overlay.install(win)
    assert measurement_overlay.install(win) is overlay  # installing twice keeps one overlay
    win.resize(1280, 800)
    win.show()
    win.start()
    wait_until(lambda: win.session is not None and win.body_view is not None)
    yield win
    win.close()
    assert win.runner.pending == 0


@pytest.fixture(scope="module")
def overlay(window):
    return measurement_overlay.install(window)


def open_scan(win, name: str):
    """Show the demo scan ``name`` (kept if it is already on screen) with its measurements listed."""
    scan = win.session.client.get_scan(demo_scan_id(name))
    if win.details_scan_id == scan.id and win.view_area.state == "body":
        return scan
    shown = []

    def on_shown(shown_scan, _mesh):
        shown.append(shown_scan.id if shown_scan is not None else None)

    win.bodyShown.connect(on_shown)
    try:
        win.open_scan(scan)
        wait_until(lambda: scan.id in shown and win.details.measurement_rows)
    finally:
        win.bodyShown.disconnect(on_shown)
    return scan


def select(win, key: str) -> None:
    table = win.details._table
    rows = [r for r in range(table.rowCount()) if table.item(r, 0).data(Qt.ItemDataRole.UserRole) == key]
    table.selectRow(rows[0])


def ring_pixels(image: np.ndarray) -> np.ndarray:
    """(row, col) of pixels in the ring's colour."""
    distance = np.abs(image.astype(int) - np.array(RING_RGB)).max(axis=2)
    return np.argwhere(distance <= 40)


def test_selecting_chest_draws_its_ring_at_chest_height_with_both_values(window, overlay):
    scan = open_scan(window, "ready")
    assert not ring_pixels(window.body_view.render_image()).size  # nothing of that colour before
    select(window, "chestFit")
    wait_until(lambda: overlay.ring_actor is not None)
    assert overlay.shown_key == "chestFit"

    mesh = window.current_mesh
    floor, stature = float(mesh.vertices[:, 2].min()), mesh.height
    xmin, xmax, ymin, ymax, zmin, zmax = overlay.ring_actor.GetBounds()
    assert zmax - zmin < 0.002  # a horizontal ring
    assert 0.69 < (zmin - floor) / stature < 0.75  # chest line: 0.70-0.74 of stature
    body_x = np.ptp(mesh.vertices[:, 0])
    assert 0.15 * body_x < xmax - xmin < 0.6 * body_x  # round the torso, not the arms

    image = window.body_view.render_image()
    pixels = ring_pixels(image)
    assert len(pixels) > 300
    rows = np.flatnonzero(body_mask(image).any(axis=1))
    top, bottom = rows.min(), rows.max()
    assert 0.2 < (np.median(pixels[:, 0]) - top) / (bottom - top) < 0.36  # 0.28 of the height from the top

    api = window.session.client.get_measurements(scan.id).get("chestFit")
    on_mesh = place_rings(mesh.vertices, mesh.faces).get("chestFit").length
    text = overlay.label_text
    assert text == ring_label("chestFit", on_mesh, api, UnitSystem.METRIC)
    assert f"API: {format_length(api, UnitSystem.METRIC)}" in text
    assert f"Mesh: {format_length(on_mesh, UnitSystem.METRIC)}" in text
    assert f"Difference: {format_length(on_mesh - api, UnitSystem.METRIC, signed=True)}" in text


def test_a_limb_ring_sits_on_the_persons_own_side(window, overlay):
    open_scan(window, "ready")
    select(window, "thighLeftFit")
    wait_until(lambda: overlay.shown_key == "thighLeftFit")
    xmin, xmax, *_ = overlay.ring_actor.GetBounds()
    assert xmin > 0.0  # +X is the person's left in VIEW_FRAME
    select(window, "midArmRightFit")
    wait_until(lambda: overlay.shown_key == "midArmRightFit")
    xmin, xmax, _, _, zmin, zmax = overlay.ring_actor.GetBounds()
    assert xmax < -0.1 and zmax - zmin > 0.03  # out on the right arm, cut across its slope


def test_units_switch_keeps_the_ring_and_relabels_it(window, overlay):
    open_scan(window, "ready")
    select(window, "waistFit")
    wait_until(lambda: overlay.shown_key == "waistFit")
    assert " cm" in overlay.label_text
    window.details.toggle_units()
    try:
        wait_until(lambda: overlay.shown_key == "waistFit" and " in" in overlay.label_text, 5)
        assert " cm" not in overlay.label_text and " in" in overlay.height_line
    finally:
        window.details.toggle_units()


def test_esc_and_clearing_the_selection_remove_the_ring(window, overlay):
    open_scan(window, "ready")
    select(window, "hipsFit")
    wait_until(lambda: overlay.ring_actor is not None)
    actor = overlay.ring_actor
    window.body_view.plotter.setFocus()
    QTest.keyClick(window.body_view.plotter, Qt.Key.Key_Escape)
    assert overlay.ring_actor is None and overlay.label_text == ""
    assert actor not in window.body_view.plotter.renderer.actors.values()
    assert not window.details._table.selectionModel().hasSelection()
    assert not ring_pixels(window.body_view.render_image()).size

    select(window, "hipsFit")
    wait_until(lambda: overlay.ring_actor is not None)
    QTest.keyClick(window.details._table, Qt.Key.Key_Escape)  # from the table too
    assert overlay.ring_actor is None

    select(window, "hipsFit")
    wait_until(lambda: overlay.ring_actor is not None)
    window.details._table.clearSelection()
    assert overlay.ring_actor is None


def test_not_a_circumference_draws_nothing(window, overlay):
    open_scan(window, "ready")
    select(window, "bodyRoundnessIndex")
    QTest.qWait(50)
    assert overlay.ring_actor is None
    assert "not a circumference" in window.statusBar().currentMessage()


def test_another_scan_removes_the_ring_and_shows_its_height(window, overlay):
    open_scan(window, "ready")
    select(window, "neckFit")
    wait_until(lambda: overlay.ring_actor is not None)
    actor = overlay.ring_actor
    scan = open_scan(window, "ready-tall")
    assert overlay.ring_actor is None
    assert actor not in window.body_view.plotter.renderer.actors.values()
    assert not ring_pixels(window.body_view.render_image()).size
    assert overlay.height_line == height_text(window.current_mesh, scan.height, UnitSystem.METRIC)
    height = format_length(window.current_mesh.height, UnitSystem.METRIC)
    assert overlay.height_line.startswith(f"Height on the mesh: {height}, declared ")


def test_height_text_compares_with_the_declared_height():
    mesh = BodyMesh(vertices=np.array([[0, 0, 0.0], [0, 0, 1.752]]), faces=np.zeros((0, 3), int), units="m")
    assert height_text(mesh, Quantity(1.75, "m"), UnitSystem.METRIC) == \
        "Height on the mesh: 175.2 cm, declared 175.0 cm (+0.2 cm)"
    assert height_text(mesh, Quantity(70.0, "in"), UnitSystem.IMPERIAL) == \
        "Height on the mesh: 69.0 in, declared 70.0 in (-1.0 in)"
    assert height_text(mesh, None, UnitSystem.METRIC).endswith("none declared")

