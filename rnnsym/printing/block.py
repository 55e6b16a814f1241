r"""What a result is made of when it is written out: headings, paragraphs, relation chains, tables, notes.

:func:`blocks` takes anything rnnsym answers with — a derivation (of any
kind), a computation, a Jacobian chain, a bound, a flow table, a graph, an
exercise — and lists its :class:`Block`\ s, each holding the LaTeX rnnsym
writes for it.  The formats (:func:`rnnsym.printing.as_markdown.markdown`,
:func:`rnnsym.printing.as_text.text`) write the same blocks in their own way, so
every format holds the same relations.

>>> import rnnsym
>>> ex = rnnsym.reference()
>>> d = rnnsym.derive(ex.graph, "L", "W_h")
>>> [b.kind for b in blocks(d, ex.values)]
['lines']
>>> [b.kind for b in blocks(ex)][:6]
['heading', 'paragraph', 'heading', 'paragraph', 'label', 'lines']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..errors import InputError, InputTypeError
from .line import Line
from .printer import Printer, RenderOptions
from pylatexenc.latexwalker import LatexEnvironmentNode

from .unicode import cells, parse

__all__ = ["Block", "blocks", "KINDS", "table_rows"]

#: The kinds of block: a ``heading`` (plain text, ``level`` 1 or 2), a ``paragraph``
#: (LaTeX text with ``$…$`` math), a ``label`` (plain text introducing what follows),
#: ``lines`` (a tuple of :class:`~rnnsym.printing.Line`), a ``table`` (a tuple of
#: rows of LaTeX-text cells, the first row its header) and a ``note`` (LaTeX text).
KINDS = ("heading", "paragraph", "label", "lines", "table", "note")


@dataclass(frozen=True)
class Block:
    """One piece of a written result: ``kind`` (one of :data:`KINDS`) and its ``content``.

    >>> Block("heading", "1.a", level=2)
    Block(heading: '1.a')
    """

    kind: str
    content: Any
    level: int = 1

    def __repr__(self) -> str:
        shown = f"{len(self.content)} lines" if self.kind == "lines" else repr(self.content)[:60]
        return f"Block({self.kind}: {shown})"


def table_rows(latex: str) -> tuple[tuple[str, ...], ...]:
    r"""The rows of the first ``tabular`` in ``latex``, each a tuple of cells as LaTeX
    text (rules such as ``\toprule`` left out; the first row is the header).

    >>> table_rows(r"\begin{tabular}{rr} \toprule $t$ & value \\ \midrule 1 & $-4$ \\ \bottomrule \end{tabular}")
    (('$t$', 'value'), ('1', '$-4$'))
    """
    for node in _environments(parse(latex)):
        if node.environmentname == "tabular":
            return tuple(tuple("".join(n.latex_verbatim() for n in cell).strip() for cell in row)
                         for row in cells(node))
    raise InputError("table", latex[:60], r"LaTeX holding a \begin{tabular} … \end{tabular}")


def _environments(nodes) -> list:
    out = []
    for node in nodes or ():
        if isinstance(node, LatexEnvironmentNode):
            out.append(node)
            out += _environments(node.nodelist)
    return out


def _lines(obj: Any, values: Any, options: RenderOptions) -> list[Line]:
    """``obj``'s lines, as :func:`rnnsym.printing.lines` gives them."""
    method = getattr(obj, "_rnnsym_lines", None)
    if method is not None:
        return list(method(values, options))
    return [Line((Printer(options).doprint(obj),))]


def _item(item: Any) -> Block:
    """A topic's item (:mod:`rnnsym.analysis.topics`): a paragraph, a table or relation chains."""
    if isinstance(item, str):
        return Block("table", table_rows(item)) if r"\begin{tabular}" in item else Block("paragraph", item)
    return Block("lines", tuple(item))


def _is_exercise(obj: Any) -> bool:
    return all(hasattr(obj, name) for name in ("questions", "answers", "evaluation", "title"))


def _exercise(exercise: Any, options: RenderOptions, level: int = 1) -> list[Block]:
    out = [Block("heading", exercise.title, level)]
    if exercise.intro:
        out.append(Block("paragraph", exercise.intro))
    for question, answer in exercise.answers(options):
        out.append(Block("heading", question.label, level + 1))
        if question.text:
            out.append(Block("paragraph", question.text))
        if answer is not None:
            out.append(Block("label", "Answer"))
            if question.show is not None:
                out += [_item(item) for item in answer]
            else:
                out += _derivation(answer, exercise.evaluation, options)
        if question.answer_text:
            out.append(Block("paragraph", question.answer_text))
    return out


def _derivation(obj: Any, values: Any, options: RenderOptions) -> list[Block]:
    out = [Block("lines", tuple(_lines(obj, values, options)))]
    if values is not None:
        out += [Block("table", table_rows(t)) for t in obj.tables(values, options)]
        out += [Block("note", n) for n in obj.notes(values, options)]
    return out


def blocks(obj: Any, values: Mapping | None = None, options: RenderOptions | None = None) -> list[Block]:
    """``obj`` as :class:`Block`\\ s, with numbers at ``values``.

    - an :class:`~rnnsym.exercise.Exercise` (or a list of them): its title, intro,
      and for each question its label, text, the answer rnnsym writes (a topic's
      paragraphs, chains and tables) and the author's own answer text; an
      exercise carries its values, so ``values`` must be None;
    - a derivation or computation: its lines, then its tables and notes at ``values``;
    - an object with ``_rnnsym_blocks(values, options)`` (a flow table): its own blocks;
    - anything else :func:`rnnsym.printing.lines` writes (a Jacobian chain, a
      bound, a graph, a cell, an expression): its lines.

    Raises :class:`~rnnsym.errors.InputTypeError` for options that are not
    :class:`~rnnsym.printing.RenderOptions`, and :class:`~rnnsym.errors.InputError`
    for values given with an exercise.
    """
    options = options if options is not None else RenderOptions()
    if not isinstance(options, RenderOptions):
        raise InputTypeError("options", options, "a rnnsym.RenderOptions")
    several = isinstance(obj, Sequence) and not isinstance(obj, str) and obj and all(map(_is_exercise, obj))
    if _is_exercise(obj) or several:
        if values is not None:
            raise InputError("values", values, "None for an exercise (it is written at its own values)")
        if several:
            return [b for exercise in obj for b in _exercise(exercise, options, 2 if len(obj) > 1 else 1)]
        return _exercise(obj, options)
    method = getattr(obj, "_rnnsym_blocks", None)
    if method is not None:
        return list(method(values, options))
    if all(hasattr(obj, name) for name in ("tables", "notes", "_rnnsym_lines")):
        return _derivation(obj, values, options)
    return [Block("lines", tuple(_lines(obj, values, options)))]

