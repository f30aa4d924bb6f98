"""Guess a body's length unit from its height.

Only meaningful once the shape cues say "this is a standing person": a person is 0.5-2.6 m tall,
so a height of 1,709 is millimetres and 170.9 is centimetres. The ranges for m, dm, cm and mm do
not overlap (each is a factor 10 apart and the range spans a factor 5.2), so the answer is unique.
"""

from __future__ import annotations

from dataclasses import dataclass

#: heights (metres) a scanned person can have, toddler to very tall adult
BODY_HEIGHT_RANGE_M = (0.5, 2.6)

#: unit name -> metres per unit, most likely first
_UNITS = (("m", 1.0), ("dm", 0.1), ("cm", 0.01), ("mm", 0.001))


@dataclass(frozen=True)
class UnitGuess:
    source_unit: str  # "m", "dm", "cm" or "mm": what the file's numbers were
    scale: float  # multiply the file's coordinates by this to get metres


def guess_body_unit(height: float) -> UnitGuess | None:
    """The unit in which ``height`` (file units) is a person's height, or None if there is none."""
    low, high = BODY_HEIGHT_RANGE_M
    for name, metres_per_unit in _UNITS:
        if low <= height * metres_per_unit <= high:
            return UnitGuess(name, metres_per_unit)
    return None
