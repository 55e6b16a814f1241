"""Is a hand-derived formula right?  :func:`assert_derivative` searches for a counterexample.

A candidate (a formula in the model's names, a sympy expression, or a
function of the values) is compared with the true derivative at the values
given, then symbolically for polynomial models, then at points hypothesis
draws (seeded random points without hypothesis), and the smallest
counterexample is reported with both values.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Callable, Mapping

import mpmath
import sympy
from sympy import Expr

from ..derivation import Derivation, TensorDerivation, derive
from ..errors import InputError, InputTypeError
from ..evaluation import Evaluation, bind
from ..formula import parse_formula
from ..graph import Graph
from ..numbers import parse_number
from ..rules import rule_for
from .mp import DIGITS, close, evaluate_formula, numeric, random_point
from .report import point_text, show, table

__all__ = ["assert_derivative", "DerivativeMismatch"]


class DerivativeMismatch(AssertionError):
    """A candidate derivative differs from the true one at ``point``.

    ``candidate`` and ``derivative`` hold the two values there.
    """

    def __init__(self, message: str, point: Mapping[str, Any], candidate: Any, derivative: Any) -> None:
        super().__init__(message)
        self.point = dict(point)
        self.candidate = candidate
        self.derivative = derivative


DerivativeMismatch.__module__ = "rnnsym.testing"  # where users import it from


def _as_candidate(candidate: Any, graph: Graph) -> tuple[Callable[[dict], Any], Expr | None]:
    """A function of the exact environment (symbols → values), and the
    candidate as an expression when it is one."""
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


def _entries(candidate: Any, shape: tuple[int, int]) -> list[tuple[tuple[int, int], Any]]:
    """((i, j), entry) for every 1-based entry of a matrix candidate of ``shape``."""
    rows, cols = shape
    expected = f"a {rows}×{cols} matrix (nested lists, a sympy Matrix, or a flat list for a vector), or a function returning one"
    if callable(candidate) and not isinstance(candidate, sympy.Basic):
        def entry(i: int, j: int) -> Callable[[dict], Any]:
            return lambda env: _nested(candidate(env), shape, expected)[i - 1][j - 1]

        return [((i, j), entry(i, j)) for i in range(1, rows + 1) for j in range(1, cols + 1)]
    table_ = _nested(candidate, shape, expected)
    return [((i + 1, j + 1), table_[i][j]) for i in range(rows) for j in range(cols)]


def _nested(candidate: Any, shape: tuple[int, int], expected: str) -> list[list[Any]]:
    rows, cols = shape
    if isinstance(candidate, sympy.MatrixBase):
        candidate = candidate.tolist()
    if not isinstance(candidate, (list, tuple)):
        raise InputTypeError("candidate", candidate, expected)
    items = list(candidate)
    if (rows == 1 or cols == 1) and len(items) == rows * cols and not any(isinstance(c, (list, tuple)) for c in items):
        return [items] if rows == 1 else [[c] for c in items]
    if len(items) != rows or any(not isinstance(r, (list, tuple)) or len(r) != cols for r in items):
        raise InputError("candidate", candidate, expected)
    return [list(r) for r in items]


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
    if not graph.polynomial or expr.atoms(sympy.Function) or graph.steps > 8 or sympy.count_ops(expr) > 500:
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

    >>> from rnnsym.models import elman
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

    When ``of`` or ``wrt`` names a whole vector or matrix (``"W_y"`` of a vector
    model), ``candidate`` is a matrix of the derivative's shape
    (:attr:`~rnnsym.derivation.TensorDerivation.shape`: a :class:`sympy.Matrix`,
    nested lists, or a flat list for a vector) or a function returning one, and
    every entry is checked in turn; a candidate of another shape raises
    :class:`~rnnsym.errors.InputError`.

    >>> assert_derivative([["2*(yhat_1 - y_1)*h_1[1] + 2*(yhat_2 - y_2)*h_2[1]",
    ...                     "2*(yhat_1 - y_1)*h_1[2] + 2*(yhat_2 - y_2)*h_2[2]"]],
    ...                   elman(2, hidden=2), "L", "W_y", max_examples=20)
    """
    if not isinstance(graph, Graph):
        raise InputTypeError("graph", graph, "a rnnsym.Graph (from rnnsym.elman or rnnsym.unroll)")
    if isinstance(max_examples, bool) or not isinstance(max_examples, int) or max_examples < 1:
        raise InputError("max_examples", max_examples, "an integer >= 1")
    derivation = derive(graph, of, wrt)
    if isinstance(derivation, TensorDerivation):
        for (i, j), entry in _entries(candidate, derivation.shape):
            entry_of, entry_wrt = derivation.pair(i, j)
            assert_derivative(entry, graph, str(entry_of), str(entry_wrt), values=values, max_examples=max_examples,
                              min_value=min_value, max_value=max_value)
        return None
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
            f"{title}: the candidate differs from the derivative at\n  {point_text(shown)}\n"
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

    from ..strategies import values as value_strategy  # the optional hypothesis import: strategies need it

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
