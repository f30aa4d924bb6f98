"""Check a ``scan-viewer --screenshot`` PNG of the demo's ready scan: an upright, textured body in 3D.

    python packaging/check_screenshot.py shot.png      # exit 0 and "ok: ..." or exit 1 and the reason

The same pixel check as tests/qt/test_main_window.py (a 1280x800 window, the 3D area in the middle).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

from viewer.mesh.render_checks import A_POSE_MIN_ASPECT, looks_like_body

SCREENSHOT_SIZE = (1280, 800)
VIEW_AREA = (slice(60, 740), slice(420, 960))  # rows, columns of the 3D view in a 1280x800 window


def check_screenshot(path: Path) -> tuple[bool, str]:
    img = np.asarray(Image.open(path).convert("RGB"))
    if img.shape[:2] != SCREENSHOT_SIZE[::-1]:
        return False, f"expected {SCREENSHOT_SIZE[0]}x{SCREENSHOT_SIZE[1]}, got {img.shape[1]}x{img.shape[0]}"
    return looks_like_body(img[VIEW_AREA], min_aspect=A_POSE_MIN_ASPECT)


if __name__ == "__main__":
    ok, reason = check_screenshot(Path(sys.argv[1]))
    print(f"{'ok' if ok else 'FAILED'}: {reason}")
    sys.exit(0 if ok else 1)
