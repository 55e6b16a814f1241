"""Variants of an exercise: the same questions at other values.

A :class:`Variant` is one concrete exercise (every value fixed) with the
number it has in a run and the seed it was drawn from; the question sheet,
the solution sheet, the answer key and the LMS export of a run all take the
same sequence of variants.

>>> from rnnsym.exercise import reference
>>> [v] = single(reference())
>>> v
Variant(1, seed=None, 'Recurrent neural networks: backpropagation through time')
"""

from __future__ import annotations

from dataclasses import dataclass

from .exercise import Exercise

__all__ = ["Variant", "single"]


@dataclass(frozen=True)
class Variant:
    """Variant number ``index`` (from 1) of a run: ``exercise`` with every value
    fixed, drawn with ``seed`` (None for an exercise given with fixed values)."""

    index: int
    seed: int | None
    exercise: Exercise

    def __repr__(self) -> str:
        return f"Variant({self.index}, seed={self.seed}, {self.exercise.title!r})"


def single(exercise: Exercise) -> list[Variant]:
    """An exercise with fixed values as the one variant of a run."""
    return [Variant(1, None, exercise)]
