"""Checks that a derivative is right: rnnsym's own, or one derived by hand.

:func:`check_gradients` answers "can I trust what rnnsym derived?".  For each
requested leaf it compares the compact derivation against three independent
computations: sympy's ``diff`` of the fully expanded loss (where affordable),
central finite differences in 50-digit arithmetic, and the values of every
side of every rendered line.  :func:`assert_derivative` answers "is this
hand-derived formula right?" by searching (with hypothesis, when installed)
for a point where it differs from the true derivative.

>>> import rnnsym
>>> from rnnsym.testing import check_gradients
>>> values = {"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": "0.1", "W_y": 2}
>>> report = check_gradients(rnnsym.elman(2), values, wrt=["W_h"])
>>> report
GradientReport(elman, steps=2, dL/dW_h: 5 checks agree)
>>> print(report)  # doctest: +ELLIPSIS
quantity  check                         symbolic  numeric  difference  status
dL/dW_h   finite differences            8         8.0      ...ok
dL/dW_h   sympy.diff of the expanded L  8         8        0           ok
dL/dW_h   compact expression            8         8        0           ok
dL/dW_h   rendered lines, split=loss    8         8        0           ok
dL/dW_h   rendered lines, split=step    8         8        0           ok
at h_0 = 1, W_h = 1, W_x = 1/10, W_y = 2, x_1 = 10, x_2 = 10, y_1 = 5, y_2 = 5
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import mpmath
import sympy
from sympy import Expr, Symbol

from ..cells import placeholder
from ..derivation import Derivation, derive
from ..errors import InputError, InputTypeError
from ..evaluation import Evaluation, bind
from ..graph import Graph
from ..rules import relu
from .mp import DIGITS, at_kink, close, forward, numeric, random_point
from .report import Comparison, GradientReport, show

__all__ = ["check_gradients", "default_wrt", "entries", "STEP", "MAX_EXPAND_STEPS", "MAX_EXPAND_OPS", "MAX_WRITTEN_STEPS"]

#: Step of the central finite differences.
STEP = mpmath.mpf(10) ** -20
#: Non-linear cells with more steps than this skip the expanded-loss check
#: (the expanded loss grows quickly; docs/architecture.md, "Keep intermediate symbols").
MAX_EXPAND_STEPS = 6
#: Expanded losses with more operations than this skip the expanded-loss check.
MAX_EXPAND_OPS = 20_000
#: Models over more steps than this are checked through the recursion's lines only: their
#: compact expression, textbook lines and expanded loss grow with the square of the steps.
MAX_WRITTEN_STEPS = 16


def default_wrt(graph: Graph) -> list[str]:
    """The leaves :func:`check_gradients` checks by default: every parameter,
    the initial state and every input (:attr:`rnnsym.graph.Graph.differentiable`)."""
    return [str(s) for s in graph.differentiable]


def entries(graph: Graph, name: str, field: str = "wrt") -> list[Symbol]:
    """The scalar symbols ``name`` stands for: itself for a scalar (``"W_h[1,2]"``,
    ``"h_1"`` of a scalar model), every entry, row by row, for a whole vector or
    matrix (``"W_h"`` of a vector model).  An unknown name raises
    :class:`~rnnsym.errors.InputError` naming ``field``.

    >>> import rnnsym
    >>> entries(rnnsym.elman(2, hidden=2), "W_h")
    [W_h[1,1], W_h[1,2], W_h[2,1], W_h[2,2]]
    >>> entries(rnnsym.elman(2), "W_h")
    [W_h]
    """
    if isinstance(name, str) and name.replace(" ", "") not in graph.names and name.replace(" ", "") in graph.tensors:
        return list(graph.tensor(name, field))
    return [graph.symbol(name, field)]


def _sides(derivation: Derivation) -> list[tuple[str, Expr, Expr]]:
    """(label, lhs, form) for every form of every step, context included; a step
    written at a generic step t (∂L/∂L_t = 1/T, ∂L_t/∂o_t = ŷ_t − y_t) states a
    rule, not a value at this point, and is left out."""
    out = []
    for i, step in enumerate(derivation.context + derivation.steps, start=1):
        if any(placeholder(s) is not None for f in (step.lhs, *step.forms) for s in f.free_symbols):
            continue
        for j, form in enumerate(step.forms, start=1):
            out.append((f"line {i} ({step.kind}), side {j + 1}: {step.lhs} = {sympy.sstr(form, order='none')}", step.lhs, form))
    return out


class _Checker:
    def __init__(self, graph: Graph, values: Mapping, of: str, digits: int, max_expand_steps: int) -> None:
        self.graph = graph
        self.of = graph.symbol(of, "of")
        self.digits = digits
        bound = bind(graph, values)
        self.leaves = {s: n.exact for s, n in bound.items()}
        self.point = {str(s): bound[s].exact for s in graph.leaves}
        self.numbers = forward(graph, self.leaves, digits=digits)
        self.linear = graph.polynomial
        self.rational = graph.rational
        evaluation = Evaluation(graph, self.leaves)
        # Values and lines are computed exactly for a model that keeps values rational,
        # else with decimals of ``digits + 5`` digits (exact irrational towers are slow).
        if self.rational:
            self.evaluator = evaluation
            self.line_rtol = mpmath.mpf(0)
        else:
            self.evaluator = evaluation.decimal(digits + 5)
            self.line_rtol = mpmath.mpf(10) ** -(digits - 15)
        # relu's kink is found exactly (a decimal 0 would not prove it)
        uses_relu = any(a.template is not None and a.template.form.has(relu) for a in graph.assignments)
        self.kinks = at_kink(graph, evaluation.env) if uses_relu else []
        self.max_expand_steps = max_expand_steps
        self.fd_rtol = mpmath.mpf(10) ** -(digits // 2 - 5)
        self.rtol = mpmath.mpf(10) ** -(digits - 10)

    def rows(self, wrt: Symbol) -> list[Comparison]:
        title = f"d{self.of}/d{wrt}"
        long = self.graph.steps > MAX_WRITTEN_STEPS
        splits = ("step",) if long else ("loss", "step")
        derivations = {split: derive(self.graph, str(self.of), str(wrt), split) for split in splits}
        value = derivations["step"].value_at(self.evaluator)
        rows = [self.finite_differences(title, wrt, value), self.expanded(title, wrt, value)]
        if long:
            note = (f"skipped: over {self.graph.steps} steps (more than {MAX_WRITTEN_STEPS}) the compact expression "
                    "and the textbook lines grow with the square of the steps")
            rows.append(Comparison(title, "compact expression", value, None, None, "skipped", note))
            rows.append(Comparison(title, "rendered lines, split=loss", value, None, None, "skipped", note))
        else:
            expr = derivations["loss"].expr
            compact = expr.xreplace(self.evaluator.env) if self.rational else numeric(expr, self.numbers, self.digits)
            rows.append(self.compare(title, "compact expression", value, compact, self.rtol))
        for split, derivation in derivations.items():
            rows.append(self.lines(title, split, value, derivation))
        return rows

    def compare(self, title: str, check: str, symbolic: Any, other: Any, rtol: Any, note: str = "") -> Comparison:
        agree, difference = close(symbolic, other, rtol, self.numbers[self.graph.loss] if self.graph.loss in self.numbers else 1)
        return Comparison(title, check, symbolic, other, difference, "ok" if agree else "MISMATCH", note)

    def finite_differences(self, title: str, wrt: Symbol, value: Expr) -> Comparison:
        check = "finite differences"
        if self.kinks:
            names = ", ".join(map(str, self.kinks))
            return Comparison(title, check, value, None, None, "skipped", f"relu's argument is exactly 0 at {names}: no derivative there")
        # a difference in the model that cancels (1 − σ(64) ≈ 1.6e-28) leaves fewer digits in L than
        # the step needs: the estimate is taken again with twice the digits until two agree
        estimate, digits = self.central_difference(wrt, self.digits), self.digits
        while digits < 8 * self.digits:
            digits *= 2
            finer = self.central_difference(wrt, digits)
            agree = abs(finer - estimate) <= self.fd_rtol / 100 * max(1, abs(finer))
            estimate = finer
            if agree:
                break
        return self.compare(title, check, value, estimate, self.fd_rtol)

    def central_difference(self, wrt: Symbol, digits: int) -> mpmath.mpf:
        """(L(w + δ) − L(w − δ)) / 2δ with δ = :data:`STEP`, computed with ``digits`` digits."""
        with mpmath.workdps(digits):
            up = forward(self.graph, self.leaves, (wrt, STEP), digits)[self.of]
            down = forward(self.graph, self.leaves, (wrt, -STEP), digits)[self.of]
            return (up - down) / (2 * STEP)

    def expanded(self, title: str, wrt: Symbol, value: Expr) -> Comparison:
        check = f"sympy.diff of the expanded {self.of}"
        free = None if self.graph.is_leaf(wrt) else wrt
        if not self.linear and self.graph.steps > self.max_expand_steps:
            note = f"skipped: a non-linear cell over {self.graph.steps} steps (more than {self.max_expand_steps}) makes the expanded {self.of} too large"
            return Comparison(title, check, value, None, None, "skipped", note)
        if self.graph.steps > MAX_WRITTEN_STEPS:
            note = f"skipped: over {self.graph.steps} steps (more than {MAX_WRITTEN_STEPS}) the expanded {self.of} is too large"
            return Comparison(title, check, value, None, None, "skipped", note)
        expanded = self.graph.expand(self.of, free=free)
        if sympy.count_ops(expanded) > MAX_EXPAND_OPS:
            note = f"skipped: the expanded {self.of} has more than {MAX_EXPAND_OPS} operations"
            return Comparison(title, check, value, None, None, "skipped", note)
        derivative = sympy.diff(expanded, wrt)
        if self.linear:  # a polynomial model: every value is rational, the env exact
            other = derivative.xreplace(self.evaluator.env)
        else:
            other = numeric(derivative, self.numbers, self.digits)
        return self.compare(title, check, value, other, self.rtol)

    def lines(self, title: str, split: str, value: Expr, derivation: Derivation) -> Comparison:
        sides = _sides(derivation)
        worst, worst_difference, note = None, sympy.S.Zero, ""
        failures = []
        for label, lhs, form in sides:
            left, right = self.evaluator(lhs), self.evaluator(form)
            agree, difference = close(left, right, self.line_rtol)
            if not agree:
                failures.append(f"{label}: {show(left)} ≠ {show(right)}")
            if worst is None or numeric(difference) > numeric(worst_difference):
                worst, worst_difference = right, difference
        last = self.evaluator(derivation.steps[-1].lhs)
        agree, difference = close(value, last, self.line_rtol)
        if not agree:
            failures.append(f"last line {derivation.steps[-1].lhs}: {show(last)} ≠ {show(value)}")
        if failures:
            note = "; ".join(failures)
        status = "MISMATCH" if failures else "ok"
        largest = max(worst_difference, difference, key=numeric)
        return Comparison(title, f"rendered lines, split={split}", value, last, largest, status, note)


def check_gradients(
    graph: Graph,
    values: Mapping | None = None,
    wrt: str | Iterable[str] | None = None,
    *,
    of: str = "L",
    seed: int = 0,
    digits: int = DIGITS,
    max_expand_steps: int = MAX_EXPAND_STEPS,
    raises: bool = True,
) -> GradientReport:
    """Check d``of``/d``wrt`` for each requested leaf (or earlier quantity) of ``graph``.

    ``values`` maps names to numbers as exercise files do (``"x": [10, 10]``
    or ``"x_1": 10``); ``None`` draws a reproducible random rational point
    (``seed``).  ``wrt`` defaults to every parameter, h_0 and every input; a
    whole vector or matrix (``"W_y"`` of a vector model) stands for every
    entry, row by row, and so does ``of`` (``"h_2"``: each entry's derivative).
    For each, rnnsym's value (``derive(graph, of, wrt).value_at``, exact for a
    model whose values stay rational) is compared with

    - central finite differences at ``digits`` digits (step 1e-20), the loss
      computed in graph order with mpmath numbers;
    - sympy's ``diff`` of the fully expanded ``of``, unless the cell is
      non-linear and has more than ``max_expand_steps`` steps (the row then
      says it was skipped and why);
    - the compact expression ``derive(...).expr`` at the point;
    - every side of every rendered line, for both splits: each must equal
      its left-hand side.

    Over more than :data:`MAX_WRITTEN_STEPS` steps the compact expression,
    the expanded ``of`` and the per-loss-term lines grow with the square of
    the steps; they are skipped (and say so), and the value is checked by
    finite differences and by the lines of the recursion (``split="step"``).

    Returns a :class:`GradientReport`; raises :class:`AssertionError` whose
    message is the table when anything disagrees (with ``raises=False``, the
    report is returned either way: see its ``ok``).

    >>> from rnnsym.models import elman
    >>> report = check_gradients(elman(3, activation="tanh", bias=True), seed=2)
    >>> report
    GradientReport(elman, steps=3, 9 derivatives: 45 checks agree)
    >>> print(check_gradients(elman(7, activation="sigmoid"), wrt="W_h").skipped[0].note)
    skipped: a non-linear cell over 7 steps (more than 6) makes the expanded L too large
    >>> check_gradients(elman(2, hidden=2, activation="tanh"), wrt="W_y").quantities
    ['dL/dW_y[1,1]', 'dL/dW_y[1,2]']
    """
    if not isinstance(graph, Graph):
        raise InputTypeError("graph", graph, "a rnnsym.Graph (from rnnsym.elman or rnnsym.unroll)")
    if isinstance(digits, bool) or not isinstance(digits, int) or digits < 30:
        raise InputError("digits", digits, "an integer >= 30")
    if values is None:
        values = random_point(graph, seed)
    names = default_wrt(graph) if wrt is None else [wrt] if isinstance(wrt, str) else list(wrt)
    symbols = [s for n in names for s in entries(graph, n, "wrt")]
    report = None
    for target in entries(graph, of, "of"):
        checker = _Checker(graph, values, str(target), digits, max_expand_steps)
        report = report or GradientReport(graph, checker.point)
        for s in symbols:
            report.rows += checker.rows(s)
    return report.raise_for_mismatch() if raises else report
