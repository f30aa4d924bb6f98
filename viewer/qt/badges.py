"""How scan facts look: stage and status colours, words, glyphs, and the painting of a badge.

Shared by the scan list's delegate and the details pane so a state looks the same everywhere
(plain words without Qt, such as device names and local times, live in ``viewer.core.formatting``).
A state is never told by colour alone (colour-blind users): every badge also has a glyph
(check, dots, cross, hollow ring, question mark) and filled vs. outlined shape, and every status
chip carries its word.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen

from viewer.core.formatting import format_time
from viewer.core.models import ScanStatus, StageInfo, StageState


class Glyph(enum.Enum):
    CHECK = "check"
    DOTS = "dots"
    CROSS = "cross"
    RING = "ring"
    QUESTION = "question"


@dataclass(frozen=True)
class BadgeStyle:
    """Look of one state: ``fill`` None means an outlined (hollow) badge."""

    fill: QColor | None
    border: QColor
    foreground: QColor
    glyph: Glyph


GREEN = QColor("#2e9d57")
AMBER = QColor("#f0a81c")
RED = QColor("#d63c42")
GREY = QColor("#9aa0a6")
PURPLE = QColor("#8a63d2")
BLUE = QColor("#2f7fd8")
WHITE = QColor("#ffffff")
DARK_TEXT = QColor("#3b2a00")
MUTED_TEXT = QColor("#6f757c")

STAGE_STYLES: Mapping[StageState, BadgeStyle] = MappingProxyType({
    StageState.SUCCEEDED: BadgeStyle(GREEN, GREEN.darker(115), WHITE, Glyph.CHECK),
    StageState.STARTED: BadgeStyle(AMBER, AMBER.darker(115), DARK_TEXT, Glyph.DOTS),
    StageState.FAILED: BadgeStyle(RED, RED.darker(115), WHITE, Glyph.CROSS),
    StageState.NONE: BadgeStyle(None, GREY, MUTED_TEXT, Glyph.RING),
    StageState.UNKNOWN: BadgeStyle(PURPLE, PURPLE.darker(115), WHITE, Glyph.QUESTION),
})

STATUS_STYLES: Mapping[ScanStatus, BadgeStyle] = MappingProxyType({
    ScanStatus.READY: STAGE_STYLES[StageState.SUCCEEDED],
    ScanStatus.PROCESSING: BadgeStyle(BLUE, BLUE.darker(115), WHITE, Glyph.DOTS),
    ScanStatus.FAILED: STAGE_STYLES[StageState.FAILED],
    ScanStatus.CREATED: STAGE_STYLES[StageState.NONE],
    ScanStatus.UNKNOWN: STAGE_STYLES[StageState.UNKNOWN],
})

#: Short stage names for badges (``STAGE_LABELS`` holds the full ones for tooltips).
STAGE_SHORT_LABELS: Mapping[str, str] = MappingProxyType({
    "captureData": "Capture",
    "body": "Body",
    "fittedBody": "Fitted",
    "measurement": "Measure",
})

#: One letter per stage, for badges too narrow for a word.
STAGE_LETTERS: Mapping[str, str] = MappingProxyType({
    "captureData": "C",
    "body": "B",
    "fittedBody": "F",
    "measurement": "M",
})

_STATE_WORDS: Mapping[StageState, str] = MappingProxyType({
    StageState.SUCCEEDED: "succeeded",
    StageState.STARTED: "started (running)",
    StageState.FAILED: "failed",
    StageState.NONE: "not started",
    StageState.UNKNOWN: "unknown",
})

_STATUS_WORDS: Mapping[ScanStatus, str] = MappingProxyType({
    ScanStatus.CREATED: "Created",
    ScanStatus.PROCESSING: "Processing",
    ScanStatus.READY: "Ready",
    ScanStatus.FAILED: "Failed",
    ScanStatus.UNKNOWN: "Unknown",
})

def stage_state_text(state: StageState, raw_state: object = None) -> str:
    """``failed``, ``not started``, ``unknown ('queued')``..."""
    if state is StageState.UNKNOWN and raw_state is not None:
        return f"unknown ({raw_state!r})"
    return _STATE_WORDS[state]


def stage_tooltip(info: StageInfo) -> str:
    """Stage label, state and last change, e.g. ``Body: failed`` / ``Updated 2025-06-12 14:05:33``."""
    when = f"Updated {format_time(info.updated_at)}" if info.updated_at is not None else "No update time"
    return f"{info.label}: {stage_state_text(info.state, info.raw_state)}\n{when}"


def status_text(status: ScanStatus, raw_status: object = None) -> str:
    """``Ready``, ``Processing``...; an unknown status shows what the server sent."""
    if status is ScanStatus.UNKNOWN and isinstance(raw_status, str) and raw_status:
        return raw_status.title()
    return _STATUS_WORDS[status]


def paint_badge(painter: QPainter, rect: QRectF, style: BadgeStyle, text: str, font: QFont) -> None:
    """A rounded pill: glyph on the left, then ``text`` (may be empty), in the style's colours."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    radius = rect.height() / 2
    body = rect.adjusted(0.5, 0.5, -0.5, -0.5)
    painter.setPen(QPen(style.border, 1.0))
    painter.setBrush(style.fill if style.fill is not None else Qt.BrushStyle.NoBrush)
    painter.drawRoundedRect(body, radius, radius)

    glyph_size = rect.height() * 0.56
    pad = (rect.height() - glyph_size) / 2
    if text:
        glyph_rect = QRectF(rect.left() + pad + 1.5, rect.top() + pad, glyph_size, glyph_size)
    else:
        glyph_rect = QRectF(rect.center().x() - glyph_size / 2, rect.top() + pad, glyph_size, glyph_size)
    paint_glyph(painter, glyph_rect, style.glyph, style.foreground, font)

    if text:
        painter.setFont(font)
        painter.setPen(style.foreground)
        text_rect = QRectF(glyph_rect.right() + 4, rect.top(), rect.right() - glyph_rect.right() - 4 - pad,
                           rect.height())
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)
    painter.restore()


def paint_glyph(painter: QPainter, rect: QRectF, glyph: Glyph, color: QColor, font: QFont) -> None:
    """Draw a state glyph as vector strokes (no dependence on the font having ✓ or ✕)."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    width = max(1.4, rect.height() * 0.2)
    pen = QPen(color, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    x, y, w, h = rect.x(), rect.y(), rect.width(), rect.height()
    if glyph is Glyph.CHECK:
        path = QPainterPath(QPointF(x + 0.08 * w, y + 0.55 * h))
        path.lineTo(QPointF(x + 0.4 * w, y + 0.85 * h))
        path.lineTo(QPointF(x + 0.95 * w, y + 0.18 * h))
        painter.drawPath(path)
    elif glyph is Glyph.CROSS:
        inset = 0.15
        painter.drawLine(QPointF(x + inset * w, y + inset * h), QPointF(x + (1 - inset) * w, y + (1 - inset) * h))
        painter.drawLine(QPointF(x + (1 - inset) * w, y + inset * h), QPointF(x + inset * w, y + (1 - inset) * h))
    elif glyph is Glyph.DOTS:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        dot = w * 0.13
        for fx in (0.15, 0.5, 0.85):
            painter.drawEllipse(QPointF(x + fx * w, y + 0.55 * h), dot, dot)
    elif glyph is Glyph.RING:
        painter.setPen(QPen(color, max(1.2, width * 0.8)))
        painter.drawEllipse(rect.adjusted(w * 0.2, h * 0.2, -w * 0.2, -h * 0.2))
    else:
        bold = QFont(font)
        bold.setBold(True)
        bold.setPixelSize(max(8, round(h * 1.25)))
        painter.setFont(bold)
        painter.drawText(rect.adjusted(-2, -3, 2, 3), Qt.AlignmentFlag.AlignCenter, "?")
    painter.restore()
