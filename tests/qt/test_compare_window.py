"""Comparing two scans in the window against the real local server, on a real X display."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from viewer.core.models import Measurements, Scan, ScanStatus, UnitSystem
from viewer.core.secrets import KeyStore
from viewer.core.server_choice import target_from_name
from viewer.core.settings import Settings
from viewer.demo.catalog import demo_scan_id
from viewer.demo.server import DEMO_API_KEY
from viewer.mesh.render_checks import body_mask
from viewer.qt.compare_window import (
    SCALAR_BAR_TITLE,
    default_partner,
    in_time_order,
    install,
    measurement_changes,
)

TIMEOUT_MS = 60000


def _scan(scan_id: str, user: str | None, days_ago: float | None, status: ScanStatus = ScanStatus.READY) -> Scan:
    created = None if days_ago is None else datetime(2026, 11, 1, tzinfo=timezone.utc) - timedelta(days=days_ago)
    return Scan(id=scan_id, status=status, user_token=user, created_at=created)


def test_default_partner_is_the_same_persons_previous_viewable_scan(monkeypatch):
    import viewer.qt.compare_window as compare_window

    # viewability is the formatter's business; here every scan has a body except "broken"
    monkeypatch.setattr(compare_window, "why_not_viewable", lambda s: "no body" if s.id == "broken" else None)
    current = _scan("now", "alex", 1)
    scans = [current, _scan("other-person", "kim", 2), _scan("older", "alex", 90), _scan("previous", "alex", 60),
             _scan("broken", "alex", 10), _scan("later", "alex", 0),
             _scan("unmeasured", "alex", 5, ScanStatus.FAILED)]  # a body, but a later stage failed
    assert default_partner(current, scans).id == "previous"
    assert default_partner(current, [current, scans[-1]]).id == "unmeasured"
    assert default_partner(current, [current, _scan("later", "alex", 0)]).id == "later"
    assert default_partner(current, [current, _scan("x", "kim", 3)]) is None
    first, second = in_time_order(current, scans[3])
    assert (first.id, second.id) == ("previous", "now")


def test_measurement_changes_in_cm_and_inches():
    first = Measurements({"waistFit": 0.80, "hipsFit": 1.00, "bmiPredicted": 24.0})
    second = Measurements({"waistFit": 0.78, "hipsFit": 1.00, "bmiPredicted": 23.5, "neckFit": 0.35})
    rows = {c.label: c for c in measurement_changes(first, second, UnitSystem.METRIC)}
    assert (rows["Waist"].first, rows["Waist"].second, rows["Waist"].change) == ("80.0 cm", "78.0 cm", "-2.0 cm")
    assert rows["Hips"].change == "+0.0 cm"
    assert rows["BMI (predicted)"].change == "-0.5"
    assert (rows["Neck"].first, rows["Neck"].change) == ("\u2014", "\u2014")
    imperial = {c.label: c for c in measurement_changes(first, second, UnitSystem.IMPERIAL)}
    assert imperial["Waist"].change == "-0.8 in"
    assert [c.label for c in measurement_changes(first, second, UnitSystem.METRIC)][:3] == ["Neck", "Waist", "Hips"]


@pytest.mark.gui
def test_compare_ready_with_the_earlier_scan(qtbot, demo_server):
    from pyvista.plotting.plotter import _ALL_PLOTTERS

    from viewer.qt.main_window import MainWindow

    win = MainWindow(target_from_name(demo_server.base_url), DEMO_API_KEY, Settings(), KeyStore(use_keyring=False))
    win.resize(1100, 700)
    qtbot.addWidget(win)
    win.show()
    win.start()
    qtbot.waitUntil(lambda: win.session is not None and win.body_view is not None, timeout=30000)
    qtbot.waitUntil(lambda: win.scan_list.model.rowCount() > 0, timeout=30000)
    launcher = install(win)  # returns MainWindow's own once its constructor installs it
    if getattr(win, "compare", None) is None:
        win.compare = launcher
    assert install(win) is launcher  # never twice
    assert launcher.action.text().replace("&", "") == "Compare with\u2026"

    ready = win.session.client.get_scan(demo_scan_id("ready"))
    win.open_scan(ready)
    qtbot.waitUntil(lambda: win.details_scan_id == ready.id, timeout=TIMEOUT_MS)

    # the dialog lists the loaded scans and picks the same person's previous scan
    dialog = launcher.make_dialog()
    assert dialog.selected_scan().id == demo_scan_id("ready-earlier")
    assert dialog.list.count() == len(win.scan_list.model.scans()) - 1
    dialog.accept()
    compare = launcher.compare(launcher.current_scan(), dialog.selected_scan())
    assert compare.first_scan.id == demo_scan_id("ready-earlier")  # time order: earlier first
    qtbot.waitUntil(lambda: compare.heatmap_actor is not None, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: compare.table.rowCount() > 0, timeout=TIMEOUT_MS)

    # two bodies, one per view
    left, right = compare.first_view, compare.second_view
    for view in (left, right):
        mask = body_mask(view.render_image())
        assert mask.mean() > 0.03, "no body in a view"
    assert "aligned by floor and centre" in compare.note.text()

    # linked cameras: turning the left view turns the right one, which renders by itself
    ends = []
    right.plotter.render_window.AddObserver("EndEvent", lambda *_: ends.append(1))
    before = np.array(right.plotter.camera.position)
    left.plotter.camera.azimuth += 40
    left.plotter.render()
    assert ends, "the right view did not render when the left one did"
    assert np.linalg.norm(np.array(right.plotter.camera.position) - before) > 0.1
    np.testing.assert_allclose(right.plotter.camera.position, left.plotter.camera.position)

    # the heatmap: a scalar bar in mm whose range follows the tolerance and the data
    from viewer.mesh.compare import heatmap_limit_mm

    values = compare.heatmap.displacement.per_render_vertex_mm
    assert SCALAR_BAR_TITLE in right.plotter.scalar_bars
    limit = heatmap_limit_mm(values, compare.tolerance_mm)
    assert compare.heatmap_range == (-limit, limit)
    assert 5 < limit < 60  # a fuller figure two months earlier: centimetres, not metres
    compare.set_tolerance_mm(20.0)
    assert compare.heatmap_range == (-heatmap_limit_mm(values, 20.0), heatmap_limit_mm(values, 20.0))
    assert compare.heatmap_range[1] >= 40.0  # at least twice the tolerance
    image = right.render_image()
    mask = body_mask(image)
    body_pixels = image[mask].astype(int)
    # most of the body is within ±20 mm: drawn white-ish rather than textured
    assert (body_pixels.min(axis=1) > 180).mean() > 0.5

    # overlay: the left view hides, the earlier body is drawn as a wireframe over the later one
    compare.overlay.setChecked(True)
    assert not left.isVisible() and compare.overlay_actor.visibility
    np.testing.assert_allclose(compare.overlay_actor.position, compare.heatmap.displacement.first_offset)

    # measurement differences
    rows = compare.measurement_rows
    waist = next(row for row in rows if row[0] == "Waist")
    assert waist[1].endswith(" cm") and waist[3].endswith(" cm") and waist[3][0] in "+-"
    assert waist[3] != "+0.0 cm"
    window_units = win.details.unit_system
    win.details.toggle_units()
    assert next(row for row in compare.measurement_rows if row[0] == "Waist")[3].endswith(" in")
    win.details.set_unit_system(window_units)

    plotters = (left.plotter, right.plotter)
    compare.close()
    assert compare.is_closed and launcher.windows == []
    assert all(p not in _ALL_PLOTTERS.values() and p.render_window is None for p in plotters)

    # closing the main window closes an open comparison too (both scans come from the cache now)
    again = launcher.compare(ready, dialog.selected_scan())
    qtbot.waitUntil(lambda: again.first_view.has_body and again.second_view.has_body, timeout=TIMEOUT_MS)
    plotters = (again.first_view.plotter, again.second_view.plotter)
    win.close()
    assert again.is_closed
    assert all(p not in _ALL_PLOTTERS.values() and p.render_window is None for p in plotters)
    assert win.runner.pending == 0
