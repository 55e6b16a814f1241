"""The evaluation stage: values → leaves → exact numbers → decimals → derivative values.

Every number rnnsym shows or checks comes from here, by one rule:

- :func:`bind` reads values as exercise files write them (names, a list per
  step, nested lists for matrices) into an exact :class:`~rnnsym.numbers.Number`
  for every leaf;
- :class:`Evaluation` computes every quantity of a graph at one point, in graph
  order, one assignment at a time: exactly (rationals stay rational; an
  irrational value is stood in for by an :class:`Exact` atom), or in decimals
  with ``digits`` significant digits, computed in mpmath with :data:`GUARD`
  guard digits more, and again with as many more bits as a pass lost to
  cancellation (:mod:`rnnsym.precision`) when that was more than the guard;
- derivative values come from the same pass: one reverse (adjoint) pass per
  quantity differentiated, one forward (tangent) pass per quantity
  differentiated with respect to, each cached, each linear in the number of
  steps.

Each template equation of a cell is compiled once, for each kind of
arithmetic, into a closure over its arguments; an assignment of the unrolled
graph calls its template's closure with its own values.  Nothing is
substituted into a nested expression, and nothing recurses in depth
proportional to the number of steps.

>>> from rnnsym.models import elman
>>> ev = Evaluation(elman(2), {"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": "0.1", "W_y": 2})
>>> ev.value("yhat_2"), ev.adjoints(ev.graph.loss)[ev.graph.symbol("W_h")]
(6, 8)
>>> tanh = Evaluation(elman(2, "tanh"), {"h_0": 0, "x": [1, 1], "y": [0, 0], "W_h": 1, "W_x": 1, "W_y": 1})
>>> tanh.value("h_1"), tanh.decimal(6).value("h_2")
(tanh(1), 0.942681)
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Iterable, Mapping

import mpmath
import sympy
from sympy import Expr, S, Symbol

from .errors import InputError, LimitError
from .precision import MAX_EXTRA_BITS
from .forms import Partial, plain
from .kernels import kernel as _kernel, mp_forward as _mp_forward, mp_total as _mp_total, short_pass as _short_pass
from .precision import Tracker as _Tracker, add as _add, fsum as _fsum, recompute as _recompute
from .exact import EXACT_BITS, Exact, mp_value
from .binding import Missing, bind, leaf_numbers
from .numbers import check_size

__all__ = ["GUARD", "bind", "Missing", "Evaluation", "evaluate", "gradients"]

#: Guard digits: decimals asked for with ``digits`` digits are computed with ``digits + GUARD``.
GUARD = 10
#: ∂of/∂q for a quantity q is found by a reverse pass that stops at q when that pass
#: reaches at most this many assignments (∂L_t/∂ŷ_t); else from ``of``'s full, cached pass.
SHORT_PASS = 64


class Evaluation:
    """Every leaf and quantity of ``graph`` at one point, and derivatives there.

    ``values`` are exercise-file names (``{"W_h": 1, "x": [10, 10], …}``) or
    leaf symbols with exact numbers (or :class:`sympy.Float` decimals, which
    ask for decimals of their precision).  With ``digits`` ``None`` values are exact
    (:class:`sympy.Rational`, or an :class:`Exact` atom when irrational); with
    ``digits`` they are mpmath numbers computed with ``digits + GUARD``
    significant digits (more when cancellation needs them; a value that
    cannot be computed to ``digits`` digits within :data:`MAX_EXTRA_BITS` more
    bits raises :class:`~rnnsym.errors.LimitError` when it is asked for).
    ``env`` maps every symbol to its value.

    - :meth:`value` of a name; :meth:`adjoints` of a quantity A: ∂A/∂v for every
      v that A depends on, v treated as free, by one reverse pass;
      :meth:`tangents` with respect to B: ∂q/∂B for every q, by one forward pass;
    - :meth:`partial` of a named :class:`~rnnsym.forms.Partial`; calling the
      evaluation on a form gives the form's value;
    - :meth:`decimal` gives the same point in decimals (cached).

    Every pass is cached, so all gradients of one loss share one reverse pass.
    """

    def __init__(self, graph, values: Mapping, digits: int | None = None) -> None:
        if digits is not None and (isinstance(digits, bool) or not isinstance(digits, int) or not 1 <= digits <= 1000):
            raise InputError("digits", digits, "None (exact) or a number of digits from 1 to 1000")
        self.graph = graph
        self.spelling, implied = leaf_numbers(graph, values)
        self.leaves = {s: n.exact for s, n in self.spelling.items()}
        self.digits = digits if digits is not None else implied
        self.exact = self.digits is None
        digits = self.digits
        self.prec = EXACT_BITS if self.exact else mpmath.libmp.dps_to_prec(digits + GUARD)
        self._bits = 0 if self.exact else mpmath.libmp.dps_to_prec(digits)
        self._cap, self._unsure = self.prec + MAX_EXTRA_BITS, {}  # see rnnsym.precision.recompute
        self._tangents: dict[Symbol, dict[Symbol, Any]] = {}
        self._adjoints: dict[Symbol, dict[Symbol, Any]] = {}
        self._short: dict[tuple[Symbol, Symbol], Any] = {}
        self._decimals: dict[int, Evaluation] = {}
        self._mp_env: dict[Symbol, mpmath.mpf] | None = None

    @cached_property
    def env(self) -> dict[Symbol, Any]:
        """Every leaf and quantity's value, computed in graph order when first asked for."""
        return self._forward()

    def __repr__(self) -> str:
        kind = "exact" if self.exact else f"{self.digits} digits"
        return f"Evaluation({self.graph!r}, {kind})"

    # -- values ----------------------------------------------------------------------------------
    def _forward(self) -> dict[Symbol, Any]:
        graph = self.graph
        with mpmath.workprec(self.prec):
            if self.exact:
                env: dict[Symbol, Any] = dict(self.leaves)
                mp_env = None
                if not all(k is None or k.rational for k in (_kernel(graph, a) for a in graph.assignments)):
                    mp_env = {s: mpmath.mpf(int(v.p)) / int(v.q) for s, v in self.leaves.items()}
                for a in graph.assignments:
                    args = [env[s] for s in a.dependencies]
                    kernel = _kernel(graph, a)
                    value = sympy.Add(*args) * a.weight if kernel is None else kernel.compiled(True)[0](args)
                    if mp_env is not None:
                        margs = [mp_env[s] for s in a.dependencies]
                        value = self._atom(value, str(a.target), (lambda m: _mp_total(m, a.weight)) if kernel is None
                                           else kernel.compiled(False)[0], margs)
                        try:  # right to EXACT_BITS bits
                            mp_env[a.target] = mp_value(value, {}, EXACT_BITS)
                        except LimitError:  # shown as an error only if it is asked for
                            mp_env[a.target] = max(value._cache.items(), default=(0, mpmath.nan))[1]
                    env[a.target] = check_size(value, str(a.target))
                self._mp_env = mp_env
                return env
        return self._precise(lambda: _mp_forward(graph, self.leaves, self.prec), "values")

    def _precise(self, compute, what: object) -> Any:
        """``compute()``, a decimal pass, with the precision it needs (:func:`~rnnsym.precision.recompute`;
        ``what``, written with ``str`` only when a value cannot be computed, names the pass)."""
        return compute() if self.exact else _recompute(self, compute, what)

    def _clear(self) -> None:
        """Forget every value, to compute them again at a new :attr:`prec`."""
        self.__dict__.pop("env", None)
        self._adjoints, self._tangents, self._short = {}, {}, {}

    def _atom(self, value: Any, name: str, decimal=None, args: list = ()) -> Any:
        """``value``, or an :class:`Exact` atom standing in for it when it is an irrational number
        (``decimal(args)`` computes it in mpmath from decimals right to :data:`~rnnsym.exact.EXACT_BITS`
        bits or more, when it can; the atom keeps the bits it is right to after cancellation)."""
        if not self.exact or isinstance(value, (sympy.Rational, Exact)) or not value.is_number:
            return value
        if decimal is None:
            return Exact(name, value)
        work = max([EXACT_BITS] + [a._mpf_[3] for a in args])  # as precise as the arguments
        with mpmath.workprec(work), _Tracker() as tracker:
            try:
                number = decimal(args)
            except ZeroDivisionError:
                return Exact(name, value)
        return Exact(name, value, number, EXACT_BITS - min(tracker.lost, EXACT_BITS + 1))  # the arguments' bits

    @property
    def values(self) -> dict[Symbol, Any]:
        """Every leaf and quantity's value as shown outside: exact, or :class:`sympy.Float` of ``digits`` digits."""
        return {s: self.number(v) for s, v in self.env.items()}

    def value(self, name: str | Symbol) -> Any:
        """The value of the leaf or quantity ``name`` (``"yhat_2"``)."""
        symbol = name if isinstance(name, Symbol) else self.graph.symbol(name)
        return self.number(self.env[symbol])

    def decimal(self, digits: int) -> "Evaluation":
        """This point evaluated in decimals with ``digits`` digits (cached)."""
        if not self.exact and digits == self.digits:
            return self
        if digits not in self._decimals:
            self._decimals[digits] = Evaluation(self.graph, self.spelling, digits)
        return self._decimals[digits]

    def number(self, value: Any) -> Any:
        """``value`` as shown outside: exact as is, a decimal as a :class:`sympy.Float` of ``digits`` digits."""
        if self.exact or not isinstance(value, mpmath.mpf):
            return value
        if id(value) in self._unsure and self._unsure[id(value)][1] is value:
            raise LimitError(self._unsure[id(value)][0], f"a value that cancels beyond {self._cap} bits",
                             f"a value computable to {self.digits} digits")
        return sympy.Float(value, self.digits)

    # -- local partials -----------------------------------------------------------------------------
    def local_partials(self, assignment, raw: bool = False) -> list[Any]:
        """The values of ∂⁺target/∂dependency for each dependency of ``assignment``, in order
        (``raw``: in this evaluation's own arithmetic, mpmath numbers for decimals)."""
        kernel = _kernel(self.graph, assignment)
        if kernel is None:  # the total loss: each term's weight (1, or 1/T for a mean)
            weight = assignment.weight
            if self.exact or not raw:
                return [weight] * len(assignment.dependencies)
            with mpmath.workprec(self.prec):  # 1/T to this evaluation's precision, not mpmath's default
                return [mpmath.mpf(int(weight.p)) / int(weight.q)] * len(assignment.dependencies)
        names = (*assignment.dependencies, assignment.target, *(assignment.mapping[x] for x in kernel.extras))
        env = self.env
        args = [env[s] for s in names]
        if mpmath.mp.prec != self.prec:  # the passes set it once for all their assignments
            with mpmath.workprec(self.prec):
                return self.local_partials(assignment, raw)
        values = [f(args) for f in kernel.compiled(self.exact)[1]]
        if self.exact and self._mp_env is not None:
            margs = [self._mp_env[s] for s in names]
            values = [self._atom(v, f"d{assignment.target}/d{d}", f, margs)
                      for v, f, d in zip(values, kernel.compiled(False)[1], assignment.dependencies)]
        return values if raw else [self.number(v) for v in values]

    # -- derivative passes ---------------------------------------------------------------------------
    def _reverse(self, target: Symbol) -> dict[Symbol, Any]:
        """The reverse pass from ``target``, in this evaluation's own arithmetic (cached).

        Each quantity's contributions are collected and added once, when the
        pass reaches it (a parameter's, at the end), so that exact sums never
        grow term by term.
        """
        if target not in self._adjoints:
            self._adjoints[target] = self._precise(lambda: self._reverse_pass(target), f"d{target}")
        return self._adjoints[target]

    def _reverse_pass(self, target: Symbol) -> dict[Symbol, Any]:
        graph, _ = self.graph, self.env
        one = S.One if self.exact else mpmath.mpf(1)
        terms: dict[Symbol, list] = {target: [one]}
        adj: dict[Symbol, Any] = {}
        with mpmath.workprec(self.prec):
            for a in reversed(graph.assignments[: graph.position(target) + 1]):
                parts = terms.pop(a.target, None)
                if parts is None:
                    continue
                g = self._sum(parts)
                g = adj[a.target] = self._atom(g, f"d{target}/d{a.target}") if self.exact else g
                if not self._nonzero(g):
                    continue
                for dep, pv in zip(a.dependencies, self.local_partials(a, raw=True)):
                    if self._nonzero(pv):
                        terms.setdefault(dep, []).append(g * pv)
            for s, parts in terms.items():  # leaves
                g = self._sum(parts)
                adj[s] = self._atom(g, f"d{target}/d{s}") if self.exact else g
        return adj

    def _nonzero(self, value: Any) -> bool:
        # an mpf's truth is a cheap test; a sympy value is compared with 0
        return value != 0 if self.exact else bool(value)

    def _sum(self, parts: list) -> Any:
        if len(parts) == 1:
            return parts[0]
        if self.exact:
            return sympy.Add(*parts)
        return _add(parts[0], parts[1]) if len(parts) == 2 else _fsum(parts)

    def _forward_pass(self, source: Symbol) -> dict[Symbol, Any]:
        """The forward (tangent) pass from ``source``, in this evaluation's own arithmetic (cached)."""
        if source not in self._tangents:
            self._tangents[source] = self._precise(lambda: self._tangent_pass(source), f"d/d{source}")
        return self._tangents[source]

    def _tangent_pass(self, source: Symbol) -> dict[Symbol, Any]:
        graph, _ = self.graph, self.env
        tan: dict[Symbol, Any] = {source: S.One if self.exact else mpmath.mpf(1)}
        with mpmath.workprec(self.prec):
            for a in graph.assignments[graph.position(source) + 1:]:
                if not any(d in tan for d in a.dependencies):
                    continue
                value = None
                for dep, pv in zip(a.dependencies, self.local_partials(a, raw=True)):
                    if dep in tan and self._nonzero(pv):
                        term = tan[dep] * pv
                        value = term if value is None else self._sum([value, term])
                if value is not None and self._nonzero(value):
                    tan[a.target] = self._atom(value, f"d{a.target}/d{source}") if self.exact else value
        return tan

    def adjoints(self, target: Symbol) -> dict[Symbol, Any]:
        """∂target/∂v for every leaf and quantity v that ``target`` depends on (v free), by one reverse pass."""
        return {s: self.number(v) for s, v in self._reverse(target).items()}

    def tangents(self, source: Symbol) -> dict[Symbol, Any]:
        """∂q/∂source for every quantity q (``source`` free), by one forward pass."""
        return {s: self.number(v) for s, v in self._forward_pass(source).items()}

    def _derivative(self, of: Symbol, wrt: Symbol) -> Any:
        zero = S.Zero if self.exact else mpmath.mpf(0)
        if of not in self._adjoints and wrt in self._tangents:
            return self._tangents[wrt].get(of, zero)
        if of not in self._adjoints and not self.graph.is_leaf(wrt):
            short = self._short_pass(of, wrt)
            if short is not None:
                return short
        return self._reverse(of).get(wrt, zero)

    def _short_pass(self, of: Symbol, wrt: Symbol) -> Any:
        """∂of/∂wrt for a quantity ``wrt`` by a reverse pass that stops at ``wrt``
        (every path from it runs through later assignments), or ``None`` when
        that pass would reach more than :data:`SHORT_PASS` assignments."""
        if (of, wrt) not in self._short:
            self._short[(of, wrt)] = self._precise(lambda: _short_pass(self, of, wrt, SHORT_PASS), f"d{of}/d{wrt}")
        return self._short[(of, wrt)]

    def derivative(self, of: Symbol, wrt: Symbol) -> Any:
        """∂of/∂wrt (wrt free): from a pass already made when there is one, else by a reverse pass."""
        return self.number(self._derivative(of, wrt))

    def gradient(self, wrt: str, of: str = "L") -> Any:
        """∂of/∂wrt for the whole tensor called ``wrt`` — a parameter (``"W_h"``), an
        initial state (``"h_0"``) or a quantity (``"h_2"``), each entry free: a number
        for a scalar, else a :class:`sympy.Matrix` of the tensor's shape (a column for
        a vector).  Every gradient of ``of`` comes from its one reverse pass.

        Raises :class:`~rnnsym.errors.InputError` naming ``wrt`` or ``of`` when the
        graph has no such tensor or quantity.

        >>> from rnnsym.models import elman
        >>> ev = Evaluation(elman(2, hidden=2), {"h_0": [1, 0], "x": [1, 2], "y": [1, 0],
        ...     "W_h": [[1, 0], [0, 1]], "W_x": [[1], [1]], "W_y": [[1, 1]]})
        >>> ev.gradient("W_y")
        Matrix([[64, 46]])
        """
        target = self.graph.symbol(of, "of")
        entries = self.graph.tensor(wrt, "wrt").applyfunc(lambda s: self.derivative(target, s))
        return entries[0, 0] if entries.shape == (1, 1) else entries

    def gradients(self, wrt: Iterable[str] | None = None, of: str = "L") -> dict[str, Any]:
        """:meth:`gradient` for each name of ``wrt`` (default: every parameter of the
        cell, in the cell's order), all from one forward and one reverse pass.

        >>> from rnnsym.models import elman
        >>> ev = Evaluation(elman(2), {"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": "0.1", "W_y": 2})
        >>> ev.gradients()
        {'W_h': 8, 'W_x': 40, 'W_y': 2}
        """
        names = self.graph.cell.parameter_tensors if wrt is None else [wrt] if isinstance(wrt, str) else list(wrt)
        return {name: self.gradient(name, of) for name in names}

    def _partial(self, p: Partial) -> Any:
        if p.local:
            a = self.graph.assignment(p.of)
            if p.wrt not in a.dependencies:
                return S.Zero if self.exact else mpmath.mpf(0)
            return self._precise(lambda: self.local_partials(a, raw=True), p)[a.dependencies.index(p.wrt)]
        return self._derivative(p.of, p.wrt)

    def partial(self, p: Partial) -> Any:
        """The value of a named partial: local (∂⁺) from the assignment's own partials, else ∂of/∂wrt."""
        return self.number(self._partial(p))

    # -- forms ---------------------------------------------------------------------------------------
    def __call__(self, form: Expr) -> Any:
        """The value of ``form``: named partials by :meth:`partial`, nodes with a
        ``_rnnsym_value(evaluation)`` method by that method, symbols from ``env``."""
        nodes = {p: self._partial(p) for p in form.atoms(Partial)}
        for node in sympy.preorder_traversal(form):
            if hasattr(node, "_rnnsym_value"):
                nodes[node] = node._rnnsym_value(self)
        if self.exact:
            return plain(form.xreplace(nodes)).xreplace(self.env)
        names = {node: sympy.Dummy() for node in nodes}

        def value() -> Any:
            with mpmath.workprec(self.prec):
                lookup = {names[node]: value for node, value in nodes.items()}
                return mp_value(plain(form.xreplace(names)), lookup | self.env, self.prec)

        return self.number(self._precise(value, form))


def evaluate(graph, values: Mapping | Evaluation, digits: int | None = None) -> Evaluation:
    """``graph`` evaluated at ``values`` (exercise-file names, or leaf symbols with
    numbers): every value exact, or decimals of ``digits`` digits; see :class:`Evaluation`.
    ``values`` may be an evaluation of ``graph`` already made, which is then used as it
    is (so that one point is evaluated once, whatever asks for it).  A graph keeps the
    point last evaluated on it: the same values and digits give that (read-only) evaluation back.

    >>> from rnnsym.models import elman
    >>> evaluate(elman(1), {"h_0": 1, "x": [10], "y": [5], "W_h": 1, "W_x": "0.1", "W_y": 2}).values
    {h_0: 1, x_1: 10, y_1: 5, W_h: 1, W_x: 1/10, W_y: 2, h_1: 2, yhat_1: 4, L_1: 1, L: 1}
    """
    if isinstance(values, Evaluation) and values.graph is graph:
        return values if digits is None and values.exact else values.decimal(digits) if digits else Evaluation(
            graph, values.spelling)
    evaluation = Evaluation(graph, values, digits)
    # the point last evaluated on this graph is kept, so that the derivations of several
    # gradients at one point (``derive(g, "L", w).evaluate(values)`` for each w) share its passes
    key = (tuple(evaluation.spelling.items()), evaluation.digits)
    last = graph.__dict__.get("_last_evaluation")
    if last is not None and last[0] == key:
        return last[1]
    graph.__dict__["_last_evaluation"] = (key, evaluation)
    return evaluation


def gradients(graph, values: Mapping | Evaluation, wrt: Iterable[str] | None = None, *,
              of: str = "L", digits: int | None = None) -> dict[str, Any]:
    """The gradient of ``of`` (the loss by default) with respect to each tensor of
    ``wrt`` (default: every parameter) at ``values``, from one forward and one
    reverse pass: exact, or decimals of ``digits`` digits.  Each value is a number
    for a scalar, else a :class:`sympy.Matrix` of the tensor's shape; see
    :meth:`Evaluation.gradient`.  ``derive(graph, of, w)`` writes how each one is found.

    Raises :class:`~rnnsym.errors.InputError` for a missing or malformed value and
    for a name the graph does not have.

    >>> from rnnsym.models import elman
    >>> gradients(elman(2), {"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": "0.1", "W_y": 2}, ["W_h"])
    {'W_h': 8}
    """
    return evaluate(graph, values, digits).gradients(wrt, of)
