"""Tables of values for a graph's leaves, as a hand-written BPTT takes them.

A table maps each leaf tensor's name to its value — a float for a scalar,
nested lists of floats otherwise — with the shapes :func:`rnnsym.compile`
takes: parameters and initial states their tensor's shape, inputs and targets
(T,) or (T, n).  :func:`tables` draws them with hypothesis, :func:`random_tables`
from a seeded :class:`random.Random`, and :func:`read_table` checks one given by
hand.  Every drawn entry is a multiple of 1/8, exact as a float, and no drawn
table puts a relu on its kink (where it has no derivative).

>>> import rnnsym
>>> graph = rnnsym.elman(2, hidden=2)
>>> leaf_shapes(graph)
{'h_0': (2,), 'W_h': (2, 2), 'W_x': (2, 1), 'W_y': (1, 2), 'x': (2,), 'y': (2,)}
>>> next(random_tables(graph, 1, seed=0))
{'h_0': [1.125, 1.375], 'W_h': [[-1.75, 0.125], [2.0, 1.25]], 'W_x': [[0.5], [1.875]], 'W_y': [[0.875, -0.375]], 'x': [-1.0, 0.375], 'y': [-1.0, -1.25]}
"""

from __future__ import annotations

import math
import random
from fractions import Fraction
from typing import Any, Iterator, Mapping

from ..errors import InputError, InputTypeError
from ..binding import Missing
from ..evaluation import evaluate
from ..graph import Graph
from ..numbers import parse_number
from ..rules import relu

__all__ = ["leaf_shapes", "bounds", "tables", "random_tables", "read_table"]


def leaf_shapes(graph: Graph) -> dict[str, tuple[int, ...]]:
    """Each leaf tensor of ``graph`` by name, with its shape, in the graph's order:
    parameters and initial states their tensor's shape, inputs and targets (T,)
    or (T, n), as :func:`rnnsym.compile` takes them.

    >>> import rnnsym
    >>> leaf_shapes(rnnsym.elman(3))
    {'h_0': (), 'W_h': (), 'W_x': (), 'W_y': (), 'x': (3,), 'y': (3,)}
    >>> leaf_shapes(rnnsym.elman(4, loss_at=[1, 3]))["y"]
    (4,)
    """
    per_step = {f"{s}_{t}" for s in graph.sequences for t in range(1, graph.steps + 1)}
    shapes = {}
    for name, entries in graph.tensors.items():
        if name not in per_step and all(graph.is_leaf(s) for s in entries.values()):
            shape = tuple(max(i[d] for i in entries) for d in range(len(next(iter(entries)))))
            # a sequence has a row per step, also where a step has no loss to read its target
            shapes[name] = (graph.steps, *shape[1:]) if name in graph.sequences else shape
    return shapes


def bounds(min_value: Any, max_value: Any) -> tuple[Fraction, Fraction]:
    """``min_value`` and ``max_value`` read exactly (``2``, ``"1/2"``, ``0.25``), checked.

    Raises :class:`~rnnsym.errors.InputError` when they are not numbers, when
    ``min_value`` exceeds ``max_value``, or when no multiple of 1/8 lies between them.
    """
    low, high = (parse_number(v, f).exact for f, v in (("min_value", min_value), ("max_value", max_value)))
    low, high = Fraction(int(low.p), int(low.q)), Fraction(int(high.p), int(high.q))
    if low > high:
        raise InputError("min_value", min_value, f"a number at most max_value={max_value!r}")
    if math.ceil(low * 8) > math.floor(high * 8):
        raise InputError("min_value", min_value, f"a range holding a multiple of 1/8 (max_value={max_value!r})")
    return low, high


def tables(graph: Graph, min_value: Any = -2, max_value: Any = 2) -> Any:
    """A hypothesis strategy of tables for ``graph``: every entry p/q with q in 1, 2,
    4, 8 between ``min_value`` and ``max_value``, shrinking towards small integers and 0."""
    from hypothesis import strategies as st

    low, high = bounds(min_value, max_value)
    denominators = [q for q in (1, 2, 4, 8) if math.ceil(low * q) <= math.floor(high * q)]

    @st.composite
    def number(draw: Any) -> float:
        q = draw(st.sampled_from(denominators))
        return draw(st.integers(math.ceil(low * q), math.floor(high * q))) / q

    def entries(shape: tuple[int, ...]) -> Any:
        size = math.prod(shape)
        return st.lists(number(), min_size=size, max_size=size).map(lambda xs: _shaped(xs, shape))

    shapes = leaf_shapes(graph)
    drawn = st.fixed_dictionaries({n: entries(s) for n, s in shapes.items()}).map(lambda t: {n: t[n] for n in shapes})
    return drawn.filter(lambda t: not _kinked(graph, t)) if _has_relu(graph) else drawn


def random_tables(graph: Graph, count: int, seed: int = 0, min_value: Any = -2, max_value: Any = 2) -> Iterator[dict]:
    """``count`` tables for ``graph`` from ``random.Random(seed)``: every entry a
    non-zero multiple of 1/8 between ``min_value`` and ``max_value`` (fewer when
    most draws put a relu on its kink)."""
    low, high = bounds(min_value, max_value)
    rng = random.Random(seed)
    grid = [k / 8 for k in range(math.ceil(low * 8), math.floor(high * 8) + 1) if k] or [0.0]
    shapes = leaf_shapes(graph)
    made = 0
    for _ in range(20 * count):
        if made == count:
            return
        table = {n: _shaped([rng.choice(grid) for _ in range(math.prod(s))], s) for n, s in shapes.items()}
        if not (_has_relu(graph) and _kinked(graph, table)):
            made += 1
            yield table


def read_table(graph: Graph, values: Any) -> dict[str, Any]:
    """``values`` (a mapping from each leaf tensor's name to numbers of its shape,
    see :func:`leaf_shapes`) as a table of floats and nested lists.

    Raises :class:`~rnnsym.errors.InputError` naming the missing, unknown or
    misshapen entry.

    >>> import rnnsym
    >>> read_table(rnnsym.elman(2), {"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": "0.1", "W_y": 2})
    {'h_0': 1.0, 'W_h': 1.0, 'W_x': 0.1, 'W_y': 2.0, 'x': [10.0, 10.0], 'y': [5.0, 5.0]}
    >>> read_table(rnnsym.elman(2), {"h_0": 1, "x": [10, 10, 10], "y": [5, 5], "W_h": 1, "W_x": "0.1", "W_y": 2})
    Traceback (most recent call last):
    ...
    rnnsym.errors.InputError: values.x: got 'shape (3,)', expected shape (2,)
    """
    import numpy as np

    shapes = leaf_shapes(graph)
    if not isinstance(values, Mapping):
        raise InputTypeError("values", values, "a table of the leaves' values: " + ", ".join(shapes))
    for key in values:
        if key not in shapes:
            raise InputError("values", key, "one of " + ", ".join(shapes))
    table = {}
    for name, shape in shapes.items():
        if name not in values:
            raise InputError(f"values.{name}", Missing(), f"numbers of shape {shape}")
        try:
            a = np.asarray(values[name], dtype=np.float64)
        except (TypeError, ValueError):
            raise InputTypeError(f"values.{name}", values[name], f"numbers of shape {shape}") from None
        if a.shape != shape:
            raise InputError(f"values.{name}", f"shape {a.shape}", f"shape {shape}")
        if not np.isfinite(a).all():  # None reads as NaN
            raise InputError(f"values.{name}", values[name], "finite numbers")
        table[name] = a.tolist()
    return table


def _shaped(numbers: list[float], shape: tuple[int, ...]) -> Any:
    """A flat list of numbers as nested lists of ``shape`` (the one number for ``()``)."""
    if not shape:
        return numbers[0]
    step = math.prod(shape[1:])
    return [_shaped(numbers[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def _has_relu(graph: Graph) -> bool:
    return any(a.expr.has(relu) for a in graph.assignments)


def _kinked(graph: Graph, table: Mapping[str, Any]) -> bool:
    """Whether a relu's argument is exactly 0 at ``table`` (no derivative there)."""
    return bool(graph.kinks(evaluate(graph, table).env))
