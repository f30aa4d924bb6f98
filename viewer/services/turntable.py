"""Turntable export: a 360-degree turn around the body's vertical axis as an MP4 or a GIF (no Qt).

Rules:
- The body is converted and uploaded to one off-screen plotter once; only the camera moves, on a
  circle around the vertical (+Z) axis through the body's centre (``viewer.mesh.scene``: frame 0
  is the front, positive angles go toward the person's right side, frame ``frames / 2`` is the
  back). Lights follow the camera, so the look matches the 3D view at every angle.
- Frames are rendered at the output size directly, anti-aliasing off (it costs 2.5-4x on the
  software renderer), and streamed to the encoder one at a time: never all frames in memory.
- MP4: H.264 (yuv420p, BT.709, CRF ``MP4_CRF``) by the ffmpeg binary shipped in ``imageio-ffmpeg``;
  both sides are made even. GIF: at most ``GIF_MAX_SIZE``, one global palette of 256 colours
  taken from a few angles, frame delays in whole centiseconds that add up to ``frames / fps``.
- The file appears only when complete: frames go to a hidden temporary file beside ``path``
  that is renamed at the end and removed on cancellation or any error.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO, Callable, Protocol

import numpy as np
import pyvista as pv
from PIL import GifImagePlugin, Image
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkRenderingCore import vtkWindowToImageFilter

from viewer.core.errors import ScanViewerError
from viewer.mesh.mesh_data import BodyMesh
from viewer.mesh.polydata import PreparedBody, body_to_polydata
from viewer.mesh.render_checks import VIEW_BACKGROUND, Background
from viewer.mesh.scene import (
    add_body_part,
    frame_front,
    set_gradient_background,
    set_up_body_lights,
)

log = logging.getLogger(__name__)

Size = tuple[int, int]
ProgressCallback = Callable[[int, int], None]

SUFFIXES = (".mp4", ".gif")
DEFAULT_FRAMES = 180
DEFAULT_SIZE: Size = (1920, 1080)
DEFAULT_FPS = 30
MIN_SIDE, MAX_SIDE = 16, 8192

#: H.264 quality (lower is better; 18-23 is visually clean) and speed preset
MP4_CRF = 20
MP4_PRESET = "veryfast"

#: a GIF fits inside this box (width, height), keeping the requested aspect ratio
GIF_MAX_SIZE: Size = (640, 640)
#: angles whose renders make the GIF's one palette
GIF_PALETTE_ANGLES = (0.0, 90.0, 180.0, 270.0)


class TurntableError(ScanViewerError):
    """The turntable cannot be written (bad request, unwritable path, encoder failure)."""


class ExportCancelled(Exception):
    """``is_cancelled()`` said stop; no file was left behind."""


@dataclass(frozen=True)
class TurntableResult:
    path: Path
    frames: int
    size: Size  # (width, height) of the written frames
    seconds: float  # wall time of the whole export
    setup_seconds: float = 0.0  # body conversion, upload and first render
    render_seconds: float = 0.0  # rendering and reading back the frames
    encode_seconds: float = 0.0  # handing frames to the encoder and finishing the file


def output_size(path: Path, size: Size) -> Size:
    """The frame size written for ``path``'s format: even for MP4, capped for GIF.

    Raises ``TurntableError`` for an unsupported extension or an unusable size.
    """
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise TurntableError(f"{path.name}: the file name must end in .mp4 or .gif")
    width, height = size
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise TurntableError(f"size {width}x{height}: each side must be {MIN_SIDE}-{MAX_SIDE} pixels")
    if suffix == ".gif":
        scale = min(1.0, GIF_MAX_SIZE[0] / width, GIF_MAX_SIZE[1] / height)
        return max(MIN_SIDE, round(width * scale)), max(MIN_SIDE, round(height * scale))
    return width - width % 2, height - height % 2  # yuv420p needs even sides


def turntable_angles(frames: int) -> list[float]:
    """Camera azimuths in degrees: ``frames`` even steps of one full turn, starting at the front."""
    return [360.0 * index / frames for index in range(frames)]


def export_turntable(
    mesh: BodyMesh,
    path: Path,
    *,
    frames: int = DEFAULT_FRAMES,
    size: Size = DEFAULT_SIZE,
    fps: float = DEFAULT_FPS,
    progress: ProgressCallback | None = None,
    is_cancelled: Callable[[], bool] | None = None,
) -> TurntableResult:
    """Write a turntable of ``mesh`` to ``path`` (.mp4 or .gif); ``progress(done, total)`` per frame.

    Raises ``ExportCancelled`` when ``is_cancelled()`` turns true (checked before every frame) and
    ``TurntableError`` when the request or the output is unusable; neither leaves a file behind.
    """
    path = Path(path)
    frame_size = output_size(path, size)
    if frames < 1:
        raise TurntableError(f"frames must be at least 1, got {frames}")
    if not fps > 0:
        raise TurntableError(f"fps must be positive, got {fps}")
    if mesh.n_faces == 0:
        raise TurntableError("the mesh has no faces to render")
    if path.is_dir():
        raise TurntableError(f"{path} is a folder")

    started = time.perf_counter()
    render_seconds = encode_seconds = 0.0
    temporary = _create_temporary_beside(path)
    try:
        with TurntableRenderer(body_to_polydata(mesh), frame_size) as renderer:
            if path.suffix.lower() == ".gif":
                palette = gif_palette([renderer.render(angle) for angle in GIF_PALETTE_ANGLES])
                writer: _FrameWriter = _GifWriter(temporary, frame_size, fps, frames, palette)
            else:
                writer = _Mp4Writer(temporary, frame_size, fps)
            setup_seconds = time.perf_counter() - started
            try:
                for index, angle in enumerate(turntable_angles(frames)):
                    if is_cancelled is not None and is_cancelled():
                        raise ExportCancelled(str(path))
                    tick = time.perf_counter()
                    image = renderer.render(angle)
                    tock = time.perf_counter()
                    writer.write(image)
                    render_seconds += tock - tick
                    encode_seconds += time.perf_counter() - tock
                    if progress is not None:
                        progress(index + 1, frames)
                tick = time.perf_counter()
                writer.finish()
                encode_seconds += time.perf_counter() - tick
            except BaseException:
                writer.abort()
                raise
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    result = TurntableResult(path, frames, frame_size, time.perf_counter() - started,
                             setup_seconds, render_seconds, encode_seconds)
    log.info("turntable %s: %d frames %dx%d in %.1f s (setup %.1f, render %.1f, encode %.1f)",
             path, frames, *frame_size, result.seconds, setup_seconds, render_seconds, encode_seconds)
    return result


class TurntableRenderer:
    """One off-screen plotter holding the body; ``render(azimuth)`` moves only the camera."""

    def __init__(self, prepared: PreparedBody, size: Size, background: Background = VIEW_BACKGROUND) -> None:
        self._bounds = prepared.bounds
        self._size = size
        self._plotter = pv.Plotter(off_screen=True, window_size=list(size), lighting="none")
        try:
            self._plotter.disable_anti_aliasing()
            set_up_body_lights(self._plotter)
            set_gradient_background(self._plotter, background.top, background.bottom)
            for part in prepared.parts:
                add_body_part(self._plotter, part)
            frame_front(self._plotter, self._bounds, whole_turn=True)
            # the first screenshot of an off-screen plotter renders it (pyvista's render() does not yet)
            self._plotter.screenshot(return_img=True)
            self._grabber = vtkWindowToImageFilter()
            self._grabber.SetInput(self._plotter.render_window)
            self._grabber.SetInputBufferTypeToRGB()
            self._grabber.ReadFrontBufferOff()
            self._grabber.ShouldRerenderOff()
        except BaseException:
            self._plotter.close()
            raise

    def render(self, azimuth_deg: float) -> np.ndarray:
        """The body seen from ``azimuth_deg`` (0 = front) as an (height, width, 3) uint8 RGB image."""
        frame_front(self._plotter, self._bounds, azimuth_deg=azimuth_deg, whole_turn=True)
        self._plotter.render()
        self._grabber.Modified()
        self._grabber.Update()
        output = self._grabber.GetOutput()
        width, height, _ = output.GetDimensions()
        if (width, height) != self._size:
            expected = f"{self._size[0]}x{self._size[1]}"
            raise TurntableError(f"the renderer made {width}x{height} frames instead of {expected}")
        pixels = vtk_to_numpy(output.GetPointData().GetScalars()).reshape(height, width, 3)
        return np.ascontiguousarray(pixels[::-1])  # VTK's rows start at the bottom

    def close(self) -> None:
        self._plotter.close()

    def __enter__(self) -> TurntableRenderer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def gif_palette(samples: list[np.ndarray]) -> Image.Image:
    """A 256-colour palette image for all frames, from a few sample frames side by side."""
    strip = Image.fromarray(np.concatenate(samples, axis=1))
    return strip.quantize(colors=256, method=Image.Quantize.MEDIANCUT)


def gif_delays_cs(frames: int, fps: float) -> list[int]:
    """Per-frame delays in centiseconds (GIF's unit), at least 2, adding up to ``frames / fps``."""
    ends = [round((index + 1) * 100 / fps) for index in range(frames)]
    delays = [end - start for start, end in zip([0] + ends[:-1], ends)]
    return [max(2, delay) for delay in delays]  # players slow shorter delays down to 10 cs


class _FrameWriter(Protocol):
    def write(self, image: np.ndarray) -> None: ...
    def finish(self) -> None: ...
    def abort(self) -> None: ...


class _Mp4Writer:
    """Streams RGB frames into an ffmpeg process that encodes H.264 into ``path``."""

    def __init__(self, path: Path, size: Size, fps: float) -> None:
        import imageio_ffmpeg  # only needed for MP4; ships its own ffmpeg binary

        rate = Fraction(fps).limit_denominator(1001)
        command = [
            imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{size[0]}x{size[1]}", "-r", str(rate),
            "-i", "pipe:0", "-an",
            "-vf", "scale=out_color_matrix=bt709:out_range=tv,"
            "setparams=colorspace=bt709:color_primaries=bt709:color_trc=bt709:range=tv",
            "-c:v", "libx264", "-preset", MP4_PRESET, "-crf", str(MP4_CRF), "-pix_fmt", "yuv420p",
            "-movflags", "+faststart", "-f", "mp4", "-y", str(path),
        ]
        self._errors = tempfile.TemporaryFile()
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                         stderr=self._errors)

    def write(self, image: np.ndarray) -> None:
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(memoryview(np.ascontiguousarray(image, dtype=np.uint8)))
        except BrokenPipeError:
            self._process.wait()
            raise TurntableError(f"the video encoder stopped: {self._error_text()}") from None

    def finish(self) -> None:
        assert self._process.stdin is not None
        try:
            self._process.stdin.close()
        except BrokenPipeError:
            pass
        code = self._process.wait()
        if code != 0:
            raise TurntableError(f"the video encoder failed ({code}): {self._error_text()}")
        self._errors.close()

    def abort(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        if self._process.stdin is not None:
            try:
                self._process.stdin.close()
            except BrokenPipeError:
                pass
        self._errors.close()

    def _error_text(self) -> str:
        self._errors.seek(0)
        text = self._errors.read().decode("utf-8", "replace").strip()
        return text.splitlines()[-1] if text else "no message"


class _GifWriter:
    """Appends palette frames to ``path`` as they come: a looping GIF with one global palette."""

    def __init__(self, path: Path, size: Size, fps: float, frames: int, palette: Image.Image) -> None:
        self._file: BinaryIO = path.open("wb")
        self._size = size
        self._palette = palette
        self._delays = gif_delays_cs(frames, fps)
        self._previous: np.ndarray | None = None  # palette indices of the last frame written
        self._written = 0

    def write(self, image: np.ndarray) -> None:
        frame = Image.fromarray(image).quantize(palette=self._palette, dither=Image.Dither.NONE)
        indices = np.asarray(frame)
        if self._previous is None:
            header, _ = GifImagePlugin.getheader(frame, info={"loop": 0, "duration": 1})
            self._file.write(b"".join(header))
            box = (0, 0, frame.width, frame.height)
        else:
            box = _changed_box(self._previous, indices)
        delay = self._delays[min(self._written, len(self._delays) - 1)]
        # only the changed rectangle is stored; the rest of the previous frame stays (disposal 1)
        part = frame.crop(box)
        part.putpalette(frame.getpalette() or [])
        self._file.write(b"".join(GifImagePlugin.getdata(part, offset=box[:2], duration=delay * 10, disposal=1)))
        self._previous = indices
        self._written += 1

    def finish(self) -> None:
        self._file.write(b";")  # GIF trailer
        self._file.close()

    def abort(self) -> None:
        self._file.close()


def _changed_box(before: np.ndarray, after: np.ndarray) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) around the pixels that differ; one pixel when none does."""
    changed = before != after
    rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
    if rows.size == 0:
        return (0, 0, 1, 1)
    return (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)


def _create_temporary_beside(path: Path) -> Path:
    """Create (empty) the hidden file the export is written to; proves the folder is writable."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        with temporary.open("xb"):
            pass
    except OSError as exc:
        raise TurntableError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return temporary


def prefer_egl_without_display() -> None:
    """With no X or Wayland display, ask VTK for EGL at once instead of warning about X first.

    Call before VTK creates its first render window (the batch command and the export process).
    """
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY") \
            and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
