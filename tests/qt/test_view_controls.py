"""The 3D view's controls in the real window (demo server, Xvfb), judged by pixels and geometry.

The demo bodies carry a yellow watch on the person's LEFT wrist (``WATCH_COLOR``) and a face at
the front: a body seen from the front has the watch on the image's right, from the back on its
left. One window serves the whole module; ``restore_defaults`` puts the display back after each test.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QComboBox, QPushButton

from tests.qt.helpers import wait_until as _wait
from viewer.core.orientation_prefs import OrientationPrefs, scan_key
from viewer.core.secrets import KeyStore
from viewer.core.server_choice import target_from_name
from viewer.core.settings import Settings, load_settings
from viewer.demo.body_texture import LIP_COLOR, WATCH_COLOR
from viewer.demo.catalog import demo_scan_id
from viewer.demo.server import DEMO_API_KEY
from viewer.mesh import render_checks as rc
from viewer.mesh.scene import PLAIN_BODY_RGB, is_software_renderer

pytestmark = pytest.mark.gui

BODY_TIMEOUT_MS = 60000




@pytest.fixture(scope="module")
def ui(qapp, demo_server, tmp_path_factory):
    """(window, controls): one MainWindow for the module with its user folders in a temporary tree."""
    from viewer.qt.main_window import MainWindow

    root = tmp_path_factory.mktemp("view-controls")
    with pytest.MonkeyPatch.context() as patch:
        for kind in ("CACHE", "DATA", "CONFIG"):
            patch.setenv(f"SCAN_VIEWER_{kind}_DIR", str(root / kind.lower()))
        win = MainWindow(target_from_name(demo_server.base_url), DEMO_API_KEY, Settings(),
                         KeyStore(use_keyring=False), remember_geometry=False)
        controls = win.view_controls  # installed by MainWindow itself
        win.resize(1280, 800)
        win.show()
        win.start()
        _wait(lambda: win.session is not None and win.body_view is not None)
        win.activateWindow()
        _wait(lambda: QApplication.activeWindow() is win)
        yield win, controls
        win.close()
        QApplication.processEvents()


@pytest.fixture
def restore_defaults(ui):
    yield
    _win, controls = ui
    controls.set_display_mode("textured")
    controls.set_lighting("studio")
    controls.set_background("light")
    controls.set_parallel_projection(False)
    controls.set_anti_aliasing("auto")
    controls.show_view("front")


def show_scan(qtbot, win, name: str):
    scan = win.session.client.get_scan(demo_scan_id(name))
    win.current_mesh = None
    win.open_scan(scan)
    qtbot.waitUntil(lambda: win.details_scan_id == scan.id and win.view_area.state == "body"
                    and win.current_mesh is not None, timeout=BODY_TIMEOUT_MS)
    return scan


def press(win, key, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    QTest.keyClick(win.body_view.plotter, key, modifiers)


def watch_columns(img: np.ndarray) -> np.ndarray:
    """Image columns of the pixels showing the watch strap (its lit colour stays near WATCH_COLOR)."""
    distance = np.linalg.norm(img.astype(float) - np.array(WATCH_COLOR), axis=2)
    return np.nonzero(distance < 90)[1]


def head_region(img: np.ndarray) -> np.ndarray:
    """The top 12% of the body's silhouette rows."""
    rows = np.flatnonzero(rc.body_mask(img).any(axis=1))
    return img[rows[0]: rows[0] + int(0.12 * (rows[-1] - rows[0]))]


def lip_pixels(img: np.ndarray) -> int:
    head = head_region(img).astype(float)
    return int((np.linalg.norm(head - np.array(LIP_COLOR), axis=2) < 45).sum())


# --- views -------------------------------------------------------------------------------------------


def test_front_and_back_views_know_the_person_s_left_and_face(qtbot, ui, restore_defaults):
    win, _controls = ui
    show_scan(qtbot, win, "ready")
    view = win.body_view

    press(win, Qt.Key.Key_2)
    back = view.render_image()
    press(win, Qt.Key.Key_1)
    front = view.render_image()

    width = front.shape[1]
    ok, reason = rc.looks_like_body(front, min_aspect=rc.A_POSE_MIN_ASPECT)
    assert ok, reason
    assert view.view_name == "front"
    assert len(watch_columns(front)) > 40 and watch_columns(front).mean() > 0.6 * width
    assert len(watch_columns(back)) > 40 and watch_columns(back).mean() < 0.4 * width
    # the face (its lips) looks at the Front camera, not at the Back one
    assert lip_pixels(front) > 5 and lip_pixels(back) == 0


def test_side_views_show_the_named_side_and_top_is_small(qtbot, ui, restore_defaults):
    win, controls = ui
    show_scan(qtbot, win, "ready")
    view = win.body_view
    front_camera = np.array(view.plotter.camera_position.to_list())
    front_mask = rc.body_mask(view.render_image())

    press(win, Qt.Key.Key_3)
    left = view.render_image()
    press(win, Qt.Key.Key_4)
    right = view.render_image()
    assert len(watch_columns(left)) > 20  # the person's left side faces the camera: the watch shows
    assert len(watch_columns(right)) < 3
    assert "left side faces you" in controls.actions["left"].toolTip()

    press(win, Qt.Key.Key_5)
    top_mask = rc.body_mask(view.render_image())
    rows = slice(*np.flatnonzero(top_mask.any(axis=1))[[0, -1]])
    front_rows = slice(*np.flatnonzero(front_mask.any(axis=1))[[0, -1]])
    assert 0 < rows.stop - rows.start < 0.4 * (front_rows.stop - front_rows.start)
    assert view.plotter.camera.position[2] > view.plotter.camera.focal_point[2] + 1.0  # from above
    assert tuple(view.plotter.camera.up) == pytest.approx((0, 0, 1))  # still upright for the orbit

    press(win, Qt.Key.Key_0)  # Reset: back to the front
    np.testing.assert_allclose(np.array(view.plotter.camera_position.to_list()), front_camera, atol=1e-6)
    assert np.array_equal(rc.body_mask(view.render_image()), front_mask)


def test_p_toggles_parallel_projection_keeping_the_body_size(qtbot, ui, restore_defaults):
    win, controls = ui
    show_scan(qtbot, win, "ready")
    view = win.body_view
    perspective_rows = np.flatnonzero(rc.body_mask(view.render_image()).any(axis=1))

    press(win, Qt.Key.Key_P)
    assert view.plotter.camera.parallel_projection
    assert controls.display.parallel and controls.actions["parallel"].isChecked()
    parallel_rows = np.flatnonzero(rc.body_mask(view.render_image()).any(axis=1))
    assert parallel_rows.size == pytest.approx(perspective_rows.size, rel=0.1)

    press(win, Qt.Key.Key_3)  # named views keep the projection
    assert view.plotter.camera.parallel_projection
    press(win, Qt.Key.Key_P)
    assert not view.plotter.camera.parallel_projection


def test_vtk_keys_neither_close_nor_change_the_view(qtbot, ui, restore_defaults):
    win, _controls = ui
    show_scan(qtbot, win, "ready")
    view = win.body_view
    before = view.render_image()
    for key in (Qt.Key.Key_Q, Qt.Key.Key_E, Qt.Key.Key_W, Qt.Key.Key_S, Qt.Key.Key_J, Qt.Key.Key_F,
                Qt.Key.Key_R, Qt.Key.Key_U):
        press(win, key)
        QApplication.processEvents()
    assert win.isVisible() and not view.is_closed
    assert view.plotter.render_window is not None
    assert np.array_equal(view.render_image(), before)


# --- orientation corrections -------------------------------------------------------------------------


def test_a_quarter_turn_is_remembered_per_scan_and_applied_again(qtbot, ui, restore_defaults):
    from viewer.qt.view_controls import ORIENTATION_STEPS, turned_axes

    win, controls = ui
    scan = show_scan(qtbot, win, "ready")
    view = win.body_view
    loaded = controls.body_axes
    x0, x1, y0, y1, *_ = view.bounds
    assert len(watch_columns(view.render_image())) > 40

    press(win, Qt.Key.Key_Left, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    np.testing.assert_allclose(view.body_rotation, ORIENTATION_STEPS["turn_left"])
    width_after = view.bounds[1] - view.bounds[0]
    assert width_after == pytest.approx(y1 - y0, abs=1e-4)  # the body's depth now faces the camera
    expected = turned_axes(loaded, "turn_left")
    assert controls.orientation_prefs.get(scan_key(scan.id)) == expected
    assert OrientationPrefs(controls.orientation_prefs.path).get(scan_key(scan.id)) == expected
    # the face swung to the viewer's left: the person's left side (the watch) faces the camera
    turned = view.render_image()
    assert len(watch_columns(turned)) > 20
    assert rc.silhouette_aspect(rc.body_mask(turned)) > 2.5  # seen from the side: narrow

    show_scan(qtbot, win, "ready-sam")
    np.testing.assert_allclose(view.body_rotation, np.eye(3))
    show_scan(qtbot, win, "ready")
    np.testing.assert_allclose(view.body_rotation, ORIENTATION_STEPS["turn_left"])
    assert controls.body_axes == expected
    assert view.bounds[1] - view.bounds[0] == pytest.approx(y1 - y0, abs=1e-4)

    controls.reset_orientation()
    np.testing.assert_allclose(view.body_rotation, np.eye(3))
    assert view.bounds[1] - view.bounds[0] == pytest.approx(x1 - x0, abs=1e-4)
    assert OrientationPrefs(controls.orientation_prefs.path).get(scan_key(scan.id)) is None


def test_quarter_turns_compose_back_to_the_loaded_axes():
    from viewer.core.orientation_prefs import BodyAxes
    from viewer.qt.view_controls import correction_rotation, turned_axes

    start = BodyAxes("+X", "+Z")  # a Prism bundle
    axes = start
    for step in ("tip_forward", "roll_left", "turn_right", "turn_left", "roll_right", "tip_back"):
        axes = turned_axes(axes, step)
        rotation = correction_rotation(start, axes)
        np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(rotation) == pytest.approx(1.0)
    assert axes == start
    # tipping forward brings the head (+Z) toward the front camera (-Y)
    tipped = correction_rotation(start, turned_axes(start, "tip_forward"))
    np.testing.assert_allclose(tipped @ np.array([0.0, 0.0, 1.0]), [0.0, -1.0, 0.0], atol=1e-12)


# --- display -----------------------------------------------------------------------------------------


def test_display_modes_change_the_pixels(qtbot, ui, restore_defaults):
    win, controls = ui
    show_scan(qtbot, win, "ready")
    view = win.body_view
    solid = view.render_image()
    solid_mask = rc.body_mask(solid)

    def see_through(img: np.ndarray) -> float:
        """Share of the solid body's pixels where the background shows now."""
        return float((~rc.body_mask(img) & solid_mask).sum() / solid_mask.sum())

    assert see_through(solid) == 0.0
    controls.set_display_mode("wireframe")
    assert see_through(view.render_image()) > 0.1
    controls.set_display_mode("points")
    assert see_through(view.render_image()) > 0.1

    controls.set_display_mode("surface_edges")
    edged = view.render_image()
    dark = (edged[solid_mask].astype(int).max(axis=1) < 90).mean()
    assert dark > (solid[solid_mask].astype(int).max(axis=1) < 90).mean() + 0.1

    controls.set_display_mode("plain")
    plain = view.render_image()
    assert not controls.display.texture and not controls.actions["texture"].isChecked()
    assert rc.coloured_fraction(plain, solid_mask) < 0.02
    assert rc.colour_fraction(plain, solid_mask, PLAIN_BODY_RGB, tol=60) > 0.4

    press(win, Qt.Key.Key_T)  # texture back on: the "textured" mode
    assert controls.display.display_mode == "textured"
    assert rc.coloured_fraction(view.render_image(), solid_mask) > 0.3

    press(win, Qt.Key.Key_M)
    assert controls.display.display_mode == "plain"


def test_lighting_background_and_their_persistence(qtbot, ui, restore_defaults):
    from viewer.qt.body_view import DARK_BACKGROUND
    from viewer.qt.view_controls import EXTRA_KEY, DisplayPrefs

    win, controls = ui
    show_scan(qtbot, win, "ready")
    view = win.body_view
    studio = view.render_image()
    mask = rc.body_mask(studio)

    def right_to_left_brightness(img: np.ndarray) -> float:
        cols = np.flatnonzero(mask.any(axis=0))
        middle = (cols[0] + cols[-1]) // 2
        grey = img.astype(float).mean(axis=2)
        left, right = mask.copy(), mask.copy()
        left[:, middle:] = False
        right[:, :middle] = False
        return grey[right].mean() / grey[left].mean()

    controls.set_lighting("dramatic")  # a strong light from the viewer's right
    dramatic = view.render_image()
    assert right_to_left_brightness(dramatic) > right_to_left_brightness(studio) + 0.15
    press(win, Qt.Key.Key_L)
    assert controls.display.lighting == "studio"

    press(win, Qt.Key.Key_B)
    dark = view.render_image()
    np.testing.assert_allclose(rc.corner_colours(dark), DARK_BACKGROUND.corner_colours(), atol=3)
    ok, reason = rc.looks_like_body(dark, DARK_BACKGROUND, min_aspect=rc.A_POSE_MIN_ASPECT)
    assert ok, reason

    saved = load_settings().extra[EXTRA_KEY]
    assert saved["background"] == "dark" and saved["lighting"] == "studio"
    assert DisplayPrefs.from_extra(load_settings().extra) == controls.display
    assert win.settings.extra[EXTRA_KEY] == saved


def test_display_prefs_read_leniently():
    from viewer.qt.view_controls import EXTRA_KEY, DisplayPrefs

    assert DisplayPrefs.from_extra({}) == DisplayPrefs()
    prefs = DisplayPrefs.from_extra({EXTRA_KEY: {
        "display_mode": "plain", "texture": True, "lighting": "neon", "background": "dark",
        "parallel": "yes", "export_scale": 3, "anti_aliasing": "off", "unknown": 1}})
    assert prefs == DisplayPrefs(display_mode="plain", texture=False, background="dark", anti_aliasing="off")
    assert DisplayPrefs.from_extra({EXTRA_KEY: "garbage"}) == DisplayPrefs()
    assert prefs.to_extra({"other": 1})["other"] == 1


def test_anti_aliasing_is_off_on_the_software_renderer_unless_asked(qtbot, ui, restore_defaults):
    win, controls = ui
    show_scan(qtbot, win, "ready")
    view = win.body_view
    assert "llvmpipe" in view.gl_renderer.lower()
    assert not view.anti_aliasing_active
    controls.set_anti_aliasing("on")
    assert view.anti_aliasing_active
    controls.set_anti_aliasing("off")
    assert not view.anti_aliasing_active
    assert is_software_renderer("SwiftShader Device (Subzero)")
    assert not is_software_renderer("NVIDIA GeForce RTX 3060/PCIe/SSE2")


# --- export --------------------------------------------------------------------------------------------


def test_export_writes_pngs_at_1x_2x_4x_and_transparent(qtbot, ui, restore_defaults, tmp_path):
    win, controls = ui
    show_scan(qtbot, win, "ready")
    view = win.body_view
    height, width, _ = view.render_image().shape

    for scale in (1, 2, 4):
        path = tmp_path / f"body-{scale}x.png"
        with qtbot.waitSignal(controls.imageExported, timeout=30000) as exported:
            assert controls.export_image(path, scale, transparent=False)
        assert exported.args == [str(path)]
        with Image.open(path) as image:
            assert image.size == (width * scale, height * scale) and image.mode == "RGB"
            if scale == 2:
                ok, reason = rc.looks_like_body(np.asarray(image), min_aspect=rc.A_POSE_MIN_ASPECT)
                assert ok, reason

    path = tmp_path / "transparent.png"
    with qtbot.waitSignal(controls.imageExported, timeout=30000):
        controls.export_image(path, 1, transparent=True)
    rgba = np.asarray(Image.open(path))
    assert rgba.shape == (height, width, 4)
    assert (rgba[[0, 0, -1, -1], [0, -1, 0, -1], 3] == 0).all()
    assert (rgba[rc.body_mask(view.render_image()), 3] == 255).mean() > 0.95
    # the view itself is unchanged: its gradient background is back
    np.testing.assert_allclose(rc.corner_colours(view.render_image()), rc.VIEW_BACKGROUND.corner_colours(), atol=3)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "body-1x.png", "body-2x.png", "body-4x.png", "transparent.png"]  # no temporary files left

    assert controls.copy_image(2, transparent=False)
    clipped = QGuiApplication.clipboard().image()
    assert (clipped.width(), clipped.height()) == (2 * width, 2 * height)


def test_ctrl_shift_s_opens_the_export_dialog_which_can_copy(qtbot, ui, restore_defaults):
    win, controls = ui
    show_scan(qtbot, win, "ready")
    height, width, _ = win.body_view.render_image().shape
    QGuiApplication.clipboard().clear()

    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        dialog.findChild(QComboBox).setCurrentIndex(0)  # 1x
        next(b for b in dialog.findChildren(QPushButton) if b.text() == "Copy to clipboard").click()

    QTimer.singleShot(300, answer)
    press(win, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    clipped = QGuiApplication.clipboard().image()
    assert (clipped.width(), clipped.height()) == (width, height)
    assert controls.display.export_scale == 1


def test_menus_and_cheat_sheet_list_every_shortcut(ui):
    from viewer.qt.view_controls import shortcut_rows

    win, controls = ui
    listed = {keys for keys, _ in shortcut_rows()}
    for action in controls.actions.values():
        if not action.shortcut().isEmpty():
            assert action.shortcut().toString() in listed
    file_menu = next(a.menu() for a in win.menuBar().actions() if a.text() == "&File")
    texts = [a.text() for a in file_menu.actions()]
    assert "Export &image\u2026" in texts and texts[-1] == "&Quit"
    assert controls.actions["export"].shortcut().toString() == "Ctrl+Shift+S"
    # no other window action shares a key with the 3D view's
    mine = set(controls.actions.values())
    others = {a.shortcut().toString() for a in win.actions() if a not in mine and not a.shortcut().isEmpty()}
    assert not others & listed
