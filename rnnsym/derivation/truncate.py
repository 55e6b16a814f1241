"""Truncated backpropagation through time, as named contributions.

A parameter W is used anew at every step.  The gradient of a loss term L_t
splits into one *contribution* per step s at which W enters an assignment v
(z_s, h_s, ŷ_s …): ∂L_t/∂v × ∂⁺v/∂W, with ∂L_t/∂v the derivative along every
path from v (docs/architecture.md, "What ∂A/∂B means") and ∂⁺v/∂W the local partial.  Summed
over every (t, s) they give the full gradient; truncated BPTT keeps some
pairs and drops the others.  Two conventions (docs/truncation.md):

- ``"per-loss"``, ``truncate=k``: L_t back-propagates k steps, keep t − s < k;
- ``"k1-k2"``, ``truncate=(k1, k2)``: every k1 steps (and at the last step T)
  an update at τ back-propagates the loss terms of its window k2 steps,
  keep s > τ − k2 (Sutskever's TBPTT(k1, k2), Williams & Peng's BPTT(h; h′)).

>>> from rnnsym.models import elman
>>> values = {"h_0": 1, "x": [10, 10, 10], "y": [5, 5, 5], "W_h": 1, "W_x": "0.1", "W_y": 2}
>>> result = truncated(elman(3), "L", "W_h", 1)
>>> result
Derivation(dL/dW_h, truncated per-loss k=1, 11 steps)
>>> result.values(values)                 # truncated, dropped, full
(40, 40, 80)
>>> print(result.latex(values)[-1])
\\frac{\\partial L}{\\partial W_{h}} = 40 + 40 = 80
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import mpmath
import sympy
from sympy import Add, Expr, Integer, S, Symbol
from sympy.core.symbol import Str

from ..errors import InputError, InputTypeError
from ..evaluation import Evaluation, evaluate
from ..forms import Partial, Times, product, total
from ..graph import Graph
from ..printing import Printer, RenderOptions
from .core import ChainDerivation
from .step import Step
from .scalar import derivative, derive_scalar

__all__ = ["CONVENTIONS", "Truncation", "Kept", "Dropped", "TruncatedDerivation", "contributions", "truncation", "truncated"]

#: The truncation conventions, by name; the first is the default.
CONVENTIONS = ("per-loss", "k1-k2")


@dataclass(frozen=True)
class Truncation:
    """Which contributions (t, s) a truncated BPTT keeps.

    Both conventions are the same rule: the loss term L_t is back-propagated
    in the update at τ(t) = min(k1·⌈t/k1⌉, T) and keeps the steps s > τ(t) − k2.
    ``"per-loss"`` with k is ``k1 = 1, k2 = k`` (τ(t) = t: keep t − s < k).

    >>> Truncation("k1-k2", 2, 3).keeps(3, 1, steps=5), Truncation("k1-k2", 2, 3).keeps(3, 2, steps=5)
    (False, True)
    """

    convention: str
    k1: int
    k2: int

    def update(self, t: int, steps: int) -> int:
        """τ(t): the step at which L_t is back-propagated."""
        return min(-(-t // self.k1) * self.k1, steps)

    def keeps(self, t: int, s: int, steps: int) -> bool:
        return s > self.update(t, steps) - self.k2

    def label(self, latex: bool = False) -> str:
        """``k=2`` or ``k1=2, k2=3`` (in LaTeX ``k_{1}=2,\\, k_{2}=3``)."""
        if self.convention == "per-loss":
            return f"k={self.k2}"
        return rf"k_{{1}}={self.k1},\, k_{{2}}={self.k2}" if latex else f"k1={self.k1}, k2={self.k2}"

    def args(self) -> sympy.Tuple:
        return sympy.Tuple(Str(self.convention), Integer(self.k1), Integer(self.k2))

    @classmethod
    def from_args(cls, args: sympy.Tuple) -> "Truncation":
        return cls(str(args[0]), int(args[1]), int(args[2]))


def truncation(truncate: object, convention: object = "per-loss") -> Truncation:
    """The validated rule for ``truncate`` (k, or (k1, k2)) under ``convention``.

    >>> truncation((3, 2), "k1-k2")
    Traceback (most recent call last):
    ...
    rnnsym.errors.InputError: truncate: got (3, 2), expected a pair (k1, k2) of integers with 1 <= k1 <= k2 (truncation 'k1-k2')
    """
    if convention not in CONVENTIONS:
        raise InputError("truncation", convention, "one of " + ", ".join(repr(c) for c in CONVENTIONS))
    if convention == "per-loss":
        expected = "an integer k >= 1, the steps each loss term is back-propagated (truncation 'per-loss')"
        if not isinstance(truncate, int) or isinstance(truncate, bool):
            raise InputTypeError("truncate", truncate, expected)
        if truncate < 1:
            raise InputError("truncate", truncate, expected)
        return Truncation("per-loss", 1, truncate)
    pair = tuple(truncate) if isinstance(truncate, (tuple, list)) else ()
    whole = all(isinstance(k, int) and not isinstance(k, bool) and k >= 1 for k in pair)
    if len(pair) != 2 or not whole or pair[0] > pair[1]:
        raise InputError("truncate", truncate, "a pair (k1, k2) of integers with 1 <= k1 <= k2 (truncation 'k1-k2')")
    return Truncation("k1-k2", pair[0], pair[1])


class _Marked(Expr):
    """∂of/∂wrt restricted to some contributions; args ``(of, wrt, rule)``."""

    is_commutative = True
    dropped = False

    def __new__(cls, of: Symbol, wrt: Symbol, rule: Truncation | sympy.Tuple) -> "_Marked":
        return Expr.__new__(cls, of, wrt, rule.args() if isinstance(rule, Truncation) else rule)

    of = property(lambda self: self.args[0])
    wrt = property(lambda self: self.args[1])
    rule = property(lambda self: Truncation.from_args(self.args[2]))

    def _rnnsym_latex(self, printer) -> str:
        # Names, never numbers, inside the bar: a numbers line must not turn L_3 into its value.
        names = printer if getattr(printer, "numbers", None) is None else Printer(printer.options)
        under = r"\text{dropped}" if self.dropped else self.rule.label(latex=True)
        return rf"\left.{names._print(Partial(self.of, self.wrt))}\right|_{{{under}}}"

    def _latex(self, printer) -> str:
        return self._rnnsym_latex(Printer(RenderOptions()))

    def _sympystr(self, printer) -> str:
        return f"∂{self.of}/∂{self.wrt}|{'dropped' if self.dropped else self.rule.label()}"

    def _rnnsym_value(self, evaluator: Evaluation) -> Expr:
        """The value at ``evaluator``'s point (the hook :class:`~rnnsym.evaluation.Evaluation` calls)."""
        rule, steps = self.rule, evaluator.graph.steps
        parts = _contributions(evaluator, self.of, self.wrt)
        return Add(*[v for (t, s), v in parts.items() if rule.keeps(t, s, steps) != self.dropped])


class Kept(_Marked):
    """The truncated part of ∂of/∂wrt: printed ``∂L_3/∂W_h |_{k=2}``."""


class Dropped(_Marked):
    """The part of ∂of/∂wrt a truncation drops: printed ``∂L_3/∂W_h |_dropped``."""

    dropped = True


# --- structure: which assignment uses wrt at which step, for which loss term ------------------


def _uses(graph: Graph, of: Symbol, wrt: Symbol) -> list[tuple[Symbol, int, list[Symbol]]]:
    """(L_t, t, [v …]) for each loss term of ``of`` (L = Σ L_t, else ``of`` alone):
    the assignments v using ``wrt`` directly that L_t depends on, in order."""
    users = [a.target for a in graph.assignments if wrt in a.dependencies]
    total_ = graph.assignment(of).role == "total"
    out = []
    for term in graph.assignment(of).dependencies if total_ else (of,):
        upstream = set(graph.upstream(term))
        out.append((term, graph.assignment(term).step, [v for v in users if v in upstream]))
    return out


def _contributions(evaluator: Evaluation, of: Symbol, wrt: Symbol) -> dict[tuple[int, int], Expr]:
    graph = evaluator.graph
    out: dict[tuple[int, int], Expr] = {}
    total_ = graph.assignment(of)
    weight = total_.weight if total_.role == "total" else S.One  # ∂L/∂L_t: 1, or 1/T for a mean
    for term, t, users in _uses(graph, of, wrt):
        for v in users:
            local = evaluator.partial(Partial(v, wrt, True))
            value = local if v == term else evaluator.partial(Partial(term, v)) * local
            key = (t, graph.assignment(v).step)
            out[key] = out.get(key, S.Zero) + value * weight
    return out


def _symbols(graph: Graph, of: object, wrt: object) -> tuple[Symbol, Symbol]:
    A = graph.symbol(str(of) if isinstance(of, Symbol) else of, "of")
    B = graph.symbol(str(wrt) if isinstance(wrt, Symbol) else wrt, "wrt")
    if graph.is_leaf(A):
        raise InputError("of", of, "a computed quantity, not a leaf (one of " + ", ".join(map(str, graph.quantities)) + ")")
    if not graph.is_leaf(B):
        raise InputError("wrt", wrt, "a leaf (a weight, an input or an initial state) for truncated BPTT")
    return A, B


def contributions(graph: Graph, of: str | Symbol, wrt: str | Symbol, values: Mapping,
                  digits: int | None = None) -> dict[tuple[int, int], Expr]:
    """{(t, s): value}: the part of ∂of/∂wrt from loss term L_t through the use of
    ``wrt`` at step s, Σ_v ∂L_t/∂v × ∂⁺v/∂wrt over the assignments v of step s.

    ``values`` are the leaves' values (exercise-file names, or leaf symbols
    with exact numbers); the contributions are exact, or mpmath decimals of
    ``digits`` digits.  Every pair where L_t depends on such a v is present,
    even when its value is 0.

    >>> from rnnsym.models import elman
    >>> g = elman(2)
    >>> env = {g.symbol(n): sympy.Rational(v) for n, v in
    ...        {"h_0": 1, "W_h": 1, "W_x": "1/10", "W_y": 2, "x_1": 10, "x_2": 10, "y_1": 5, "y_2": 5}.items()}
    >>> contributions(g, "L", "W_h", env)
    {(1, 1): -4, (2, 1): 4, (2, 2): 8}
    """
    A, B = _symbols(graph, of, wrt)
    return _contributions(evaluate(graph, values, digits), A, B)


# --- the derivation -----------------------------------------------------------------------------


class TruncatedDerivation(ChainDerivation):
    """A :class:`~rnnsym.derivation.Derivation` of a truncated gradient.

    ``evaluate(values)`` gives the truncated value; ``values(values)`` gives
    (truncated, dropped, full); ``kept`` and ``dropped`` the pairs (t, s).
    """

    def __init__(self, *args, truncation: Truncation, kept: frozenset, dropped: frozenset, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.truncation = truncation
        self.kept = kept
        self.dropped = dropped

    def __repr__(self) -> str:
        return f"Derivation({self.title}, truncated {self.truncation.convention} {self.truncation.label()}, {len(self.steps)} steps)"

    def values(self, values: Mapping) -> tuple[Expr, Expr, Expr]:
        """Exact (truncated, dropped, full) at ``values`` (names as in exercise files)."""
        ev = self.evaluation(values)
        parts = _contributions(ev, self.of, self.wrt)
        kept = Add(*[v for key, v in parts.items() if key in self.kept])
        dropped = Add(*[v for key, v in parts.items() if key in self.dropped])
        return kept, dropped, ev.derivative(self.of, self.wrt)

    def value_at(self, evaluation: Evaluation) -> Expr:
        """The truncated gradient at a point already evaluated."""
        parts = _contributions(evaluation, self.of, self.wrt)
        zero = S.Zero if evaluation.exact else 0
        value = sum((v for key, v in parts.items() if key in self.kept), zero)
        if evaluation.exact:  # an irrational sum as one exact number, named after what it is
            with mpmath.workprec(evaluation.prec):
                return evaluation._atom(value, f"d{self.of}/d{self.wrt}|{self.truncation.label()}")
        return evaluation.number(value)


def _pair(graph: Graph, term: Symbol, v: Symbol, wrt: Symbol) -> tuple[Expr, Expr]:
    """∂L_t/∂v × ∂⁺v/∂wrt, named and with the local partial written out."""
    local = graph.assignment(v).partials[wrt]
    if v == term:
        return Partial(v, wrt, True), local
    return Times(Partial(term, v), Partial(v, wrt, True)), product([Partial(term, v), local])


def _line(lhs: Expr, pairs: list[tuple[Expr, Expr]]) -> Step:
    if not pairs:
        return Step(lhs, (S.Zero,))
    forms = (total([n for n, _ in pairs]), total([s for _, s in pairs]))
    return Step(lhs, forms if forms[0] != forms[1] else forms[1:])


def truncated(graph: Graph, of: str, wrt: str, k: object, convention: str = "per-loss",
              split: str = "loss") -> TruncatedDerivation:
    """Truncated BPTT of ∂of/∂wrt: per loss term, the kept and the dropped
    contributions as sums of ∂L_t/∂v × ∂⁺v/∂wrt, then truncated, dropped and
    full gradient side by side.  ``k`` is an integer (``"per-loss"``) or a
    pair (k1, k2) (``"k1-k2"``); ``wrt`` must be a leaf (for a whole vector or
    matrix, :func:`rnnsym.derive` gives a
    :class:`~rnnsym.derivation.truncate_tensor.TruncatedTensorDerivation`).

    >>> from rnnsym.models import elman
    >>> for step in truncated(elman(2), "L", "W_h", 1).steps[4:6]:
    ...     print(step)
    Step(chain: ∂L_2/∂W_h|k=1 = ∂L_2/∂h_2 × ∂⁺h_2/∂W_h = ∂L_2/∂h_2 × h_1)
    Step(chain: ∂L_2/∂W_h|dropped = ∂L_2/∂h_1 × ∂⁺h_1/∂W_h = ∂L_2/∂h_1 × h_0)
    """
    rule = truncation(k, convention)
    if split != "loss":
        raise InputError("split", split, "'loss' with truncate (truncated BPTT is written per loss term)")
    A, B = _symbols(graph, of, wrt)
    uses = _uses(graph, A, B)
    kept_pairs, dropped_pairs = set(), set()
    per_term, kept_groups, dropped_groups, kept_exprs = [], [], [], []
    for term, t, users in uses:
        kept, dropped = [], []
        for v in users:
            s = graph.assignment(v).step
            keep = rule.keeps(t, s, graph.steps)
            (kept if keep else dropped).append(_pair(graph, term, v, B))
            (kept_pairs if keep else dropped_pairs).add((t, s))
            if keep:
                kept_exprs.append(derivative(graph, term, v) * graph.assignment(v).partial_exprs[B])
        per_term += [_line(Kept(term, B, rule), kept), _line(Dropped(term, B, rule), dropped)]
        kept_groups.append(total([n for n, _ in kept]))
        dropped_groups.append(total([n for n, _ in dropped]))
    whole, several = Partial(A, B), len(uses) > 1
    weight = graph.assignment(A).weight if graph.assignment(A).role == "total" else S.One

    def scaled(form: Expr) -> Expr:  # a mean over time: 1/T × (the sum over its terms)
        return form if weight == 1 else Times(weight, form)

    steps = [Step(whole, (Add(Kept(A, B, rule), Dropped(A, B, rule), evaluate=False),), "split")]
    if several:
        steps.append(Step(Kept(A, B, rule), (scaled(total([Kept(term, B, rule) for term, _, _ in uses])),), "split"))
    steps += per_term
    kept_all, dropped_all = total(kept_groups), total(dropped_groups)
    if several:
        steps.append(Step(Kept(A, B, rule), (scaled(Add(*kept_groups, evaluate=False)),), "sum"))
        steps.append(Step(Dropped(A, B, rule), (scaled(Add(*dropped_groups, evaluate=False)),), "sum"))
    steps.append(Step(whole, (Add(scaled(kept_all), scaled(dropped_all), evaluate=False),), "sum"))
    context = derive_scalar(graph, str(A), str(B)).context
    return TruncatedDerivation(graph, A, B, tuple(steps), weight * Add(*kept_exprs), "loss", context, truncation=rule,
                               kept=frozenset(kept_pairs), dropped=frozenset(dropped_pairs))
