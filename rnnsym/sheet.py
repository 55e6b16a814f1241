"""Question and solution sheets: exercises rendered as a LaTeX document, and built to PDF (:mod:`rnnsym.tex`).

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
from typing import Callable, Sequence

from .binding import bind
from .derivation.immediate import ACROSS_STEPS, across_steps
from .derivation.truncate import truncation
from .errors import InputError, InputTypeError
from .diagram import network_figure
from .exercise import Exercise, Question
from .forms import Partial
from .graph import Graph
from .limits import MAX_TEXT, TEX_TIMEOUT, check_at_most
from .notation import symbol
from .printing import Printer, RenderOptions
from .printing.line import ROW_WIDTH, display, rows
from .tex import Document, compile_pdf, escape, vet

__all__ = ["Sheet", "Header", "KINDS", "ROW_WIDTH", "display", "rows", "given_values", "prompt"]

_PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[a4paper,margin=2.2cm]{geometry}
\usepackage{amsmath,amssymb}
\usepackage{booktabs}
\usepackage{tikz}
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.5\baselineskip}
\allowdisplaybreaks
"""


def notation_legend(tex: str, exercises: Sequence[Exercise]) -> str:
    """The paragraph defining the notation ``tex`` uses: ∂⁺ (across steps too), entries, GRU gates; empty if none."""
    parts = []
    if r"\partial^{+}" in tex:
        parts.append(r"$\frac{\partial A}{\partial B}$ is the derivative of $A$ along every path from $B$, with $B$ "
                     r"treated as free; $\frac{\partial^{+} A}{\partial B}$ is the immediate partial derivative of "
                     r"$A$'s own definition, its other arguments held fixed." + (ACROSS_STEPS if across_steps(tex) else ""))
    if re.search(r"[A-Za-z}]_\{[A-Za-z0-9-]+,\d", tex):
        parts.append(r"$h_{t,i}$ is entry $i$ of the vector $h_t$, and $W_{h,ij}$ the entry in row $i$ and "
                     r"column $j$ of the matrix $W_h$.")
    if any(e.graph.cell.name == "gru" for e in exercises) or r"\tilde{h}_{t}" in tex:
        parts.append(r"In a GRU, $z_t$ is the update gate and $h_t = z_t h_{t-1} + (1 - z_t) \tilde{h}_t$: "
                     r"$z_t$ near 1 keeps the old state.")
    return (r"\paragraph{Notation} " + " ".join(parts)) if parts else ""


#: What a sheet holds: worked answers, the questions alone, or both (questions first).
KINDS = ("solutions", "questions", "both")

#: What a topic question asks, on a question sheet, when the author gave no text.
_TOPIC_PROMPTS = {
    "recurrence": "Write down the most general recurrence formula of a recurrent neural network.",
    "vanishing": "Explain why long-range dependencies are difficult to learn in a recurrent neural network.",
    "gated": "Explain why a gated cell preserves long-range dependencies better than a vanilla recurrent network.",
    "truncation": "Give the advantage and the disadvantage of truncated backpropagation through time.",
}


@dataclass(frozen=True)
class Header:
    r"""What a sheet shows at its top besides the title: the ``course`` and the
    ``date`` under the title, and ``instructions`` as paragraphs (separated by
    blank lines) before the first question.  All three are plain text and are
    escaped, so ``\input{x}`` prints as those characters.

    >>> Header(course="IN5400", date="2026-12-01", instructions="No aids.\n\nShow your work.").paragraphs()
    ['No aids.', 'Show your work.']
    >>> Header(course=5400)
    Traceback (most recent call last):
    ...
    rnnsym.errors.InputTypeError: header.course: got 5400 of type int, expected a string
    """

    course: str = ""
    date: str = ""
    instructions: str = ""

    def __post_init__(self) -> None:
        for name in ("course", "date", "instructions"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise InputTypeError(f"header.{name}", value, "a string")
            check_at_most(f"header.{name}", len(value), MAX_TEXT, "characters", shown=f"a text of {len(value)} characters")

    def paragraphs(self) -> list[str]:
        """The instructions' paragraphs, as plain text (blank lines separate them)."""
        return [" ".join(p.split()) for p in re.split(r"\n\s*\n", self.instructions) if p.strip()]


def given_values(exercise: Exercise, options: RenderOptions | None = None) -> str:
    r"""A paragraph stating every value of ``exercise`` (each leaf of its model):
    a scalar as ``name = value``, a vector as a column and a matrix as a
    ``bmatrix`` (row-major, as exercise files write them), each number in its
    author's spelling and each name as :class:`~rnnsym.notation.Notation` spells it.

    >>> from rnnsym.exercise import reference
    >>> print(given_values(reference()))
    \paragraph{Given} $h_{0} = 1$, $W_{h} = 1$, $W_{x} = 0.1$, $W_{y} = 2$, $x_{1} = 10$, $x_{2} = 10$, $y_{1} = 5$, $y_{2} = 5$.
    """
    options = options or RenderOptions()
    numbers = bind(exercise.graph, exercise.values)
    groups: dict[str, dict[tuple[int, ...], str]] = {}
    for leaf in exercise.graph.leaves:
        name, _, index = str(leaf).partition("[")
        key = tuple(int(i) for i in index.rstrip("]").split(",")) if index else ()
        groups.setdefault(name, {})[key] = numbers[leaf].latex
    shown = []
    for name, entries in groups.items():
        value = entries.get(())
        if value is None:  # row i holds the entries (i,) of a vector, (i, j) of a matrix
            rows = [[v for k, v in sorted(entries.items()) if k[0] == i] for i in sorted({k[0] for k in entries})]
            value = r"\begin{bmatrix} " + r" \\ ".join(" & ".join(row) for row in rows) + r" \end{bmatrix}"
        shown.append(f"${options.notation.spell(name)} = {value}$")
    return r"\paragraph{Given} " + ", ".join(shown) + "."


def prompt(question: Question, options: RenderOptions | None = None) -> str:
    r"""What ``question`` asks, as LaTeX for a question sheet: the author's text
    (as written; the sheet vets it), or, when there is none, a sentence naming what
    to find, written by the printer.

    >>> from rnnsym.exercise import reference
    >>> prompt(reference().ask("dL/dW_h"))
    'Compute $\\frac{\\partial L}{\\partial W_{h}}$.'
    >>> prompt(reference().ask("yhat_2"), RenderOptions(partial="d"))
    'Compute $\\hat{y}_{2}$.'
    """
    if question.text:
        return question.text
    options = options or RenderOptions()
    if question.show is not None:
        return escape(_TOPIC_PROMPTS.get(question.show, f"Explain: {question.show}."))
    if getattr(question, "step", None) is not None:  # a training step (rnnsym.training)
        return question.step.prompt(options)
    printer = Printer(options)
    if question.wrt is None:
        return f"Compute ${printer.doprint(symbol(question.of))}$."
    what = printer.doprint(Partial(symbol(question.of), symbol(question.wrt), question.find.replace(" ", "").startswith("d+")))
    if question.truncate is None:
        return f"Compute ${what}$."
    rule = truncation(question.truncate, question.truncation)
    return f"Compute ${what}$ by backpropagation through time truncated at ${rule.label(latex=True)}$."


@dataclass(frozen=True)
class _Part:
    """One exercise of a sheet: its heading (or None), its keys' prefix, and whether it starts a new page."""

    exercise: Exercise
    heading: str | None
    prefix: str
    new_page: bool

    def at(self, key: str) -> str:
        return f"{self.prefix}: {key}" if self.prefix else key


@dataclass(frozen=True)
class Sheet:
    r"""Exercises to typeset as one document: worked answers (``kind="solutions"``),
    the questions alone (``"questions"``: each question's text and the exercise's
    values, no answers), or both (the questions, then from a new page the answers).

    Several exercises get a section each.  ``variant_numbers``, when given, holds
    each exercise's number as a variant of a run (:class:`~rnnsym.variants.Variant`,
    see :meth:`from_variants`): each is then headed "Variant n: title" and starts
    a new page, on the question sheet and on the solution sheet.  ``header`` adds
    a course, a date and instructions (:class:`Header`).  ``figure`` (by default
    :func:`rnnsym.diagram.network_figure`, the unrolled network; None for none)
    is called with each exercise's graph and returns LaTeX (not a float,
    so that it stays with its exercise) placed after the exercise's intro on
    question and solution sheets alike; the figure is rnnsym's own output and is
    not vetted.

    Titles, labels and the header are plain text and are escaped; an exercise's
    ``intro`` and its questions' ``text`` and ``answer`` are LaTeX and are vetted
    (:func:`rnnsym.tex.vet`) unless ``trust_latex`` is set.  The document is the
    same for the same input: no timestamps (``\date{}`` unless the header gives a date).

    >>> from rnnsym.exercise import reference
    >>> questions = Sheet([reference()], kind="questions").tex()
    >>> "-4 + 12 = 8" in questions, r"$W_{x} = 0.1$" in questions
    (False, True)
    >>> Sheet([reference()], kind="answers")
    Traceback (most recent call last):
    ...
    rnnsym.errors.InputError: sheet.kind: got 'answers', expected one of 'solutions', 'questions', 'both'
    """

    exercises: Sequence[Exercise]
    options: RenderOptions = field(default_factory=RenderOptions)
    title: str | None = None
    trust_latex: bool = False
    kind: str = "solutions"
    header: Header | None = None
    figure: Callable[[Graph], str] | None = network_figure
    variant_numbers: Sequence[int] | None = None

    def __post_init__(self) -> None:
        if not self.exercises:
            raise InputError("sheet.exercises", list(self.exercises), "at least one exercise")
        for item in self.exercises:
            if not isinstance(item, Exercise):
                raise InputTypeError("sheet.exercises", item, "exercises (rnnsym.Exercise)")
        numbers = self.variant_numbers
        if numbers is not None and (
            len(numbers) != len(self.exercises) or any(isinstance(n, bool) or not isinstance(n, int) for n in numbers)
        ):
            raise InputError("sheet.variant_numbers", numbers, f"one integer per exercise ({len(self.exercises)})")
        if not isinstance(self.trust_latex, bool):
            raise InputTypeError("sheet.trust_latex", self.trust_latex, "true or false")
        if self.kind not in KINDS:
            raise InputError("sheet.kind", self.kind, "one of " + ", ".join(repr(k) for k in KINDS))
        if self.header is not None and not isinstance(self.header, Header):
            raise InputTypeError("sheet.header", self.header, "a rnnsym.sheet.Header or None")
        if self.figure is not None and not callable(self.figure):
            raise InputTypeError("sheet.figure", self.figure, "a function of a graph returning LaTeX, or None")

    @classmethod
    def from_variants(cls, variants: Sequence, **options) -> "Sheet":
        """A sheet of ``variants`` (:class:`~rnnsym.variants.Variant`: an ``exercise``
        and its ``index``), each in a section "Variant n: title" starting on a new
        page; ``options`` as :class:`Sheet`'s.

        >>> from rnnsym.exercise import reference
        >>> from rnnsym.variants import Variant
        >>> tex = Sheet.from_variants([Variant(1, 7, reference()), Variant(2, 8, reference())], kind="questions").tex()
        >>> tex.count(r"\\section*{Variant"), tex.count(r"\\newpage")
        (2, 1)
        """
        variants = list(variants)
        for item in variants:
            if not isinstance(getattr(item, "exercise", None), Exercise) or not isinstance(getattr(item, "index", None), int):
                raise InputTypeError("sheet.variants", item, "variants (rnnsym.variants.Variant)")
        return cls([v.exercise for v in variants], variant_numbers=[v.index for v in variants], **options)

    def _parts(self) -> list[_Part]:
        if self.variant_numbers is not None:
            return [_Part(exercise, f"Variant {k}: {exercise.title}", f"variant {k}", n > 0)
                    for n, (k, exercise) in enumerate(zip(self.variant_numbers, self.exercises))]
        several = len(self.exercises) > 1
        return [_Part(exercise, exercise.title if several else None, f"exercise {n + 1}" if several else "", False)
                for n, exercise in enumerate(self.exercises)]

    def _opening(self, part: _Part) -> list[tuple[str, str | None]]:
        """The page break, heading, intro and figure an exercise starts with."""
        pieces: list[tuple[str, str | None]] = []
        if part.new_page:
            pieces.append((r"\newpage", None))
        if part.heading is not None:
            pieces.append((f"\\section*{{{escape(part.heading)}}}", part.at("title")))
        if part.exercise.intro:
            pieces.append((vet(part.exercise.intro, part.at("intro"), self.trust_latex), part.at("intro")))
        if self.figure is not None:  # the network's figure: after the intro, on every kind of sheet
            pieces.append((self.figure(part.exercise.graph), "the network figure (written by rnnsym)"))
        return pieces

    def _questions(self, part: _Part) -> list[tuple[str, str | None]]:
        """One exercise's questions: intro, figure, its values, each question's text."""
        exercise = part.exercise
        pieces = self._opening(part)
        pieces.append((given_values(exercise, self.options), "the exercise's values (written by rnnsym)"))
        for i, question in enumerate(exercise.questions):
            key = part.at(f"questions[{i}]")
            pieces.append((f"\\subsection*{{{escape(question.label)}}}", f"{key}.label"))
            if question.text:
                pieces.append((vet(question.text, f"{key}.text", self.trust_latex), f"{key}.text"))
            else:
                pieces.append((prompt(question, self.options), f"the question {question.label} (written by rnnsym)"))
        return pieces

    def _solutions(self, part: _Part) -> list[tuple[str, str | None]]:
        """One exercise's worked answers: intro, figure (for a variant, its values), each question with its answer."""
        exercise = part.exercise
        pieces = self._opening(part)
        if self.variant_numbers is not None:  # which values these solutions are for
            pieces.append((given_values(exercise, self.options), "the exercise's values (written by rnnsym)"))
        for i, (question, answer) in enumerate(exercise.answers(self.options)):
            key = part.at(f"questions[{i}]")
            pieces.append((f"\\subsection*{{{escape(question.label)}}}", f"{key}.label"))
            if question.text:
                pieces.append((vet(question.text, f"{key}.text", self.trust_latex), f"{key}.text"))
            pieces.append((r"\paragraph{Answer}", None))
            generated = f"the answer to {question.label} (written by rnnsym)"
            if question.free_text:
                pass  # the author's answer alone, below
            elif question.show is not None:
                pieces += [(item if isinstance(item, str) else display(item), generated) for item in answer]
            else:
                pieces.append((display(answer.lines(exercise.evaluation, self.options)), generated))
                pieces += [(f"\\begin{{center}}\n{table}\n\\end{{center}}", generated)
                           for table in answer.tables(exercise.evaluation, self.options)]
                pieces += [(note, generated) for note in answer.notes(exercise.evaluation)]
            if question.answer_text:
                pieces.append((vet(question.answer_text, f"{key}.answer", self.trust_latex), f"{key}.answer"))
        return pieces

    def _front(self) -> list[tuple[str, str | None]]:
        """The preamble, title, course, date and instructions."""
        title = self.title or self._parts()[0].exercise.title
        header = self.header or Header()
        pieces: list[tuple[str, str | None]] = [(_PREAMBLE.rstrip("\n") + "\n", None)]
        pieces.append((f"\\title{{{escape(title)}}}", "sheet title" if self.title else "title"))
        if header.course:
            pieces.append((f"\\author{{{escape(header.course)}}}", "header.course"))
        pieces.append((f"\\date{{{escape(header.date)}}}", "header.date") if header.date else (r"\date{}", None))
        pieces += [(r"\begin{document}", None), (r"\maketitle", None)]
        pieces += [(escape(paragraph), "header.instructions") for paragraph in header.paragraphs()]
        return pieces

    def _with_legend(self, front: list[tuple[str, str | None]], body: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
        """``body`` after the notation paragraph its text needs, if any (:func:`notation_legend`)."""
        exercises = [part.exercise for part in self._parts()]
        legend = notation_legend("\n".join(text for text, _ in front + body), exercises)
        return ([(legend, "the notation (written by rnnsym)")] if legend else []) + body

    def document(self) -> Document:
        """The complete LaTeX document, with the exercise key behind each line."""
        front = self._front()
        pieces = list(front)
        parts = self._parts()
        if self.kind in ("questions", "both"):
            pieces += self._with_legend(front, [p for part in parts for p in self._questions(part)])
        if self.kind == "both":
            pieces += [(r"\newpage", None), (r"\part*{Solutions}", None)]
        if self.kind in ("solutions", "both"):
            pieces += self._with_legend(front, [p for part in parts for p in self._solutions(part)])
        pieces.append((r"\end{document}", None))
        return Document.join(pieces)

    def tex(self) -> str:
        """The complete LaTeX document."""
        return self.document().text

    def pdf(self, timeout: float = TEX_TIMEOUT, latexmk: str = "latexmk") -> bytes:
        """The document built to PDF by :func:`rnnsym.tex.compile_pdf` (sandboxed)."""
        return compile_pdf(self.document(), timeout, latexmk)
