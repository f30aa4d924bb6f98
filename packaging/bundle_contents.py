"""What goes into the PyInstaller bundle beyond what PyInstaller finds by itself, and what is left out.

Read by ``packaging/scan-viewer.spec`` (and by tests/packaging). The rules, and why:

- VTK: pyvista imports VTK's modules lazily, by name, so PyInstaller cannot see them; it sees
  ``import vtk`` instead (pyvista imports it for type checking), which would pull all ~180 modules
  (550 MB). So the ``vtk`` shim is excluded and the modules of pyvista's own class map are hidden
  imports, less the scientific file formats and chemistry (the app reads meshes with trimesh). Their
  dependencies come through the vtkmodules hooks; the app's own ``from vtkmodules... import`` lines
  are found as usual.
- Python packages that optional code paths import but the app never runs (other GUI toolkits,
  notebooks, pyvista's examples and MathText) are excluded.
- Data files the app never reads are dropped by their place in the bundle (``is_unused_file``).
"""

from __future__ import annotations

from pathlib import Path

# pyvista's class map (pyvista/_vtk.py), by VTK module: the modules any pyvista feature may load.
PYVISTA_CLASS_MAPS = ("_CORE_MODULES", "_PLOTTING_MODULES", "_OPENGL_MODULES")
# Imported by pyvista.plotting for its side effects (factory registration), outside the class map.
VTK_MODULES_REGISTERED_BY_PYVISTA = ("vtkRenderingContextOpenGL2", "vtkRenderingFreeType")
# In pyvista's class map but of no use to a body scan viewer: readers and writers of scientific
# file formats, chemistry, distributed (MPI) filters. Together with their libraries (HDF5, NetCDF,
# IOSS, CGNS, ...) they are most of VTK's size.
VTK_MODULES_LEFT_OUT = frozenset({
    "vtkDomainsChemistry", "vtkFiltersParallel", "vtkFiltersParallelDIY2", "vtkIOCGNSReader",
    "vtkIOChemistry", "vtkIOEnSight", "vtkIOExodus", "vtkIOExportGL2PS", "vtkIOFLUENTCFF",
    "vtkIOHDF", "vtkIOInfovis", "vtkIOMINC", "vtkIOParallel", "vtkIOParallelExodus",
    "vtkIOParallelXML", "vtkIOSegY", "vtkIOXdmf2",
})

UNUSED_PYTHON = (
    "vtk",  # the all-of-VTK shim
    "vtkmodules.all", "vtkmodules.web", "vtkmodules.tk", "vtkmodules.wx", "vtkmodules.gtk",
    "vtkmodules.test", "vtkmodules.generate_pyi",
    "vtkmodules.vtkRenderingMatplotlib",  # MathText: optional in pyvista
    *(f"vtkmodules.{name}" for name in sorted(VTK_MODULES_LEFT_OUT)),
    "tkinter", "_tkinter", "IPython", "jupyter_client", "ipywidgets", "trame", "pytest",
    "PySide6.QtNetwork",
    "PIL._avif", "PIL.AvifImagePlugin", "PIL._imagingtk", "PIL.ImageTk",  # libavif alone is 5 MB
    "pyvista.examples", "pyvista.demos", "pyvista.trame",
    "matplotlib.backends.backend_qt", "matplotlib.backends.backend_qtagg",
    "matplotlib.backends.backend_qtcairo", "matplotlib.backends.qt_compat",
    "matplotlib.backends.backend_tkagg", "matplotlib.backends.backend_tkcairo",
    "matplotlib.backends.backend_webagg", "matplotlib.backends.backend_nbagg",
)

# Destinations (prefixes) in the bundle of files the app never reads:
# - Qt plugins for platforms a desktop app does not run on (framebuffer, VNC, evdev, Vulkan
#   display) and for networking (the app talks HTTP through requests, not QtNetwork); Qt's
#   translations (the UI is English only); the GTK 3 theme plugin (the app sets its own style, and
#   the plugin would mix the bundle's pango/cairo with the system's GTK) with the libraries only it
#   needs (checked with readelf);
# - matplotlib's sample data, toolbar images and fonts other than DejaVu Sans: pyvista imports
#   matplotlib for colour maps only, the app draws no text with it.
UNUSED_FILES = (
    "PySide6/Qt/plugins/platforms/libqeglfs", "PySide6/Qt/plugins/platforms/libqlinuxfb",
    "PySide6/Qt/plugins/platforms/libqvnc", "PySide6/Qt/plugins/platforms/libqvkkhrdisplay",
    "PySide6/Qt/plugins/platforms/libqminimalegl", "PySide6/Qt/plugins/egldeviceintegrations/",
    "PySide6/Qt/plugins/generic/", "PySide6/Qt/plugins/networkinformation/",
    "PySide6/Qt/plugins/tls/", "PySide6/Qt/lib/libQt6EglFs", "PySide6/Qt/lib/libQt6Network",
    "PySide6/Qt/translations/",
    "PySide6/Qt/plugins/platformthemes/libqgtk3",
    "libatk-1.0.", "libcairo.", "libcairo-gobject.", "libgdk_pixbuf-2.0.", "libpango-1.0.",
    "libpangocairo-1.0.", "libpangoft2-1.0.", "libthai.", "libdatrie.", "libfribidi.",
    "libharfbuzz.", "libgraphite2.", "libpixman-1.",
    "matplotlib/mpl-data/sample_data/", "matplotlib/mpl-data/images/",
    "matplotlib/mpl-data/fonts/afm/", "matplotlib/mpl-data/fonts/pdfcorefonts/",
)
MATPLOTLIB_TTF = "matplotlib/mpl-data/fonts/ttf/"
KEPT_MATPLOTLIB_FONTS = (MATPLOTLIB_TTF + "DejaVuSans", MATPLOTLIB_TTF + "LICENSE_DEJAVU")


def pyvista_vtk_modules() -> set[str]:
    """Every VTK module named in pyvista's class map (raises if pyvista no longer has one)."""
    from pyvista import _vtk

    modules = set()
    for map_name in PYVISTA_CLASS_MAPS:
        modules.update(name for name in getattr(_vtk, map_name) if name.startswith("vtk"))
    return modules


def vtk_hidden_imports() -> list[str]:
    modules = (pyvista_vtk_modules() - VTK_MODULES_LEFT_OUT) | set(VTK_MODULES_REGISTERED_BY_PYVISTA)
    return [f"vtkmodules.{name}" for name in sorted(modules)]


def is_unused_file(dest: str) -> bool:
    """Whether the file placed at ``dest`` (relative to the bundle's _internal/) can be dropped."""
    if dest.startswith(MATPLOTLIB_TTF):
        return not dest.startswith(KEPT_MATPLOTLIB_FONTS)
    return dest.startswith(UNUSED_FILES)


def app_resources(repo: Path) -> list[tuple[str, str]]:
    """resources/ as viewer/qt/resources.py finds it in the bundle, less the README's screenshots,
    as PyInstaller ``(source file, destination folder)`` pairs."""
    files = sorted(f for f in (repo / "resources").rglob("*")
                   if f.is_file() and not f.name.startswith("screenshot"))
    return [(str(f), str(f.parent.relative_to(repo))) for f in files]
