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
from .printing import Line, RenderOptions, join_parts
from .tex import Document, compile_pdf, escape, vet

__all__ = ["Sheet", "ROW_WIDTH", "display", "rows"]

#: Estimated width (in characters of typeset math) above which a chain is
#: broken over several rows.
ROW_WIDTH = 75

_PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[a4paper,margin=2.2cm]{geometry}
\usepackage{amsmath,amssymb}
\usepackage{breqn}
\usepackage{booktabs}
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.5\baselineskip}
\allowdisplaybreaks
"""


def _width(latex: str) -> float:
    """A rough estimate of how wide ``latex`` typesets, in characters."""
    text = re.sub(r"\\(left|right)", "", latex)
    text = text.replace(r"\frac", "\0")
    text = re.sub(r"\\[A-Za-z]+", "x", text)
    text = re.sub(r"[_^]\{([^{}]*)\}", lambda m: "x" * ((len(m.group(1)) + 1) // 2), text)
    fraction = re.compile(r"\0\{([^{}]*)\}\{([^{}]*)\}")
    while fraction.search(text):
        text = fraction.sub(lambda m: "x" * max(len(m.group(1)), len(m.group(2))), text)
    return len(re.sub(r"[{} ]", "", text)) * 1.2


def rows(line: Line, width: float = ROW_WIDTH) -> list[str]:
    """``line`` as ``align`` rows: ``lhs &= …``, long chains continued on
    further rows that begin with ``&=`` (only the last row is numbered)."""
    lhs, rest = line.parts[0], list(line.parts[1:])
    if not rest:
        return [f"{lhs} &"]
    groups: list[list[str]] = [[rest[0]]]
    used = _width(lhs) + _width(rest[0])
    for part in rest[1:]:
        w = _width(part)
        if used + w > width:
            groups.append([part])
            used = _width(lhs) / 2 + w
        else:
            groups[-1].append(part)
            used += w
    out = []
    for i, group in enumerate(groups):
        head = lhs + " " if i == 0 else ""
        sep = "" if group[0].startswith(r"\approx") else "= "
        out.append(f"{head}&{sep}{join_parts(group)}" + (r" \nonumber" if i < len(groups) - 1 else ""))
    return out


def display(lines: Sequence[Line], width: float = ROW_WIDTH) -> str:
    """``lines`` as numbered relation chains: runs of ordinary lines in one
    ``align`` block (long chains continued on further rows), a line with a part
    too wide for a row in a ``dmath`` block of its own (breqn breaks it)."""
    blocks: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            body = " \\\\\n  ".join(run)
            blocks.append(f"\\begin{{align}}\n  {body}\n\\end{{align}}")
            run.clear()

    for line in lines:
        if any(_width(part) > width for part in line.parts):
            flush()
            blocks.append(f"\\begin{{dmath}}\n  {line}\n\\end{{dmath}}")
        else:
            run.extend(rows(line, width))
    flush()
    return "\n".join(blocks)


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
                    pieces.append((display(answer.lines(exercise.values, self.options)), generated))
                    pieces += [(note, generated) for note in answer.notes(exercise.values)]
                if question.answer_text:
                    pieces.append((vet(question.answer_text, f"{key}.answer", self.trust_latex), f"{key}.answer"))
        pieces.append((r"\end{document}", None))
        return Document.join(pieces)

    def tex(self) -> str:
        """The complete LaTeX document."""
        return self.document().text

    def pdf(self, timeout: float = TEX_TIMEOUT, latexmk: str = "latexmk") -> bytes:
        """The document built to PDF by :func:`rnnsym.tex.compile_pdf` (sandboxed)."""
        return compile_pdf(self.document(), timeout, latexmk)
