"""Turntable export: frames, sizes and pixels of real MP4 and GIF files, and the batch command.

The pixel tests turn a box whose sides have one colour each (front red, back blue, the person's
left green, their right yellow) so that the angle of every frame can be read from its colours.
The batch command runs against the real demo server on the demo scans.
"""

from __future__ import annotations

import gc
import io
import warnings
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
import trimesh
from PIL import Image

from viewer.core.server_choice import target_from_name
from viewer.core.settings import Settings
from viewer.demo.catalog import demo_scan_id
from viewer.demo.server import DEMO_API_KEY
from viewer.mesh import render_checks as rc
from viewer.mesh.mesh_data import BodyMesh
from viewer.mesh.polydata import body_to_polydata
from viewer.services.turntable import (
    ExportCancelled,
    TurntableError,
    TurntableRenderer,
    export_turntable,
    gif_delays_cs,
    output_size,
)
from viewer.services.turntable_command import parse_size, run_turntable_command

SIZE = (120, 160)  # small and portrait: fast, and the box stays well inside the frame
SIDE_COLOURS = {  # outward normal -> colour (VIEW_FRAME: face toward -Y, the person's left +X)
    (0, -1, 0): (220, 40, 40),   # front: red
    (0, 1, 0): (40, 60, 220),    # back: blue
    (1, 0, 0): (40, 180, 60),    # the person's left: green
    (-1, 0, 0): (230, 200, 40),  # the person's right: yellow
    (0, 0, 1): (150, 150, 150),
    (0, 0, -1): (150, 150, 150),
}


@pytest.fixture(scope="module")
def coloured_box() -> BodyMesh:
    """A 0.5 x 0.3 x 1.8 m upright box, feet at z = 0, each side in its own colour (flat normals)."""
    box = trimesh.creation.box(extents=(0.5, 0.3, 1.8))
    vertices = box.vertices[box.faces].reshape(-1, 3) + (0.0, 0.0, 0.9)
    colours = [SIDE_COLOURS[tuple(int(round(c)) for c in normal)] for normal in box.face_normals]
    return BodyMesh(
        vertices=vertices.astype(np.float32),
        faces=np.arange(len(vertices)).reshape(-1, 3),
        vertex_colors=np.repeat(np.array(colours, dtype=np.uint8), 3, axis=0),
        source_vertex_index=np.arange(len(vertices)),  # no welding: every side keeps its own normal
    )


def hue_shares(image: np.ndarray) -> dict[str, float]:
    """Share of the silhouette's pixels that are clearly red, blue, green or yellow."""
    pixels = image[rc.body_mask(image)].astype(int)
    r, g, b = pixels[:, 0], pixels[:, 1], pixels[:, 2]
    classes = {
        "red": (r > g + 60) & (r > b + 60),
        "blue": (b > r + 60) & (b > g + 60),
        "green": (g > r + 60) & (g > b + 60),
        "yellow": (r > b + 60) & (g > b + 60) & (abs(r - g) < 60),
    }
    return {name: float(mask.mean()) if pixels.size else 0.0 for name, mask in classes.items()}


def read_mp4(path: Path) -> tuple[dict, list[np.ndarray]]:
    """Metadata and RGB frames as imageio-ffmpeg's reader decodes them."""
    with warnings.catch_warnings():
        # the reader leaves the pipes of an ffmpeg that has already exited to the garbage collector
        warnings.simplefilter("ignore", ResourceWarning)
        reader = imageio_ffmpeg.read_frames(str(path))
        meta = next(reader)
        width, height = meta["size"]
        frames = [np.frombuffer(raw, np.uint8).reshape(height, width, 3).copy() for raw in reader]
        del reader
        gc.collect()
    return meta, frames


def read_gif(path: Path) -> tuple[list[np.ndarray], list[int]]:
    frames, durations = [], []
    with Image.open(path) as gif:
        for index in range(gif.n_frames):
            gif.seek(index)
            durations.append(gif.info["duration"])
            frames.append(np.asarray(gif.convert("RGB")))
    return frames, durations


def assert_upright(image: np.ndarray) -> None:
    aspect = rc.silhouette_aspect(rc.body_mask(image))
    assert aspect > 1.5, f"silhouette height/width {aspect:.2f}: not an upright body"


# --- sizes and formats -------------------------------------------------------------------------

def test_output_size_caps_gifs_and_evens_mp4s():
    assert output_size(Path("a.gif"), (1920, 1080)) == (640, 360)
    assert output_size(Path("a.GIF"), (1080, 1920)) == (360, 640)
    assert output_size(Path("a.gif"), (320, 240)) == (320, 240)
    assert output_size(Path("a.mp4"), (1920, 1080)) == (1920, 1080)
    assert output_size(Path("a.mp4"), (641, 361)) == (640, 360)
    with pytest.raises(TurntableError, match=r"\.mp4 or \.gif"):
        output_size(Path("a.avi"), (640, 360))
    with pytest.raises(TurntableError, match="pixels"):
        output_size(Path("a.mp4"), (8, 8))


def test_gif_delays_add_up_to_the_turn_time():
    delays = gif_delays_cs(180, 30)
    assert sum(delays) == 600 and set(delays) == {3, 4}
    assert gif_delays_cs(4, 100) == [2, 2, 2, 2]  # players slow down delays under 2 cs


def test_parse_size():
    assert parse_size("1920x1080") == (1920, 1080)
    assert parse_size(" 640 X 360 ") == (640, 360)
    with pytest.raises(Exception, match="WIDTHxHEIGHT"):
        parse_size("1920")


# --- exports -------------------------------------------------------------------------------------

def test_gif_has_the_requested_frames_turning_from_front_to_back(coloured_box, tmp_path):
    path = tmp_path / "turn.gif"
    progress: list[tuple[int, int]] = []
    result = export_turntable(coloured_box, path, frames=8, size=SIZE, fps=10,
                              progress=lambda *p: progress.append(p))

    assert result.path == path and result.frames == 8 and result.size == SIZE
    assert progress == [(done, 8) for done in range(1, 9)]
    frames, durations = read_gif(path)
    assert len(frames) == 8 and all(frame.shape == (SIZE[1], SIZE[0], 3) for frame in frames)
    assert durations == [100] * 8
    for frame in frames:
        assert_upright(frame)
    # every 45 degrees: front, front+right, right, right+back, back, back+left, left, left+front
    expected = ["red", None, "yellow", None, "blue", None, "green", None]
    for index, colour in enumerate(expected):
        if colour is not None:
            shares = hue_shares(frames[index])
            assert shares[colour] > 0.8, (index, shares)
    assert hue_shares(frames[1])["red"] > 0.2 and hue_shares(frames[1])["yellow"] > 0.2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["turn.gif"]  # no temporary left


def test_gif_default_frame_count(coloured_box, tmp_path):
    path = tmp_path / "default.gif"
    result = export_turntable(coloured_box, path, size=(32, 48))
    frames, durations = read_gif(path)
    assert result.frames == len(frames) == 180
    assert frames[0].shape == (48, 32, 3) and sum(durations) == 6000  # 180 frames at 30 fps


def test_mp4_decodes_and_frame_0_is_the_front_render(coloured_box, tmp_path):
    path = tmp_path / "turn.mp4"
    result = export_turntable(coloured_box, path, frames=12, size=SIZE, fps=24)

    meta, frames = read_mp4(path)
    assert result.size == SIZE and meta["size"] == SIZE and len(frames) == 12
    assert meta["codec"] == "h264" and meta["pix_fmt"].startswith("yuv420p") and meta["fps"] == 24
    with TurntableRenderer(body_to_polydata(coloured_box), SIZE) as renderer:
        front, back = renderer.render(0.0), renderer.render(180.0)
    assert np.abs(frames[0].astype(int) - front).mean() < 3  # only compression differs
    assert np.abs(frames[6].astype(int) - back).mean() < 3
    assert np.abs(frames[6].astype(int) - frames[0]).mean() > 20
    assert hue_shares(frames[0])["red"] > 0.8 and hue_shares(frames[6])["blue"] > 0.8
    for frame in frames:
        assert_upright(frame)
    corners = rc.corner_colours(frames[0])
    assert np.abs(corners - rc.VIEW_BACKGROUND.corner_colours()).max() <= rc.BACKGROUND_TOLERANCE


@pytest.mark.parametrize("name", ["cancel.mp4", "cancel.gif"])
def test_cancel_leaves_no_file(coloured_box, tmp_path, name):
    progress: list[tuple[int, int]] = []
    with pytest.raises(ExportCancelled):
        export_turntable(coloured_box, tmp_path / name, frames=10, size=SIZE,
                         progress=lambda *p: progress.append(p), is_cancelled=lambda: len(progress) >= 3)
    assert len(progress) == 3
    assert list(tmp_path.iterdir()) == []


def test_unwritable_path_and_bad_extension_fail_before_rendering(coloured_box, tmp_path):
    with pytest.raises(TurntableError, match="cannot write"):
        export_turntable(coloured_box, tmp_path / "missing" / "a.mp4", frames=2, size=SIZE)
    with pytest.raises(TurntableError, match=r"\.mp4 or \.gif"):
        export_turntable(coloured_box, tmp_path / "a.webm", frames=2, size=SIZE)
    assert list(tmp_path.iterdir()) == []


# --- batch command against the demo server -----------------------------------------------------

def run_command(server, scan_id: str, path: Path, **options) -> tuple[int, str]:
    err = io.StringIO()
    settings = dict(frames=8, size=(192, 256), fps=30) | options
    code = run_turntable_command(scan_id, path, target=target_from_name(server.base_url),
                                 api_key=DEMO_API_KEY, settings=Settings(), err=err, **settings)
    return code, err.getvalue()


def last_line(text: str) -> str:
    return text.replace("\r", "\n").strip().splitlines()[-1]


def test_command_writes_a_turntable_of_a_demo_scan(demo_server, tmp_path):
    path = tmp_path / "ready.mp4"
    code, err = run_command(demo_server, demo_scan_id("ready"), path)

    assert code == 0, err
    assert last_line(err).startswith(f"scan-viewer: wrote {path} (8 frames, 192x256")
    assert "downloading" in err
    meta, frames = read_mp4(path)
    assert meta["size"] == (192, 256) and len(frames) == 8
    for index in (0, 4):  # front and back: an upright, textured body
        looks, why = rc.looks_like_body(frames[index], min_aspect=1.2)  # arms out
        assert looks, (index, why)
    assert np.abs(frames[0].astype(int) - frames[4]).mean() > 3  # the back is not the front

    code, err = run_command(demo_server, demo_scan_id("ready"), tmp_path / "again.gif")
    assert code == 0, err
    assert "downloading" not in err  # the cached mesh is reused
    assert len(read_gif(tmp_path / "again.gif")[0]) == 8


@pytest.mark.parametrize(
    ("scan_id", "words"),
    [
        (demo_scan_id("failed-body"), "has no 3D body yet (status FAILED"),
        (demo_scan_id("not-a-mesh"), "not a mesh"),
        ("0b0e5c2c-0000-4000-8000-000000000000", "was not found"),
    ],
)
def test_command_fails_with_one_line_for_scans_without_a_body(demo_server, tmp_path, scan_id, words):
    code, err = run_command(demo_server, scan_id, tmp_path / "out.mp4")
    assert code == 1
    assert last_line(err).startswith("scan-viewer: ") and words in last_line(err)
    assert list(tmp_path.iterdir()) == []


def test_command_refuses_bad_requests_before_connecting(demo_server, tmp_path):
    code, err = run_command(demo_server, demo_scan_id("ready"), tmp_path / "out.webm")
    assert code == 2 and err.strip() == "scan-viewer: out.webm: the file name must end in .mp4 or .gif"
    code, err = run_command(demo_server, demo_scan_id("ready"), tmp_path / "no" / "out.gif")
    assert code == 2 and "does not exist" in err
    assert list(tmp_path.iterdir()) == []
