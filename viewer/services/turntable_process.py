"""Run one turntable export in a child process, with progress, cancelling and crash detection (no Qt).

Why a child: the export renders 1920x1080 frames with an off-screen VTK window; inside the GUI
process that window would share the on-screen view's GL state (xcb/GLX) and hold the GIL for
50-100 ms per frame. Here a ``spawn`` child (also fine in the PyInstaller bundle, whose launcher
calls ``multiprocessing.freeze_support()``) loads the body from a temporary sidecar and runs
``export_turntable``.

Use: ``stage(mesh)`` in a worker thread (checks the request, writes the sidecar), ``start()``,
then ``poll()`` now and then (it never blocks) until ``outcome`` is set; ``shutdown()`` when done
or when the app closes.

Rules:
- The child sends ``TurntableProgress`` per frame and exactly one outcome: ``TurntableFinished``,
  ``TurntableFailed`` or ``TurntableCancelled``, through a one-way pipe.
- ``cancel()`` sets an event the child checks before every frame; the export then removes its
  temporary file, so no partial file remains. An export that completed first stays finished.
- A child that dies without an outcome (crash, out of memory, killed) gives ``TurntableFailed``
  saying so, and its leftover temporary file beside the output is removed here.
- ``shutdown()`` cancels, waits ``timeout`` seconds, then terminates the child; it also removes
  the temporary sidecar (it holds the person's body).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import tempfile
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event
from pathlib import Path

from viewer.mesh.mesh_data import BodyMesh
from viewer.mesh.sidecar import load_sidecar, save_sidecar
from viewer.services.turntable import (
    DEFAULT_FPS,
    DEFAULT_FRAMES,
    DEFAULT_SIZE,
    ExportCancelled,
    Size,
    TurntableError,
    export_turntable,
    output_size,
    prefer_egl_without_display,
)

log = logging.getLogger(__name__)

_SIDECAR_NAME = "body.npz"


@dataclass(frozen=True)
class TurntableRequest:
    path: Path
    frames: int = DEFAULT_FRAMES
    size: Size = DEFAULT_SIZE  # requested (width, height); ``output_size`` says what is written
    fps: float = DEFAULT_FPS

    def check(self) -> None:
        """Raise ``TurntableError`` for a request the child would refuse (format, size, folder...)."""
        output_size(self.path, self.size)
        if self.frames < 1:
            raise TurntableError(f"the number of frames must be at least 1, got {self.frames}")
        if not self.fps > 0:
            raise TurntableError(f"the frame rate must be positive, got {self.fps:g}")
        folder = self.path.parent
        if self.path.is_dir():
            raise TurntableError(f"cannot write {self.path}: it is a folder")
        if not folder.is_dir():
            raise TurntableError(f"cannot write {self.path}: the folder {folder} does not exist")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise TurntableError(f"cannot write {self.path}: the folder {folder} is not writable")


@dataclass(frozen=True)
class TurntableProgress:
    done: int
    total: int


@dataclass(frozen=True)
class TurntableFinished:
    path: Path
    seconds: float  # the export's own time in the child (rendering and encoding)


@dataclass(frozen=True)
class TurntableFailed:
    message: str


@dataclass(frozen=True)
class TurntableCancelled:
    pass


TurntableOutcome = TurntableFinished | TurntableFailed | TurntableCancelled
TurntableEvent = TurntableProgress | TurntableOutcome


def _child_export(sidecar: Path, request: TurntableRequest, events: Connection, cancel: Event) -> None:
    """Runs in the child: load the body, export it, send progress and one outcome."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C in the terminal is the parent's to handle
    prefer_egl_without_display()
    outcome: TurntableOutcome
    try:
        mesh = load_sidecar(sidecar)
        if mesh is None:
            outcome = TurntableFailed("the body could not be handed to the export process")
        else:
            result = export_turntable(
                mesh, request.path, frames=request.frames, size=request.size, fps=request.fps,
                progress=lambda done, total: events.send(TurntableProgress(done, total)),
                is_cancelled=cancel.is_set,
            )
            outcome = TurntableFinished(result.path, result.seconds)
    except ExportCancelled:
        outcome = TurntableCancelled()
    except TurntableError as exc:
        outcome = TurntableFailed(str(exc))
    except Exception as exc:  # noqa: BLE001 - whatever it is, the parent must hear one clear outcome
        log.exception("turntable export failed")
        outcome = TurntableFailed(f"unexpected problem: {type(exc).__name__}: {exc}")
    try:
        events.send(outcome)
    except OSError:  # the parent stopped listening (it is shutting down)
        pass
    events.close()


@dataclass
class _Child:
    process: BaseProcess
    events: Connection
    cancel: Event
    started_at: float = field(default_factory=time.time)  # wall clock, to compare with file times


class TurntableProcess:
    """One turntable export in a child process (``stage`` may run in another thread than the rest)."""

    def __init__(self, request: TurntableRequest) -> None:
        self.request = request
        self.outcome: TurntableOutcome | None = None
        self._lock = threading.Lock()
        self._folder: Path | None = None  # the temporary folder holding the sidecar
        self._child: _Child | None = None
        self._closed = False

    def stage(self, mesh: BodyMesh) -> None:
        """Check the request and write ``mesh`` where the child reads it (slow: call it in a worker).

        Raises ``TurntableError`` for an unusable request or a sidecar that cannot be written.
        """
        self.request.check()
        if mesh.n_faces == 0:
            raise TurntableError("the body has no faces to render")
        folder = Path(tempfile.mkdtemp(prefix="scan-viewer-turntable-"))
        try:
            save_sidecar(mesh, folder / _SIDECAR_NAME)
        except OSError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise TurntableError(f"cannot prepare the body for the export: {exc}") from exc
        with self._lock:
            if not self._closed:
                self._folder, folder = folder, None
        if folder is not None:  # shut down meanwhile: nothing will read it
            shutil.rmtree(folder, ignore_errors=True)

    def start(self) -> None:
        """Start the child on the staged body. Raises RuntimeError if not staged or already started."""
        with self._lock:
            if self._closed or self._folder is None or self._child is not None:
                raise RuntimeError("stage() the body first, and start an export once")
            context = multiprocessing.get_context("spawn")
            reader, writer = context.Pipe(duplex=False)
            cancel = context.Event()
            process = context.Process(
                target=_child_export, args=(self._folder / _SIDECAR_NAME, self.request, writer, cancel),
                name="turntable-export", daemon=True,
            )
            process.start()
            writer.close()  # the child holds the only writer now: its end means end of file here
            self._child = _Child(process, reader, cancel)
        log.info("turntable export of %s started in process %s", self.request.path, process.pid)

    @property
    def started(self) -> bool:
        return self._child is not None

    @property
    def pid(self) -> int | None:
        """The child's process id once started (for diagnostics and tests)."""
        return self._child.process.pid if self._child is not None else None

    @property
    def sidecar(self) -> Path | None:
        """The staged copy of the body the child reads (None before ``stage`` and after ``shutdown``)."""
        folder = self._folder
        return folder / _SIDECAR_NAME if folder is not None else None

    def cancel(self) -> None:
        """Ask the child to stop before its next frame (no effect once it has finished)."""
        if self._child is not None:
            self._child.cancel.set()

    @property
    def exited(self) -> bool:
        """True once the child has ended (or never started); asking reaps it without waiting."""
        return self._child is None or self._child.process.exitcode is not None

    def poll(self) -> list[TurntableEvent]:
        """The events that arrived since the last call, without waiting; the outcome comes last.

        The outcome is reported as soon as it arrives; the child then takes a moment to exit
        (``exited``), which nothing here waits for.
        """
        child = self._child
        if child is None or self.outcome is not None:
            return []
        events = self._read(child)
        if self.outcome is not None:
            self._release(child)
        return events

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop the child (cancel, wait ``timeout`` s, then terminate) and remove the sidecar.

        An export still running ends as ``TurntableCancelled`` (unless it finished meanwhile).
        """
        with self._lock:
            self._closed = True
            child = self._child
        if child is not None:
            child.cancel.set()
            deadline = time.monotonic() + timeout
            while child.process.is_alive() and time.monotonic() < deadline:
                if self.outcome is None:
                    self._read(child)  # a full pipe would block the child's last sends
                child.process.join(0.05)
            if child.process.is_alive():
                log.warning("the turntable export process did not stop in %s s; terminating it", timeout)
                child.process.terminate()
                child.process.join(5.0)
            if self.outcome is None:
                self._read(child)
        if self.outcome is None:
            self.outcome = TurntableCancelled()
        self._release(child)

    def _read(self, child: _Child) -> list[TurntableEvent]:
        """Take what the child sent, up to its outcome; a child gone without one failed."""
        events: list[TurntableEvent] = []
        try:
            while child.events.poll():
                event = child.events.recv()
                events.append(event)
                if not isinstance(event, TurntableProgress):
                    self.outcome = event
                    return events
        except (EOFError, OSError):
            child.process.join(1.0)  # it has closed its end: it is exiting, if not gone
            self.outcome = TurntableFailed(
                f"the export process stopped before it finished (exit code {child.process.exitcode}: "
                "it crashed, ran out of memory or was killed); no file was written")
            events.append(self.outcome)
        return events

    def _release(self, child: _Child | None) -> None:
        """After the outcome: close the pipe, remove the sidecar and what a dead child left."""
        with self._lock:
            self._closed = True
            folder, self._folder = self._folder, None
        if child is not None and not child.events.closed:
            child.events.close()
            if isinstance(self.outcome, TurntableFailed):
                self._remove_leftovers(child)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def _remove_leftovers(self, child: _Child) -> None:
        """Remove the temporary file of a child that could not clean up (named as ``export_turntable``
        names it: ``.<name>.<8 hex digits>.part`` beside the output) if it was made by this export."""
        path = self.request.path
        try:
            candidates = [p for p in path.parent.iterdir()
                          if p.name.startswith(f".{path.name}.") and p.name.endswith(".part")]
        except OSError:
            return
        for leftover in candidates:
            try:
                if leftover.stat().st_mtime >= child.started_at - 1:
                    leftover.unlink()
            except OSError as exc:
                log.warning("could not remove the unfinished export %s: %s", leftover, exc)
