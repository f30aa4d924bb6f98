"""Scan Viewer: inspect Prism body scans (list, pipeline status, textured 3D body, measurements)."""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("scan-viewer")
except _metadata.PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"
