"""Paints one scan row: thumbnail, local date and time, user and device, status chip, stage badges,
and the QA verdict (a coloured letter A / R / F) when the scan has one.

Row layout (all rows share it, so columns line up)::

    +-------+  2025-06-12 14:03                    (R) ( Processing )
    | thumb |  demo-alex  ·  iPhone
    +-------+  (v Capture) (... Body) (o Fitted) (o Measure)

Stage badges shrink to one letter (C, B, F, M) when the row is too narrow for words. Tooltips
(``helpEvent``) name the stage under the mouse, its state and when it last changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QRectF,
    QSize,
    Qt,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QHelpEvent,
    QImage,
    QPainter,
    QPainterPath,
    QPalette,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolTip,
    QWidget,
)

from viewer.core.formatting import format_time
from viewer.core.models import STAGES, ScanAssets, ScanStatus
from viewer.qt.badges import (
    AMBER,
    GREEN,
    RED,
    STAGE_LETTERS,
    STAGE_SHORT_LABELS,
    STAGE_STYLES,
    STATUS_STYLES,
    paint_badge,
    stage_tooltip,
    status_text,
)
from viewer.qt.scan_list_model import DEFAULT_THUMBNAIL_SIZE, ScanRoles

ROW_HEIGHT = 76
MARGIN_X = 10
THUMB_GAP = 12
BADGE_HEIGHT = 18
BADGE_GAP = 5
MAX_BADGE_WIDTH = 96
STATUS_CHIP_HEIGHT = 18
SEPARATOR = QColor("#e4e6ea")
THUMB_BACKGROUND = QColor("#eef0f3")
SILHOUETTE = QColor("#c9ced6")
VERDICT_SIZE = 18
VERDICT_GAP = 6
#: verdict letter (``ScanRoles.VerdictRole``) -> marker colour
VERDICT_COLOURS: dict[str, QColor] = {"A": GREEN, "R": RED, "F": AMBER}
VERDICT_WORDS = {"A": "Accepted", "R": "Rejected", "F": "Flagged"}


@dataclass(frozen=True)
class RowLayout:
    thumbnail: QRect
    title: QRect
    subtitle: QRect
    status: QRect
    verdict: QRect  # the verdict marker, left of the status chip
    badges: tuple[QRect, ...]  # in STAGES order
    compact_badges: bool


class ScanDelegate(QStyledItemDelegate):
    def __init__(self, parent: QWidget | None = None, thumbnail_size: QSize = DEFAULT_THUMBNAIL_SIZE) -> None:
        super().__init__(parent)
        self._thumb_size = QSize(thumbnail_size)

    # -- geometry ---------------------------------------------------------------------------------

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return QSize(max(320, option.rect.width()), ROW_HEIGHT)

    def layout(self, rect: QRect, font: QFont) -> RowLayout:
        """Where each part of a row goes inside ``rect`` (the item's rectangle in the view)."""
        thumb_h = min(self._thumb_size.height(), rect.height() - 8)
        thumb_w = round(thumb_h * self._thumb_size.width() / self._thumb_size.height())
        thumb = QRect(rect.left() + MARGIN_X, rect.top() + (rect.height() - thumb_h) // 2, thumb_w, thumb_h)
        left = thumb.right() + 1 + THUMB_GAP
        right = rect.right() - MARGIN_X
        top = thumb.top()

        chip_font = self.badge_font(font)
        chip_w = QFontMetrics(chip_font).horizontalAdvance("Processing") + STATUS_CHIP_HEIGHT + 14
        status = QRect(right - chip_w + 1, top, chip_w, STATUS_CHIP_HEIGHT)
        verdict = QRect(status.left() - VERDICT_GAP - VERDICT_SIZE, top, VERDICT_SIZE, VERDICT_SIZE)
        title = QRect(left, top, max(0, verdict.left() - 8 - left), STATUS_CHIP_HEIGHT)
        subtitle = QRect(left, top + 22, max(0, right - left + 1), 18)

        badge_top = thumb.bottom() + 1 - BADGE_HEIGHT
        available = right - left + 1
        word_w = (max(QFontMetrics(chip_font).horizontalAdvance(t) for t in STAGE_SHORT_LABELS.values())
                  + BADGE_HEIGHT + 6)
        compact = len(STAGES) * word_w + (len(STAGES) - 1) * BADGE_GAP > available
        # words: share the row's width (up to a limit), so the badges end under the status chip
        spread = (available - (len(STAGES) - 1) * BADGE_GAP) // len(STAGES)
        badge_w = round(BADGE_HEIGHT * 1.9) if compact else max(word_w, min(spread, MAX_BADGE_WIDTH))
        badges = tuple(
            QRect(left + i * (badge_w + BADGE_GAP), badge_top, badge_w, BADGE_HEIGHT) for i in range(len(STAGES)))
        return RowLayout(thumb, title, subtitle, status, verdict, badges, compact)

    @staticmethod
    def badge_font(font: QFont) -> QFont:
        small = QFont(font)
        small.setPointSizeF(max(7.0, font.pointSizeF() - 1.0))
        small.setWeight(QFont.Weight.DemiBold)
        return small

    def badge_at(self, rect: QRect, font: QFont, pos: QPoint) -> int | None:
        """Index into ``STAGES`` of the badge under ``pos`` (view coordinates), if any."""
        for i, badge in enumerate(self.layout(rect, font).badges):
            if badge.contains(pos):
                return i
        return None

    # -- painting ---------------------------------------------------------------------------------

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        scan = index.data(ScanRoles.ScanRole)
        if scan is None:
            super().paint(painter, option, index)
            return
        rect = option.rect
        palette = option.palette
        parts = self.layout(rect, option.font)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        self._paint_background(painter, option)
        self._paint_thumbnail(painter, parts.thumbnail, index.data(ScanRoles.ThumbnailRole))

        title_font = QFont(option.font)
        title_font.setWeight(QFont.Weight.DemiBold)
        title_font.setPointSizeF(option.font.pointSizeF() + 0.5)
        painter.setFont(title_font)
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        title = QFontMetrics(title_font).elidedText(
            format_time(scan.created_at), Qt.TextElideMode.ElideRight, parts.title.width())
        painter.drawText(parts.title, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, title)

        small = self.badge_font(option.font)
        muted = palette.color(QPalette.ColorRole.PlaceholderText)
        short_id = scan.id[:8]
        id_font = QFont(small)
        id_font.setWeight(QFont.Weight.Normal)
        id_font.setStyleHint(QFont.StyleHint.Monospace)
        id_font.setFamilies(["DejaVu Sans Mono", "Menlo", "Consolas", "monospace"])
        id_width = QFontMetrics(id_font).horizontalAdvance(short_id)
        painter.setFont(id_font)
        painter.setPen(muted)
        painter.drawText(parts.subtitle, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, short_id)

        painter.setFont(option.font)
        who = "  ·  ".join(p for p in (scan.user_token or "(no user token)", index.data(ScanRoles.DeviceRole)) if p)
        who = QFontMetrics(option.font).elidedText(
            who, Qt.TextElideMode.ElideRight, max(0, parts.subtitle.width() - id_width - 12))
        painter.drawText(parts.subtitle, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, who)

        paint_badge(painter, QRectF(parts.status), STATUS_STYLES[scan.status],
                    QFontMetrics(small).elidedText(status_text(scan.status, scan.raw_status),
                                                   Qt.TextElideMode.ElideRight, parts.status.width() - 24),
                    small)
        for stage, badge in zip(scan.assets.stages, parts.badges):
            text = STAGE_LETTERS[stage.name] if parts.compact_badges else STAGE_SHORT_LABELS[stage.name]
            paint_badge(painter, QRectF(badge), STAGE_STYLES[stage.state], text, small)
        self._paint_verdict(painter, parts.verdict, index.data(ScanRoles.VerdictRole), small)

        painter.setPen(SEPARATOR)
        painter.drawLine(rect.left() + MARGIN_X, rect.bottom(), rect.right() - MARGIN_X, rect.bottom())
        painter.restore()

    @staticmethod
    def _paint_background(painter: QPainter, option: QStyleOptionViewItem) -> None:
        rect = option.rect
        highlight = QColor(option.palette.color(QPalette.ColorRole.Highlight))
        if option.state & QStyle.StateFlag.State_Selected:
            tint = QColor(highlight)
            tint.setAlpha(48 if option.state & QStyle.StateFlag.State_Active else 30)
            painter.fillRect(rect, tint)
            painter.fillRect(QRect(rect.left(), rect.top(), 3, rect.height()), highlight)
        elif option.state & QStyle.StateFlag.State_MouseOver:
            tint = QColor(highlight)
            tint.setAlpha(16)
            painter.fillRect(rect, tint)

    @staticmethod
    def _paint_verdict(painter: QPainter, rect: QRect, letter: str | None, font: QFont) -> None:
        """A filled circle in the verdict's colour with its letter in white."""
        colour = VERDICT_COLOURS.get(letter or "")
        if colour is None:
            return
        painter.save()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawEllipse(QRectF(rect).adjusted(0.5, 0.5, -0.5, -0.5))
        bold = QFont(font)
        bold.setWeight(QFont.Weight.Bold)
        painter.setFont(bold)
        painter.setPen(QColor("#ffffff"))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, letter or "")
        painter.restore()

    @staticmethod
    def _paint_thumbnail(painter: QPainter, rect: QRect, image: QImage | None) -> None:
        frame = QPainterPath()
        frame.addRoundedRect(QRectF(rect), 6, 6)
        painter.fillPath(frame, THUMB_BACKGROUND)
        if image is not None and not image.isNull():
            painter.save()
            painter.setClipPath(frame)
            fitted = image.size().scaled(rect.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, fitted.width(), fitted.height())
            target.moveCenter(rect.center())
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.drawImage(target, image)
            painter.restore()
            return
        # a neutral person silhouette until the preview arrives (or when there is none)
        painter.save()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(SILHOUETTE)
        cx, w, h = rect.center().x() + 0.5, rect.width(), rect.height()
        head = h * 0.13
        painter.drawEllipse(QRectF(cx - head, rect.top() + h * 0.16, 2 * head, 2 * head))
        body = QPainterPath()
        body.addRoundedRect(QRectF(cx - w * 0.3, rect.top() + h * 0.46, w * 0.6, h * 0.62), w * 0.22, w * 0.22)
        painter.setClipPath(frame)
        painter.drawPath(body)
        painter.restore()

    # -- tooltips ---------------------------------------------------------------------------------

    def tooltip_at(self, rect: QRect, font: QFont, index: QModelIndex | QPersistentModelIndex,
                   pos: QPoint) -> str | None:
        """The tooltip for ``pos`` (view coordinates) inside the row ``rect``."""
        scan = index.data(ScanRoles.ScanRole)
        if scan is None:
            return None
        parts = self.layout(rect, font)
        for stage, badge in zip(scan.assets.stages, parts.badges):
            if badge.contains(pos):
                return stage_tooltip(stage)
        if parts.status.contains(pos):
            return _status_tooltip(scan.status, scan.raw_status, scan.assets)
        verdict = index.data(ScanRoles.VerdictRole)
        if parts.verdict.contains(pos) and verdict in VERDICT_WORDS:
            return f"QA verdict: {VERDICT_WORDS[verdict]}"
        return f"Scan {scan.id}\nCreated {format_time(scan.created_at)}"

    def helpEvent(self, event: QHelpEvent, view: QAbstractItemView, option: QStyleOptionViewItem,
                  index: QModelIndex | QPersistentModelIndex) -> bool:
        if event is None or event.type() != QEvent.Type.ToolTip or not index.isValid():
            return super().helpEvent(event, view, option, index)
        text = self.tooltip_at(option.rect, option.font, index, event.pos())
        if not text:
            QToolTip.hideText()
            return False
        QToolTip.showText(event.globalPos(), text, view.viewport() if view is not None else None)
        return True


def _status_tooltip(status: ScanStatus, raw_status: object, assets: ScanAssets) -> str:
    lines = [f"Status: {status_text(status, raw_status)}"]
    failed, running = assets.failed_stage, assets.running_stage
    if failed is not None:
        lines.append(f"{failed.label} failed")
    elif running is not None:
        lines.append(f"{running.label} running since {format_time(running.updated_at)}")
    return "\n".join(lines)
