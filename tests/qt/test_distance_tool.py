"""The distance tool in the window: real clicks on a box of known size, perspective and parallel."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from tests.qt.helpers import wait_until
from viewer.core.models import UnitSystem
from viewer.core.secrets import KeyStore
from viewer.core.server_choice import target_from_name
from viewer.core.settings import Settings
from viewer.demo.server import DEMO_API_KEY
from viewer.mesh.mesh_data import BodyMesh
from viewer.qt import distance_tool
from viewer.qt.measurement_overlay import format_length

pytestmark = pytest.mark.gui

BOX = (0.40, 0.30, 1.70)  # x, y, z extents in metres; the front face is at y = -0.15
FRONT_Y = -BOX[1] / 2
A = np.array([-0.10, FRONT_Y, 0.50])
B = np.array([0.12, FRONT_Y, 1.20])






@pytest.fixture(scope="module")
def window(qapp, demo_server, module_user_dirs):
    from viewer.mesh.polydata import body_to_polydata
    from viewer.qt.main_window import MainWindow

    win = MainWindow(target_from_name(demo_server.base_url), DEMO_API_KEY, Settings(),
                     KeyStore(use_keyring=False), remember_geometry=False)
    tool = distance_tool.install(win)
    assert distance_tool.install(win) is tool
    win.resize(1100, 800)
    win.show()
    win.start()
    wait_until(lambda: win.session is not None and win.body_view is not None)
    box = trimesh.creation.box(BOX)
    box.apply_translation([0, 0, BOX[2] / 2])
    win.body_view.show_body(body_to_polydata(BodyMesh(vertices=box.vertices, faces=box.faces, units="m")))
    win.view_area.show_body(None)
    wait_until(lambda: win.body_view.plotter.ren_win.GetSize()[1] > 500)
    yield win
    win.close()
    assert win.runner.pending == 0


@pytest.fixture
def tool(window):
    tool = distance_tool.install(window)
    window.body_view.plotter.camera.parallel_projection = False
    window.body_view.front_view()
    tool.set_active(True)
    yield tool
    tool.set_active(False)
    tool.clear()


def widget_position(window, world: np.ndarray) -> QPoint:
    """Where ``world`` appears in the plotter widget (Qt coordinates, origin top-left)."""
    plotter = window.body_view.plotter
    renderer = plotter.renderer
    renderer.SetWorldPoint(*world, 1.0)
    renderer.WorldToDisplay()
    x, y, _ = renderer.GetDisplayPoint()
    ratio = plotter.devicePixelRatioF()
    height = plotter.ren_win.GetSize()[1]
    return QPoint(round(x / ratio), round((height - 1 - y) / ratio))


def click(window, world: np.ndarray) -> None:
    QTest.mouseClick(window.body_view.plotter, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     widget_position(window, world))


@pytest.mark.parametrize("parallel", [False, True], ids=["perspective", "parallel"])
def test_two_clicks_on_the_box_give_the_straight_distance(window, tool, parallel):
    window.body_view.plotter.camera.parallel_projection = parallel
    window.body_view.plotter.render()
    done = []
    tool.measured.connect(done.append)
    click(window, A)
    assert tool.distances == ()  # one point: no distance yet
    click(window, B)
    tool.measured.disconnect(done.append)
    assert len(done) == 1 and tool.distances == (done[0],)
    expected = float(np.linalg.norm(B - A))
    assert done[0] == pytest.approx(expected, abs=0.006)  # a click lands within a pixel (~2.5 mm here)
    assert tool.label_texts == (format_length(done[0], window.details.unit_system),)
    assert tool.label_texts[0].endswith(" cm")


def test_pick_hits_the_front_face_where_clicked(window, tool):
    plotter = window.body_view.plotter
    renderer = plotter.renderer
    renderer.SetWorldPoint(*A, 1.0)
    renderer.WorldToDisplay()
    x, y, _ = renderer.GetDisplayPoint()
    point = tool.pick(x, y)
    assert point[1] == pytest.approx(FRONT_Y, abs=1e-4)
    assert np.linalg.norm(point - A) < 0.003
    assert tool.pick(5, 5) is None  # the background corner: nothing


def test_several_distances_then_clear_removes_every_actor(window, tool):
    renderer = window.body_view.plotter.renderer
    before = set(renderer.actors)
    for start, end in ((A, B), (A, A + [0.0, 0.0, 0.3])):
        tool.add_point(start)
        tool.add_point(end)
    assert tool.distances == pytest.approx([np.linalg.norm(B - A), 0.3])
    assert len(set(renderer.actors) - before) >= 4
    assert all(actor in renderer.actors.values() for actor in tool.actors)
    window.details.set_unit_system(UnitSystem.IMPERIAL)
    try:
        assert tool.label_texts[1] == "11.8 in"
    finally:
        window.details.set_unit_system(UnitSystem.METRIC)
    assert tool.label_texts[1] == "30.0 cm"
    tool.clear_action.trigger()
    assert tool.distances == () and tool.actors == ()
    assert set(renderer.actors) == before


def test_a_drag_turns_the_body_and_picks_nothing(window, tool):
    plotter = window.body_view.plotter
    start = widget_position(window, A)
    QTest.mousePress(plotter, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(plotter, start + QPoint(40, 0))
    QTest.mouseRelease(plotter, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start + QPoint(40, 0))
    assert tool.actors == ()


def test_esc_leaves_the_tool_and_drops_a_half_pair(window, tool):
    tool.add_point(A)
    assert len(tool.actors) == 1
    QTest.keyClick(window.body_view.plotter, Qt.Key.Key_Escape)
    assert not tool.active and not tool.toggle_action.isChecked()
    assert tool.actors == ()
    click(window, A)
    click(window, B)
    assert tool.distances == ()  # inactive: clicks only turn the body


def test_the_tool_is_in_the_tools_menu_with_its_shortcuts(window):
    tool = distance_tool.install(window)
    menus = {a.text().replace("&", ""): a.menu() for a in window.menuBar().actions() if a.menu() is not None}
    assert tool.toggle_action in menus["Tools"].actions() and tool.clear_action in menus["Tools"].actions()
    assert tool.toggle_action.shortcut().toString() == "D"
    assert tool.clear_action.shortcut().toString() == "Shift+D"
    tool.toggle_action.trigger()
    assert tool.active
    tool.toggle_action.trigger()
    assert not tool.active
