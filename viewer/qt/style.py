"""The app's look: Qt's Fusion style with a calm light palette, the same on every desktop."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

STYLE_SHEET = """
QSplitter::handle { background: #dadce0; }
QSplitter::handle:horizontal { width: 1px; }
QStatusBar { background: #f1f3f4; border-top: 1px solid #dadce0; }
QTableWidget { gridline-color: #e8eaed; }
QHeaderView::section { background: #f1f3f4; border: none; border-bottom: 1px solid #dadce0; padding: 4px; }
QPushButton { padding: 5px 14px; }
"""


def apply_style(app: QApplication) -> None:
    app.setStyle("Fusion")
    palette = QPalette()
    palette.setColor(QPalette.ColorRole.Window, QColor("#f8f9fa"))
    palette.setColor(QPalette.ColorRole.WindowText, QColor("#202124"))
    palette.setColor(QPalette.ColorRole.Base, QColor("#ffffff"))
    palette.setColor(QPalette.ColorRole.AlternateBase, QColor("#f6f8fb"))
    palette.setColor(QPalette.ColorRole.Text, QColor("#202124"))
    palette.setColor(QPalette.ColorRole.Button, QColor("#ffffff"))
    palette.setColor(QPalette.ColorRole.ButtonText, QColor("#202124"))
    palette.setColor(QPalette.ColorRole.Highlight, QColor("#1a73e8"))
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    palette.setColor(QPalette.ColorRole.ToolTipBase, QColor("#ffffff"))
    palette.setColor(QPalette.ColorRole.ToolTipText, QColor("#202124"))
    app.setPalette(palette)
    app.setStyleSheet(STYLE_SHEET)
