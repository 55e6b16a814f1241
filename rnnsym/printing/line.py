"""Relation chains and how a value is written in them.

A :class:`Line` is one relation chain, ``lhs = part = part …``, its parts kept
apart so that a layout can break it between them; :func:`format_value` writes
an exact or approximate value; :func:`rows` and :func:`display` lay chains
out as rows of a LaTeX ``align`` block, broken to fit a page's width.

>>> str(Line(("h_{1}", "h_{0} \\times W_{h}", "2")))
'h_{1} = h_{0} \\times W_{h} = 2'
>>> rows(Line(("h_{1}", "h_{0} \\times W_{h}", "2")))
['h_{1} &= h_{0} \\times W_{h} = 2']
>>> print(display([Line(("h_{1}", "2"))]))
\\begin{align}
  h_{1} &= 2
\\end{align}
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import sympy
from sympy import Expr

from ..notation import CURRENT
from ..notation import symbol as _symbol
from ..exact import Exact
from ..numbers import decimal_latex, format_exact
from .printer import Printer, RenderOptions

__all__ = ["Line", "join_parts", "format_value", "decimal", "width", "split_piece", "balance", "assignment_lines", "cell_lines",
           "ROW_WIDTH", "rows", "display"]


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


_TOKEN = re.compile(r"\\left[(\[|.]|\\right[)\]|.]|\\[A-Za-z]+|.", re.S)
_TERMS = (" + ", " - ")
_FACTORS = (r" \times ", r" \cdot ")


def _top_level(latex: str, separators: tuple[str, ...]) -> list[str]:
    """``latex`` split before each of ``separators`` outside braces and brackets
    (the separator starts the piece after it)."""
    out, depth, start, i = [], 0, 0, 0
    while i < len(latex):
        if depth == 0 and i > start:
            sep = next((s for s in separators if latex.startswith(s, i)), None)
            if sep is not None:
                out.append(latex[start:i])
                start = i + 1
                i += len(sep)
                continue
        token = _TOKEN.match(latex, i).group(0)
        depth += (token == "{" or token.startswith(r"\left")) - (token == "}" or token.startswith(r"\right"))
        i += len(token)
    out.append(latex[start:])
    return out


def _closed(latex: str) -> bool:
    """Whether every bracket and brace of ``latex`` closes inside it, none before it opens."""
    depth = 0
    for token in _TOKEN.findall(latex):
        depth += (token == "{" or token.startswith(r"\left")) - (token == "}" or token.startswith(r"\right"))
        if depth < 0:
            return False
    return depth == 0


def split_piece(piece: str, room: float) -> list[str]:
    r"""``piece`` (a term or factor of a line) broken, if it is wider than
    ``room``, into pieces between its own terms and factors, going inside its
    outermost brackets when it is one bracketed group; the brackets may then
    open on one piece and close on another (:func:`balance` closes each row).

    >>> split_piece(r"\times \left(a + b \times c\right)", 3)
    ['\\times \\left(a', '+ b', '\\times c\\right)']
    >>> split_piece("a + b", 20)
    ['a + b']
    """
    if width(piece) <= room:
        return [piece]
    parts = _split(piece)
    if len(parts) > 1:
        return [sub for part in parts for sub in split_piece(part, room)]
    match = re.fullmatch(r"((?:\\times |\\cdot |[-+] )?)\\left\((.*)\\right\)", piece, re.S)
    if match is None or not _closed(match.group(2)):
        return [piece]
    inner = [sub for part in _split(match.group(2)) for sub in split_piece(part, room)]
    if len(inner) < 2:
        return [piece]
    return [match.group(1) + r"\left(" + inner[0], *inner[1:-1], inner[-1] + r"\right)"]


def _split(latex: str) -> list[str]:
    """``latex`` split between its terms, or if it is one term, between its factors."""
    terms = _top_level(latex, _TERMS)
    return terms if len(terms) > 1 else _top_level(latex, _FACTORS)


def balance(latex: str) -> str:
    r"""``latex`` with ``\left.`` before and ``\right.`` after it as needed for
    its ``\left``/``\right`` pairs to match, so that it can stand as one row.

    >>> balance(r"\times \left(a + b")
    '\\times \\left(a + b \\right.'
    >>> balance(r"+ c\right)")
    '\\left. + c\\right)'
    """
    opened = closed = 0
    for token in _TOKEN.findall(latex):
        if token.startswith(r"\left"):
            opened += 1
        elif token.startswith(r"\right"):
            if opened:
                opened -= 1
            else:
                closed += 1
    return r"\left. " * closed + latex + r" \right." * opened


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


#: Estimated width (in characters of typeset math) above which a chain is
#: broken over several rows.
ROW_WIDTH = 75


def _cells(line: Line, room: float, first_room: float) -> list[tuple[str, bool]]:
    """The parts of ``line`` after its left-hand side, as ``(text, continues)``
    cells: a part that fits is one cell; a wider one is broken between its
    pieces (its terms) into a first cell and cells that continue it on rows of
    their own.  The first cell shares its row with the left-hand side, so it
    has ``first_room``; the others have ``room``."""
    cells: list[tuple[str, bool]] = []
    for i, part in enumerate(line.parts[1:], start=1):
        pieces = line.pieces_of(i)
        limit = first_room if not cells else room
        if width(part) <= limit or len(pieces) == 1:
            cells.append((part, False))
            continue
        chunks: list[list[str]] = [[]]
        used = 0.0
        for piece in (sub for piece in pieces for sub in split_piece(piece, room)):
            w = width(piece)
            if chunks[-1] and used + w > limit:
                chunks.append([])
                used = 0.0
                limit = room
            chunks[-1].append(piece)
            used += w
        cells += [(balance(" ".join(chunk)), k > 0) for k, chunk in enumerate(chunks)]
    return cells


def rows(line: Line, room: float = ROW_WIDTH) -> list[str]:
    """``line`` as ``align`` rows: ``lhs &= …``; a long chain continues on further
    rows that begin with ``&=``, and a part too wide for a row is broken between
    its terms onto rows that begin with ``&\\quad``.  Only the last row is
    numbered, so the equation number stays with its line."""
    lhs = line.parts[0]
    if len(line.parts) == 1:
        return [f"{lhs} &"]
    indent = width(lhs) / 2
    groups: list[tuple[list[str], bool]] = []
    used = 0.0
    for text, continues in _cells(line, room - indent, room - width(lhs)):
        w = width(text)
        if not groups:
            groups.append(([text], False))
            used = width(lhs) + w
        elif continues or used + w > room:
            groups.append(([text], continues))
            used = indent + w
        else:
            groups[-1][0].append(text)
            used += w
    out = []
    for i, (group, continues) in enumerate(groups):
        head = lhs + " " if i == 0 else ""
        if continues:
            sep = r"\quad "
        else:
            sep = "" if group[0].startswith(r"\approx") else "= "
        out.append(f"{head}&{sep}{join_parts(group)}" + (r" \nonumber" if i < len(groups) - 1 else ""))
    return out


def display(lines: Sequence[Line], room: float = ROW_WIDTH) -> str:
    """``lines`` as numbered relation chains in one ``align`` block, each broken
    over rows as :func:`rows` does so that no row passes the page's width."""
    body = " \\\\\n  ".join(row for line in lines for row in rows(line, room))
    return f"\\begin{{align}}\n  {body}\n\\end{{align}}"
