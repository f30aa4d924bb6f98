"""Qt test setup: real X display through Xvfb (pytest-xvfb), Qt's xcb platform.

``QT_QPA_PLATFORM`` is set here, at import, before pytest-qt creates the ``QApplication``:
``offscreen`` cannot show the VTK view (see ``../shared/HEADLESS.md``).
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "xcb")


import pytest  # noqa: E402 - after QT_QPA_PLATFORM is set


@pytest.fixture(scope="module")
def module_user_dirs(tmp_path_factory):
    """User dirs for a window shared by a whole module (it outlives each test's own)."""
    with pytest.MonkeyPatch.context() as env:
        root = tmp_path_factory.mktemp("userdirs")
        for name in ("CACHE", "DATA", "CONFIG"):
            env.setenv(f"SCAN_VIEWER_{name}_DIR", str(root / name.lower()))
        yield root


@pytest.fixture(autouse=True)
def _collect_closed_windows():
    """Collect closed windows' Python objects after each test (they sit in reference cycles
    through signal connections): a wrapper that outlives its deleted Qt object can be handed out
    again for a new object at the same address."""
    yield
    import gc

    gc.collect()
