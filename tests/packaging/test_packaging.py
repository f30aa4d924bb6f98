"""The packaging's inputs: .desktop entry, icons, what the PyInstaller spec puts in the bundle.

Building the bundle takes a minute and 600 MB: that is `packaging/build.sh` + `packaging/smoke.sh`,
not these tests.
"""

from __future__ import annotations

import configparser
import importlib.util
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from packaging.requirements import Requirement
from PIL import Image

from viewer.qt import resources

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
DESKTOP_FILE = ROOT / "resources" / "scan-viewer.desktop"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"scan_viewer_packaging_{name}", PACKAGING / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bundle_contents = _load("bundle_contents")
render_icons = _load("render_icons")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(DESKTOP_FILE, encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_entry_starts_the_console_script_with_the_app_icon():
    entry = _desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Name"] == "Scan Viewer"
    assert entry["Terminal"] == "false"
    assert entry["Categories"].endswith(";") and "Graphics" in entry["Categories"].split(";")
    command = entry["Exec"].split()[0]
    assert command in _pyproject()["project"]["scripts"]
    assert f'name="{command}"' in (PACKAGING / "scan-viewer.spec").read_text()  # the bundle's executable
    # Qt names the window class after the executable: that is how a desktop ties windows to the entry
    assert entry["StartupWMClass"] == command
    assert (ROOT / "resources" / "icons" / f"{entry['Icon']}.svg").is_file()
    assert render_icons.icon_path(48).name == f"{entry['Icon']}.png"


def test_desktop_entry_passes_desktop_file_validate():
    validator = shutil.which("desktop-file-validate")
    if validator is None:
        pytest.skip("desktop-file-validate (Debian: desktop-file-utils) is not installed")
    result = subprocess.run([validator, str(DESKTOP_FILE)], capture_output=True, text=True)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_committed_icon_pngs_are_the_svg_rendered(qapp, tmp_path):
    rendered = render_icons.render_icons(out_dir=tmp_path)
    assert len(rendered) == len(render_icons.ICON_SIZES)
    for size in render_icons.ICON_SIZES:
        committed = Image.open(render_icons.icon_path(size))
        assert committed.size == (size, size) and committed.mode == "RGBA"
        pixels = np.asarray(committed).astype(int)
        fresh = np.asarray(Image.open(render_icons.icon_path(size, tmp_path))).astype(int)
        # a Qt upgrade may move anti-aliased edges a little; a changed SVG moves much more
        assert np.abs(pixels - fresh).max() <= 24, f"{size} px: run python packaging/render_icons.py"
        assert pixels[0, 0, 3] == 0 and pixels[-1, -1, 3] == 0  # rounded corners: transparent
        assert pixels[size // 2, size // 8, 3] == 255  # the blue tile: opaque
        assert pixels[size // 2, size // 8, 2] > pixels[size // 2, size // 8, 0] + 60


def test_bundle_resources_are_where_the_app_looks_for_them(tmp_path, monkeypatch):
    pairs = bundle_contents.app_resources(ROOT)
    destinations = {Path(dest) / Path(src).name for src, dest in pairs}
    assert Path("resources/icons/scan-viewer.svg") in destinations
    assert Path("resources/scan-viewer.desktop") in destinations
    assert Path("resources/icons/hicolor/256x256/apps/scan-viewer.png") in destinations
    assert not any(path.name.startswith("screenshot") for path in destinations)
    for src, dest in pairs:  # lay them out as PyInstaller does
        (tmp_path / dest).mkdir(parents=True, exist_ok=True)
        shutil.copy(src, tmp_path / dest)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resources.resource_path("icons/scan-viewer.svg") == tmp_path / "resources" / "icons" / "scan-viewer.svg"


def test_vtk_hidden_imports_cover_pyvista_rendering_and_exist():
    hidden = bundle_contents.vtk_hidden_imports()
    for needed in ("vtkRenderingCore", "vtkRenderingOpenGL2", "vtkRenderingContextOpenGL2",
                   "vtkRenderingFreeType", "vtkInteractionStyle", "vtkFiltersCore", "vtkIOImage"):
        assert f"vtkmodules.{needed}" in hidden
    assert "vtkmodules.vtkIOExodus" not in hidden and "vtkmodules.vtkIOHDF" not in hidden
    missing = [name for name in hidden if importlib.util.find_spec(name) is None]
    assert not missing, f"not in the installed VTK: {missing}"
    # every module left out is still one pyvista knows (a stale name would hide a change in pyvista)
    assert bundle_contents.VTK_MODULES_LEFT_OUT <= bundle_contents.pyvista_vtk_modules()
    assert set(bundle_contents.UNUSED_PYTHON).isdisjoint(hidden)


@pytest.mark.parametrize(("dest", "unused"), [
    ("PySide6/Qt/plugins/platforms/libqxcb.so", False),
    ("PySide6/Qt/plugins/platforms/libqwayland.so", False),
    ("PySide6/Qt/plugins/xcbglintegrations/libqxcb-glx-integration.so", False),
    ("PySide6/Qt/plugins/iconengines/libqsvgicon.so", False),
    ("PySide6/Qt/lib/libQt6Widgets.so.6", False),
    ("matplotlib/mpl-data/matplotlibrc", False),
    ("matplotlib/mpl-data/fonts/ttf/DejaVuSans.ttf", False),
    ("imageio_ffmpeg/binaries/ffmpeg-linux-x86_64-v7.0.2", False),
    ("resources/icons/scan-viewer.svg", False),
    ("PySide6/Qt/translations/qt_de.qm", True),
    ("PySide6/Qt/plugins/platforms/libqvnc.so", True),
    ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", True),
    ("libpango-1.0.so.0", True),
    ("matplotlib/mpl-data/fonts/ttf/STIXGeneral.ttf", True),
    ("matplotlib/mpl-data/sample_data/msft.csv", True),
])
def test_unused_files_are_dropped_and_needed_ones_kept(dest, unused):
    assert bundle_contents.is_unused_file(dest) is unused


def test_build_pins_stay_inside_the_project_ranges():
    pins = [Requirement(line) for line in (PACKAGING / "build-constraints.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    ranges = {Requirement(dep).name: Requirement(dep) for dep in _pyproject()["project"]["dependencies"]}
    pinned_deps = [pin for pin in pins if pin.name in ranges]
    assert [pin.name for pin in pinned_deps] == ["imageio-ffmpeg"]
    for pin in pinned_deps:
        version = next(iter(pin.specifier)).version
        assert ranges[pin.name].specifier.contains(version), f"{pin} is outside {ranges[pin.name]}"


def test_launcher_runs_the_app_entry_point():
    result = subprocess.run([sys.executable, str(PACKAGING / "launcher.py"), "--version"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("scan-viewer ")


@pytest.mark.parametrize("script", ["build.sh", "smoke.sh"])
def test_scripts_parse(script):
    result = subprocess.run(["bash", "-n", str(PACKAGING / script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
