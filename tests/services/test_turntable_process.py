"""A turntable export in a child process: real files, progress, cancelling, bad folders, a killed child."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from viewer.demo.humanoid import BodyParams, generate_body
from viewer.mesh.mesh_data import PRISM_TO_VIEW, BodyMesh
from viewer.services.turntable import TurntableError
from viewer.services.turntable_process import (
    TurntableCancelled,
    TurntableEvent,
    TurntableFailed,
    TurntableFinished,
    TurntableProcess,
    TurntableProgress,
    TurntableRequest,
)

SIZE = (160, 120)


@pytest.fixture(scope="module")
def body() -> BodyMesh:
    generated = generate_body(BodyParams(seed=3))
    return BodyMesh(vertices=generated.vertices @ PRISM_TO_VIEW.T, faces=generated.faces)


def run(process: TurntableProcess, *, on_event=lambda event: None, timeout: float = 60) -> list[TurntableEvent]:
    """Poll like the GUI does until the outcome; every event seen, in order."""
    seen: list[TurntableEvent] = []
    deadline = time.monotonic() + timeout
    while process.outcome is None:
        assert time.monotonic() < deadline, f"no outcome after {timeout} s; seen {seen[-3:]}"
        for event in process.poll():
            seen.append(event)
            on_event(event)
        time.sleep(0.02)
    return seen


def wait_for_exit(process: TurntableProcess, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not process.exited:
        assert time.monotonic() < deadline, "the child did not exit"
        time.sleep(0.02)
    assert not Path(f"/proc/{process.pid}").exists()  # reaped, not a zombie


def test_exports_a_gif_with_progress_to_the_last_frame(body, tmp_path):
    path = tmp_path / "turn.gif"
    process = TurntableProcess(TurntableRequest(path, frames=12, size=SIZE, fps=12))
    process.stage(body)
    process.start()
    events = run(process)

    progress = [(e.done, e.total) for e in events if isinstance(e, TurntableProgress)]
    assert progress == [(n, 12) for n in range(1, 13)]
    outcome = events[-1]
    assert isinstance(outcome, TurntableFinished) and outcome.path == path and outcome.seconds > 0
    assert process.outcome is outcome
    with Image.open(path) as gif:
        assert gif.size == SIZE and gif.n_frames == 12
        gif.seek(0)
        first = np.asarray(gif.convert("RGB"))
    centre = first[20:100, 60:100]
    assert (np.abs(centre.astype(int) - first[2, 2]).sum(axis=2) > 60).mean() > 0.2  # the body is there
    assert sorted(p.name for p in tmp_path.iterdir()) == ["turn.gif"]
    wait_for_exit(process)


def test_cancel_after_the_first_frame_leaves_no_file(body, tmp_path):
    path = tmp_path / "turn.mp4"
    process = TurntableProcess(TurntableRequest(path, frames=2000, size=SIZE))
    process.stage(body)
    process.start()
    started = time.monotonic()

    def cancel_on_progress(event: TurntableEvent) -> None:
        if isinstance(event, TurntableProgress):
            process.cancel()

    events = run(process, on_event=cancel_on_progress)
    assert isinstance(events[-1], TurntableCancelled)
    done = max(e.done for e in events if isinstance(e, TurntableProgress))
    assert done < 2000
    assert list(tmp_path.iterdir()) == []
    print(f"cancelled after {done} frames, {time.monotonic() - started:.1f} s after the start")


def test_a_missing_folder_is_refused_before_any_process_starts(body, tmp_path):
    process = TurntableProcess(TurntableRequest(tmp_path / "nowhere" / "turn.gif", frames=12, size=SIZE))
    with pytest.raises(TurntableError, match=r"the folder .*nowhere does not exist"):
        process.stage(body)
    with pytest.raises(RuntimeError):
        process.start()
    assert not process.started


def test_a_folder_that_goes_away_after_staging_fails_clearly_in_the_child(body, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    process = TurntableProcess(TurntableRequest(folder / "turn.gif", frames=12, size=SIZE))
    process.stage(body)
    folder.rmdir()
    process.start()
    outcome = run(process)[-1]
    assert isinstance(outcome, TurntableFailed)
    assert outcome.message.startswith(f"cannot write {folder / 'turn.gif'}: ")
    assert "Traceback" not in outcome.message


def test_a_killed_child_is_a_clear_failure_and_leaves_no_partial_file(body, tmp_path):
    path = tmp_path / "turn.mp4"
    process = TurntableProcess(TurntableRequest(path, frames=2000, size=SIZE))
    process.stage(body)
    process.start()

    def kill_on_progress(event: TurntableEvent) -> None:
        if isinstance(event, TurntableProgress) and event.done == 1:
            assert [p.name for p in tmp_path.iterdir() if p.suffix == ".part"]  # being written
            os.kill(process.pid, signal.SIGKILL)

    outcome = run(process, on_event=kill_on_progress)[-1]
    assert isinstance(outcome, TurntableFailed)
    assert "stopped before it finished" in outcome.message and "-9" in outcome.message
    assert list(tmp_path.iterdir()) == []


def test_shutdown_stops_a_running_export_and_removes_the_body_copy(body, tmp_path):
    path = tmp_path / "turn.gif"
    process = TurntableProcess(TurntableRequest(path, frames=2000, size=SIZE))
    process.stage(body)
    sidecar = process.sidecar
    assert sidecar is not None and sidecar.is_file()
    process.start()
    run_until = time.monotonic() + 30
    while not any(isinstance(e, TurntableProgress) for e in process.poll()):
        assert time.monotonic() < run_until
        time.sleep(0.02)
    process.shutdown(timeout=5)
    assert isinstance(process.outcome, TurntableCancelled)
    assert not Path(f"/proc/{process.pid}").exists()
    assert not sidecar.parent.exists() and process.sidecar is None
    assert list(tmp_path.iterdir()) == []
    assert process.poll() == []
