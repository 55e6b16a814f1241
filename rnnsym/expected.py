"""Answer keys to check an exercise against: an ``[answers]`` table of TOML from
question labels to numbers, formulas, or nested lists of them for a whole
vector or matrix (:func:`loads_key`); :mod:`rnnsym.grading` compares them.

>>> from rnnsym.exercise import reference
>>> key = loads_key('[answers]\\n"1.a" = 6\\n"1.d" = "2*(yhat_1 - y_1)*W_y*h_0 + 2*(yhat_2 - y_2)*W_y*(h_1 + W_h*h_0)"', reference())
>>> key["1.a"].number.exact, key["1.d"].formula is not None
(6, True)
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from pathlib import Path
from sympy import Expr

from .errors import InputError, InputTypeError
from .exercise import Exercise, Question, parse_toml, read_text
from .derivation import TensorDerivation, derive
from .formula import parse_formula
from .numbers import Number, parse_number

__all__ = ["Expected", "load_key", "loads_key", "shape"]

_KEY_KEYS = ("answers",)


@dataclass(frozen=True)
class Expected:
    """An author's answer to one question: a :class:`~rnnsym.numbers.Number`
    or a formula (a sympy expression in the model's names)."""

    label: str
    text: str
    number: Number | None = None
    formula: Expr | None = None
    #: For a whole vector or matrix: each entry's answer, row by row, as a table of this shape.
    entries: tuple[tuple["Expected", ...], ...] | None = None

    @property
    def shown(self) -> str:
        if self.entries is not None:
            return "[" + ", ".join("[" + ", ".join(e.shown for e in row) + "]" for row in self.entries) + "]"
        return self.number.spelling if self.number is not None else "formula"


def loads_key(text: str, exercise: Exercise, source: str = "<string>") -> dict[str, Expected]:
    """The expected answers of an answer key in TOML, checked against ``exercise``.

    The key holds one table, ``[answers]``, from question labels to numbers
    (``"1.a" = 6``, ``"1.b" = "0.1"``, ``"1.c" = "1/3"``) or formulas in the
    model's names (``"1.d" = "2*(yhat_2 - y_2)*W_y*h_1"``).  A question about a
    whole vector or matrix (``find = "dL/dW_h"`` of a vector model) takes
    nested lists of such answers, one list a row, in the shape of the answer
    (a vector, a column, may be a flat list: ``"a" = ["0.5", "-0.25"]``).  A
    label the exercise does not have, a value that is neither, a formula that
    does not parse or a table of the wrong shape raises
    :class:`~rnnsym.errors.InputError` naming it.

    >>> from rnnsym.exercise import reference
    >>> loads_key('[answers]\\n"9.z" = 1', reference())
    Traceback (most recent call last):
    ...
    rnnsym.errors.InputError: answers: got '9.z', expected a question label of the exercise (one of 1.a, 1.b, 1.c, 1.d)
    """
    data = parse_toml(text, source)
    for name in data:
        if name not in _KEY_KEYS:
            raise InputError("key", name, "a key among " + ", ".join(_KEY_KEYS))
    answers = data.get("answers")
    if not isinstance(answers, dict):
        raise InputTypeError("answers", answers, "an [answers] table of question labels and answers")
    labels = [q.label for q in exercise.questions if q.show is None and not q.free_text]
    out: dict[str, Expected] = {}
    for label, value in answers.items():
        if label not in labels:
            raise InputError("answers", label, "a question label of the exercise (one of " + ", ".join(labels) + ")")
        question = next(q for q in exercise.questions if q.label == label)
        out[label] = _expected(label, value, exercise, shape(exercise, question))
    return out


def shape(exercise: Exercise, question: Question) -> tuple[int, int] | None:
    """The shape of a question's answer about a whole vector or matrix, else None."""
    graph = exercise.graph
    if question.wrt is None:
        name = question.of.replace(" ", "")
        return graph.tensor(name).shape if name not in graph.names and name in graph.tensors else None
    derivation = derive(graph, question.of, question.wrt)
    return derivation.shape if isinstance(derivation, TensorDerivation) else None


def _expected(label: str, value: object, exercise: Exercise, shape: tuple[int, int] | None = None) -> Expected:
    field_ = f'answers."{label}"'
    if shape is not None:
        rows, cols = shape
        what = "a column of" if cols == 1 else "a row of" if rows == 1 else "a table of"
        expected = f"{what} {rows}×{cols} answers as nested lists, one list a row" + (
            " (or a flat list)" if rows == 1 or cols == 1 else "")
        items = value if isinstance(value, list) else None
        if items is not None and (rows == 1 or cols == 1) and len(items) == rows * cols and not any(isinstance(v, list) for v in items):
            items = [items] if rows == 1 else [[v] for v in items]
        if items is None or len(items) != rows or any(not isinstance(r, list) or len(r) != cols for r in items):
            raise InputError(field_, value, expected)
        table_ = tuple(tuple(_expected(f"{label}[{i},{j}]", v, exercise) for j, v in enumerate(row, 1))
                       for i, row in enumerate(items, 1))
        return Expected(label, str(value), entries=table_)
    if isinstance(value, bool) or not isinstance(value, (int, float, decimal.Decimal, str)):
        raise InputTypeError(field_, value, "a number or a formula in quotes")
    if not isinstance(value, str):
        return Expected(label, str(value), number=parse_number(value, field_))
    try:
        return Expected(label, value, number=parse_number(value, field_))
    except InputError:
        return Expected(label, value, formula=parse_formula(value, exercise.graph, field_))


def load_key(path: str | Path, exercise: Exercise) -> dict[str, Expected]:
    """Read the answer key at ``path`` (see :func:`loads_key`)."""
    return loads_key(read_text(path, "key"), exercise, str(path))
