"""Values as exercise files write them, bound to the leaves of a graph as exact numbers.

Names are exercise-file names (``"W_h"``, ``"x_1"``, ``"W_h[1,2]"``), whole
vectors and matrices are nested lists, row-major, and per-step inputs and
targets may be one list under their base name (``"x": [10, 10]``).  Numbers
are read by :func:`rnnsym.numbers.parse_number`: as written, never evaluated.
"""

from __future__ import annotations

from typing import Mapping

import mpmath
import sympy
from sympy import Symbol

from .errors import InputError, InputTypeError
from .numbers import Number, parse_number

__all__ = ["bind", "Missing", "leaf_numbers", "needed_leaves", "fill_unused"]


_MISSING_EXPECTED = "a number (every leaf of the model needs a value)"


def bind(graph, values: Mapping) -> dict[sympy.Symbol, Number]:
    """Exact values for every leaf of ``graph`` from exercise-file names.

    ``values`` maps leaf names (``"W_h"``, ``"h_0"``, ``"x_1"``,
    ``"W_h[1,2]"``) to numbers, or a whole vector or matrix (``"W_h"``,
    ``"h_0"``) to nested lists, row-major; the per-step inputs and targets may
    be given as a list under their base name (``"x": [10, 10]``), one entry per
    step (each a list when the input is a vector).  Keys may also be the leaf
    symbols themselves.  Unknown names, missing leaves and lists of the wrong
    shape raise :class:`~rnnsym.errors.InputError`.

    >>> from rnnsym.models import elman
    >>> bound = bind(elman(1), {"h_0": 1, "x": [10], "y": [5], "W_h": 1, "W_x": "0.1", "W_y": 2})
    >>> bound[sympy.Symbol("W_x", real=True)]
    Number('0.1')
    """
    if not isinstance(values, Mapping):
        raise InputTypeError("values", values, "a table of names and numbers")
    leaves = {str(s): s for s in graph.leaves}
    leaf_set = set(graph.leaves)
    tensors = {
        name: entries
        for name, entries in graph.tensors.items()
        if name not in leaves and all(s in leaf_set for s in entries.values())
    }
    bound: dict[sympy.Symbol, Number] = {}
    for key, value in values.items():
        name = str(key).replace(" ", "")
        if name in leaves:
            bound[leaves[name]] = parse_number(value, f"values.{name}")
        elif name in tensors:
            entries = tensors[name]
            shape = [max(index[d] for index in entries) for d in range(len(next(iter(entries))))]
            if name in graph.sequences:
                shape[0] = graph.steps
            per_step = ", one per step" if name in graph.sequences else ""
            for index, item in _flatten(value, tuple(shape), f"values.{name}", per_step):
                if index in entries:
                    bound[entries[index]] = parse_number(item, f"values.{name}" + "".join(f"[{i}]" for i in index))
        else:
            names = [n for n in leaves if "[" not in n and not any(n.startswith(f"{b}_") for b in graph.sequences)]
            names += [n for n in tensors if n not in names]
            option = _OPTION_VALUES.get((graph.cell.name, name))
            raise InputError("values", name, "one of " + ", ".join(names)
                             + (f" ({name} is a value of this model only with {option})" if option else ""))
    for name, leaf in leaves.items():
        if leaf not in bound:
            raise InputError(f"values.{name}", Missing(), _MISSING_EXPECTED)
    return bound


#: Values that a built-in cell has only with a model option: (cell, name) → the option.
_OPTION_VALUES = {
    ("gru", "b_hn"): '[model] reset = "after", bias = true and hidden_bias = true',
    ("elman", "b_h"): "[model] bias = true",
    ("elman", "b_y"): "[model] bias = true",
}


def needed_leaves(graph, targets) -> frozenset[Symbol]:
    """The leaves the value of any of ``targets`` (symbols of ``graph``) depends on.

    >>> from rnnsym.models import elman
    >>> g = elman(2)
    >>> sorted(map(str, needed_leaves(g, [g.symbol("h_2")])))
    ['W_h', 'W_x', 'h_0', 'x_1', 'x_2']
    """
    out: set[Symbol] = set()
    for target in targets:
        if graph.is_leaf(target):
            out.add(target)
            continue
        for q in graph.upstream(target):
            out.update(d for d in graph.assignment(q).dependencies if graph.is_leaf(d))
    return frozenset(out)


def fill_unused(graph, values: Mapping, targets) -> Mapping:
    """``values`` with 0 for every leaf that is not given and that none of ``targets``
    depends on (W_y and y_t for a hidden state), so that a question about ``targets``
    asks only for the leaves it needs; a leaf it needs and that is missing is still
    refused by :func:`bind`.  Anything but a table of values is returned as it is.

    >>> from rnnsym.models import elman
    >>> g = elman(1)
    >>> full = fill_unused(g, {"h_0": 1, "W_h": 2, "W_x": 1, "x": [0]}, [g.symbol("h_1")])
    >>> full["W_y"], full["y_1"], full["W_h"]
    (0, 0, 2)
    """
    if not isinstance(values, Mapping):
        return values
    by_symbol = bool(values) and all(isinstance(k, Symbol) for k in values)
    covered: set[Symbol] = set()
    leaves = {str(s): s for s in graph.leaves}
    for key in values:
        name = str(key).replace(" ", "")
        if name in leaves:
            covered.add(leaves[name])
        covered.update(graph.tensors.get(name, {}).values())
    needed = needed_leaves(graph, targets)
    out = dict(values)
    for name, leaf in leaves.items():
        if leaf not in covered and leaf not in needed:
            out[leaf if by_symbol else name] = sympy.Integer(0) if by_symbol else 0
    return out


def _describe_shape(shape: tuple[int, ...]) -> str:
    if len(shape) == 1:
        return f"a list of {shape[0]} number" + ("s" if shape[0] != 1 else "")
    if len(shape) == 2:
        return f"a list of {shape[0]} lists of {shape[1]} numbers"
    return "a nested list of shape " + "×".join(map(str, shape))


def _flatten(value: object, shape: tuple[int, ...], field: str, note: str = "", prefix: tuple[int, ...] = ()):
    """Yield ``(index, item)`` over a nested list of ``shape`` (1-based indices)."""
    if not shape:
        yield prefix, value
        return
    if not isinstance(value, (list, tuple)) or len(value) != shape[0]:
        where = field + "".join(f"[{i}]" for i in prefix)
        raise InputError(where, value, _describe_shape(shape) + (note if not prefix else ""))
    for i, item in enumerate(value, start=1):
        yield from _flatten(item, shape[1:], field, note, (*prefix, i))


class Missing:
    """Stands for a value that was not given (its ``repr`` reads ``nothing``)."""

    def __repr__(self) -> str:
        return "nothing"


def leaf_numbers(graph, values: Mapping) -> tuple[dict[Symbol, Number], int | None]:
    """Every leaf's :class:`~rnnsym.numbers.Number`, from exercise-file names or
    from a table of leaf symbols and numbers (other symbols are ignored); and,
    when those numbers are :class:`sympy.Float`, the digits they carry (a
    decimal point, taken exactly)."""
    if isinstance(values, Mapping) and values and all(isinstance(k, Symbol) for k in values):
        out, digits = {}, None
        for s in graph.leaves:
            if s not in values:
                raise InputError(f"values.{s}", Missing(), _MISSING_EXPECTED)
            v = values[s]
            if isinstance(v, sympy.Float):
                digits = max(digits or 0, mpmath.libmp.prec_to_dps(v._prec))
                v = sympy.Rational(v)
            out[s] = v if isinstance(v, Number) else parse_number(v, f"values.{s}")
        return out, digits
    return bind(graph, values), None
