"""Checking an exercise: rnnsym's own answers, and an author's answer key.

:func:`check_exercise` runs :func:`rnnsym.testing.check_gradients` on every
derivative question of an exercise (and a numeric forward pass on every
value question), and compares each answer with the key when one is given.
An answer key is TOML: an ``[answers]`` table from question labels to numbers
or formulas (see :func:`loads_key`).  This is what ``rnnsym check`` prints.

>>> from rnnsym.exercise import reference
>>> exercise = reference()
>>> key = loads_key('[answers]\\n"1.a" = 6\\n"1.d" = "2*(yhat_1 - y_1)*W_y*h_0 + 2*(yhat_2 - y_2)*W_y*(h_1 + W_h*h_0)"', exercise)
>>> result = check_exercise(exercise, key)
>>> print(result)
question  find     value  symbolic = numeric?  expected  status
1.a       yhat_2   6      yes                  6         ok
1.b       L        2      yes                  -         ok
1.c       dL/dh_1  0      yes                  -         ok
1.d       dL/dW_h  8      yes                  formula   ok
4 questions: all agree
"""

from __future__ import annotations

import decimal
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import mpmath
import sympy
from sympy import Expr

from .errors import InputError, InputTypeError, RnnsymError
from .derivation.immediate import IMMEDIATE
from .exercise import Exercise, Question, parse_toml, read_text
from .formula import parse_formula
from .testing.mp import close, evaluate_formula, forward, numeric
from .testing import DerivativeMismatch, GradientReport, assert_derivative, check_gradients, markdown_table, show, table
from .numbers import Number, parse_number
from .evaluation import bind, evaluate

__all__ = ["Expected", "QuestionCheck", "ExerciseCheck", "load_key", "loads_key", "check_exercise"]

_KEY_KEYS = ("answers",)
_PLAIN_DECIMAL = re.compile(r"-?\d*\.(\d+)")


@dataclass(frozen=True)
class Expected:
    """An author's answer to one question: a :class:`~rnnsym.numbers.Number`
    or a formula (a sympy expression in the model's names)."""

    label: str
    text: str
    number: Number | None = None
    formula: Expr | None = None

    @property
    def shown(self) -> str:
        return self.number.spelling if self.number is not None else "formula"


def loads_key(text: str, exercise: Exercise, source: str = "<string>") -> dict[str, Expected]:
    """The expected answers of an answer key in TOML, checked against ``exercise``.

    The key holds one table, ``[answers]``, from question labels to numbers
    (``"1.a" = 6``, ``"1.b" = "0.1"``, ``"1.c" = "1/3"``) or formulas in the
    model's names (``"1.d" = "2*(yhat_2 - y_2)*W_y*h_1"``).  A label the
    exercise does not have, a value that is neither, or a formula that does
    not parse raises :class:`~rnnsym.errors.InputError` naming it.

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
        out[label] = _expected(label, value, exercise)
    return out


def _expected(label: str, value: object, exercise: Exercise) -> Expected:
    field_ = f'answers."{label}"'
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


@dataclass
class QuestionCheck:
    """The checks of one question.

    ``value`` is rnnsym's exact answer; ``consistent`` says whether every
    independent computation agrees with it (``report`` holds them for a
    derivative); ``expected`` is the key's answer, if any, and ``agrees``
    whether it matches.  ``notes`` explain any disagreement.
    """

    question: Question
    value: Any
    consistent: bool | None
    report: GradientReport | None = None
    expected: Expected | None = None
    agrees: bool | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.consistent is False:
            return "MISMATCH"
        if self.agrees is False:
            return "wrong"
        return "ok"

    def cells(self, with_key: bool = True) -> tuple[str, ...]:
        expected = (self.expected.shown if self.expected is not None else "-",) if with_key else ()
        checked = {True: "yes", False: "NO", None: "not checked"}[self.consistent]
        return (
            self.question.label,
            self.question.find or f"({getattr(self.question, 'show', '') or 'topic'})",
            show(self.value),
            checked,
            *expected,
            self.status,
        )


_HEADER = ("question", "find", "value", "symbolic = numeric?", "expected", "status")


@dataclass
class ExerciseCheck:
    """Every question's :class:`QuestionCheck`; ``ok`` when all agree.  ``free_text``
    holds the free-text questions, which have nothing to check and are listed apart."""

    exercise: Exercise
    results: list[QuestionCheck]
    with_key: bool = False
    free_text: list[Question] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.status == "ok" for r in self.results)

    def summary(self) -> str:
        n = len(self.results)
        if self.ok:
            return f"{n} question{'s' if n != 1 else ''}: all agree"
        counts = {}
        for r in self.results:
            if r.status != "ok":
                counts[r.status] = counts.get(r.status, 0) + 1
        parts = [f"{c} {status}" for status, c in counts.items()]
        bad = ", ".join(r.question.label for r in self.results if r.status != "ok")
        return f"{n} questions: " + ", ".join(parts) + f" ({bad})"

    def __repr__(self) -> str:
        return f"ExerciseCheck({self.exercise.title!r}: {self.summary()})"

    def _table(self, kind=table) -> str:
        header = _HEADER if self.with_key else tuple(h for h in _HEADER if h != "expected")
        return kind([r.cells(self.with_key) for r in self.results], header)

    def skipped(self) -> str:
        """The line naming the free-text questions left unchecked (empty when there are none)."""
        if not self.free_text:
            return ""
        labels = ", ".join(q.label for q in self.free_text)
        return f"not checked: {labels} (free text: the author's answer, nothing to compute)"

    def __str__(self) -> str:
        lines = [self._table()] if self.results else []
        for r in self.results:
            lines += [f"{r.question.label}: {note}" for note in r.notes]
        lines += [self.skipped()] if self.free_text else []
        lines.append(self.summary())
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        parts = [self._table(markdown_table)] if self.results else []
        parts += [f"**{r.question.label}**: {note}" for r in self.results for note in r.notes]
        parts += [self.skipped()] if self.free_text else []
        parts.append(self.summary())
        return "\n\n".join(parts)


def _number_agrees(value: Any, number: Number) -> bool:
    """Whether the key's number matches ``value``: exactly, or, for a plain
    decimal such as ``0.462``, when ``value`` rounds to it."""
    if isinstance(value, sympy.Rational) and value == number.exact:
        return True
    match = _PLAIN_DECIMAL.fullmatch(number.spelling)
    if not match:
        return False
    with mpmath.workdps(60):
        tolerance = mpmath.mpf(10) ** -len(match.group(1)) / 2 * (1 + mpmath.mpf(10) ** -20)
        return bool(abs(numeric(value) - numeric(number.exact)) <= tolerance)


def _special(question: Question) -> str | None:
    """Why ``question`` has no value to check independently, or None."""
    if getattr(question, "show", None) is not None:
        return f"a topic ({question.show}): prose and tables, nothing to compute"
    if getattr(question, "truncate", None) is not None:
        return "truncated BPTT is not the gradient: its value is not checked against one"
    return None


def _check_question(exercise: Exercise, question: Question, env: Mapping, numbers: Mapping, expected: Expected | None) -> QuestionCheck:
    graph = exercise.graph
    special = _special(question)
    if special is not None and getattr(question, "show", None) is not None:  # check_exercise skips topics
        return QuestionCheck(question, None, None, notes=[special])
    if special is not None:  # truncated: the answer's own value, compared with the key at the values only
        value = exercise.answer(question).evaluate(exercise.values)
        result = QuestionCheck(question, value, None, notes=[special])
        return _compare(result, question, expected, env, value, graph, general=False)
    if question.wrt is not None and IMMEDIATE.fullmatch(question.find):
        answer = exercise.answer(question)
        value = answer.evaluate(exercise.values)
        parts = getattr(answer, "entries", (answer,))  # a whole vector: its diagonal, entry by entry
        values = value.diagonal() if isinstance(value, sympy.MatrixBase) else [value]
        references = [_immediate_numeric(graph, part.links, numbers) for part in parts]
        consistent = all(close(v, r, mpmath.mpf(10) ** -20)[0] for v, r in zip(values, references))
        if isinstance(value, sympy.MatrixBase) and not all(isinstance(v, sympy.Rational) for v in value):
            value = answer.evaluate(exercise.values, digits=15)  # shown as decimals, entry by entry
        reference = references[0] if len(references) == 1 else references
        result = QuestionCheck(question, value, consistent)
        if not consistent:
            result.notes.append(f"{question.find} is {show(value)} but {show(reference)} by central differences "
                                "of each definition in 50-digit arithmetic")
        return _compare(result, question, expected, env, value, graph, general=False)
    of = graph.symbol(question.of)
    if question.wrt is None:
        value = env[of]
        consistent, _ = close(value, numbers[of], mpmath.mpf(10) ** -40)
        result = QuestionCheck(question, value, consistent)
        if not consistent:
            result.notes.append(f"{question.find} is {show(value)} exactly but {show(numbers[of])} in 50-digit arithmetic")
    else:
        report = check_gradients(graph, exercise.values, wrt=[question.wrt], of=question.of, raises=False)
        value = report.rows[0].symbolic
        result = QuestionCheck(question, value, report.ok, report)
        for row in report.mismatches:
            result.notes.append(f"{row.check}: {show(row.symbolic)} against {show(row.numeric)}" + (f" ({row.note})" if row.note else ""))
    return _compare(result, question, expected, env, value, graph, general=question.wrt is not None)


def _immediate_numeric(graph, links, numbers: Mapping) -> mpmath.mpf:
    """The product of the immediate partials ``links`` ((target, dependency) pairs), each by a
    central difference of the target's own definition in the dependency, the others fixed."""
    with mpmath.workdps(50):
        out = mpmath.mpf(1)
        step = mpmath.mpf(10) ** -18
        for target, dependency in links:
            expr = graph.assignment(target).expr
            up = numeric(expr, {**numbers, dependency: numbers[dependency] + step})
            down = numeric(expr, {**numbers, dependency: numbers[dependency] - step})
            out *= (up - down) / (2 * step)
        return out


def _compare(result: QuestionCheck, question: Question, expected: Expected | None, env: Mapping, value: Any, graph, general: bool) -> QuestionCheck:
    """Compare the key's answer with ``value``; a formula for a derivative is
    also checked everywhere (``general``) by :func:`assert_derivative`."""
    if expected is None:
        return result
    result.expected = expected
    if expected.number is not None:
        result.agrees = _number_agrees(value, expected.number)
        if not result.agrees:
            result.notes.append(f"expected {expected.number.spelling}, but {question.find} = {show(value)} at the exercise's values")
        return result
    try:
        at_values = evaluate_formula(expected.formula, env)
    except (ArithmeticError, ValueError) as error:
        result.agrees = False
        result.notes.append(f"the formula {expected.text!r} cannot be computed at the exercise's values ({error})")
        return result
    try:
        agree, _ = close(at_values, value, mpmath.mpf(10) ** -40)
    except (RnnsymError, ArithmeticError, ValueError):
        agree = False
    if not agree:
        result.agrees = False
        result.notes.append(
            f"the formula {expected.text!r} gives {show(at_values)}, but {question.find} = {show(value)} at the exercise's values"
        )
        return result
    if general:
        try:
            assert_derivative(expected.formula, graph, question.of, question.wrt)
        except DerivativeMismatch as mismatch:
            result.agrees = False
            result.notes.append(
                f"the formula {expected.text!r} is right at the exercise's values but not in general:\n  "
                + str(mismatch).replace("\n", "\n  ")
            )
            return result
    result.agrees = True
    return result


def check_exercise(exercise: Exercise, key: Mapping[str, Expected] | None = None) -> ExerciseCheck:
    """Check every question of ``exercise``, and the answers in ``key`` (from
    :func:`load_key`) when given.  Topics and free-text questions have nothing
    to compute and are skipped (free-text ones are named in :meth:`ExerciseCheck.skipped`).
    See the module docstring for an example."""
    bound = bind(exercise.graph, exercise.values)
    env = evaluate(exercise.graph, {s: n.exact for s, n in bound.items()}).env
    numbers = forward(exercise.graph, env)
    key = key or {}
    results = [_check_question(exercise, q, env, numbers, key.get(q.label))
               for q in exercise.questions if q.show is None and not q.free_text]
    return ExerciseCheck(exercise, results, with_key=bool(key), free_text=[q for q in exercise.questions if q.free_text])
