"""``scan-viewer --scan ID --turntable PATH``: open one scan and write its turntable, no window.

The scan is opened through the same session, cache and opener as the app, so a second export of a
scan needs no download. Progress is one updating line on ``err``; every failure is one line
``scan-viewer: <reason>`` and a non-zero exit code: 2 for a bad request (extension, size, frames,
fps, unwritable folder), 1 when the scan or the export fails, 130 when interrupted (Ctrl+C).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import time
from pathlib import Path
from typing import TextIO

from viewer.core.errors import (
    MeshLoadError,
    NotFoundError,
    PrismApiError,
    ScanViewerError,
)
from viewer.core.models import ScanStatus
from viewer.core.server_choice import ServerTarget
from viewer.core.settings import Settings
from viewer.mesh.mesh_data import BodyMesh
from viewer.services.scan_opening import OpenProgress
from viewer.services.session import ServerSession, connect
from viewer.services.turntable import (
    Size,
    TurntableError,
    export_turntable,
    output_size,
    prefer_egl_without_display,
)

PROG = "scan-viewer"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def parse_size(text: str) -> Size:
    """argparse type for ``--size``: ``WIDTHxHEIGHT`` such as 1920x1080."""
    match = re.fullmatch(r"\s*(\d{1,5})\s*[xX]\s*(\d{1,5})\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1920x1080, got {text!r}")
    return int(match.group(1)), int(match.group(2))


def run_turntable_command(
    scan_id: str,
    path: Path,
    *,
    frames: int,
    size: Size,
    fps: float,
    target: ServerTarget,
    api_key: str | None,
    settings: Settings,
    err: TextIO = sys.stderr,
) -> int:
    """Write the turntable of ``scan_id`` to ``path``; the process exit code."""
    path = Path(path).expanduser()
    try:
        _check_request(path, frames, size, fps)
    except TurntableError as exc:
        _fail(err, str(exc))
        return EXIT_USAGE
    if not target.is_demo and not api_key:
        _fail(err, f"no API key for {target.label}: set PRISM_API_KEY, use --api-key-env, or use --demo")
        return EXIT_USAGE

    prefer_egl_without_display()
    line = _ProgressLine(err)
    session: ServerSession | None = None
    try:
        line.show("connecting to the server", final=True)
        session = connect(target, api_key, settings)
        mesh = _open_mesh(session, scan_id, line)
        result = export_turntable(
            mesh, path, frames=frames, size=size, fps=fps,
            progress=lambda done, total: line.show(f"rendering frame {done}/{total}", final=done == total),
        )
    except ScanViewerError as exc:
        line.end()
        _fail(err, str(exc))
        return EXIT_FAILED
    except KeyboardInterrupt:
        line.end()
        _fail(err, "interrupted; no file was written")
        return EXIT_INTERRUPTED
    finally:
        if session is not None:
            session.close()
    line.end()
    width, height = result.size
    print(f"{PROG}: wrote {result.path} ({result.frames} frames, {width}x{height}, "
          f"{result.frames / fps:.1f} s at {fps:g} fps) in {result.seconds:.1f} s", file=err)
    return EXIT_OK


def _check_request(path: Path, frames: int, size: Size, fps: float) -> None:
    output_size(path, size)  # extension and size
    if frames < 1:
        raise TurntableError(f"--frames must be at least 1, got {frames}")
    if not fps > 0:
        raise TurntableError(f"--fps must be positive, got {fps:g}")
    folder = path.parent
    if path.is_dir():
        raise TurntableError(f"cannot write {path}: it is a folder")
    if not folder.is_dir():
        raise TurntableError(f"cannot write {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise TurntableError(f"cannot write {path}: the folder {folder} is not writable")


def _open_mesh(session: ServerSession, scan_id: str, line: _ProgressLine) -> BodyMesh:
    """The scan's body through the session's opener (cache first); clear errors otherwise."""

    def report(progress: OpenProgress) -> None:
        if progress.phase == "download" and progress.total:
            line.show(f"downloading the scan {progress.done / 1e6:.1f}/{progress.total / 1e6:.1f} MB",
                      final=progress.done >= progress.total)
        elif progress.phase != "download":
            line.show(progress.message.lower() or progress.phase, final=True)

    line.show("opening the scan", final=True)
    try:
        return session.opener.open(scan_id, progress=report).mesh
    except NotFoundError as exc:
        raise ScanViewerError(_why_no_model(session, scan_id, exc)) from exc
    except MeshLoadError as exc:
        raise ScanViewerError(f"scan {scan_id}: its model is not a mesh that can be shown ({exc.reason})") from exc


def _why_no_model(session: ServerSession, scan_id: str, error: NotFoundError) -> str:
    """Say whether the scan is unknown, not ready, or ready without a model."""
    try:
        scan = session.client.get_scan(scan_id)
    except NotFoundError:
        return f"scan {scan_id} was not found on {session.target.label}"
    except PrismApiError:
        return f"scan {scan_id}: {error}"
    if scan.status is not ScanStatus.READY or scan.assets.failed_stage is not None:
        failed = scan.assets.failed_stage
        running = scan.assets.running_stage
        detail = (f": the {failed.label} stage failed" if failed
                  else f": the {running.label} stage is still running" if running else "")
        return f"scan {scan_id} has no 3D body yet (status {scan.status.value}{detail})"
    return f"scan {scan_id}: {error}"


def _fail(err: TextIO, message: str) -> None:
    print(f"{PROG}: " + " ".join(message.split()), file=err)


class _ProgressLine:
    """One status line rewritten in place (``\\r``), at most every ``INTERVAL_S`` unless ``final``."""

    INTERVAL_S = 0.1

    def __init__(self, err: TextIO) -> None:
        self._err = err
        self._width = 0
        self._shown_at = -math.inf

    def show(self, text: str, *, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self._shown_at < self.INTERVAL_S:
            return
        self._shown_at = now
        shown = f"{PROG}: {text}"
        self._err.write("\r" + shown.ljust(self._width))
        self._err.flush()
        self._width = len(shown)

    def end(self) -> None:
        """Finish the line so the next message starts on its own line."""
        if self._width:
            self._err.write("\n")
            self._err.flush()
            self._width = 0
            self._shown_at = -math.inf
