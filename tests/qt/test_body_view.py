"""The 3D view on a real X display (Xvfb + xcb + llvmpipe), judged by its pixels.

Pixel checks go through ``viewer.mesh.render_checks``: the background colour in the corners and
known texture or vertex colours on the body, never a bare count of non-background pixels.
The render_checks tests at the end need no display.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import trimesh
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget
from pyvista.plotting.plotter import _ALL_PLOTTERS

from viewer.mesh import render_checks as rc
from viewer.mesh.loader import load_mesh
from viewer.mesh.mesh_data import PRISM_TO_VIEW, VIEW_FRAME, BodyMesh
from viewer.mesh.polydata import PreparedBody, body_to_polydata
from viewer.qt.body_view import FRAME_MARGIN, PLAIN_BODY_RGB, BodyView

VIEW_SIZE = (480, 720)
DARK_FABRIC = (25, 25, 30)  # the avatar's black sports bra and shorts, as rendered


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def avatar(shared_testdata) -> BodyMesh:
    return load_mesh(shared_testdata / "prismlabs-prism-tools" / "avatar.obj")


@pytest.fixture(scope="module")
def avatar_prepared(avatar) -> PreparedBody:
    return body_to_polydata(avatar)


@pytest.fixture(scope="module")
def untextured_avatar(shared_testdata) -> BodyMesh:
    return load_mesh(shared_testdata / "prismlabs-prism-tools" / "upscaled-avatar.obj", assume_prism=True)


def _open_view(qtbot) -> BodyView:
    view = BodyView()
    qtbot.addWidget(view)
    view.resize(*VIEW_SIZE)
    view.show()
    qtbot.waitExposed(view)
    return view


@pytest.fixture
def view(qtbot):
    """A shown BodyView; fails the test if closing it leaves its plotter registered."""
    body_view = _open_view(qtbot)
    yield body_view
    plotter = body_view.plotter
    body_view.close_view()
    assert plotter._closed
    assert plotter not in _ALL_PLOTTERS.values()


def _texture_skin_colour(texture: np.ndarray) -> np.ndarray:
    """Mean colour of the texture's coloured (non-grey) texels: the avatar's skin and hair."""
    texels = texture.reshape(-1, 3).astype(int)
    return texels[texels.max(axis=1) - texels.min(axis=1) > rc.COLOURED_CHROMA].mean(axis=0)


def _coloured_pixels(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
    pixels = img[mask].astype(int)
    return pixels[pixels.max(axis=1) - pixels.min(axis=1) > rc.COLOURED_CHROMA]


# --- the avatar, textured and upright ------------------------------------------------------------


@pytest.mark.gui
@pytest.mark.shared_data
def test_avatar_renders_textured_and_upright(view, avatar, avatar_prepared):
    view.show_body(avatar_prepared)
    img = view.render_image()

    assert img.dtype == np.uint8 and img.shape == (VIEW_SIZE[1], VIEW_SIZE[0], 3)
    np.testing.assert_allclose(rc.corner_colours(img), rc.VIEW_BACKGROUND.corner_colours(), atol=3)
    ok, reason = rc.looks_like_body(img)
    assert ok, reason
    mask = rc.body_mask(img)
    assert rc.silhouette_aspect(mask) > 2.0
    # skin: the rendered coloured pixels average to the texture's own coloured texels
    skin = _texture_skin_colour(avatar.texture)
    np.testing.assert_allclose(_coloured_pixels(img, mask).mean(axis=0), skin, atol=25)
    assert rc.colour_fraction(img, mask, skin, tol=60) > 0.2
    # the black sports bra and shorts
    assert rc.colour_fraction(img, mask, DARK_FABRIC, tol=40) > 0.15


@pytest.mark.gui
@pytest.mark.shared_data
def test_front_view_frames_the_whole_body_with_a_small_margin(view, avatar_prepared):
    view.show_body(avatar_prepared)
    mask = rc.body_mask(view.render_image())

    rows = np.flatnonzero(mask.any(axis=1))
    top_gap, bottom_gap = rows[0] / mask.shape[0], 1 - (rows[-1] + 1) / mask.shape[0]
    assert 0.005 < top_gap < 2 * FRAME_MARGIN and 0.005 < bottom_gap < 2 * FRAME_MARGIN
    cols = np.flatnonzero(mask.any(axis=0))
    assert cols[0] > 0 and cols[-1] < mask.shape[1] - 1
    # centred left-right
    assert abs((cols[0] + cols[-1]) / 2 - mask.shape[1] / 2) < 0.05 * mask.shape[1]


@pytest.mark.gui
@pytest.mark.shared_data
def test_front_view_looks_at_the_face(view, avatar):
    """The face's texels, painted red, are visible from the front camera and hidden from behind."""
    uv_pixels = np.c_[avatar.uvs[:, 0], 1 - avatar.uvs[:, 1]] * avatar.texture.shape[1::-1]
    on_face = np.linalg.norm(uv_pixels - (165, 110), axis=1) < 45  # the face in Prism's texture.png
    colours = np.full((avatar.n_vertices, 3), 150, dtype=np.uint8)
    colours[on_face] = (230, 20, 20)
    painted = BodyMesh(vertices=avatar.vertices, faces=avatar.faces, vertex_colors=colours)
    red = (200, 20, 20)

    view.show_body(body_to_polydata(painted))
    camera = view.plotter.camera
    direction = np.subtract(camera.focal_point, camera.position)
    np.testing.assert_allclose(direction / np.linalg.norm(direction), np.negative(VIEW_FRAME.front), atol=1e-6)
    np.testing.assert_allclose(camera.up, VIEW_FRAME.up, atol=1e-6)
    assert not camera.parallel_projection
    front = view.render_image()
    front_mask = rc.body_mask(front)
    reddish = front_mask & (front[..., 0].astype(int) - front[..., 1] > 80)
    assert reddish.sum() > 300
    # the red is at the top of the silhouette: the head, upright
    body_rows = np.flatnonzero(front_mask.any(axis=1))
    red_rows = np.flatnonzero(reddish.any(axis=1))
    assert (red_rows.mean() - body_rows[0]) / (body_rows[-1] - body_rows[0]) < 0.12

    focal = np.array(camera.focal_point)
    distance = np.linalg.norm(np.subtract(camera.position, focal))
    behind = focal - np.array(VIEW_FRAME.front) * distance
    view.plotter.camera_position = [tuple(behind), tuple(focal), VIEW_FRAME.up]
    back = view.render_image()
    assert rc.colour_fraction(back, rc.body_mask(back), red, tol=80) < 0.001


@pytest.mark.gui
@pytest.mark.shared_data
def test_texture_top_row_renders_at_the_top(view):
    """A quad facing the camera, texture red above blue: VTK's bottom-left texture origin is handled."""
    texture = np.zeros((64, 64, 3), dtype=np.uint8)
    texture[:32] = (220, 0, 0)
    texture[32:] = (0, 0, 220)
    quad = BodyMesh(
        vertices=np.array([[0, 0, 0], [0.4, 0, 0], [0.4, 0, 1.6], [0, 0, 1.6]], dtype=float),
        faces=np.array([[0, 1, 2], [0, 2, 3]]),
        uvs=np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=float),
        texture=texture,
    )
    view.show_body(body_to_polydata(quad))
    img = view.render_image()
    mask = rc.body_mask(img)
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    x = (cols[0] + cols[-1]) // 2
    upper, lower = img[rows[0] + 20, x].astype(int), img[rows[-1] - 20, x].astype(int)
    assert upper[0] > 150 and upper[2] < 60, upper
    assert lower[2] > 150 and lower[0] < 60, lower


# --- switching, colours, plain -------------------------------------------------------------------


@pytest.mark.gui
@pytest.mark.shared_data
def test_switching_bodies_replaces_the_actor(view, qtbot, avatar_prepared, untextured_avatar):
    with qtbot.waitSignal(view.rendered, timeout=10_000) as first:
        view.show_body(avatar_prepared)
    assert first.args[0] > 0
    first_actor = view.body_actors[0]

    view.show_body(body_to_polydata(untextured_avatar))

    actors = list(view.plotter.renderer.actors.values())
    assert len(actors) == 1 and actors[0] is view.body_actors[0] is not first_actor
    assert actors[0].texture is None

    view.clear()
    assert not view.plotter.renderer.actors and not view.has_body
    assert not rc.body_mask(view.render_image()).any()


@pytest.mark.gui
@pytest.mark.shared_data
def test_vertex_coloured_ply_renders_coloured(view, avatar, tmp_path):
    upper = avatar.vertices[:, 2] > 0.9
    colours = np.where(upper[:, None], [40, 170, 60, 255], [170, 40, 160, 255]).astype(np.uint8)
    path = tmp_path / "coloured.ply"
    # back to Prism's frame (view = R @ prism, R orthonormal), so assume_prism tells the loader the truth
    trimesh.Trimesh(
        vertices=avatar.vertices @ PRISM_TO_VIEW,
        faces=avatar.faces,
        vertex_colors=colours,
        process=False,
    ).export(path)
    body = load_mesh(path, assume_prism=True)
    assert body.vertex_colors is not None and body.texture is None

    view.show_body(body_to_polydata(body))
    img = view.render_image().astype(int)
    mask = rc.body_mask(img)
    green = mask & (img[..., 1] > img[..., 0] + 40) & (img[..., 1] > img[..., 2] + 40)
    magenta = mask & (img[..., 0] > img[..., 1] + 40) & (img[..., 2] > img[..., 1] + 40)
    assert green.sum() > 0.3 * mask.sum() and magenta.sum() > 0.2 * mask.sum()
    assert np.flatnonzero(green.any(axis=1)).mean() < np.flatnonzero(magenta.any(axis=1)).mean()
    assert rc.silhouette_aspect(mask) > 2.0


@pytest.mark.gui
@pytest.mark.shared_data
def test_untextured_mesh_renders_plain(view, untextured_avatar):
    view.show_body(body_to_polydata(untextured_avatar))
    img = view.render_image()
    mask = rc.body_mask(img)

    assert rc.silhouette_aspect(mask) > 2.0
    pixels = img[mask].astype(float)
    lit = pixels[pixels.sum(axis=1) > 150]  # chromaticity is noisy in the darkest pixels
    chromaticity = lit / lit.sum(axis=1, keepdims=True)
    expected = np.array(PLAIN_BODY_RGB) / sum(PLAIN_BODY_RGB)
    assert np.abs(chromaticity.mean(axis=0) - expected).max() < 0.01
    assert chromaticity.std(axis=0).max() < 0.01
    ok, reason = rc.looks_like_body(img)
    assert not ok and "coloured" in reason


# --- interaction ----------------------------------------------------------------------------------


class _KeyRecorder(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.keys: list[int] = []

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        self.keys.append(event.key())


@pytest.mark.gui
@pytest.mark.shared_data
def test_keys_reach_the_window_not_vtk(qtbot, avatar_prepared):
    window = _KeyRecorder()
    qtbot.addWidget(window)
    body_view = BodyView(window)
    QVBoxLayout(window).addWidget(body_view)
    window.resize(*VIEW_SIZE)
    window.show()
    qtbot.waitExposed(window)
    try:
        body_view.show_body(avatar_prepared)
        before = body_view.render_image()
        camera_before = body_view.plotter.camera_position
        keys = "eqjt3fprswu"
        for key in keys:
            qtbot.keyClick(body_view.plotter, key)

        assert not body_view.plotter._closed
        assert body_view.body_actors[0].prop.style == "Surface"
        assert body_view.plotter.camera_position == camera_before
        assert np.abs(body_view.render_image().astype(int) - before).max() <= 2
        assert window.keys == [getattr(Qt.Key, f"Key_{k.upper()}") for k in keys]
    finally:
        body_view.close_view()


@pytest.mark.gui
@pytest.mark.shared_data
def test_dragging_turns_the_body_without_rolling_it(view, avatar_prepared):
    view.show_body(avatar_prepared)
    widget = view.plotter
    start = widget.camera_position
    centre = QPointF(widget.width() / 2, widget.height() / 2)

    def mouse(kind: QEvent.Type, pos: QPointF, buttons: Qt.MouseButton) -> QMouseEvent:
        global_pos = widget.mapToGlobal(pos)
        return QMouseEvent(kind, pos, global_pos, Qt.MouseButton.LeftButton, buttons, Qt.KeyboardModifier.NoModifier)

    widget.mousePressEvent(mouse(QEvent.Type.MouseButtonPress, centre, Qt.MouseButton.LeftButton))
    for step in range(1, 11):
        pos = centre + QPointF(12 * step, 9 * step)  # right and down: azimuth and elevation
        widget.mouseMoveEvent(mouse(QEvent.Type.MouseMove, pos, Qt.MouseButton.LeftButton))
    widget.mouseReleaseEvent(mouse(QEvent.Type.MouseButtonRelease, pos, Qt.MouseButton.NoButton))

    moved = widget.camera_position
    assert np.linalg.norm(np.subtract(moved.position, start.position)) > 0.1
    np.testing.assert_allclose(moved.viewup, VIEW_FRAME.up, atol=1e-6)  # no roll: still upright
    ok, reason = rc.looks_like_body(view.render_image())
    assert ok, reason


# --- teardown and warm-up ------------------------------------------------------------------------


@pytest.mark.gui
@pytest.mark.shared_data
def test_close_view_leaves_no_plotter(qtbot, avatar_prepared):
    view = _open_view(qtbot)
    view.show_body(avatar_prepared)
    plotter = view.plotter
    assert plotter in _ALL_PLOTTERS.values()

    view.close_view()
    view.close_view()  # idempotent

    assert view.is_closed and plotter._closed
    assert plotter not in _ALL_PLOTTERS.values()
    assert plotter.render_window is None
    view.show_body(avatar_prepared)  # ignored, does not crash
    view.clear()
    with pytest.raises(RuntimeError):
        view.render_image()


@pytest.mark.gui
@pytest.mark.shared_data
def test_warm_up_leaves_nothing_behind_and_speeds_up_the_first_show(qtbot, avatar_prepared):
    """Timings are reported, not asserted (the machine is shared and software-rendered)."""
    cold = _open_view(qtbot)
    started = time.perf_counter()
    cold.show_body(avatar_prepared)
    cold_first = time.perf_counter() - started
    cold.close_view()

    warm = _open_view(qtbot)
    started = time.perf_counter()
    warm.warm_up()
    warm_up_time = time.perf_counter() - started
    assert not warm.plotter.renderer.actors and not warm.has_body
    assert not rc.body_mask(warm.render_image()).any()
    started = time.perf_counter()
    warm.show_body(avatar_prepared)
    warm_first = time.perf_counter() - started
    ok, reason = rc.looks_like_body(warm.render_image())
    warm.close_view()

    print(f"\nfirst show: cold {cold_first:.3f} s; warm_up {warm_up_time:.3f} s then {warm_first:.3f} s")
    assert ok, reason


@pytest.mark.gui
def test_warm_up_works_on_a_hidden_view(qtbot):
    view = BodyView()
    qtbot.addWidget(view)
    view.resize(*VIEW_SIZE)
    try:
        view.warm_up()
        assert not view.plotter.renderer.actors
        img = view.render_image()
        np.testing.assert_allclose(rc.corner_colours(img), rc.VIEW_BACKGROUND.corner_colours(), atol=3)
    finally:
        view.close_view()


@pytest.mark.gui
def test_background_is_the_documented_gradient_and_can_change(view):
    img = view.render_image()
    np.testing.assert_allclose(rc.corner_colours(img), rc.VIEW_BACKGROUND.corner_colours(), atol=3)
    assert not rc.body_mask(img).any()  # the whole gradient matches the model

    view.set_background((30, 60, 90))
    img = view.render_image()
    np.testing.assert_allclose(rc.corner_colours(img), [[30, 60, 90]] * 4, atol=2)


# --- render_checks on synthetic images (no display) ----------------------------------------------


def _synthetic_view(body_colour=(200, 150, 130), box=(100, 400, 120, 220), size=(480, 640)) -> np.ndarray:
    height, width = size
    img = np.repeat(rc.VIEW_BACKGROUND.row_colours(height)[:, None, :], width, axis=1).round().astype(np.uint8)
    top, bottom, left, right = box
    img[top:bottom, left:right] = body_colour
    return img


def test_render_checks_accept_a_tall_coloured_figure():
    img = _synthetic_view()
    mask = rc.body_mask(img)
    assert mask.sum() == 300 * 100
    assert rc.silhouette_aspect(mask) == pytest.approx(3.0)
    assert rc.colour_fraction(img, mask, (200, 150, 130), tol=5) == 1.0
    assert rc.colour_fraction(img, mask, (20, 20, 20), tol=5) == 0.0
    np.testing.assert_allclose(rc.corner_colours(img), rc.VIEW_BACKGROUND.corner_colours(), atol=1)
    assert rc.looks_like_body(img)[0]


@pytest.mark.parametrize(
    ("img", "words"),
    [
        (_synthetic_view(body_colour=(128, 128, 128)), "coloured"),
        (_synthetic_view(box=(200, 300, 100, 400)), "height/width"),
        (_synthetic_view(box=(0, 640, 0, 480)), "corners"),
        (_synthetic_view(box=(300, 330, 200, 205)), "covers"),
        (np.random.default_rng(1).integers(0, 256, (640, 480, 3), dtype=np.uint8), "corners"),
    ],
    ids=["grey", "lying", "filled", "tiny", "noise"],
)
def test_render_checks_reject_what_is_not_a_textured_upright_body(img, words):
    ok, reason = rc.looks_like_body(img)
    assert not ok and words in reason
