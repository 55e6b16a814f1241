r"""Markdown: derivations, tables and whole exercises for GitHub, Jupyter and Markdown readers.

Relation chains are one display block each result, ``$$\begin{aligned} lhs &= … \\ … \end{aligned}$$``,
aligned at their first relation: the ``aligned`` environment and every
command rnnsym writes are in what MathJax and KaTeX render (GitHub and Jupyter
use them); no ``align`` or ``\nonumber``, which they do not.  Tables are
Markdown tables, paragraphs Markdown text with their ``$…$`` math kept.

>>> import rnnsym
>>> ex = rnnsym.reference()
>>> print(markdown(rnnsym.derive(ex.graph, "L", "h_1"), ex.values).splitlines()[-3])
\frac{\partial L}{\partial h_{1}} &= -4 + 4 = 0
>>> print(markdown(ex).splitlines()[0])
# Recurrent neural networks: backpropagation through time
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

from .block import Block, blocks, table_rows
from .line import Line, join_parts
from .printer import RenderOptions
from pylatexenc.latexwalker import (LatexEnvironmentNode, LatexGroupNode, LatexMacroNode, LatexMathNode,
                                    LatexSpecialsNode)

from .unicode import parse, to_text

__all__ = ["markdown", "render", "aligned", "text_to_markdown", "escape_markdown"]

_SPECIAL = re.compile(r"([\\`*_\[\]<>|#$])")
_ESCAPED = {"&": "&", "%": "%", "$": r"\$", "#": r"\#", "_": r"\_", "{": "{", "}": "}", " ": " ", ",": " "}
_STYLE = {"texttt": "`", "emph": "*", "textit": "*", "textbf": "**", "paragraph": "**"}


def escape_markdown(text: str) -> str:
    """Plain ``text`` with Markdown's special characters escaped.

    >>> escape_markdown("h_t * 2 | x")
    'h\\\\_t \\\\* 2 \\\\| x'
    """
    return _SPECIAL.sub(r"\\\1", text)


def _row(line: Line) -> str:
    """One line as a row of ``aligned``: ``lhs &= …`` (``&\\approx`` for an approximation)."""
    if len(line.parts) == 1:
        return f"{line.parts[0]} &"
    rest = join_parts(line.parts[1:])
    relation = "" if line.parts[1].startswith(r"\approx") else "= "
    return f"{line.parts[0]} &{relation}{rest}"


def aligned(lines: Sequence[Line]) -> str:
    r"""``lines`` as one ``aligned`` environment (without ``$$``).

    >>> from rnnsym.printing import Line
    >>> print(aligned([Line(("h_{1}", "2")), Line(("x", r"\approx 0.5"))]))
    \begin{aligned}
    h_{1} &= 2 \\
    x &\approx 0.5
    \end{aligned}
    """
    return "\\begin{aligned}\n" + " \\\\\n".join(_row(line) for line in lines) + "\n\\end{aligned}"


def _nodes(nodes) -> str:
    out = []
    for node in nodes or ():
        if node is None:
            continue
        if isinstance(node, LatexMathNode):
            inner = "".join(n.latex_verbatim() for n in node.nodelist).strip()
            display = node.displaytype == "display"
            out.append(f"\n\n$$\n{inner}\n$$\n\n" if display else f"${inner}$")
        elif isinstance(node, LatexGroupNode):
            out.append(_nodes(node.nodelist))
        elif isinstance(node, LatexMacroNode):
            out.append(_macro(node))
        elif isinstance(node, LatexSpecialsNode):
            out.append({"--": "–", "---": "—", "~": " ", "``": "“", "''": "”"}.get(node.specials_chars,
                                                                                escape_markdown(node.specials_chars)))
        elif isinstance(node, LatexEnvironmentNode):
            out.append(_environment(node))
        elif hasattr(node, "chars"):
            out.append(escape_markdown(node.chars))
    return "".join(out)


def _macro(node: LatexMacroNode) -> str:
    name = node.macroname
    args = [a for a in (node.nodeargd.argnlist if node.nodeargd is not None else []) if a is not None]
    if name in _ESCAPED:
        return _ESCAPED[name]
    if name == "\\":
        return "  \n"
    if name in _STYLE and args:
        mark = _STYLE[name]
        inner = to_text(args[-1].latex_verbatim(), math=False) if name == "texttt" else _nodes([args[-1]])
        return f"{mark}{inner.strip()}{mark}"
    if name in ("text", "textrm", "mbox", "textsf", "underline") and args:
        return _nodes([args[-1]])
    return escape_markdown(to_text(node.latex_verbatim(), math=False)) + node.macro_post_space


def _environment(node: LatexEnvironmentNode) -> str:
    name = node.environmentname
    if name == "tabular":
        return "\n\n" + _table(table_rows(node.latex_verbatim())) + "\n\n"
    if name in ("itemize", "enumerate"):
        items, current = [], None
        for child in node.nodelist:
            if isinstance(child, LatexMacroNode) and child.macroname == "item":
                current = []
                items.append(current)
            elif current is not None:
                current.append(child)
        mark = "-" if name == "itemize" else "1."
        return "\n\n" + "\n".join(f"{mark} {_nodes(item).strip()}" for item in items) + "\n\n"
    if name in ("equation", "equation*", "align", "align*", "displaymath", "gather", "gather*"):
        body = "".join(n.latex_verbatim() for n in node.nodelist).strip().replace(r"\nonumber", "")
        inner = body if name.startswith(("equation", "displaymath")) else rf"\begin{{aligned}}{body}\end{{aligned}}"
        return f"\n\n$$\n{inner}\n$$\n\n"
    return _nodes(node.nodelist)


def text_to_markdown(latex: str) -> str:
    r"""LaTeX text (an intro, a question, a note) as Markdown: ``$…$`` math kept,
    ``\emph``, ``\textbf`` and ``\texttt`` as emphasis, strong and code, escaped
    characters as themselves, ``tabular`` as a Markdown table, lists as lists.

    >>> text_to_markdown(r"Williams \& Peng's \emph{truncated} BPTT, $t - s < k$ (\texttt{k\_max}).")
    "Williams & Peng's *truncated* BPTT, $t - s < k$ (`k_max`)."
    """
    text = _nodes(parse(latex))
    text = re.sub(r"[ \t]*\n[ \t]*\n\s*", "\n\n", text)
    return text.strip()


def _table(rows: Sequence[Sequence[str]]) -> str:
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    cells = [[text_to_markdown(c).replace("\n", " ") for c in row] + [""] * (width - len(row)) for row in rows]
    lines = ["| " + " | ".join(cells[0]) + " |", "| " + " | ".join(["---:"] * width) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in cells[1:]]
    return "\n".join(lines)


def _block(block: Block) -> str:
    if block.kind == "heading":
        return "#" * block.level + " " + escape_markdown(block.content)
    if block.kind == "label":
        return f"**{escape_markdown(block.content)}**"
    if block.kind == "lines":
        return f"$$\n{aligned(block.content)}\n$$" if block.content else ""
    if block.kind == "table":
        return _table(block.content)
    return text_to_markdown(block.content)


def render(written: Sequence[Block]) -> str:
    """Blocks (:func:`rnnsym.printing.block.blocks`) as one Markdown document."""
    return "\n\n".join(text for text in map(_block, written) if text) + "\n"


def markdown(obj: Any, values: Mapping | None = None, options: RenderOptions | None = None) -> str:
    """``obj`` as Markdown, with numbers at ``values``: a derivation, a truncated
    or tensor derivation, a computation, a Jacobian chain, a bound, a flow table,
    or a whole :class:`~rnnsym.exercise.Exercise` (title, intro, each question,
    its answer with the exercise's numbers, the author's answer text).

    What is written is :func:`rnnsym.printing.block.blocks`; errors as there.
    """
    return render(blocks(obj, values, options))
