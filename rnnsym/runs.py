"""What one run of the command line works on: exercises, their variants, the questions asked.

A :class:`Run` is the list of :class:`~rnnsym.variants.Variant` that the
sheets, the answer key and the LMS export of one command share: each exercise
as it is, or ``count`` variants of it drawn with ``seed``
(:func:`rnnsym.variants.draw`), keeping only the questions asked.

>>> run = prepare([], questions=["1.a", "1.d"])
>>> run
Run(1 exercise, 1 variant, questions 1.a, 1.d)
>>> run.key().to_csv().splitlines()[1:]
['1,,Recurrent neural networks: backpropagation through time,1.a,yhat_2,,6,6,0.03', '1,,Recurrent neural networks: backpropagation through time,1.d,dL/dW_h,,8,8,0.04']
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

from .errors import InputError, InputTypeError
from .exercise import REFERENCE, Exercise, load, reference, reference_text
from .key import AnswerKey
from .sheet import Sheet
from .variants import Draw, Variant, draw_file, draw_text

__all__ = ["Run", "prepare"]


@dataclass(frozen=True)
class Run:
    """The ``variants`` of one run (one per exercise when nothing is drawn), the
    :class:`~rnnsym.variants.Draw` report of each exercise drawn (``draws``), and
    whether the values were drawn (``drawn``)."""

    variants: list[Variant]
    draws: list[Draw] = field(default_factory=list)
    drawn: bool = False

    def __repr__(self) -> str:
        titles = {v.exercise.title for v in self.variants}
        labels = dict.fromkeys(q.label for v in self.variants for q in v.exercise.questions)
        n = len(self.variants)
        return (f"Run({len(titles)} exercise{'s' * (len(titles) != 1)}, {n} variant{'s' * (n != 1)}, "
                f"questions {', '.join(labels)})")

    @property
    def exercises(self) -> list[Exercise]:
        """The exercise of each variant, in order."""
        return [v.exercise for v in self.variants]

    def sheet(self, **options) -> Sheet:
        """The run as one :class:`~rnnsym.sheet.Sheet` (``options`` as Sheet's): drawn
        variants each in a section "Variant n", exercises given with fixed values as they are."""
        if self.drawn:
            return Sheet.from_variants(self.variants, **options)
        return Sheet(self.exercises, **options)

    def key(self, **options) -> AnswerKey:
        """The answer key of the run (``options`` as :meth:`AnswerKey.from_variants`)."""
        return AnswerKey.from_variants(self.variants, **options)

    def report(self) -> str:
        """One line per exercise drawn: how many variants, in how many draws, rejected why."""
        lines = []
        for d in self.draws:
            title = d.variants[0].exercise.title if d.variants else "?"
            rejected = sum(d.rejections.values())
            why = ", ".join(f"{k} {n}" for k, n in sorted(d.rejections.items(), key=lambda kv: -kv[1]))
            lines.append(f"{title}: {_count(len(d.variants), 'variant')} from {_count(d.attempts, 'draw')} with seed {d.seed}"
                         + (f" ({rejected} rejected: {why})" if rejected else ""))
        return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("s" if n != 1 else "")


def prepare(paths: Sequence[str | Path], *, count: int | None = None, seed: int = 1, draws: int | None = None,
            questions: Sequence[str] | None = None, field_: str = "--questions") -> Run:
    """The run over the exercise files at ``paths`` (the reference exercise when
    empty): each exercise as it is, or ``count`` variants of each drawn with
    ``seed`` (at most ``draws`` draws each); only the questions labelled
    ``questions`` when given — each label must be one of some exercise's, and
    an exercise with none of them is left out.

    Raises :class:`~rnnsym.errors.InputError` for a bad file or label (naming
    ``field_`` for a label) and :class:`~rnnsym.errors.NoVariantError` when no
    draw satisfies an exercise's constraints within the bound.
    """
    if isinstance(paths, (str, Path)):
        raise InputTypeError("exercises", paths, "a list of exercise files")
    if count is None:
        variants = [Variant(1, None, load(p) if p is not None else reference()) for p in (paths or [None])]
        drawn: list[Draw] = []
    else:
        drawn = [draw_file(p, count, seed, draws=draws) for p in paths] if paths else [
            draw_text(reference_text(), count, seed, source=REFERENCE, draws=draws)]
        variants = [v for d in drawn for v in d.variants]
    titles: dict[str, object] = {}
    for p, v in zip(paths or [None], [d.variants[0] if d.variants else None for d in drawn] if count is not None else variants):
        if v is None:
            continue
        if v.exercise.title in titles:
            raise InputError("exercises", str(p), f"exercises with titles of their own ({titles[v.exercise.title]} is "
                                                  f"titled {v.exercise.title!r} too; keys and exports tell exercises apart by title)")
        titles[v.exercise.title] = p
    if questions is not None:
        variants = _select(variants, list(questions), field_)
    return Run(variants, drawn, count is not None)


def _select(variants: list[Variant], labels: list[str], field_: str) -> list[Variant]:
    if not labels:
        raise InputError(field_, labels, "at least one question label")
    known = {q.label for v in variants for q in v.exercise.questions}
    for label in labels:
        if label not in known:
            raise InputError(field_, label, "a question label of the exercise (one of " + ", ".join(sorted(known)) + ")")
    out = []
    for v in variants:
        mine = [label for label in labels if label in {q.label for q in v.exercise.questions}]
        if mine:
            out.append(replace(v, exercise=v.exercise.select(mine, field_)))
    return out
