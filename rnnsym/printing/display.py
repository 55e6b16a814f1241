r"""A result written at values, for a notebook and for a terminal.

:class:`Display` holds what :func:`~rnnsym.printing.block.blocks` writes for
a result at given values and shows it the way its surroundings want: Jupyter
calls ``_repr_markdown_`` (the relations as math, tables, notes) or
``_repr_latex_`` (the relations and tables as one ``aligned`` display),
``print`` and ``str`` give the text of :func:`~rnnsym.printing.as_text.text`.
``Derivation.show(values)`` and ``JacobianChain.show(values)`` return one.

>>> import rnnsym
>>> ex = rnnsym.reference()
>>> shown = rnnsym.derive(ex.graph, "L", "h_1").show(ex.values)
>>> shown
Display(Derivation(dL/dh_1, split='loss', 4 lines): 7 lines; print() for text, a notebook shows math)
>>> print(str(shown).splitlines()[-1])
 ∂L/∂h₁ = −4 + 4 = 0
>>> shown._repr_markdown_().splitlines()[-3]
'\\frac{\\partial L}{\\partial h_{1}} &= -4 + 4 = 0'
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

from .block import Block, blocks
from .as_markdown import aligned
from .as_markdown import render as _markdown
from .printer import RenderOptions
from .as_text import render as _text
from pylatexenc.latexwalker import LatexMathNode

from .unicode import parse

__all__ = ["Display", "math_cell"]


def math_cell(latex: str) -> str:
    r"""A table cell of LaTeX text as math: ``$…$`` as its inside, words in ``\text{…}``.

    >>> math_cell("contribution to $x$")
    '\\text{contribution to }x'
    """
    out = []
    for node in parse(latex):
        if isinstance(node, LatexMathNode):
            out.append("".join(n.latex_verbatim() for n in node.nodelist))
        elif node is not None and node.latex_verbatim().strip():
            verbatim = node.latex_verbatim()
            number = re.fullmatch(r"\s*[-+]?[\d.]+(?:e[-+]?\d+)?\s*", verbatim)
            out.append(verbatim.strip() if number else rf"\text{{{verbatim}}}")
    return "".join(out)


def _array(rows: Sequence[Sequence[str]]) -> str:
    width = max(len(r) for r in rows)
    body = [" & ".join(math_cell(c) for c in row) for row in rows]
    return (rf"\begin{{array}}{{{'r' * width}}}" + "\n" + body[0] + r" \\ \hline" + "\n"
            + " \\\\\n".join(body[1:]) + "\n\\end{array}")


class Display:
    """``obj`` written at ``values`` with ``options``: Markdown and LaTeX for a notebook,
    text for ``print``.  Errors are raised when it is made, as by
    :func:`~rnnsym.printing.block.blocks`."""

    def __init__(self, obj: Any, values: Mapping | None = None, options: RenderOptions | None = None) -> None:
        self.obj = obj
        self.values = values
        self.options = options if options is not None else RenderOptions()
        self.blocks: list[Block] = blocks(obj, values, self.options)

    def _count(self, kind: str) -> int:
        return sum(len(b.content) if kind == "lines" else 1 for b in self.blocks if b.kind == kind)

    def __repr__(self) -> str:
        n = self._count("lines")
        counts = [f"{n} line" + ("s" if n != 1 else "")]
        counts += [f"{n} {kind}s" if n > 1 else f"1 {kind}" for kind in ("table", "note") if (n := self._count(kind))]
        at = "" if self.values is not None else ", no values"
        shown = repr(self.obj)
        shown = shown if len(shown) <= 80 else type(self.obj).__name__
        return f"Display({shown}{at}: {', '.join(counts)}; print() for text, a notebook shows math)"

    def __str__(self) -> str:
        return _text(self.blocks)

    def _repr_markdown_(self) -> str:
        return _markdown(self.blocks)

    def _repr_latex_(self) -> str:
        parts = []
        for block in self.blocks:
            if block.kind == "lines" and block.content:
                parts.append(aligned(block.content))
            elif block.kind == "table":
                parts.append(_array(block.content))
        if not parts:
            return ""
        body = parts[0] if len(parts) == 1 else (
            "\\begin{gathered}\n" + " \\\\[1ex]\n".join(parts) + "\n\\end{gathered}")
        return f"$$\n{body}\n$$"
