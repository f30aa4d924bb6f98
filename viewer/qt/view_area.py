"""The centre of the window: a message / poster page and the 3D page, one shown at a time.

The poster page shows the scan's preview image at once on selection, with a progress bar while
the model downloads and loads, and is also where errors are written in words (with a Retry or
"Enter API key" button). The 3D page holds the body view (created late, after the window shows,
because importing VTK is slow) with a banner line for warnings about the body on display.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QStackedLayout,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

_TITLE_STYLE = "font-size: 15pt; font-weight: 600; color: #202124;"
_ERROR_TITLE_STYLE = "font-size: 15pt; font-weight: 600; color: #c5221f;"
_TEXT_STYLE = "font-size: 10.5pt; color: #3c4043;"
_BANNER_STYLE = ("background: rgba(255, 243, 224, 235); color: #8a4b00; border: 1px solid #f0c080;"
                 "border-radius: 4px; padding: 4px 8px; font-weight: 600;")
BACKGROUND = "#eef1f5"


class _PosterPage(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAutoFillBackground(True)
        self.setStyleSheet(f"background: {BACKGROUND};")
        self.image = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.image.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.title = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.title.setWordWrap(True)
        self.text = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setStyleSheet(_TEXT_STYLE)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(420)
        self.progress.setTextVisible(True)
        self.buttons = QHBoxLayout()
        self.buttons.addStretch(1)
        self.buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 24)
        layout.addWidget(self.image, 1)
        layout.addWidget(self.title)
        layout.addWidget(self.text)
        progress_row = QHBoxLayout()
        progress_row.addStretch(1)
        progress_row.addWidget(self.progress)
        progress_row.addStretch(1)
        layout.addLayout(progress_row)
        layout.addLayout(self.buttons)
        self._pixmap: QPixmap | None = None

    def set_image(self, image: QImage | None) -> None:
        self._pixmap = QPixmap.fromImage(image) if image is not None and not image.isNull() else None
        self.image.setVisible(self._pixmap is not None)
        self._fit_image()

    def set_buttons(self, actions: list[tuple[str, Callable[[], None]]]) -> None:
        while self.buttons.count() > 2:
            item = self.buttons.takeAt(1)
            if item.widget() is not None:
                item.widget().deleteLater()
        for text, callback in actions:
            button = QPushButton(text)
            button.clicked.connect(callback)
            self.buttons.insertWidget(self.buttons.count() - 1, button)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._fit_image()

    def _fit_image(self) -> None:
        if self._pixmap is None:
            self.image.clear()
            return
        size = self.image.size()
        if size.width() > 4 and size.height() > 4:
            self.image.setPixmap(self._pixmap.scaled(size, Qt.AspectRatioMode.KeepAspectRatio,
                                                     Qt.TransformationMode.SmoothTransformation))


class ViewArea(QStackedWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # Every page stays shown; the current one is raised over the others. The 3D view thus keeps
        # its GL framebuffer at full size behind the poster, instead of allocating it (and
        # rendering twice) the moment the first body appears.
        stack = self.layout()
        if isinstance(stack, QStackedLayout):
            stack.setStackingMode(QStackedLayout.StackingMode.StackAll)
        self._poster = _PosterPage()
        self.addWidget(self._poster)
        self._body_page = QWidget()
        self._body_layout = QVBoxLayout(self._body_page)
        self._body_layout.setContentsMargins(0, 0, 0, 0)
        self._banner = QLabel(self._body_page)
        self._banner.setStyleSheet(_BANNER_STYLE)
        self._banner.setWordWrap(True)
        self._banner.hide()
        self.addWidget(self._body_page)
        self._body_widget: QWidget | None = None
        self.show_message("Select a scan", "Pick a scan in the list to see its body.")

    # -- pages --------------------------------------------------------------------------------

    @property
    def state(self) -> str:
        """"body", "error", "loading" or "message": what a person sees now (tests, screenshot mode)."""
        if self.currentWidget() is self._body_page:
            return "body"
        return self._poster.property("state") or "message"

    @property
    def banner(self) -> QLabel:
        """The warning line over the 3D page (presentation mode hides it)."""
        return self._banner

    @property
    def message_text(self) -> str:
        return f"{self._poster.title.text()}\n{self._poster.text.text()}".strip()

    def set_body_widget(self, widget: QWidget) -> None:
        self._body_widget = widget
        self._body_layout.addWidget(widget)
        self._banner.raise_()

    def set_image(self, image: QImage | None) -> None:
        """Replace the poster image (e.g. when the preview arrives after the message)."""
        self._poster.set_image(image)

    def show_message(self, title: str, text: str = "", image: QImage | None = None) -> None:
        self._show_poster("message", title, text, image, progress=False, actions=[])

    def show_loading(self, title: str, text: str = "", image: QImage | None = None) -> None:
        self._show_poster("loading", title, text, image, progress=True, actions=[])
        self._poster.progress.setRange(0, 0)  # busy until the first byte count arrives

    def set_progress(self, done: int, total: int | None, text: str) -> None:
        bar = self._poster.progress
        if total:
            bar.setRange(0, 1000)
            bar.setValue(int(1000 * min(done, total) / total))
            bar.setFormat(f"{text}  {done / 1e6:.1f} / {total / 1e6:.1f} MB")
        else:
            bar.setRange(0, 0)
            bar.setFormat(text)
        self._poster.text.setText(text)

    def show_error(self, title: str, text: str, image: QImage | None = None,
                   actions: list[tuple[str, Callable[[], None]]] | None = None) -> None:
        self._show_poster("error", title, text, image, progress=False, actions=actions or [])

    def show_body(self, banner: str | None = None) -> None:
        self._banner.setText(banner or "")
        self._banner.setVisible(bool(banner))
        self._place_banner()
        self.setCurrentWidget(self._body_page)

    def _show_poster(self, state: str, title: str, text: str, image: QImage | None, *,
                     progress: bool, actions: list[tuple[str, Callable[[], None]]]) -> None:
        page = self._poster
        page.setProperty("state", state)
        page.title.setText(title)
        page.title.setStyleSheet(_ERROR_TITLE_STYLE if state == "error" else _TITLE_STYLE)
        page.text.setText(text)
        page.text.setVisible(bool(text))
        page.set_image(image)
        page.progress.setVisible(progress)
        page.set_buttons(actions)
        self.setCurrentWidget(page)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._place_banner()

    def _place_banner(self) -> None:
        width = max(200, self._body_page.width() - 24)
        self._banner.setFixedWidth(width)
        self._banner.adjustSize()
        self._banner.move(12, 12)
