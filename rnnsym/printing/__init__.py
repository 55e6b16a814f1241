r"""Printing: the one place math is spelled, and one entry point for every result.

:func:`latex` is SymPy's rule for rnnsym's results: an object with a
``_rnnsym_lines(values, options)`` method (a derivation, a Jacobian chain, a
bound, a graph, a cell) is written as its lines; any other sympy expression
or form is printed by :class:`Printer`.  Every result type's ``latex()``
method is this function.  :func:`markdown` and :func:`text` write the same
results (and whole exercises) as Markdown and as Unicode text for a terminal,
:class:`Display` shows them in a notebook (docs/formats.md).

>>> import rnnsym
>>> latex(rnnsym.elman(1))
['h_{1} = h_{0} \\times W_{h} + x_{1} \\times W_{x}', '\\hat{y}_{1} = h_{1} \\times W_{y}', 'L_{1} = \\left(\\hat{y}_{1} - y_{1}\\right)^{2}', 'L = L_{1}']
"""

from __future__ import annotations

from typing import Any, Mapping

from ..errors import InputTypeError
from .line import Line, assignment_lines, balance, cell_lines, decimal, format_value, join_parts, split_piece, width
from .printer import PARTIAL, TIMES, Printer, RenderOptions
from .block import Block, blocks
from .display import Display
from .as_markdown import markdown
from .as_text import text

__all__ = ["latex", "lines", "markdown", "text", "Display", "Block", "blocks", "Printer", "RenderOptions", "Line", "join_parts", "format_value", "decimal", "width", "split_piece", "balance",
           "assignment_lines", "cell_lines", "TIMES", "PARTIAL"]


def lines(obj: Any, values: Mapping | None = None, options: RenderOptions | None = None) -> list[Line]:
    """``obj`` as :class:`Line` objects (parts kept apart for layout)."""
    options = options or RenderOptions()
    if not isinstance(options, RenderOptions):
        raise InputTypeError("options", options, "a rnnsym.RenderOptions")
    method = getattr(obj, "_rnnsym_lines", None)
    if method is not None:
        return list(method(values, options))
    return [Line((Printer(options).doprint(obj),))]


def latex(obj: Any, values: Mapping | None = None, options: RenderOptions | None = None) -> list[str]:
    """``obj`` as LaTeX, one string per line (no math delimiters), with numbers at ``values``."""
    return [str(line) for line in lines(obj, values, options)]
