"""Parse big mesh files in a separate process, so the GUI thread keeps the GIL while they load.

Parsing a 500k-face OBJ holds Python's GIL in long numpy/trimesh calls (over 100 ms at a time),
which freezes the Qt event loop even though the work runs in a worker thread. Here one child
process (started lazily, ``spawn`` context, its imports done once) runs ``load_mesh`` and writes
the parsed-mesh sidecar; the calling thread then reads that sidecar back, a file read that
barely holds the GIL. Small files are cheaper to parse in-thread than to hand over: callers
decide with ``OUT_OF_PROCESS_BYTES``.

Rules:
- A ``MeshLoadError`` in the child arrives as the same ``MeshLoadError`` (same path, same reason).
- A child that dies (crash, out of memory, killed) gives a ``MeshLoadError`` saying so; the
  broken pool is dropped and the next load starts a fresh child. Nothing waits forever on it.
- Cancelling (``is_cancelled``) only stops the waiting: the child finishes its atomic sidecar
  write and the result is dropped. A later load of the same sidecar joins that unfinished one.
- ``shutdown()`` stops the child; the window calls it when it closes. A frozen (PyInstaller)
  build must call ``multiprocessing.freeze_support()`` first thing in its entry point.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from viewer.core.errors import MeshLoadError
from viewer.mesh.loader import load_mesh
from viewer.mesh.mesh_data import BodyMesh
from viewer.mesh.sidecar import load_sidecar, save_sidecar

log = logging.getLogger(__name__)

#: Files at least this big are parsed in the child; below it spawning and IPC cost more than
#: the GIL time saved (a Prism-size 14k-face OBJ is ~1 MB, the 528k-face demo scan 35 MB).
OUT_OF_PROCESS_BYTES = 8 * 1024 * 1024

#: How often a waiting thread looks at ``is_cancelled``.
_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class _Failed:
    """The child's ``MeshLoadError``, as fields (the exception itself does not survive pickling)."""

    path: object
    reason: str


@dataclass(frozen=True)
class _Unsaved:
    """The sidecar could not be written (full disk...): the mesh itself comes back instead."""

    mesh: BodyMesh
    problem: str


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:  # not glibc (macOS, Windows, musl): nothing to trim
        return None


def _child_ready() -> int:
    return os.getpid()


def _child_load(source: Path, sidecar: Path, assume_prism: bool) -> _Failed | _Unsaved | None:
    """Runs in the child: parse ``source`` and write the sidecar; None means the sidecar is there."""
    try:
        try:
            mesh = load_mesh(source, assume_prism=assume_prism)
        except MeshLoadError as exc:
            return _Failed(exc.path, exc.reason)
        try:
            save_sidecar(mesh, sidecar)
        except OSError as exc:
            return _Unsaved(mesh, str(exc))
        return None
    finally:
        _give_back_memory()


def _give_back_memory() -> None:
    """An idle child should not sit on a parse's garbage: ~300 MB for a 500k-face OBJ."""
    gc.collect()  # trimesh's objects hold reference cycles
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)  # glibc keeps freed heap pages otherwise


class MeshProcess:
    """One lazily started child process that turns mesh files into sidecars (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._ready: Future | None = None  # the start-up task; its result is the child's pid
        self._running: dict[tuple[Path, Path, bool], Future] = {}

    def warm_up(self) -> None:
        """Start the child now (without waiting) so a load that follows soon finds it ready."""
        with self._lock:
            self._start()

    def load(
        self,
        source: Path,
        sidecar: Path,
        *,
        assume_prism: bool = False,
        is_cancelled: Callable[[], bool] = lambda: False,
    ) -> BodyMesh | None:
        """``load_mesh(source, assume_prism=...)`` done in the child, which also saves ``sidecar``.

        Returns None when ``is_cancelled()`` turned true first (the child still finishes the
        sidecar). Raises ``MeshLoadError`` for a file that is not a mesh or a child that died.
        """
        if is_cancelled():
            return None
        executor, future = self._submit(Path(source), Path(sidecar), assume_prism)
        while True:
            try:
                outcome = future.result(timeout=_POLL_SECONDS)
                break
            except TimeoutError:
                if is_cancelled():
                    return None
            except CancelledError:  # shutdown() dropped it: the app is closing
                return None
            except BrokenProcessPool as exc:
                self._drop(executor)
                raise MeshLoadError(
                    source, "the loading process stopped before it finished (it crashed, ran out "
                    "of memory or was killed); try again"
                ) from exc
        if isinstance(outcome, _Failed):
            raise MeshLoadError(outcome.path, outcome.reason)
        if isinstance(outcome, _Unsaved):
            log.warning("could not write the mesh sidecar %s: %s", sidecar, outcome.problem)
            return outcome.mesh
        mesh = load_sidecar(sidecar)
        if mesh is None:  # removed or spoilt between the child's write and this read
            log.warning("the sidecar %s the loader wrote is unusable; parsing here", sidecar)
            mesh = load_mesh(Path(source), assume_prism=assume_prism)
        return mesh

    def worker_pid(self, timeout: float = 30.0) -> int:
        """The child's process id (starting it if need be); for diagnostics and tests."""
        with self._lock:
            ready = self._start()[1]
        return int(ready.result(timeout=timeout))

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop the child: queued loads are dropped, a running one gets ``timeout`` s to end."""
        with self._lock:
            executor, self._executor, self._ready = self._executor, None, None
            self._running.clear()
        if executor is None:
            return
        # the executor keeps its processes in a private dict; read it to bound the wait
        processes = list(getattr(executor, "_processes", {}).values())
        executor.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + timeout
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                log.warning("the mesh loading process did not stop in %s s; terminating it", timeout)
                process.terminate()
                process.join(5.0)

    def _start(self) -> tuple[ProcessPoolExecutor, Future]:
        """The pool and its start-up task, created when missing (call with the lock held)."""
        if self._executor is None or self._ready is None:
            self._executor = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn")
            )
            self._ready = self._executor.submit(_child_ready)
        return self._executor, self._ready

    def _submit(
        self, source: Path, sidecar: Path, assume_prism: bool
    ) -> tuple[ProcessPoolExecutor, Future]:
        key = (source, sidecar, assume_prism)
        with self._lock:
            executor = self._start()[0]
            for done in [k for k, f in self._running.items() if f.done()]:
                del self._running[done]
            future = self._running.get(key)  # an earlier, cancelled load still writing the same file
            if future is None:
                future = self._running[key] = executor.submit(_child_load, source, sidecar, assume_prism)
            return executor, future

    def _drop(self, broken: ProcessPoolExecutor) -> None:
        """Forget a pool whose child died, so the next load starts a fresh one."""
        with self._lock:
            if self._executor is not broken:
                return  # another thread already dropped it
            self._executor, self._ready = None, None
            self._running.clear()
        broken.shutdown(wait=False, cancel_futures=True)


_shared = MeshProcess()


def shared() -> MeshProcess:
    """The app's one mesh-loading process."""
    return _shared


def shutdown() -> None:
    """Stop the app's mesh-loading process (the window calls this when it closes)."""
    _shared.shutdown()
