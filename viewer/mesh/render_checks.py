"""Pixel checks on a rendered RGB image of the 3D view: is there an upright, textured body on it?

Pure numpy (no Qt, no VTK), shared by the tests, the screenshot mode and the packaging smoke test.
A blank or garbage frame (see HEADLESS.md: the ``offscreen`` platform fills the view with noise)
must fail these checks, so they look at the background colour in the corners and at the colours
inside the silhouette, never at a bare count of non-background pixels.

The 3D view's background is a vertical gradient, ``VIEW_BACKGROUND``: its top corners are
``VIEW_BACKGROUND.top`` and its bottom corners ``VIEW_BACKGROUND.bottom``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Background:
    """A vertical gradient from ``top`` to ``bottom`` (equal for a solid colour)."""

    top: RGB
    bottom: RGB

    @classmethod
    def solid(cls, rgb: RGB) -> Background:
        return cls(top=rgb, bottom=rgb)

    @property
    def is_solid(self) -> bool:
        return self.top == self.bottom

    def corner_colours(self) -> np.ndarray:
        """Expected colours of the corners, in ``corner_colours`` order (TL, TR, BL, BR)."""
        return np.array([self.top, self.top, self.bottom, self.bottom], dtype=float)

    def row_colours(self, height: int) -> np.ndarray:
        """(height, 3) colour of each image row, top row first (linear between pixel centres)."""
        top, bottom = np.asarray(self.top, dtype=float), np.asarray(self.bottom, dtype=float)
        below_top = (np.arange(height) + 0.5) / max(height, 1)  # 0 at the top edge, 1 at the bottom
        return top + below_top[:, None] * (bottom - top)


#: The 3D view's background: light, cool grey, lighter at the top. Its corners are these colours.
VIEW_BACKGROUND = Background(top=(0xF4, 0xF6, 0xF8), bottom=(0xDD, 0xE3, 0xEA))

#: how far (per channel, 0-255) a pixel may stray from the background and still count as background
BACKGROUND_TOLERANCE = 10

#: a pixel whose max - min channel exceeds this is "coloured" (skin, fabric), not grey
COLOURED_CHROMA = 25

_CORNER_PATCH = 4  # side of the square averaged at each corner, in pixels


def corner_colours(img: np.ndarray, patch: int = _CORNER_PATCH) -> np.ndarray:
    """(4, 3) mean colour of a small square in each corner: top-left, top-right, bottom-left, bottom-right."""
    rgb = _as_rgb(img)
    p = max(1, min(patch, rgb.shape[0], rgb.shape[1]))
    patches = (rgb[:p, :p], rgb[:p, -p:], rgb[-p:, :p], rgb[-p:, -p:])
    return np.array([square.reshape(-1, 3).mean(axis=0) for square in patches])


def body_mask(
    img: np.ndarray, background: Background | RGB = VIEW_BACKGROUND, tol: float = BACKGROUND_TOLERANCE
) -> np.ndarray:
    """(h, w) bool: pixels differing from the background by more than ``tol`` in some channel."""
    rgb = _as_rgb(img).astype(np.int16)
    if not isinstance(background, Background):
        background = Background.solid(tuple(int(c) for c in background))  # type: ignore[arg-type]
    expected = background.row_colours(rgb.shape[0])[:, None, :]
    return (np.abs(rgb - expected) > tol).any(axis=2)


def silhouette_aspect(mask: np.ndarray) -> float:
    """Height / width of the bounding box of the ``True`` pixels (0.0 for an empty mask)."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return 0.0
    return float(rows[-1] - rows[0] + 1) / float(cols[-1] - cols[0] + 1)


def colour_fraction(img: np.ndarray, mask: np.ndarray, rgb: RGB | np.ndarray, tol: float) -> float:
    """Fraction of the masked pixels within Euclidean distance ``tol`` of ``rgb`` (0.0 for an empty mask)."""
    pixels = _as_rgb(img)[mask].astype(float)
    if pixels.size == 0:
        return 0.0
    distance = np.linalg.norm(pixels - np.asarray(rgb, dtype=float), axis=1)
    return float(np.mean(distance <= tol))


def coloured_fraction(img: np.ndarray, mask: np.ndarray, chroma: int = COLOURED_CHROMA) -> float:
    """Fraction of the masked pixels that are not grey (max - min channel above ``chroma``)."""
    pixels = _as_rgb(img)[mask].astype(np.int16)
    if pixels.size == 0:
        return 0.0
    return float(np.mean(pixels.max(axis=1) - pixels.min(axis=1) > chroma))


#: Height/width above which a silhouette counts as a body standing upright in a wide A-pose:
#: the demo bodies, arms well out, measure about 1.4-1.8 (Prism's avatar 2.35); the same
#: bodies lying on their side measure below 0.8.
A_POSE_MIN_ASPECT = 1.25


def looks_like_body(
    img: np.ndarray,
    background: Background = VIEW_BACKGROUND,
    *,
    min_aspect: float = 2.0,
    coverage: tuple[float, float] = (0.02, 0.6),
    min_coloured: float = 0.15,
) -> tuple[bool, str]:
    """Whether ``img`` shows an upright, textured body on ``background``; the reason either way.

    Checks: every corner is the background; the silhouette's bounding box is more than
    ``min_aspect`` times taller than wide; it covers a fraction of the image within ``coverage``;
    at least ``min_coloured`` of its pixels are coloured (texture), not grey.
    """
    rgb = _as_rgb(img)
    if rgb.shape[0] < 8 or rgb.shape[1] < 8:
        return False, f"image too small: {rgb.shape[1]}x{rgb.shape[0]}"
    corners = corner_colours(rgb)
    corner_error = np.abs(corners - background.corner_colours()).max(axis=1)
    if (corner_error > BACKGROUND_TOLERANCE).any():
        return False, f"corners are not the background: {np.round(corners).astype(int).tolist()}"
    mask = body_mask(rgb, background)
    covered = float(mask.mean())
    if not coverage[0] <= covered <= coverage[1]:
        expected = f"{coverage[0]:.0%}-{coverage[1]:.0%}"
        return False, f"silhouette covers {covered:.1%} of the image, expected {expected}"
    aspect = silhouette_aspect(mask)
    if aspect <= min_aspect:
        return False, f"silhouette height/width {aspect:.2f}, expected > {min_aspect:g} (upright body)"
    coloured = coloured_fraction(rgb, mask)
    if coloured < min_coloured:
        expected = f"expected >= {min_coloured:.0%} (texture)"
        return False, f"only {coloured:.1%} of the silhouette is coloured, {expected}"
    return True, (
        f"body: {covered:.1%} of the image, height/width {aspect:.2f}, {coloured:.0%} coloured pixels"
    )


def _as_rgb(img: np.ndarray) -> np.ndarray:
    array = np.asarray(img)
    if array.ndim != 3 or array.shape[2] < 3:
        raise ValueError(f"expected an (h, w, 3|4) image, got shape {array.shape}")
    return array[:, :, :3]
