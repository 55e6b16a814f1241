"""Relation chains and how a value is written in them.

A :class:`Line` is one relation chain, ``lhs = part = part …``, its parts kept
apart so that a layout can break it between them; :func:`format_value` writes
an exact or approximate value.

>>> str(Line(("h_{1}", "h_{0} \\times W_{h}", "2")))
'h_{1} = h_{0} \\times W_{h} = 2'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sympy
from sympy import Expr

from ..notation import CURRENT
from ..notation import symbol as _symbol
from ..exact import Exact
from ..numbers import decimal_latex, format_exact
from .printer import Printer, RenderOptions

__all__ = ["Line", "join_parts", "format_value", "decimal", "width", "assignment_lines", "cell_lines"]


@dataclass(frozen=True)
class Line:
    """One rendered relation chain: ``parts`` joined by ``=``.

    ``pieces`` may give, for each part, the pieces a layout can break it
    between (its terms with their signs; see :meth:`Printer.pieces`), or
    ``None`` for a part that is not broken.
    """

    parts: tuple[str, ...]
    pieces: tuple[tuple[str, ...] | None, ...] = ()

    def __str__(self) -> str:
        return join_parts(self.parts)

    def pieces_of(self, i: int) -> tuple[str, ...]:
        """The pieces of part ``i`` (the whole part when none were given)."""
        given = self.pieces[i] if i < len(self.pieces) else None
        return given if given else (self.parts[i],)


_WIDE = {"times": 3, "cdot": 3, "approx": 3, "le": 3, "ge": 3, "quad": 3, "qquad": 6, "cdots": 3, "ldots": 3,
         "tanh": 4, "sigma": 1, "log": 3, "exp": 3, "sum": 2, "operatorname": 0, "mathbf": 0, "mathrm": 0,
         "hat": 0, "tilde": 0, "bar": 0, "top": 1, "odot": 3, "partial": 1}


def width(latex: str) -> float:
    """A rough estimate of how wide ``latex`` typesets, in characters of text
    (a relation or binary operator counts with the space around it).

    >>> width(r"\\frac{\\partial L}{\\partial W_{h}}") < width("L_1 + L_2 + L_3")
    True
    """
    text = re.sub(r"\\(left|right)", "", latex)
    text = text.replace(r"\frac", "\0")
    text = re.sub(r"\\([A-Za-z]+)", lambda m: "x" * _WIDE.get(m.group(1), 1), text)
    text = re.sub(r"\s*([=+<>]|-(?=\s))\s*", "xxx", text)
    text = re.sub(r"[_^]\{([^{}]*)\}", lambda m: "x" * ((len(m.group(1)) + 1) // 2), text)
    fraction = re.compile(r"\0\{([^{}]*)\}\{([^{}]*)\}")
    while fraction.search(text):
        text = fraction.sub(lambda m: "x" * max(len(m.group(1)), len(m.group(2))), text)
    return len(re.sub(r"[{} ,]", "", text)) * 1.1


def join_parts(parts: tuple[str, ...] | list[str]) -> str:
    """Parts of a chain joined by ``=`` (a part that is an approximation, by itself)."""
    text = parts[0] if parts else ""
    for part in parts[1:]:
        text += " " + part if part.startswith(r"\approx") else " = " + part
    return text


def format_value(value: Expr, options: RenderOptions, approx: Expr | None = None, exact: bool = True) -> str:
    """LaTeX for a value: integer, decimal or fraction when rational; else its
    exact form when short (and ``exact``), followed by ``\\approx`` a decimal.

    ``approx`` is the value already computed in floating point, if known.
    """
    if isinstance(value, sympy.Rational):
        return format_exact(value, options.max_decimals)
    unfolded = value.expr if isinstance(value, Exact) else value
    short = exact and not unfolded.has(Exact) and sympy.count_ops(unfolded) <= 4
    text = Printer(options).doprint(value) if short or not options.approx_digits else None
    if not options.approx_digits:
        return text
    shown = decimal(approx if approx is not None else value, options.approx_digits)
    return rf"{text} \approx {shown}" if short else rf"\approx {shown}"


def decimal(value: Expr, digits: int) -> str:
    """``value`` to ``digits`` significant digits (:func:`rnnsym.numbers.decimal_latex`)."""
    return decimal_latex(value, digits)


def assignment_lines(graph, options: RenderOptions | None = None) -> list[str]:
    """``quantity = definition`` for every assignment of ``graph``."""
    printer = Printer(options or RenderOptions())
    return [f"{printer.doprint(a.target)} = {printer.doprint(a.form)}" for a in graph.assignments]


def cell_lines(cell, options: RenderOptions | None = None) -> list[str]:
    """The template equations of a cell, written at a generic step t.

    >>> from rnnsym.cells import elman_cell
    >>> cell_lines(elman_cell("tanh"))[:2]
    ['z_{t} = h_{t-1} \\\\times W_{h} + x_{t} \\\\times W_{x}', 'h_{t} = \\\\tanh{\\\\left(z_{t} \\\\right)}']
    """
    printer = Printer(options or RenderOptions())
    return [f"{printer.doprint(_symbol(e.base + CURRENT))} = {printer.doprint(e.form)}" for e in cell.equations]
