"""The 3D view's controls: body-aware views, display choices, orientation corrections, image export.

``install(window)`` adds a "3D view" toolbar, items in the View and File menus and their keyboard
shortcuts (``shortcut_rows()`` lists them all for the cheat sheet). It drives the window's
``BodyView`` and talks to the window only through its public hooks.

Rules:
- Views: Front / Back / Left / Right / Top / Reset (keys 1-5, 0) frame the body from the named
  side of the *person* (bodies arrive in ``VIEW_FRAME``); "Left" puts their left side toward you.
- Display choices (representation, texture, lighting, background, projection, anti-aliasing and
  the export options) are saved in the app settings' ``extra["view_display"]`` on every change and
  applied to the view when it is created.
- Orientation corrections are quarter turns of the shown body about the view axes, seen from the
  front. They are stored as the file axes the user settled on (``OrientationPrefs``), per scan id
  or local file path, and re-applied whenever that body is shown again. The body is turned by a
  rotation of its actors (instant, no mesh work); ``window.current_mesh`` keeps the loader's frame
  and ``BodyView.bodyRotated`` tells overlays about the turn.
- Export: the image is rendered on the GUI thread (GL), PNG encoding and writing run in the
  window's TaskRunner; the file is written atomically.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QGuiApplication, QImage, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QMenu,
    QPushButton,
    QToolBar,
    QToolButton,
    QWidget,
)

from viewer.core.atomic_files import atomic_write
from viewer.core.orientation_prefs import BodyAxes, OrientationPrefs, file_key, scan_key
from viewer.core.settings import save_settings
from viewer.mesh.mesh_data import VIEW_FRAME
from viewer.mesh.orientation import axis_name, rotation_to_view

log = logging.getLogger(__name__)

#: the key of the display choices in ``Settings.extra``
EXTRA_KEY = "view_display"

#: display modes: representation and, for the two surface modes, the texture choice they imply
DISPLAY_MODES: dict[str, tuple[str, bool | None]] = {
    "textured": ("surface", True),
    "plain": ("surface", False),
    "surface_edges": ("surface_edges", None),
    "wireframe": ("wireframe", None),
    "points": ("points", None),
}
DISPLAY_MODE_TEXT = {"textured": "&Textured", "plain": "&Plain shaded", "surface_edges": "Wireframe &over surface",
                     "wireframe": "&Wireframe", "points": "P&oints"}
LIGHTING_TEXT = {"studio": "&Studio", "soft": "S&oft", "dramatic": "&Dramatic side light"}
ANTI_ALIASING_TEXT = {"auto": "&Automatic (off on a software renderer)", "on": "&On", "off": "O&ff"}
EXPORT_SCALES = (1, 2, 4)


def _quarter_turn(axis: int, sign: int) -> np.ndarray:
    """Rotation by ``sign`` * 90 degrees about coordinate ``axis`` (right-hand rule)."""
    rotation = np.zeros((3, 3))
    rotation[axis, axis] = 1.0
    first, second = (axis + 1) % 3, (axis + 2) % 3
    rotation[first, second], rotation[second, first] = -sign, sign
    return rotation


#: Quarter turns in VIEW_FRAME, named as seen from the front (the person's left is on your right):
#: "turn_left" swings the face to your left (toward the person's right, -X), "tip_forward" brings
#: the head toward you (-Y), "roll_left" swings the head to your left (-X).
ORIENTATION_STEPS: dict[str, np.ndarray] = {
    "turn_left": _quarter_turn(2, -1),
    "turn_right": _quarter_turn(2, +1),
    "tip_forward": _quarter_turn(0, +1),
    "tip_back": _quarter_turn(0, -1),
    "roll_left": _quarter_turn(1, -1),
    "roll_right": _quarter_turn(1, +1),
}


def turned_axes(axes: BodyAxes, step: str) -> BodyAxes:
    """The file axes that show the body turned by ``step`` from how ``axes`` show it."""
    to_view = ORIENTATION_STEPS[step] @ rotation_to_view(axes.up, axes.front)
    return BodyAxes(up=_axis_of(to_view.T @ np.array(VIEW_FRAME.up)),
                    front=_axis_of(to_view.T @ np.array(VIEW_FRAME.front)))


def correction_rotation(loaded: BodyAxes, wanted: BodyAxes) -> np.ndarray:
    """Rotation (in VIEW_FRAME) from a body loaded with ``loaded`` axes to one with ``wanted`` axes."""
    return rotation_to_view(wanted.up, wanted.front) @ rotation_to_view(loaded.up, loaded.front).T


def _axis_of(vector: np.ndarray) -> str:
    index = int(np.argmax(np.abs(vector)))
    return axis_name(index, 1 if vector[index] > 0 else -1)


@dataclass(frozen=True)
class DisplayPrefs:
    """The remembered display choices (see ``EXTRA_KEY``)."""

    display_mode: str = "textured"
    texture: bool = True
    lighting: str = "studio"
    background: str = "light"
    parallel: bool = False
    anti_aliasing: str = "auto"
    export_scale: int = 2
    export_transparent: bool = False

    @classmethod
    def from_extra(cls, extra: dict) -> DisplayPrefs:
        """Read from ``Settings.extra``; unknown or malformed values fall back to the defaults."""
        data = extra.get(EXTRA_KEY) if isinstance(extra, dict) else None
        if not isinstance(data, dict):
            return cls()
        allowed: dict[str, Callable[[Any], bool]] = {
            "display_mode": lambda v: v in DISPLAY_MODES,
            "texture": lambda v: isinstance(v, bool),
            "lighting": lambda v: v in LIGHTING_TEXT,
            "background": lambda v: v in ("light", "dark"),
            "parallel": lambda v: isinstance(v, bool),
            "anti_aliasing": lambda v: v in ANTI_ALIASING_TEXT,
            "export_scale": lambda v: v in EXPORT_SCALES and not isinstance(v, bool),
            "export_transparent": lambda v: isinstance(v, bool),
        }
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data and allowed[f.name](data[f.name])}
        prefs = cls(**values)
        implied_texture = DISPLAY_MODES[prefs.display_mode][1]
        return prefs if implied_texture is None else replace(prefs, texture=implied_texture)

    def to_extra(self, extra: dict) -> dict:
        """A copy of ``extra`` holding these choices."""
        return {**extra, EXTRA_KEY: asdict(self)}


@dataclass(frozen=True)
class _Spec:
    name: str
    text: str
    shortcut: str | None
    tip: str


_VIEW_SPECS = (
    _Spec("front", "&Front", "1", "Front view: the side the face looks toward"),
    _Spec("back", "&Back", "2", "Back view"),
    _Spec("left", "&Left", "3", "Left side view: the person's own left side faces you"),
    _Spec("right", "&Right", "4", "Right side view: the person's own right side faces you"),
    _Spec("top", "&Top", "5", "Top view: from above, the front at the bottom"),
    _Spec("reset", "R&eset", "0", "Reset the view: from the front, the whole body framed"),
)
_ORIENTATION_SPECS = (
    _Spec("turn_left", "Turn body 90\u00b0 left", "Ctrl+Shift+Left",
          "Correct the front: turn the body about the vertical, its face swinging to your left"),
    _Spec("turn_right", "Turn body 90\u00b0 right", "Ctrl+Shift+Right",
          "Correct the front: turn the body about the vertical, its face swinging to your right"),
    _Spec("tip_forward", "Tip body forward 90\u00b0", "Ctrl+Shift+Down",
          "Correct the up direction: tip the body forward, its head toward you"),
    _Spec("tip_back", "Tip body back 90\u00b0", "Ctrl+Shift+Up",
          "Correct the up direction: tip the body back, its head away from you"),
    _Spec("roll_left", "Roll body 90\u00b0 left", "Ctrl+Shift+PgUp",
          "Correct the up direction: roll the body, its head swinging to your left"),
    _Spec("roll_right", "Roll body 90\u00b0 right", "Ctrl+Shift+PgDown",
          "Correct the up direction: roll the body, its head swinging to your right"),
    _Spec("reset_orientation", "Reset body orientation", "Ctrl+Shift+Home",
          "Forget the correction: show the body as its file was read"),
)
_OTHER_SPECS = (
    _Spec("parallel", "&Orthographic projection", "P", "Orthographic (parallel) or perspective projection"),
    _Spec("next_mode", "Next display &mode", "M",
          "Next display mode: textured, plain shaded, wireframe over surface, wireframe, points"),
    _Spec("texture", "Show &texture", "T", "Colour the body with its texture, or plain clay"),
    _Spec("next_lighting", "Next &lighting", "L", "Next lighting: studio, soft or dramatic side light"),
    _Spec("dark", "&Dark background", "B", "Dark or light background"),
    _Spec("export", "Export &image\u2026", "Ctrl+Shift+S", "Save the 3D view as a PNG (1x, 2x or 4x)"),
    _Spec("copy", "&Copy image", "Ctrl+Shift+C", "Copy the 3D view to the clipboard"),
)
_MOUSE_ROWS = (
    ("Drag", "Orbit (the body stays upright)"),
    ("Shift+drag / middle-drag", "Pan"),
    ("Wheel / right-drag", "Zoom"),
)


def shortcut_rows() -> list[tuple[str, str]]:
    """(keys, what they do) for every shortcut and mouse gesture of the 3D view, for a cheat sheet."""
    specs = (*_VIEW_SPECS, *_OTHER_SPECS, *_ORIENTATION_SPECS)
    return [(spec.shortcut, spec.tip) for spec in specs if spec.shortcut] + list(_MOUSE_ROWS)


def install(window: Any, prefs: OrientationPrefs | None = None) -> ViewControls:
    """Attach the 3D view's controls to ``window`` (a ``MainWindow``); call once."""
    return ViewControls(window, prefs)


class ViewControls(QObject):
    """Toolbar, menu items and shortcuts of the 3D view, and the state they stand for."""

    #: a PNG was written: its path
    imageExported = Signal(str)
    #: an export failed: the reason
    exportFailed = Signal(str)

    def __init__(self, window: Any, prefs: OrientationPrefs | None = None) -> None:
        super().__init__(window)
        self._window = window
        self.orientation_prefs = prefs or OrientationPrefs()
        self.display = DisplayPrefs.from_extra(window.settings.extra)
        self.actions: dict[str, QAction] = {}
        self._key: str | None = None  # orientation key of the body on screen
        self._loaded_axes: BodyAxes | None = None
        self._axes: BodyAxes | None = None  # the axes the body is shown with now
        self._scan_id: str | None = None

        self._build_actions()
        self.toolbar = self._build_toolbar()
        self._build_menus()
        self._claim_shortcuts()
        self._sync_checks()
        self._set_body_actions_enabled(window.view_area.state == "body")
        window.bodyViewReady.connect(self._on_body_view_ready)
        window.bodyShown.connect(self._on_body_shown)
        window.viewStateChanged.connect(lambda state: self._set_body_actions_enabled(state == "body"))
        if window.body_view is not None:
            self._on_body_view_ready(window.body_view)

    # --- views -----------------------------------------------------------------------------------

    def show_view(self, name: str) -> None:
        """"front", "back", "left", "right", "top", or "reset" (the front, framed)."""
        view = self._view()
        if view is not None:
            view.show_view("front" if name == "reset" else name)

    def set_parallel_projection(self, parallel: bool) -> None:
        self._change(parallel=parallel)

    # --- display -----------------------------------------------------------------------------------

    def set_display_mode(self, mode: str) -> None:
        """One of ``DISPLAY_MODES``; "textured" / "plain" also switch the texture on / off."""
        _representation, texture = DISPLAY_MODES[mode]
        self._change(display_mode=mode, texture=self.display.texture if texture is None else texture)

    def set_texture_visible(self, visible: bool) -> None:
        mode = self.display.display_mode
        if mode in ("textured", "plain"):
            mode = "textured" if visible else "plain"
        self._change(display_mode=mode, texture=visible)

    def set_lighting(self, preset: str) -> None:
        self._change(lighting=preset)

    def set_background(self, name: str) -> None:
        """"light" (the default) or "dark"."""
        self._change(background=name)

    def set_anti_aliasing(self, mode: str) -> None:
        """"auto", "on" or "off"."""
        self._change(anti_aliasing=mode)

    def _cycle_display_mode(self) -> None:
        modes = list(DISPLAY_MODES)
        self.set_display_mode(modes[(modes.index(self.display.display_mode) + 1) % len(modes)])

    def _cycle_lighting(self) -> None:
        presets = list(LIGHTING_TEXT)
        self.set_lighting(presets[(presets.index(self.display.lighting) + 1) % len(presets)])

    def _change(self, **changes: Any) -> None:
        self.display = replace(self.display, **changes)
        view = self._view()
        if view is not None:
            self._apply_display(view, changes)
        self._sync_checks()
        self._save_display()

    def _apply_display(self, view: Any, names: dict[str, Any] | None = None) -> None:
        """Push the display choices (all, or only those in ``names``) to the view."""
        from viewer.qt.body_view import (
            BACKGROUNDS,  # imports VTK: only once the view exists
        )

        wanted = names if names is not None else asdict(self.display)
        prefs = self.display
        if "display_mode" in wanted or "texture" in wanted:
            view.set_texture_visible(prefs.texture)
            view.set_representation(DISPLAY_MODES[prefs.display_mode][0])
        if "lighting" in wanted:
            view.set_lighting(prefs.lighting)
        if "background" in wanted:
            view.set_background(BACKGROUNDS[prefs.background])
        if "parallel" in wanted:
            view.set_parallel_projection(prefs.parallel)
        if "anti_aliasing" in wanted:
            view.set_anti_aliasing(prefs.anti_aliasing)

    def _save_display(self) -> None:
        window = self._window
        window.settings = replace(window.settings, extra=self.display.to_extra(window.settings.extra))
        try:
            save_settings(window.settings)
        except OSError as exc:
            window.statusBar().showMessage(f"Display settings not saved: {exc}", 8000)

    # --- orientation ---------------------------------------------------------------------------------

    @property
    def body_axes(self) -> BodyAxes | None:
        """The file axes the body on screen is shown with (its up and front), None without a body."""
        return self._axes

    @property
    def orientation_key(self) -> str | None:
        """The key the body on screen's correction is remembered under (scan id or file path)."""
        return self._key

    def correct_orientation(self, step: str) -> None:
        """Turn the shown body by one of ``ORIENTATION_STEPS`` and remember the result."""
        if self._axes is None:
            return
        self._show_axes(turned_axes(self._axes, step), remember=True)

    def reset_orientation(self) -> None:
        if self._loaded_axes is not None:
            self._show_axes(self._loaded_axes, remember=True)

    def _on_body_shown(self, scan: Any, mesh: Any) -> None:
        self._scan_id = scan.id if scan is not None else None
        if scan is not None:
            self._key = scan_key(scan.id)
        else:
            self._key = file_key(mesh.source_path) if mesh.source_path is not None else None
        try:
            self._loaded_axes = BodyAxes(mesh.source_up_axis, mesh.source_front_axis)
        except ValueError as exc:
            log.warning("body axes %s / %s not understood: %s", mesh.source_up_axis, mesh.source_front_axis, exc)
            self._loaded_axes = self._axes = None
            return
        self._axes = self._loaded_axes
        remembered = self.orientation_prefs.get(self._key) if self._key else None
        if remembered is not None and remembered != self._loaded_axes:
            self._show_axes(remembered, remember=False)
            self._window.statusBar().showMessage(
                f"Turned as corrected before: up {remembered.up}, front {remembered.front} of the file "
                "(View > Body orientation > Reset to undo)", 8000)

    def _show_axes(self, axes: BodyAxes, *, remember: bool) -> None:
        view = self._view()
        if view is None or self._loaded_axes is None:
            return
        view.set_body_rotation(correction_rotation(self._loaded_axes, axes))
        self._axes = axes
        if remember and self._key is not None:
            try:
                self.orientation_prefs.set(self._key, None if axes == self._loaded_axes else axes)
            except OSError as exc:
                self._window.statusBar().showMessage(f"Orientation not remembered: {exc}", 8000)

    # --- export ---------------------------------------------------------------------------------------

    def capture(self, scale: int | None = None, transparent: bool | None = None) -> np.ndarray | None:
        """The 3D view rendered at ``scale`` (default: the remembered export choice); None without a body."""
        view = self._view()
        if view is None or not view.has_body:
            return None
        scale = self.display.export_scale if scale is None else scale
        transparent = self.display.export_transparent if transparent is None else transparent
        return view.capture_image(scale, transparent=transparent)

    def export_image(self, path: Path, scale: int | None = None, transparent: bool | None = None) -> bool:
        """Render now and write a PNG in the background (``imageExported`` / ``exportFailed`` tell
        the outcome); False when there is no body to export."""
        image = self.capture(scale, transparent)
        if image is None:
            return False
        path = Path(path)
        self._window.statusBar().showMessage(f"Saving {path.name}\u2026")
        self._window.runner.submit(lambda _task: _write_png(path, image), on_done=self._on_exported,
                                   on_error=lambda error: self._on_export_failed(path, error))
        return True

    def copy_image(self, scale: int | None = None, transparent: bool | None = None) -> bool:
        """Put the 3D view on the clipboard; False when there is no body."""
        image = self.capture(scale, transparent)
        if image is None:
            return False
        height, width, channels = image.shape
        image_format = QImage.Format.Format_RGBA8888 if channels == 4 else QImage.Format.Format_RGB888
        QGuiApplication.clipboard().setImage(QImage(image.data, width, height, width * channels, image_format).copy())
        self._window.statusBar().showMessage(f"Image copied ({width} \u00d7 {height}).", 5000)
        return True

    def open_export_dialog(self) -> None:
        view = self._view()
        if view is None or not view.has_body:
            return
        size = view.plotter.window_size
        dialog = _ExportDialog(self._window, (int(size[0]), int(size[1])), self.display)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        scale, transparent = dialog.choice()
        self._change(export_scale=scale, export_transparent=transparent)
        if dialog.copy_requested:
            self.copy_image()
            return
        name = f"{self._scan_id or 'body'}-{view.view_name}-{scale}x.png"
        path, _ = QFileDialog.getSaveFileName(self._window, "Export image", name, "PNG image (*.png)")
        if path:
            self.export_image(Path(path) if path.lower().endswith(".png") else Path(path + ".png"))

    def _on_exported(self, path: Path) -> None:
        self._window.statusBar().showMessage(f"Saved {path}", 8000)
        self.imageExported.emit(str(path))

    def _on_export_failed(self, path: Path, error: BaseException) -> None:
        message = f"Could not save {path.name}: {error}"
        self._window.statusBar().showMessage(message, 10000)
        self.exportFailed.emit(message)

    # --- wiring ---------------------------------------------------------------------------------------

    def _view(self) -> Any:
        view = self._window.body_view
        return None if view is None or view.is_closed else view

    def _on_body_view_ready(self, view: Any) -> None:
        self._apply_display(view)

    def _action(self, spec: _Spec, slot: Callable[[], None], *, checkable: bool = False) -> QAction:
        action = QAction(spec.text, self._window)
        action.setObjectName(f"view_{spec.name}")
        tip = spec.tip + (f" ({spec.shortcut})" if spec.shortcut else "")
        action.setToolTip(tip)
        action.setStatusTip(spec.tip)
        if spec.shortcut:
            action.setShortcut(QKeySequence(spec.shortcut))
        action.setCheckable(checkable)
        action.triggered.connect(lambda _checked=False: slot())
        self._window.addAction(action)
        self.actions[spec.name] = action
        return action

    def _choice_group(self, prefix: str, texts: dict[str, str], slot: Callable[[str], None]) -> QActionGroup:
        group = QActionGroup(self._window)
        for name, text in texts.items():
            action = QAction(text, group)
            action.setCheckable(True)
            action.triggered.connect(lambda _checked=False, n=name: slot(n))
            self.actions[f"{prefix}_{name}"] = action
        return group

    def _build_actions(self) -> None:
        for spec in _VIEW_SPECS:
            self._action(spec, lambda n=spec.name: self.show_view(n))
        for spec in _ORIENTATION_SPECS:
            if spec.name == "reset_orientation":
                self._action(spec, self.reset_orientation)
            else:
                self._action(spec, lambda n=spec.name: self.correct_orientation(n))
        other = {spec.name: spec for spec in _OTHER_SPECS}
        self._action(other["parallel"], lambda: self.set_parallel_projection(not self.display.parallel),
                     checkable=True)
        self._action(other["next_mode"], self._cycle_display_mode)
        self._action(other["texture"], lambda: self.set_texture_visible(not self.display.texture), checkable=True)
        self._action(other["next_lighting"], self._cycle_lighting)
        self._action(other["dark"], lambda: self.set_background(
            "light" if self.display.background == "dark" else "dark"), checkable=True)
        self._action(other["export"], self.open_export_dialog)
        self._action(other["copy"], self.copy_image)
        self._mode_group = self._choice_group("mode", DISPLAY_MODE_TEXT, self.set_display_mode)
        self._lighting_group = self._choice_group("lighting", LIGHTING_TEXT, self.set_lighting)
        self._aa_group = self._choice_group("aa", ANTI_ALIASING_TEXT, self.set_anti_aliasing)

    def _menu(self, title: str, actions: list[QAction]) -> QMenu:
        menu = QMenu(title, self._window)
        menu.addActions(actions)
        return menu

    def _display_menus(self) -> tuple[QMenu, QMenu, QMenu, QMenu]:
        display = self._menu("&Display", self._mode_group.actions())
        display.addSeparator()
        display.addActions([self.actions["next_mode"], self.actions["texture"]])
        lighting = self._menu("&Lighting", self._lighting_group.actions())
        lighting.addSeparator()
        lighting.addAction(self.actions["next_lighting"])
        anti_aliasing = self._menu("&Anti-aliasing", self._aa_group.actions())
        orientation = self._menu("Body &orientation", [self.actions[s.name] for s in _ORIENTATION_SPECS])
        return display, lighting, anti_aliasing, orientation

    def _build_toolbar(self) -> QToolBar:
        toolbar = QToolBar("3D view", self._window)
        toolbar.setObjectName("viewToolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        toolbar.addActions([self.actions[spec.name] for spec in _VIEW_SPECS])
        toolbar.addSeparator()
        toolbar.addAction(self.actions["parallel"])
        toolbar.addSeparator()
        display, lighting, _anti_aliasing, orientation = self._display_menus()
        for text, menu in (("Display", display), ("Lighting", lighting), ("Orientation", orientation)):
            button = QToolButton(toolbar)
            button.setText(text)
            button.setMenu(menu)
            button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
            button.setToolTip(f"{text} of the body")
            toolbar.addWidget(button)
        toolbar.addAction(self.actions["dark"])
        toolbar.addSeparator()
        toolbar.addAction(self.actions["export"])
        self._window.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
        return toolbar

    def _build_menus(self) -> None:
        view_menu = self._window_menu("&View")
        view_menu.addSeparator()
        views = self._menu("&Camera", [self.actions[spec.name] for spec in _VIEW_SPECS])
        views.addSeparator()
        views.addAction(self.actions["parallel"])
        view_menu.addMenu(views)
        display, lighting, anti_aliasing, orientation = self._display_menus()
        for menu in (display, lighting):
            view_menu.addMenu(menu)
        view_menu.addAction(self.actions["dark"])
        view_menu.addMenu(anti_aliasing)
        view_menu.addSeparator()
        view_menu.addMenu(orientation)

        file_menu = self._window_menu("&File")
        separators = [action for action in file_menu.actions() if action.isSeparator()]
        before = separators[-1] if separators else None  # keep Quit last
        file_menu.insertActions(before, [self.actions["export"], self.actions["copy"]])  # type: ignore[arg-type]

    def _window_menu(self, title: str) -> QMenu:
        for action in self._window.menuBar().actions():
            menu = action.menu()
            if menu is not None and action.text() == title:
                return menu
        return self._window.menuBar().addMenu(title)

    def _claim_shortcuts(self) -> None:
        """This module owns its keys: another window action on one of them would make both ambiguous."""
        mine = {action.shortcut().toString() for action in self.actions.values() if not action.shortcut().isEmpty()}
        own = set(self.actions.values())
        for action in self._window.actions():
            if action not in own and action.shortcut().toString() in mine:
                log.info("3D view controls take over %s from %r", action.shortcut().toString(), action.text())
                action.setShortcut(QKeySequence())

    def _sync_checks(self) -> None:
        prefs = self.display
        self.actions["parallel"].setChecked(prefs.parallel)
        self.actions["texture"].setChecked(prefs.texture)
        self.actions["dark"].setChecked(prefs.background == "dark")
        self.actions[f"mode_{prefs.display_mode}"].setChecked(True)
        self.actions[f"lighting_{prefs.lighting}"].setChecked(True)
        self.actions[f"aa_{prefs.anti_aliasing}"].setChecked(True)

    def _set_body_actions_enabled(self, enabled: bool) -> None:
        for spec in (*_VIEW_SPECS, *_ORIENTATION_SPECS):
            self.actions[spec.name].setEnabled(enabled)
        self.actions["export"].setEnabled(enabled)
        self.actions["copy"].setEnabled(enabled)


class _ExportDialog(QDialog):
    """Size (1x / 2x / 4x the view) and background of an exported image; Save or Copy."""

    def __init__(self, parent: QWidget, view_size: tuple[int, int], prefs: DisplayPrefs) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export image")
        self.copy_requested = False
        self._scale = QComboBox()
        for scale in EXPORT_SCALES:
            self._scale.addItem(f"{scale}\u00d7  ({view_size[0] * scale} \u00d7 {view_size[1] * scale} px)", scale)
        self._scale.setCurrentIndex(EXPORT_SCALES.index(prefs.export_scale))
        self._transparent = QCheckBox("Transparent background")
        self._transparent.setChecked(prefs.export_transparent)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        copy = QPushButton("Copy to clipboard")
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.AcceptRole)
        copy.clicked.connect(self._copy)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QFormLayout(self)
        layout.addRow("Size", self._scale)
        layout.addRow("", self._transparent)
        layout.addRow(buttons)

    def _copy(self) -> None:
        self.copy_requested = True

    def choice(self) -> tuple[int, bool]:
        return int(self._scale.currentData()), self._transparent.isChecked()


def _write_png(path: Path, image: np.ndarray) -> Path:
    """Encode ``image`` (RGB or RGBA uint8) as PNG at ``path``, atomically (worker thread)."""
    from PIL import Image

    with atomic_write(path, "wb") as out:
        Image.fromarray(image, "RGBA" if image.shape[2] == 4 else "RGB").save(out, format="PNG")
    return path
