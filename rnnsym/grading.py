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

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

import mpmath
import sympy

from .errors import RnnsymError
from .exercise import Exercise, Question
from .testing.mp import DIGITS, close, evaluate_formula, forward, numeric
from .testing import DerivativeMismatch, GradientReport, assert_derivative, check_gradients, markdown_table, show, table
from .numbers import Number
from .evaluation import bind, evaluate
from .derivation import TensorDerivation, derive
from .expected import Expected, load_key, loads_key, shape  # noqa: F401 (load_key, loads_key: re-exported)

__all__ = ["Expected", "QuestionCheck", "ExerciseCheck", "load_key", "loads_key", "check_exercise"]

_PLAIN_DECIMAL = re.compile(r"-?\d*\.(\d+)")

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


def _step_entries(exercise: Exercise, question: Question) -> list[tuple[str, Any, Any]]:
    """``(name, value now, new value)`` for each parameter entry a training step updates."""
    answer = exercise.answer(question)
    out = []
    for name, new in answer.entries(exercise.evaluation):
        out.append((name, exercise.evaluation.value(name), new))
    return out


def _check_step(exercise: Exercise, question: Question, expected: Expected | None, env: Mapping) -> QuestionCheck:
    """A training step: each gradient checked by :func:`check_gradients`, and each new
    parameter against the step recomputed in 50-digit arithmetic from the
    finite-difference gradients (norm, scale min(1, c/‖g‖) and update)."""
    spec = question.step
    entries = _step_entries(exercise, question)
    report = check_gradients(exercise.graph, exercise.values, wrt=[name for name, _, _ in entries],
                             of=question.of, raises=False)
    notes = [f"{row.check}: {show(row.symbolic)} against {show(row.numeric)}" + (f" ({row.note})" if row.note else "")
             for row in report.mismatches]
    with mpmath.workdps(DIGITS):
        gradients = {row.quantity: mpmath.mpf(row.numeric) for row in report.rows if row.check == "finite differences"}
        g = [gradients[f"d{question.of}/d{name}"] for name, _, _ in entries]
        norm = mpmath.sqrt(mpmath.fsum(x**2 for x in g))
        clip = numeric(spec.clip.exact) if spec.clip is not None else None
        scale = min(mpmath.mpf(1), clip / norm) if clip is not None and norm > 0 else mpmath.mpf(1)
        lr = numeric(spec.lr.exact)
        consistent = report.ok
        for (name, now, new), gi in zip(entries, g):
            independent = numeric(now) - lr * scale * gi
            agree, _ = close(new, independent, mpmath.mpf(10) ** -25)
            if not agree:
                consistent = False
                notes.append(f"{name} after the step is {show(new)} but {mpmath.nstr(independent, 15)} "
                             "from finite-difference gradients in 50-digit arithmetic")
    value = entries[0][2] if len(entries) == 1 else ", ".join(f"{name} = {show(new)}" for name, _, new in entries)
    result = QuestionCheck(question, value, consistent, report, notes=notes)
    if expected is not None and len(entries) > 1:
        result.expected, result.agrees = expected, False
        result.notes.append(f"the key gives one answer, but the step updates {len(entries)} parameter entries")
        return result
    return _compare(result, question, expected, env, entries[0][2], exercise.graph, general=False,
                    what=f"{entries[0][0]} after the step")


def _check_question(exercise: Exercise, question: Question, env: Mapping, numbers: Mapping, expected: Expected | None) -> QuestionCheck:
    graph = exercise.graph
    if getattr(question, "step", None) is not None:
        return _check_step(exercise, question, expected, env)
    special = _special(question)
    if special is not None and getattr(question, "show", None) is not None:  # check_exercise skips topics
        return QuestionCheck(question, None, None, notes=[special])
    if special is not None:  # truncated: the answer's own value, compared with the key at the values only
        answer = exercise.answer(question)
        value = answer.evaluate(exercise.values)
        result = QuestionCheck(question, value, None, notes=[special])
        if isinstance(answer, TensorDerivation):
            rows, cols = answer.shape
            pairs = {(i, j): answer.pair(i, j) for i in range(1, rows + 1) for j in range(1, cols + 1)}
            return _compare_table(result, question, expected, env, value, graph, pairs, general=False)
        return _compare(result, question, expected, env, value, graph, general=False)
    if shape(exercise, question) is not None:
        return _check_tensor(exercise, question, env, numbers, expected)
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
        _report_notes(result, report)
    return _compare(result, question, expected, env, value, graph, general=question.wrt is not None)


def _report_notes(result: QuestionCheck, report: GradientReport) -> None:
    """The report's disagreements, and each check it skipped for a reason a reader
    must know (relu at its kink, where finite differences cannot be taken)."""
    several = len(report.quantities) > 1
    for row in report.mismatches:
        where = f"{row.quantity}, " if several else ""
        result.notes.append(f"{where}{row.check}: {show(row.symbolic)} against {show(row.numeric)}" + (f" ({row.note})" if row.note else ""))
    kinks = list(dict.fromkeys(row.note for row in report.skipped if "kink" in row.note or "relu" in row.note))
    result.notes += [f"finite differences skipped: {note} (the answer takes relu′(0) = 0, one of its subgradients)" for note in kinks]


def _check_tensor(exercise: Exercise, question: Question, env: Mapping, numbers: Mapping, expected: Expected | None) -> QuestionCheck:
    """A question about a whole vector or matrix, checked entry by entry; its value is the matrix."""
    graph = exercise.graph
    if question.wrt is None:
        symbols = graph.tensor(question.of)
        value = symbols.applyfunc(lambda s: env[s])
        result = QuestionCheck(question, value, True)
        for s in symbols:
            agree, _ = close(env[s], numbers[s], mpmath.mpf(10) ** -40)
            if not agree:
                result.consistent = False
                result.notes.append(f"{s} is {show(env[s])} exactly but {show(numbers[s])} in 50-digit arithmetic")
        pairs = {(i + 1, j + 1): (s, None) for (i, j), s in _indexed(symbols)}
    else:
        derivation = derive(graph, question.of, question.wrt)
        rows, cols = derivation.shape
        pairs = {(i, j): derivation.pair(i, j) for i in range(1, rows + 1) for j in range(1, cols + 1)}
        report = None
        for of in dict.fromkeys(of for of, _ in pairs.values()):
            part = check_gradients(graph, exercise.values, wrt=[str(w) for o, w in pairs.values() if o == of], of=str(of), raises=False)
            if report is None:
                report = part
            else:
                report.rows += part.rows
        first = {}
        for row in report.rows:
            first.setdefault(row.quantity, row.symbolic)
        value = sympy.Matrix(rows, cols, lambda i, j: first["d{}/d{}".format(*pairs[(i + 1, j + 1)])])
        result = QuestionCheck(question, value, report.ok, report)
        _report_notes(result, report)
    return _compare_table(result, question, expected, env, value, graph, pairs, general=question.wrt is not None)


def _compare_table(result: QuestionCheck, question: Question, expected: Expected | None, env: Mapping, value: Any,
                   graph, pairs: Mapping, general: bool) -> QuestionCheck:
    """Compare the key's table of answers with the matrix ``value``, entry by entry
    (``pairs``: the (of, wrt) of each 1-based entry, wrt None for a value)."""
    if expected is None:
        return result
    result.expected = expected
    if expected.entries is None:  # a key written for one entry cannot answer the whole
        result.agrees = False
        result.notes.append(f"expected nested lists of {value.rows}×{value.cols} answers for {question.find}, got {expected.text!r}")
        return result
    agrees = True
    for (i, j), (of, wrt) in pairs.items():
        entry = expected.entries[i - 1][j - 1]
        name = str(of) if wrt is None else f"d{of}/d{wrt}"
        sub = Question(question.label, question.text, name, str(of), None if wrt is None else str(wrt))
        checked = _compare(QuestionCheck(sub, value[i - 1, j - 1], None), sub, entry, env, value[i - 1, j - 1], graph,
                           general=general and wrt is not None)
        agrees = agrees and bool(checked.agrees)
        result.notes += [f"[{i},{j}]: {note}" for note in checked.notes]
    result.agrees = agrees
    return result


def _indexed(m: sympy.Matrix) -> list[tuple[tuple[int, int], Any]]:
    return [((i, j), m[i, j]) for i in range(m.rows) for j in range(m.cols)]


def _compare(result: QuestionCheck, question: Question, expected: Expected | None, env: Mapping, value: Any, graph, general: bool,
             what: str | None = None) -> QuestionCheck:
    """Compare the key's answer with ``value`` (``what`` the question computes, its
    ``find`` by default); a formula for a derivative is also checked everywhere
    (``general``) by :func:`assert_derivative`."""
    what = what or question.find
    if expected is None:
        return result
    result.expected = expected
    if expected.number is not None:
        result.agrees = _number_agrees(value, expected.number)
        if not result.agrees:
            result.notes.append(f"expected {expected.number.spelling}, but {what} = {show(value)} at the exercise's values")
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
            f"the formula {expected.text!r} gives {show(at_values)}, but {what} = {show(value)} at the exercise's values"
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
