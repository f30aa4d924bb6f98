"""Render resources/icons/scan-viewer.svg to the PNG sizes desktops ask for.

    python packaging/render_icons.py      # rewrites resources/icons/hicolor/<N>x<N>/apps/scan-viewer.png

The PNGs are committed (the freedesktop hicolor layout, ready to copy to ~/.local/share/icons);
run this again after changing the SVG. Needs PySide6 (QtSvg) and no display (offscreen platform).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICONS_DIR = Path(__file__).resolve().parents[1] / "resources" / "icons"


def icon_path(size: int, out_dir: Path = ICONS_DIR / "hicolor") -> Path:
    return out_dir / f"{size}x{size}" / "apps" / "scan-viewer.png"


def render_icons(svg: Path = ICONS_DIR / "scan-viewer.svg", out_dir: Path = ICONS_DIR / "hicolor") -> list[Path]:
    """Write one PNG per size in ICON_SIZES; needs a QGuiApplication (or QApplication) running."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"render_icons: {svg} is not a valid SVG")
    written = []
    for size in ICON_SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        path = icon_path(size, out_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(path), "PNG"):
            raise SystemExit(f"render_icons: could not write {path}")
        written.append(path)
    return written


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication(sys.argv[:1])
    for written_path in render_icons():
        print(written_path)
