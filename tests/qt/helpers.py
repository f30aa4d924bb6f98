"""Helpers shared by the GUI test modules (fixtures live in conftest.py)."""

from __future__ import annotations

import time
from typing import Callable

from PySide6.QtCore import QCoreApplication

WAIT_S = 60.0


def wait_until(condition: Callable[[], object], timeout: float = WAIT_S) -> None:
    """Process Qt events until ``condition()`` is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the window")
        QCoreApplication.processEvents()
        time.sleep(0.005)
