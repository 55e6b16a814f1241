r"""Plain text for a terminal: the same relations as the LaTeX, in Unicode.

Every part of a relation chain is written by :func:`~rnnsym.printing.unicode.to_text`
(∂L/∂W_h, ŷ₂, ×, −, fractions as a/b); chains are aligned at their first
relation, tables in columns, headings underlined.

>>> import rnnsym
>>> ex = rnnsym.reference()
>>> print(text(rnnsym.derive(ex.graph, "L", "W_h"), ex.values))
      ŷ₁ = h₁ × W_y = (h₀ × W_h + x₁ × W_x) × W_y
      ŷ₂ = h₂ × W_y = (h₁ × W_h + x₂ × W_x) × W_y
       L = L₁ + L₂ = (ŷ₁ − y₁)² + (ŷ₂ − y₂)²
 ∂L/∂W_h = ∂L₁/∂W_h + ∂L₂/∂W_h
∂L₁/∂W_h = ∂L₁/∂ŷ₁ × ∂ŷ₁/∂W_h = 2 × (ŷ₁ − y₁) × h₀ W_y = 2 × (4 − 5) × 1 × 2 = −4
∂L₂/∂W_h = ∂L₂/∂ŷ₂ × ∂ŷ₂/∂W_h = 2 × (ŷ₂ − y₂) × (h₀ W_h W_y + h₁ W_y) = 2 × (6 − 5) × (1 × 1 × 2 + 2 × 2) = 12
 ∂L/∂W_h = −4 + 12 = 8
>>> print(text(rnnsym.compute(ex.graph, "yhat_2"), ex.values))
h₁ = h₀ × W_h + x₁ × W_x = 1 × 1 + 10 × 0.1 = 2
h₂ = h₁ × W_h + x₂ × W_x = 2 × 1 + 10 × 0.1 = 3
ŷ₂ = h₂ × W_y = 3 × 2 = 6
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Mapping, Sequence

from .block import Block, blocks
from .line import Line
from .printer import RenderOptions
from .unicode import to_text

__all__ = ["text", "render", "chain_text", "display_width", "MAX_PAD"]

#: Left-hand sides are padded to align the relations of a block when the longest is at most this wide.
MAX_PAD = 24


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal (combining accents take none).

    >>> display_width("h̃₂"), len("h̃₂")
    (2, 3)
    """
    return sum(0 if unicodedata.combining(c) else 1 for c in text)


def chain_text(line: Line) -> tuple[str, str]:
    """A line as text: its left-hand side and the rest (``= a = b``, or ``≈ c``)."""
    lhs = to_text(line.parts[0])
    rest = ""
    for part in line.parts[1:]:
        written = to_text(part)
        rest += " " + written if written.startswith("≈") else " = " + written
    return lhs, rest


def _lines(lines: Sequence[Line]) -> str:
    chains = [chain_text(line) for line in lines]
    widest = max((display_width(lhs) for lhs, rest in chains if rest), default=0)
    pad = widest if widest <= MAX_PAD else 0
    out = []
    for lhs, rest in chains:
        if not rest and lhs in ("⋮", "⋯"):
            out.append(" " * max(pad - 1, 0) + lhs)
        else:
            out.append(" " * (pad - display_width(lhs)) + lhs + rest)
    return "\n".join(out)


def _paragraph(latex: str) -> str:
    return "\n\n".join(to_text(p, math=False) for p in re.split(r"\n\s*\n", latex) if p.strip())


def _table(rows: Sequence[Sequence[str]]) -> str:
    cells = [[to_text(c, math=False).replace("\n", " ") for c in row] for row in rows]
    width = max(len(r) for r in cells)
    cells = [row + [""] * (width - len(row)) for row in cells]
    widths = [max(display_width(row[i]) for row in cells) for i in range(width)]

    def line(row: list[str]) -> str:
        return "  ".join(" " * (w - display_width(c)) + c for c, w in zip(row, widths)).rstrip()

    return "\n".join([line(cells[0]), "  ".join("-" * w for w in widths)] + [line(row) for row in cells[1:]])


def _block(block: Block) -> str:
    if block.kind == "heading":
        title = block.content  # plain text, as on a sheet
        return title + "\n" + ("=" if block.level == 1 else "-") * display_width(title)
    if block.kind == "label":
        return block.content + ":"
    if block.kind == "lines":
        return _lines(block.content)
    if block.kind == "table":
        return _table(block.content)
    return _paragraph(block.content)


def render(written: Sequence[Block]) -> str:
    """Blocks (:func:`rnnsym.printing.block.blocks`) as plain text, blocks apart by a blank line."""
    return "\n\n".join(text for text in map(_block, written) if text)


def text(obj: Any, values: Mapping | None = None, options: RenderOptions | None = None) -> str:
    """``obj`` as plain Unicode text, with numbers at ``values``: anything
    :func:`rnnsym.printing.as_markdown.markdown` writes, with the same blocks
    (:func:`rnnsym.printing.block.blocks`; errors as there).
    """
    return render(blocks(obj, values, options))
