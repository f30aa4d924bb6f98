"""Which way is up, and which way does the body face: axis names, rotations and shape cues.

Axes are named ``"+X"``, ``"-Y"``, ... in the file's own frame. A (up, front) pair of
perpendicular axes fixes a rotation into ``VIEW_FRAME`` (+Z up, face toward -Y, left toward +X);
the person's left is ``up x front``.

Shape cues for a standing person (``analyse_body``), none of which trusts "longest extent = up"
(a T-pose's arm span can exceed its height):

1. front-back is the thinnest extent (a body is ~0.3 m deep, 0.4-1.8 m wide, 1.7 m tall);
2. of the two remaining axes, the vertical one has a lopsided area distribution (head, torso,
   legs), the left-right one is mirror-symmetric;
3. the head end is a single narrow blob, the feet end two separate feet; the centre of surface
   area sits above mid-height;
4. the feet stick out forward from the shins, so the front is where the bottom slice leans.

All cues are area-weighted so densely tessellated faces or hands do not dominate, and ignore
vertices that no face uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from viewer.mesh.mesh_data import VIEW_FRAME

AXIS_NAMES = ("X", "Y", "Z")

#: when nothing better is known, the first of these perpendicular to up is taken as the front
_FALLBACK_FRONTS = ("+Z", "-Y", "+Y", "-Z", "+X", "-X")
_FALLBACK_UPS = ("+Y", "+Z", "+X", "-Y", "-Z", "-X")

# shape thresholds (fractions of the body's height unless stated)
_END_SLICE = 0.06  # head / feet slices at either end of the vertical axis
_CENTRE_BAND = 0.02  # half-width of the band between the feet that must be empty
_FEET_SLICE = 0.04  # feet slice for the front cue ...
_SHIN_SLICE = (0.08, 0.20)  # ... compared with the shins above it
_SURE_FEET_LEAN = 0.015  # feet leaning this far forward makes the front "sure"
_MAX_DEPTH_RATIO = 0.45  # depth / height
_WIDTH_RATIO = (0.15, 1.3)  # width / height (arms down ... T-pose)
_MIN_VERTICAL_ASYMMETRY = 0.1


def parse_axis(name: str) -> tuple[int, int]:
    """``"+X"`` -> (0, +1), ``"-z"`` -> (2, -1); a bare ``"Y"`` means ``"+Y"``."""
    text = name.strip().upper()
    sign = -1 if text.startswith("-") else 1
    letter = text.lstrip("+-")
    if letter not in AXIS_NAMES or len(text) - len(letter) > 1:
        raise ValueError(f"not an axis name: {name!r} (expected one of +X, -X, +Y, -Y, +Z, -Z)")
    return AXIS_NAMES.index(letter), sign


def axis_name(index: int, sign: int) -> str:
    return ("+" if sign > 0 else "-") + AXIS_NAMES[index]


def normalise_axis(name: str) -> str:
    return axis_name(*parse_axis(name))


def axis_vector(name: str) -> np.ndarray:
    index, sign = parse_axis(name)
    vector = np.zeros(3)
    vector[index] = sign
    return vector


def are_perpendicular(first: str, second: str) -> bool:
    return parse_axis(first)[0] != parse_axis(second)[0]


def rotation_to_view(up: str, front: str) -> np.ndarray:
    """Rotation taking a file whose up/front axes are ``up``/``front`` into ``VIEW_FRAME``.

    ``view = R @ source``. Raises ValueError when the axes are not perpendicular.
    """
    if not are_perpendicular(up, front):
        raise ValueError(f"up {up} and front {front} must be perpendicular axes")
    source_up, source_front = axis_vector(up), axis_vector(front)
    source = np.column_stack([source_up, source_front, np.cross(source_up, source_front)])
    view = np.column_stack([VIEW_FRAME.up, VIEW_FRAME.front, VIEW_FRAME.left])
    return view @ source.T


def fallback_front(up: str) -> str:
    return next(f for f in _FALLBACK_FRONTS if are_perpendicular(up, f))


def fallback_up(front: str) -> str:
    return next(u for u in _FALLBACK_UPS if are_perpendicular(u, front))


@dataclass(frozen=True)
class BodyShape:
    """What the shape cues say about a mesh (axes in the file's frame)."""

    is_body: bool  # proportions and cues of a standing person
    up: str
    front: str
    height: float  # extent along ``up``, in file units
    reason: str


def vertex_area_weights(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """A third of each adjacent triangle's area per vertex, normalised to sum 1."""
    corners = vertices[faces]
    areas = 0.5 * np.linalg.norm(
        np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=1
    )
    weights = np.bincount(faces.ravel(), np.repeat(areas / 3.0, 3), minlength=len(vertices))
    total = weights.sum()
    if not np.isfinite(total) or total <= 0:
        return np.full(len(vertices), 1.0 / max(len(vertices), 1))
    return weights / total


def _mirror_asymmetry(values: np.ndarray, weights: np.ndarray, bins: int = 20) -> float:
    """0 for a distribution symmetric about its range's middle, up to 1 for all mass at one end."""
    span = np.ptp(values)
    if span <= 0:
        return 0.0
    hist, _ = np.histogram((values - values.min()) / span, bins=bins, range=(0, 1), weights=weights)
    return float(np.abs(hist - hist[::-1]).sum() / 2)


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> float | None:
    total = weights.sum()
    return float((values * weights).sum() / total) if total > 0 else None


class _Analysis:
    """Shape measurements of one mesh, computed lazily per axis choice."""

    def __init__(self, vertices: np.ndarray, faces: np.ndarray) -> None:
        vertices = np.asarray(vertices, dtype=np.float64)
        used = np.zeros(len(vertices), dtype=bool)
        used[faces.ravel()] = True  # stray points that no face uses say nothing about the shape
        self.vertices = vertices[used]
        self.weights = vertex_area_weights(vertices, faces)[used]
        self.extents = np.ptp(self.vertices, axis=0)

    def asymmetry(self, axis: int) -> float:
        return _mirror_asymmetry(self.vertices[:, axis], self.weights)

    def heights(self, up: int) -> tuple[np.ndarray, float]:
        """Position along ``up`` as a 0..1 fraction of the extent (0 at the minimum end)."""
        values = self.vertices[:, up]
        span = float(np.ptp(values))
        return (values - values.min()) / (span if span > 0 else 1.0), span

    def end_cues(self, up: int, width: int, depth: int) -> list[tuple[int, str]]:
        """Votes for the head end of ``up``: (+1 the maximum end / -1 the minimum end, why)."""
        t, height = self.heights(up)
        ends = {+1: t >= 1 - _END_SLICE, -1: t <= _END_SLICE}
        votes: list[tuple[int, str]] = []

        occupancy = {s: self._centre_occupancy(mask, width, height) for s, mask in ends.items()}
        if occupancy[1] is not None and occupancy[-1] is not None:
            feet = 1 if occupancy[1] < occupancy[-1] else -1
            if occupancy[feet] < 0.05 and occupancy[-feet] > 0.2:
                votes.append((-feet, "two feet at one end, one head at the other"))

        area = {s: self._cross_section(mask, width, depth) for s, mask in ends.items()}
        if min(area.values()) > 0 and max(area.values()) / min(area.values()) >= 1.2:
            votes.append((1 if area[1] < area[-1] else -1, "the head end is narrower"))

        centre = _weighted_mean(t, self.weights)
        if centre is not None and abs(centre - 0.5) >= 0.004:
            votes.append((1 if centre > 0.5 else -1, "more surface above mid-height"))
        return votes

    def _centre_occupancy(self, mask: np.ndarray, width: int, height: float) -> float | None:
        """Share of a slice's area within a thin band around the slice's own left-right middle."""
        weights = self.weights[mask]
        total = weights.sum()
        if total <= 0 or height <= 0:
            return None
        x = self.vertices[mask, width]
        middle = (x.min() + x.max()) / 2
        return float(weights[np.abs(x - middle) < _CENTRE_BAND * height].sum() / total)

    def _cross_section(self, mask: np.ndarray, width: int, depth: int) -> float:
        if not mask.any():
            return 0.0
        points = self.vertices[mask]
        return float(np.ptp(points[:, width]) * np.ptp(points[:, depth]))

    def feet_lean(self, up: str, depth: int) -> float | None:
        """How far (fraction of height, along +depth) the feet reach beyond the shins."""
        up_index, up_sign = parse_axis(up)
        t, height = self.heights(up_index)
        if up_sign < 0:
            t = 1 - t
        feet = t <= _FEET_SLICE
        shins = (t >= _SHIN_SLICE[0]) & (t <= _SHIN_SLICE[1])
        along = self.vertices[:, depth]
        feet_mean = _weighted_mean(along[feet], self.weights[feet])
        shin_mean = _weighted_mean(along[shins], self.weights[shins])
        if feet_mean is None or shin_mean is None or height <= 0:
            return None
        return (feet_mean - shin_mean) / height


def analyse_body(
    vertices: np.ndarray, faces: np.ndarray, *, up: str | None = None, front: str | None = None
) -> BodyShape:
    """Guess up and front from the shape; ``up``/``front`` given by the caller are kept."""
    analysis = _Analysis(vertices, faces)
    extents = analysis.extents
    reasons: list[str] = []
    plausible = True

    if up is not None:
        up = normalise_axis(up)
        up_index = parse_axis(up)[0]
        if front is not None:
            depth = parse_axis(front)[0]
        else:
            others = [a for a in range(3) if a != up_index]
            depth = min(others, key=lambda a: extents[a])
        width = 3 - up_index - depth
    else:
        if front is not None:
            depth = parse_axis(front)[0]
        else:
            depth = int(np.argmin(extents))
            reasons.append(f"thinnest extent {AXIS_NAMES[depth]} is front-back")
        first, second = (a for a in range(3) if a != depth)
        asym = {first: analysis.asymmetry(first), second: analysis.asymmetry(second)}
        up_index = max(asym, key=lambda a: asym[a])
        width = 3 - up_index - depth
        reasons.append(
            f"area along {AXIS_NAMES[up_index]} is lopsided ({asym[up_index]:.2f}), along "
            f"{AXIS_NAMES[width]} mirror-symmetric ({asym[width]:.2f}), so {AXIS_NAMES[up_index]} "
            "is vertical"
        )
        if asym[up_index] < _MIN_VERTICAL_ASYMMETRY or asym[up_index] < 1.3 * asym[width]:
            plausible = False
        votes = analysis.end_cues(up_index, width, depth)
        total = sum(vote for vote, _ in votes)
        head = 1 if total >= 0 else -1
        agreeing = [why for vote, why in votes if vote == head]
        if len(agreeing) < 2 or len(agreeing) < len(votes):
            plausible = False
        dissent = len(votes) - len(agreeing)
        cues = "; ".join(agreeing) or "no cue, assumed +"
        reasons.append(
            f"head toward {axis_name(up_index, head)} ({cues}"
            + (f"; {dissent} cue(s) disagree" if dissent else "")
            + ")"
        )
        up = axis_name(up_index, head)

    height = float(extents[up_index])
    if height <= 0 or extents[depth] > _MAX_DEPTH_RATIO * height:
        plausible = False
    elif not _WIDTH_RATIO[0] <= extents[width] / height <= _WIDTH_RATIO[1]:
        plausible = False

    if front is not None:
        front = normalise_axis(front)
        if not are_perpendicular(up, front):
            raise ValueError(f"up {up} and front {front} must be perpendicular axes")
    else:
        lean = analysis.feet_lean(up, depth)
        if lean is None or lean == 0:
            front = axis_name(depth, 1)
            reasons.append(f"front unclear, assumed {front} (unsure)")
        else:
            front = axis_name(depth, 1 if lean > 0 else -1)
            sureness = "sure" if abs(lean) >= _SURE_FEET_LEAN else "unsure"
            reasons.append(
                f"face toward {front}: feet reach {abs(lean):.3f} of the height that way "
                f"({sureness})"
            )
    return BodyShape(
        is_body=plausible, up=up, front=front, height=height, reason="; ".join(reasons)
    )
