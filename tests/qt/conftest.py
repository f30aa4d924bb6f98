"""Qt test setup: real X display through Xvfb (pytest-xvfb), Qt's xcb platform.

``QT_QPA_PLATFORM`` is set here, at import, before pytest-qt creates the ``QApplication``:
``offscreen`` cannot show the VTK view (see ``../shared/HEADLESS.md``).
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
