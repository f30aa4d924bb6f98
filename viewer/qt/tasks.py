"""Run blocking work off the GUI thread and deliver results back on it.

Rules:
- Workers compute and return values; callbacks (``on_done``, ``on_error``, ``on_progress``) always
  run on the GUI thread, so they may touch widgets and the plotter.
- Tasks submitted under the same ``group`` obey "latest wins": submitting a new one cancels the
  previous ones of that group (their ``Task.cancelled`` is set, so a worker can stop between chunks)
  and their results are dropped even if they finish later.
- ``shutdown()`` cancels everything and waits for the pool: call it from the window's close event so
  no worker outlives the window.
- A worker function receives the ``Task`` as its first argument (for ``report`` / ``cancelled``).
"""

from __future__ import annotations

import itertools
import logging
import threading
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)


class Task:
    """Handle of one submitted job: cancel it, ask if it was cancelled, report progress."""

    _ids = itertools.count(1)

    def __init__(self, group: str | None) -> None:
        self.id = next(Task._ids)
        self.group = group
        self._cancelled = threading.Event()
        self._relay: _Relay | None = None

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def report(self, value: Any) -> None:
        """Send progress to ``on_progress`` on the GUI thread (dropped once cancelled)."""
        if self._relay is not None and not self.cancelled:
            self._relay.progress.emit(self.id, value)


class _Relay(QObject):
    """Carries a worker's outcome across threads (lives in the GUI thread)."""

    progress = Signal(int, object)
    done = Signal(int, object)
    failed = Signal(int, object)


class _Runnable(QRunnable):
    def __init__(self, task: Task, relay: _Relay, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._task, self._relay, self._fn, self._args, self._kwargs = task, relay, fn, args, kwargs

    def run(self) -> None:
        try:
            result = self._fn(self._task, *self._args, **self._kwargs)
        except BaseException as exc:  # noqa: BLE001 - everything goes back to the GUI as a value
            self._relay.failed.emit(self._task.id, exc)
        else:
            self._relay.done.emit(self._task.id, result)


class TaskRunner(QObject):
    """A small pool of worker threads with grouped, cancellable tasks."""

    def __init__(self, parent: QObject | None = None, max_threads: int = 4) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._relay = _Relay(self)
        self._relay.progress.connect(self._on_progress)
        self._relay.done.connect(self._on_done)
        self._relay.failed.connect(self._on_failed)
        self._callbacks: dict[int, tuple[Task, Callable | None, Callable | None, Callable | None]] = {}
        self._latest: dict[str, Task] = {}
        self._closed = False

    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        group: str | None = None,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
        **kwargs: Any,
    ) -> Task:
        task = Task(group)
        if self._closed:
            task.cancel()
            return task
        task._relay = self._relay
        if group is not None:
            previous = self._latest.get(group)
            if previous is not None:
                previous.cancel()
            self._latest[group] = task
        self._callbacks[task.id] = (task, on_done, on_error, on_progress)
        self._pool.start(_Runnable(task, self._relay, fn, args, kwargs))
        return task

    def cancel_group(self, group: str) -> None:
        task = self._latest.pop(group, None)
        if task is not None:
            task.cancel()

    @property
    def pending(self) -> int:
        """Tasks submitted whose outcome has not been delivered yet."""
        return len(self._callbacks)

    def wait(self, timeout_ms: int = -1) -> bool:
        return self._pool.waitForDone(timeout_ms)

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Cancel every task and wait for the workers; True when all stopped in time."""
        self._closed = True
        for task, *_ in self._callbacks.values():
            task.cancel()
        finished = self._pool.waitForDone(timeout_ms)
        self._callbacks.clear()
        self._latest.clear()
        if not finished:
            log.warning("workers still running after %d ms at shutdown", timeout_ms)
        return finished

    def _take(self, task_id: int) -> tuple[Task, Callable | None, Callable | None, Callable | None] | None:
        entry = self._callbacks.pop(task_id, None)
        if entry is None:
            return None
        task = entry[0]
        if task.group is not None and self._latest.get(task.group) is task:
            del self._latest[task.group]
        return None if task.cancelled else entry

    @Slot(int, object)
    def _on_progress(self, task_id: int, value: Any) -> None:
        entry = self._callbacks.get(task_id)
        if entry is not None and not entry[0].cancelled and entry[3] is not None:
            entry[3](value)

    @Slot(int, object)
    def _on_done(self, task_id: int, result: Any) -> None:
        entry = self._take(task_id)
        if entry is not None and entry[1] is not None:
            entry[1](result)

    @Slot(int, object)
    def _on_failed(self, task_id: int, error: BaseException) -> None:
        entry = self._take(task_id)
        if entry is None:
            return
        if entry[2] is not None:
            entry[2](error)
        else:
            log.error("background task failed: %s", error, exc_info=error)
