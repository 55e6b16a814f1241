"""Exact numbers from what an author wrote, and back to how they wrote it.

Exercise values arrive as TOML integers, floats or strings.  Each becomes a
:class:`Number`: an exact :class:`sympy.Rational` together with the author's
spelling, so that ``"0.1"`` computes as 1/10 but still prints as ``0.1``.
Strings are matched against number patterns only; nothing is evaluated.

>>> n = parse_number("0.1", "values.W_x")
>>> n
Number('0.1')
>>> n.exact
1/10
>>> n.latex
'0.1'
>>> parse_number("1/3", "values.W_x").latex
'\\\\frac{1}{3}'
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Mapping

import sympy

from .errors import InputError, InputTypeError

__all__ = ["Number", "Exact", "parse_number", "format_exact", "bind", "Missing", "exact_form"]

_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_FRACTION = re.compile(r"([+-]?\d+)\s*/\s*(\d+)", re.ASCII)
_MAX_EXPONENT = 100
_EXPECTED = "a number: an integer, a decimal such as \"0.1\" or a fraction such as \"1/3\""


@dataclass(frozen=True)
class Number:
    """An exact rational value and the LaTeX an author would write for it."""

    exact: sympy.Rational
    latex: str

    def __repr__(self) -> str:
        return f"Number({self.spelling!r})"

    @property
    def spelling(self) -> str:
        """The plain-text spelling (``0.1``, ``1/3``, ``-2``)."""
        text = self.latex
        match = re.fullmatch(r"(-?)\\frac\{(\d+)\}\{(\d+)\}", text)
        if match:
            return f"{match.group(1)}{match.group(2)}/{match.group(3)}"
        return text

    def _repr_latex_(self) -> str:
        return f"${self.latex}$"


def parse_number(value: object, field: str) -> Number:
    """Turn an exercise value into an exact :class:`Number`.

    Accepts ``int``, finite ``float`` (read by its shortest decimal ``repr``, so
    the TOML float ``0.1`` is exactly 1/10), and strings holding an integer, a
    decimal (optionally with an exponent) or a fraction ``p/q``.  Anything else
    raises :class:`~rnnsym.errors.InputError` naming ``field``.

    >>> parse_number(10, "x").exact
    10
    >>> parse_number(0.25, "x").exact
    1/4
    >>> parse_number("__import__('os')", "values.W_h")
    Traceback (most recent call last):
    ...
    rnnsym.errors.InputError: values.W_h: got "__import__('os')", expected a number: an integer, a decimal such as "0.1" or a fraction such as "1/3"
    """
    if isinstance(value, bool):
        raise InputTypeError(field, value, _EXPECTED)
    if isinstance(value, int):
        return Number(sympy.Integer(value), str(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(field, value, "a finite number")
        return _from_text(repr(value), field, value)
    if isinstance(value, sympy.Rational):
        return Number(value, format_exact(value))
    if isinstance(value, str):
        return _from_text(value.strip(), field, value)
    raise InputTypeError(field, value, _EXPECTED)


def _from_text(text: str, field: str, original: object) -> Number:
    if _DECIMAL.fullmatch(text):
        mantissa, _, exponent = text.lower().partition("e")
        if exponent and abs(int(exponent)) > _MAX_EXPONENT:
            raise InputError(field, original, f"a finite number with an exponent of at most {_MAX_EXPONENT}")
        exact = sympy.Rational(mantissa) * sympy.Integer(10) ** int(exponent or 0)
        return Number(exact, _decimal_latex(mantissa, exponent) if exact != 0 else "0")
    match = _FRACTION.fullmatch(text)
    if match:
        numerator, denominator = int(match.group(1)), int(match.group(2))
        if denominator == 0:
            raise InputError(field, original, "a fraction with a non-zero denominator")
        exact = sympy.Rational(numerator, denominator)
        sign = "-" if numerator < 0 else ""
        return Number(exact, f"{sign}\\frac{{{abs(numerator)}}}{{{denominator}}}")
    raise InputError(field, original, _EXPECTED)


def _decimal_latex(mantissa: str, exponent: str) -> str:
    mantissa = mantissa.lstrip("+")
    if mantissa.startswith("."):
        mantissa = "0" + mantissa
    elif mantissa.startswith("-."):
        mantissa = "-0" + mantissa[1:]
    if mantissa.endswith("."):
        mantissa = mantissa[:-1]
    if not exponent:
        return mantissa
    return f"{mantissa} \\times 10^{{{int(exponent)}}}"


def format_exact(value: sympy.Rational, max_decimals: int = 6) -> str:
    """LaTeX for an exact rational result.

    Integers print as integers; a fraction whose decimal expansion ends within
    ``max_decimals`` digits prints as that decimal; any other as ``\\frac``.

    >>> format_exact(sympy.Rational(-4))
    '-4'
    >>> format_exact(sympy.Rational(3, 10))
    '0.3'
    >>> format_exact(sympy.Rational(1, 3))
    '\\\\frac{1}{3}'
    """
    value = sympy.Rational(value)
    if value.q == 1:
        return str(value.p)
    sign = "-" if value < 0 else ""
    p, q = abs(value.p), value.q
    twos = fives = 0
    while q % 2 == 0:
        q //= 2
        twos += 1
    while q % 5 == 0:
        q //= 5
        fives += 1
    digits = max(twos, fives)
    if q == 1 and digits <= max_decimals:
        scaled = p * 10**digits // value.q
        whole, frac = divmod(scaled, 10**digits)
        return f"{sign}{whole}.{frac:0{digits}d}"
    return f"{sign}\\frac{{{p}}}{{{value.q}}}"


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

    >>> from rnnsym.graph import elman
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
            raise InputError("values", name, "one of " + ", ".join(names))
    for name, leaf in leaves.items():
        if leaf not in bound:
            raise InputError(f"values.{name}", Missing(), _MISSING_EXPECTED)
    return bound


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


class Exact(sympy.AtomicExpr):
    """An exact irrational value, named after the quantity it is the value of.

    Computing a tanh network exactly nests each step's value inside the next
    (h_2 = tanh(tanh(…)·W_h + …)); sympy's evaluation of such towers costs
    exponential time in their depth.  :meth:`rnnsym.graph.Graph.evaluate`
    therefore stands each irrational value in for by one ``Exact`` atom: it
    keeps the exact expression (``.expr``, in terms of earlier atoms) and
    evaluates numerically from its parts, caching each precision, so a value
    is still exact and its decimals cost linear time in the number of steps.
    :func:`exact_form` substitutes the atoms back.

    >>> h = Exact("h_1", sympy.tanh(sympy.Rational(1, 2)))
    >>> h
    h_1*
    >>> sympy.N(2 * h, 12)
    0.924234314520
    >>> exact_form(2 * h)
    2*tanh(1/2)
    """

    is_number = True
    is_extended_real = True
    is_commutative = True
    _serial = 0

    #: Bits of precision computed when an atom is made.
    PRECISION = 256

    def __new__(cls, name: str, expr: sympy.Expr) -> "Exact":
        obj = sympy.AtomicExpr.__new__(cls)
        Exact._serial += 1
        obj.name = name
        obj.expr = expr
        obj._key = (name, Exact._serial)
        # Evaluate from the parts' cached values, never by unfolding them.
        parts = {a: a._eval_evalf(cls.PRECISION) for a in expr.atoms(Exact)}
        obj._cache = {cls.PRECISION: expr.xreplace(parts).evalf(prec_to_dps(cls.PRECISION))}
        return obj

    def _hashable_content(self):
        return self._key

    def __getnewargs__(self):
        return (self.name, self.expr)

    def _eval_evalf(self, prec):
        best = max(self._cache)
        if best < prec:
            best = prec + 64
            self._cache[best] = exact_form(self.expr).evalf(prec_to_dps(best))
        return sympy.Float(self._cache[best], precision=prec)

    def _mpmath_(self, prec, rounding):
        return self._eval_evalf(prec)._to_mpmath(prec)

    def _sympystr(self, printer) -> str:
        return f"{self.name}*"

    def _latex(self, printer) -> str:
        return printer._print(self.expr)


def prec_to_dps(prec: int) -> int:
    return max(1, int(round(int(prec) / 3.3219280948873626) - 1))


def exact_form(value: sympy.Expr) -> sympy.Expr:
    """``value`` with every :class:`Exact` atom replaced by its full expression.

    The result can be exponentially large in the number of steps; use it to
    compare with independent computations on small examples.
    """
    seen: dict[Exact, sympy.Expr] = {}

    def unfold(expr):
        atoms = expr.atoms(Exact)
        if not atoms:
            return expr
        for atom in atoms:
            if atom not in seen:
                seen[atom] = unfold(atom.expr)
        return expr.xreplace({a: seen[a] for a in atoms})

    return unfold(value)
