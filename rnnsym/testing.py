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

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Iterable, Mapping, Sequence

import mpmath
import sympy
from sympy import Expr, Symbol

from .derive import SPLITS, Derivation, derive
from .evaluate import Evaluation
from .errors import InputError, InputTypeError
from .graph import Graph
from .notation import split_name
from .numeric import DIGITS, at_kink, close, evaluate_formula, forward, numeric, random_point
from .rules import rule_for
from .evaluate import bind
from .numbers import parse_number

__all__ = [
    "Comparison",
    "GradientReport",
    "DerivativeMismatch",
    "check_gradients",
    "assert_derivative",
    "numeric",
    "forward",
    "default_wrt",
    "random_point",
    "DIGITS",
    "STEP",
]

#: Step of the central finite differences.
STEP = mpmath.mpf(10) ** -20
#: Non-linear cells with more steps than this skip the expanded-loss check
#: (the expanded loss grows quickly; DESIGN.md, decision 1).
MAX_EXPAND_STEPS = 6
#: Expanded losses with more operations than this skip the expanded-loss check.
MAX_EXPAND_OPS = 20_000


def default_wrt(graph: Graph) -> list[str]:
    """The leaves :func:`check_gradients` checks by default: every parameter,
    the initial state and every input."""
    targets = set(graph.cell.targets)
    return [str(s) for s in graph.leaves if split_name(str(s))[0] not in targets]


# -- reports ------------------------------------------------------------------


def show(value: Any, digits: int = 15) -> str:
    """A short display of an exact or numeric value."""
    if value is None:
        return "-"
    if isinstance(value, sympy.Rational):
        return str(value)
    if isinstance(value, sympy.Basic):
        text = sympy.sstr(value)
        plain = all(isinstance(a, (sympy.Number, sympy.NumberSymbol)) for a in value.atoms())
        return text if plain and len(text) <= 20 else "≈" + mpmath.nstr(numeric(value), digits)
    if isinstance(value, mpmath.mpf):
        return mpmath.nstr(value, digits)
    return str(value)


def _show_difference(difference: Any) -> str:
    if difference is None:
        return "-"
    if difference == 0:
        return "0"
    if isinstance(difference, sympy.Rational):
        return str(difference) if len(str(difference)) <= 12 else mpmath.nstr(numeric(difference), 2)
    return mpmath.nstr(difference, 2)


@dataclass(frozen=True)
class Comparison:
    """One row of a report: ``check`` compared ``symbolic`` (rnnsym's value)
    with ``numeric`` (the independent one) for ``quantity``.

    ``status`` is ``"ok"``, ``"MISMATCH"`` or ``"skipped"``; ``note`` says why
    a check was skipped or which line disagreed.
    """

    quantity: str
    check: str
    symbolic: Any
    numeric: Any
    difference: Any
    status: str
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.status != "MISMATCH"

    def cells(self) -> tuple[str, ...]:
        return (
            self.quantity,
            self.check,
            show(self.symbolic),
            show(self.numeric),
            _show_difference(self.difference),
            self.status,
        )


_HEADER = ("quantity", "check", "symbolic", "numeric", "difference", "status")


def table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    """Rows of strings as aligned plain-text columns."""
    rows = [tuple(header)] + [tuple(r) for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def markdown_table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    """Rows of strings as a Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(c.replace("|", r"\|") for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _point_text(point: Mapping[str, Any]) -> str:
    return ", ".join(f"{name} = {show(value)}" for name, value in point.items())


@dataclass
class GradientReport:
    """What :func:`check_gradients` compared, row by row.

    ``ok`` is true when nothing disagrees; ``mismatches`` and ``skipped``
    list the rows that did not agree or were not run; ``point`` holds the
    value of every leaf, by name.  ``str()`` gives an aligned table,
    ``_repr_markdown_`` a Markdown one.
    """

    graph: Graph
    point: dict[str, Any]
    rows: list[Comparison] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    @property
    def mismatches(self) -> list[Comparison]:
        return [r for r in self.rows if not r.ok]

    @property
    def skipped(self) -> list[Comparison]:
        return [r for r in self.rows if r.status == "skipped"]

    @property
    def quantities(self) -> list[str]:
        return list(dict.fromkeys(r.quantity for r in self.rows))

    def __repr__(self) -> str:
        done = [r for r in self.rows if r.status != "skipped"]
        what = ", ".join(self.quantities) if len(self.quantities) <= 3 else f"{len(self.quantities)} derivatives"
        if self.ok:
            verdict = f"{len(done)} checks agree"
        else:
            verdict = f"{len(self.mismatches)} of {len(done)} checks DISAGREE"
        skipped = f", {len(self.skipped)} skipped" if self.skipped else ""
        return f"GradientReport({self.graph.cell.name}, steps={self.graph.steps}, {what}: {verdict}{skipped})"

    def __str__(self) -> str:
        text = table([r.cells() for r in self.rows], _HEADER)
        tail = [f"at {_point_text(self.point)}"] + self.notes
        tail += [f"{r.quantity}, {r.check}: {r.note}" for r in self.rows if r.note]
        return text + "\n" + "\n".join(tail)

    def _repr_markdown_(self) -> str:
        text = markdown_table([r.cells() for r in self.rows], _HEADER)
        tail = [f"at {_point_text(self.point)}"] + self.notes
        tail += [f"{r.quantity}, {r.check}: {r.note}" for r in self.rows if r.note]
        return text + "\n\n" + "\n\n".join(tail)

    def raise_for_mismatch(self) -> "GradientReport":
        """Raise :class:`AssertionError` with the table when any row disagrees."""
        if not self.ok:
            raise AssertionError(f"{len(self.mismatches)} of the checks disagree:\n{self}")
        return self


# -- check_gradients ------------------------------------------------------------


def _is_linear(graph: Graph) -> bool:
    return not any(a.expr.atoms(sympy.Function) for a in graph.assignments)


def _sides(derivation: Derivation) -> list[tuple[str, Expr, Expr]]:
    """(label, lhs, form) for every form of every step, context included."""
    out = []
    for i, step in enumerate(derivation.context + derivation.steps, start=1):
        for j, form in enumerate(step.forms, start=1):
            out.append((f"line {i} ({step.kind}), side {j + 1}: {step.lhs} = {sympy.sstr(form, order='none')}", step.lhs, form))
    return out


class _Checker:
    def __init__(self, graph: Graph, values: Mapping, of: str, digits: int, max_expand_steps: int) -> None:
        self.graph = graph
        self.of = graph.symbol(of, "of")
        self.digits = digits
        bound = bind(graph, values)
        evaluation = Evaluation(graph, {s: n.exact for s, n in bound.items()})
        self.exact = evaluation.env
        self.point = {str(s): bound[s].exact for s in graph.leaves}
        self.numbers = forward(graph, self.exact, digits=digits)
        self.linear = _is_linear(graph)
        self.rational = all(isinstance(v, sympy.Rational) for v in self.exact.values())
        # Rendered lines are evaluated exactly when every value is rational, else
        # with Floats of ``digits`` digits (exact irrational arithmetic is slow).
        if self.rational:
            self.evaluator = evaluation
            self.line_rtol = mpmath.mpf(0)
        else:
            self.evaluator = evaluation.decimal(digits + 5)
            self.line_rtol = mpmath.mpf(10) ** -(digits - 15)
        self.max_expand_steps = max_expand_steps
        self.kinks = at_kink(graph, self.exact)
        self.fd_rtol = mpmath.mpf(10) ** -(digits // 2 - 5)
        self.rtol = mpmath.mpf(10) ** -(digits - 10)

    def rows(self, wrt: Symbol) -> list[Comparison]:
        title = f"d{self.of}/d{wrt}"
        derivations = {split: derive(self.graph, str(self.of), str(wrt), split) for split in SPLITS}
        value = derivations[SPLITS[0]].evaluate(self.point)
        rows = [self.finite_differences(title, wrt, value), self.expanded(title, wrt, value)]
        expr = derivations[SPLITS[0]].expr
        compact = expr.xreplace(self.exact) if self.rational else numeric(expr, self.numbers, self.digits)
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
        with mpmath.workdps(self.digits):
            up = forward(self.graph, self.exact, (wrt, STEP), self.digits)[self.of]
            down = forward(self.graph, self.exact, (wrt, -STEP), self.digits)[self.of]
            estimate = (up - down) / (2 * STEP)
        return self.compare(title, check, value, estimate, self.fd_rtol)

    def expanded(self, title: str, wrt: Symbol, value: Expr) -> Comparison:
        check = f"sympy.diff of the expanded {self.of}"
        free = None if self.graph.is_leaf(wrt) else wrt
        if not self.linear and self.graph.steps > self.max_expand_steps:
            note = f"skipped: a non-linear cell over {self.graph.steps} steps (more than {self.max_expand_steps}) makes the expanded {self.of} too large"
            return Comparison(title, check, value, None, None, "skipped", note)
        expanded = self.graph.expand(self.of, free=free)
        if sympy.count_ops(expanded) > MAX_EXPAND_OPS:
            note = f"skipped: the expanded {self.of} has more than {MAX_EXPAND_OPS} operations"
            return Comparison(title, check, value, None, None, "skipped", note)
        derivative = sympy.diff(expanded, wrt)
        if self.linear:
            other = derivative.xreplace(self.exact)
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
    (``seed``).  ``wrt`` defaults to every parameter, h_0 and every input.
    For each, rnnsym's exact value (``derive(graph, of, wrt).evaluate``) is
    compared with

    - central finite differences at ``digits`` digits (step 1e-20), the loss
      computed in graph order with mpmath numbers;
    - sympy's ``diff`` of the fully expanded ``of``, unless the cell is
      non-linear and has more than ``max_expand_steps`` steps (the row then
      says it was skipped and why);
    - the compact expression ``derive(...).expr`` at the point;
    - every side of every rendered line, for both splits: each must equal
      its left-hand side.

    Returns a :class:`GradientReport`; raises :class:`AssertionError` whose
    message is the table when anything disagrees (with ``raises=False``, the
    report is returned either way: see its ``ok``).

    >>> from rnnsym.graph import elman
    >>> report = check_gradients(elman(3, activation="tanh", bias=True), seed=2)
    >>> report
    GradientReport(elman, steps=3, 9 derivatives: 45 checks agree)
    >>> print(check_gradients(elman(7, activation="sigmoid"), wrt="W_h").skipped[0].note)
    skipped: a non-linear cell over 7 steps (more than 6) makes the expanded L too large
    """
    if not isinstance(graph, Graph):
        raise InputTypeError("graph", graph, "a rnnsym.Graph (from rnnsym.elman or rnnsym.unroll)")
    if isinstance(digits, bool) or not isinstance(digits, int) or digits < 30:
        raise InputError("digits", digits, "an integer >= 30")
    if values is None:
        values = random_point(graph, seed)
    names = default_wrt(graph) if wrt is None else [wrt] if isinstance(wrt, str) else list(wrt)
    symbols = [graph.symbol(n, "wrt") for n in names]
    checker = _Checker(graph, values, of, digits, max_expand_steps)
    report = GradientReport(graph, checker.point)
    for s in symbols:
        report.rows += checker.rows(s)
    return report.raise_for_mismatch() if raises else report


# -- assert_derivative -----------------------------------------------------------


class DerivativeMismatch(AssertionError):
    """A candidate derivative differs from the true one at ``point``.

    ``candidate`` and ``derivative`` hold the two values there.
    """

    def __init__(self, message: str, point: Mapping[str, Any], candidate: Any, derivative: Any) -> None:
        super().__init__(message)
        self.point = dict(point)
        self.candidate = candidate
        self.derivative = derivative


def _as_candidate(candidate: Any, graph: Graph) -> tuple[Callable[[dict], Any], Expr | None]:
    """A function of the exact environment (symbols → values), and the
    candidate as an expression when it is one."""
    from .formula import parse_formula

    if isinstance(candidate, str):
        candidate = parse_formula(candidate, graph, "candidate")
    if isinstance(candidate, (int, float)) and not isinstance(candidate, bool):
        candidate = parse_number(candidate, "candidate").exact  # a float by its shortest repr
    if isinstance(candidate, sympy.Basic):
        renamed = {}
        for s in candidate.free_symbols:
            renamed[s] = graph.symbol(str(s), "candidate")
        expr = candidate.xreplace(renamed)
        return (lambda env: evaluate_formula(expr, env)), expr
    if callable(candidate):
        def call(env: dict) -> Any:
            return candidate({str(s): v for s, v in env.items()})

        return call, None
    raise InputTypeError("candidate", candidate, "a sympy expression, a formula string or a function of a dict of values")


def _as_value(value: Any) -> tuple[Any, mpmath.mpf]:
    """A candidate's value as something :func:`numeric` reads, and the relative
    tolerance its kind deserves (exact values are compared to 40 digits)."""
    exact = mpmath.mpf(10) ** -(DIGITS - 10)
    if isinstance(value, bool):
        raise TypeError(value)
    if isinstance(value, int):
        return sympy.Integer(value), exact
    if isinstance(value, Fraction):
        return sympy.Rational(value.numerator, value.denominator), exact
    if isinstance(value, float):
        return mpmath.mpf(value), mpmath.mpf(10) ** -9
    if isinstance(value, sympy.Float):
        return value, mpmath.mpf(10) ** -min(DIGITS - 10, max(int(value._prec * 0.3) - 3, 6))
    if isinstance(value, mpmath.mpf):
        return value, mpmath.mpf(10) ** -20
    if isinstance(value, sympy.Basic):
        return value, exact
    raise TypeError(value)


def _differs(candidate_value: Any, true_value: Any) -> bool:
    try:
        value, rtol = _as_value(candidate_value)
        if isinstance(value, sympy.Basic) and value.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
            return True
        if isinstance(value, mpmath.mpf) and not mpmath.isfinite(value):
            return True
        agree, _ = close(value, true_value, rtol)
        return not agree
    except (ArithmeticError, ValueError, TypeError):
        return True


def _symbolic_difference(expr: Expr, derivation: Derivation) -> Expr | None:
    """The expanded difference of candidate and derivative for polynomial models,
    or None when that would be too costly or is not decisive."""
    graph = derivation.graph
    if not _is_linear(graph) or expr.atoms(sympy.Function) or graph.steps > 8 or sympy.count_ops(expr) > 500:
        return None
    if any(p.exp.is_Number and abs(p.exp) > 20 for p in expr.atoms(sympy.Pow)):
        return None
    return sympy.expand(graph.expand(expr) - derivation.expanded())


def assert_derivative(
    candidate: Any,
    graph: Graph,
    of: str = "L",
    wrt: str = "W_h",
    *,
    values: Mapping | None = None,
    max_examples: int = 200,
    min_value: Any = -2,
    max_value: Any = 2,
) -> None:
    """Raise :class:`AssertionError` unless ``candidate`` is d``of``/d``wrt`` on ``graph``.

    ``candidate`` is a sympy expression or a formula string in the model's
    names (leaves and quantities such as ``yhat_2``; a quantity stands for
    its value, see :func:`rnnsym.formula.parse_formula`), or a function that
    takes a dict from every name to its value and returns a number.  Leaves
    are :class:`sympy.Rational`; quantities are exact when the model keeps
    values rational (identity and relu), else 55-digit :class:`sympy.Float`,
    and a candidate is then compared to 40 significant digits.

    The candidate is first compared at ``values`` when given, then, for
    polynomial models and formula candidates, symbolically; then hypothesis
    (when installed; else seeded random points) searches up to
    ``max_examples`` rational points between ``min_value`` and ``max_value``
    for one where the two differ, and the smallest counterexample found is
    reported with both values.  Inside a hypothesis test (which cannot nest
    another search) only ``values`` is checked when given, else 20 seeded
    random points.

    >>> from rnnsym.graph import elman
    >>> graph = elman(2)
    >>> assert_derivative("2*(yhat_1 - y_1)*W_y*h_0 + 2*(yhat_2 - y_2)*W_y*(h_1 + W_h*h_0)", graph, "L", "W_h")
    >>> assert_derivative("2*(yhat_2 - y_2)*W_y*h_1", graph, "L", "W_h")
    Traceback (most recent call last):
    ...
    rnnsym.testing.DerivativeMismatch: dL/dW_h: the candidate differs from the derivative at
      h_0 = 1, W_h = 1, W_x = 0, W_y = 1, x_1 = 0, x_2 = 0, y_1 = 0, y_2 = 0
    quantity  candidate  derivative  difference
    dL/dW_h   2          6           -4
    (the smallest counterexample that hypothesis found)
    """
    if not isinstance(graph, Graph):
        raise InputTypeError("graph", graph, "a rnnsym.Graph (from rnnsym.elman or rnnsym.unroll)")
    if isinstance(max_examples, bool) or not isinstance(max_examples, int) or max_examples < 1:
        raise InputError("max_examples", max_examples, "an integer >= 1")
    derivation = derive(graph, of, wrt)
    evaluate, expr = _as_candidate(candidate, graph)
    title = derivation.title

    rational = all(rule_for(f).rational for a in graph.assignments for f in a.expr.atoms(sympy.Function))

    def values_at(point: Mapping) -> tuple[Any, Any]:
        bound = bind(graph, point)
        leaves = {s: n.exact for s, n in bound.items()}
        if rational:  # every value is rational: compute exactly
            evaluation = Evaluation(graph, leaves)
            env = evaluation.env
        else:  # tanh, sigmoid, ...: 55-digit decimals are much faster than exact towers
            evaluation = Evaluation(graph, leaves, DIGITS + 5)
            env = {**{s: sympy.Float(v, DIGITS + 5) for s, v in evaluation.env.items()}, **leaves}
        truth = evaluation.number(evaluation.derivative(derivation.of, derivation.wrt))
        try:
            return evaluate(env), truth
        except (ArithmeticError, ValueError, TypeError) as error:
            return f"undefined ({type(error).__name__})", truth

    def differs(point: Mapping) -> bool:
        found, truth = values_at(point)
        return isinstance(found, str) or _differs(found, truth)

    def fail(point: Mapping, how: str) -> None:
        found, truth = values_at(point)
        bound = bind(graph, point)
        shown = {str(s): bound[s].exact for s in graph.leaves}
        difference = "-" if isinstance(found, str) else show(_difference(found, truth))
        rows = [(title, show(found) if not isinstance(found, str) else found, show(truth), difference)]
        message = (
            f"{title}: the candidate differs from the derivative at\n  {_point_text(shown)}\n"
            + table(rows, ("quantity", "candidate", "derivative", "difference"))
            + f"\n({how})"
        )
        raise DerivativeMismatch(message, shown, found, truth)

    if values is not None and differs(values):
        fail(values, "at the values given")
    symbolic = _symbolic_difference(expr, derivation) if expr is not None else None
    if symbolic == 0:
        return None
    mode = _search_mode()
    if mode == "nested" and values is not None:
        return None  # inside a hypothesis test: the test's own examples are the search
    point = _search(graph, differs, max_examples, min_value, max_value, mode)
    if point is not None:
        fail(point, _FOUND_BY[mode])
    if symbolic is not None:
        raise AssertionError(f"{title}: the candidate differs from the derivative by {symbolic}, but no point tried shows it")
    return None


_FOUND_BY = {
    "hypothesis": "the smallest counterexample that hypothesis found",
    "random": "a counterexample among seeded random points",
    "nested": "a counterexample among seeded random points (no nested search inside a hypothesis test)",
}


def _difference(a: Any, b: Any) -> Any:
    a, _ = _as_value(a)
    if isinstance(a, sympy.Rational) and isinstance(b, sympy.Rational):
        return a - b
    return numeric(a) - numeric(b)


def _search_mode() -> str:
    """``"hypothesis"`` to search with hypothesis, ``"nested"`` when already
    inside a hypothesis test (hypothesis refuses nested searches), ``"random"``
    without hypothesis."""
    try:
        import hypothesis
    except ImportError:
        return "random"
    return "nested" if hypothesis.currently_in_test_context() else "hypothesis"


def _search(
    graph: Graph, differs: Callable[[Mapping], bool], max_examples: int, min_value: Any, max_value: Any, mode: str
) -> dict | None:
    """A point where ``differs`` holds (the smallest hypothesis finds), or None."""
    if mode != "hypothesis":
        for seed in range(max_examples if mode == "random" else min(max_examples, 20)):
            point = random_point(graph, seed)
            if differs(point):
                return point
        return None
    from hypothesis import HealthCheck, Phase, find, settings
    from hypothesis.errors import NoSuchExample

    from .strategies import values as value_strategy

    chosen = settings(
        max_examples=max_examples,
        database=None,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate, Phase.shrink],
    )
    try:
        return find(value_strategy(graph, min_value=min_value, max_value=max_value), differs, settings=chosen)
    except NoSuchExample:
        return None
