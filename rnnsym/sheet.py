"""Solution sheets: exercises rendered as a LaTeX document, and built to PDF (:mod:`rnnsym.tex`).

>>> from rnnsym.exercise import reference
>>> tex = Sheet([reference()]).tex()
>>> tex.startswith("\\\\documentclass")
True
>>> "\\\\frac{\\\\partial L}{\\\\partial W_{h}} &= -4 + 12 = 8" in tex
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

from .errors import InputError, InputTypeError
from .exercise import Exercise
from .limits import TEX_TIMEOUT
from .printing import Line, RenderOptions, balance, join_parts, split_piece, width
from .tex import Document, compile_pdf, escape, vet

__all__ = ["Sheet", "ROW_WIDTH", "display", "rows"]

#: Estimated width (in characters of typeset math) above which a chain is
#: broken over several rows.
ROW_WIDTH = 75

_PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[a4paper,margin=2.2cm]{geometry}
\usepackage{amsmath,amssymb}
\usepackage{booktabs}
\usepackage{tikz}
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.5\baselineskip}
\allowdisplaybreaks
"""


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


def notation_legend(tex: str, exercises: Sequence[Exercise]) -> str:
    """A paragraph defining the notation ``tex`` uses beyond the obvious: ∂⁺, entries
    of vectors and matrices, and the GRU's gate convention (empty when none is used)."""
    parts = []
    if r"\partial^{+}" in tex:
        parts.append(r"$\frac{\partial A}{\partial B}$ is the derivative of $A$ along every path from $B$, with $B$ "
                     r"treated as free; $\frac{\partial^{+} A}{\partial B}$ is the immediate partial derivative of "
                     r"$A$'s own definition, its other arguments held fixed.")
    if re.search(r"[A-Za-z}]_\{[A-Za-z0-9-]+,\d", tex):
        parts.append(r"$h_{t,i}$ is entry $i$ of the vector $h_t$, and $W_{h,ij}$ the entry in row $i$ and "
                     r"column $j$ of the matrix $W_h$.")
    if any(e.graph.cell.name == "gru" for e in exercises) or r"\tilde{h}_{t}" in tex:
        parts.append(r"In a GRU, $z_t$ is the update gate and $h_t = z_t h_{t-1} + (1 - z_t) \tilde{h}_t$: "
                     r"$z_t$ near 1 keeps the old state.")
    return (r"\paragraph{Notation} " + " ".join(parts)) if parts else ""


@dataclass(frozen=True)
class Sheet:
    """Exercises to typeset as one document of worked answers.

    Titles and labels are plain text and are escaped; an exercise's ``intro``
    and its questions' ``text`` and ``answer`` are LaTeX and are vetted
    (:func:`rnnsym.tex.vet`) unless ``trust_latex`` is set.
    """

    exercises: Sequence[Exercise]
    options: RenderOptions = field(default_factory=RenderOptions)
    title: str | None = None
    trust_latex: bool = False

    def __post_init__(self) -> None:
        if not self.exercises:
            raise InputError("sheet.exercises", list(self.exercises), "at least one exercise")
        if not isinstance(self.trust_latex, bool):
            raise InputTypeError("sheet.trust_latex", self.trust_latex, "true or false")

    def document(self) -> Document:
        """The complete LaTeX document, with the exercise key behind each line."""
        several = len(self.exercises) > 1
        title = self.title or self.exercises[0].title
        pieces: list[tuple[str, str | None]] = [(_PREAMBLE.rstrip("\n") + "\n", None)]
        pieces.append((f"\\title{{{escape(title)}}}", "sheet title" if self.title else "title"))
        pieces += [(r"\date{}", None), (r"\begin{document}", None), (r"\maketitle", None)]
        for n, exercise in enumerate(self.exercises):
            at = (lambda key: f"exercise {n + 1}: {key}") if several else (lambda key: key)
            if several:
                pieces.append((f"\\section*{{{escape(exercise.title)}}}", at("title")))
            if exercise.intro:
                pieces.append((vet(exercise.intro, at("intro"), self.trust_latex), at("intro")))
            for i, (question, answer) in enumerate(exercise.answers(self.options)):
                key = at(f"questions[{i}]")
                pieces.append((f"\\subsection*{{{escape(question.label)}}}", f"{key}.label"))
                if question.text:
                    pieces.append((vet(question.text, f"{key}.text", self.trust_latex), f"{key}.text"))
                pieces.append((r"\paragraph{Answer}", None))
                generated = f"the answer to {question.label} (written by rnnsym)"
                if question.show is not None:
                    pieces += [(item if isinstance(item, str) else display(item), generated) for item in answer]
                else:
                    pieces.append((display(answer.lines(exercise.evaluation, self.options)), generated))
                    pieces += [(f"\\begin{{center}}\n{table}\n\\end{{center}}", generated)
                               for table in answer.tables(exercise.evaluation, self.options)]
                    pieces += [(note, generated) for note in answer.notes(exercise.evaluation)]
                if question.answer_text:
                    pieces.append((vet(question.answer_text, f"{key}.answer", self.trust_latex), f"{key}.answer"))
        legend = notation_legend("\n".join(text for text, _ in pieces), self.exercises)
        if legend:
            pieces.insert(5, (legend, "the notation (written by rnnsym)"))
        pieces.append((r"\end{document}", None))
        return Document.join(pieces)

    def tex(self) -> str:
        """The complete LaTeX document."""
        return self.document().text

    def pdf(self, timeout: float = TEX_TIMEOUT, latexmk: str = "latexmk") -> bytes:
        """The document built to PDF by :func:`rnnsym.tex.compile_pdf` (sandboxed)."""
        return compile_pdf(self.document(), timeout, latexmk)
