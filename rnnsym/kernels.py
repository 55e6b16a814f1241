"""Template equations compiled once into closures: the arithmetic of the evaluation stage.

An unrolled graph repeats its cell's template equations at every step.  Each
template (its value and each of its local partials) is compiled once into a
tree of Python closures over its arguments, for exact sympy arithmetic or for
mpmath decimals at the current precision (whose sums and logs record the bits
they lose to cancellation, :mod:`rnnsym.precision`); an assignment of the graph calls its
template's closures with its own values.  Nothing is substituted into a nested
expression and no string is evaluated.
"""

from __future__ import annotations

import heapq
import weakref
from typing import Any, Callable, Sequence

import mpmath
import sympy
from sympy import Expr, Symbol

from .cells import now
from .errors import InputError
from .forms import _Product, plain
from .exact import mp_value
from .precision import add as _add, apply as _apply, fsum as _fsum, log as _log
from .rules import rule_for

__all__ = ["compile_form", "Kernel", "kernel", "mp_forward", "mp_total", "short_pass"]


class _Ops:
    """The arithmetic closures are compiled for: exact sympy numbers or mpmath decimals."""

    def __init__(self, exact: bool) -> None:
        self.exact = exact

    def constant(self, value: sympy.Rational) -> Callable[[Sequence], Any]:
        if self.exact:
            return lambda env: value
        if value.q == 1:
            number = mpmath.mpf(int(value.p))
            return lambda env: number
        p, q = int(value.p), int(value.q)
        return lambda env: mpmath.mpf(p) / q

    def add(self, parts: list) -> Callable:
        if self.exact:
            return lambda env: sympy.Add(*[f(env) for f in parts])
        if len(parts) == 2:  # the bits a sum loses to cancellation are recorded (rnnsym.precision)
            a, b = parts
            return lambda env: _add(a(env), b(env))
        return lambda env: _fsum([f(env) for f in parts])

    def mul(self, parts: list) -> Callable:
        if self.exact:
            return lambda env: sympy.Mul(*[f(env) for f in parts])
        if len(parts) == 2:
            a, b = parts
            return lambda env: a(env) * b(env)

        def product(env):
            out = parts[0](env)
            for f in parts[1:]:
                out = out * f(env)
            return out

        return product

    def power(self, base: Callable, exponent: Expr) -> Callable:
        if self.exact:
            return lambda env: sympy.Pow(base(env), exponent)
        if exponent.is_Integer:
            n = int(exponent)
            if n == 2:
                return lambda env: base(env) ** 2
            return lambda env: base(env) ** n
        p, q = int(exponent.p), int(exponent.q)
        return lambda env: mpmath.power(base(env), mpmath.mpf(p) / q)

    def function(self, function: Expr, argument: Callable) -> Callable:
        rule = rule_for(function)
        if self.exact:
            apply, rest = rule.function, function.args[1:]  # Heaviside(z, 0) keeps its value at 0
            return lambda env: apply(argument(env), *rest)
        if rule.function is sympy.log:  # a log near 1 loses bits
            return lambda env: _log(argument(env))
        numeric = rule.numeric
        if rule.rational:
            return lambda env: numeric(argument(env))
        return lambda env: _apply(numeric, argument(env))  # a saturated σ(40) = 1 loses bits


_EXACT, _DECIMAL = _Ops(True), _Ops(False)


def compile_form(form: Expr, symbols: Sequence[Symbol], exact: bool) -> Callable[[Sequence], Any]:
    """A closure computing ``form`` from the values of ``symbols`` (a sequence, in that
    order): exact sympy arithmetic or mpmath decimals at the current precision.

    >>> from rnnsym.notation import symbol
    >>> x = symbol("x")
    >>> f = compile_form(2 * sympy.tanh(x) + 1, [x], exact=False)
    >>> print(mpmath.nstr(f([mpmath.mpf(0.5)]), 10))
    1.924234315
    """
    ops = _EXACT if exact else _DECIMAL
    index = {s: i for i, s in enumerate(symbols)}

    def build(e: Expr) -> Callable:
        if isinstance(e, Symbol):
            if e not in index:
                raise InputError("form", str(e), "a symbol among the arguments " + ", ".join(map(str, symbols)))
            i = index[e]
            return lambda env: env[i]
        if isinstance(e, sympy.Rational):
            return ops.constant(e)
        if isinstance(e, sympy.Add):
            return ops.add([build(a) for a in e.args])
        if isinstance(e, (sympy.Mul, _Product)):
            return ops.mul([build(a) for a in e.args])
        if isinstance(e, sympy.Pow) and e.exp.is_Rational:
            return ops.power(build(e.base), e.exp)
        if isinstance(e, sympy.Function):
            return ops.function(e, build(e.args[0]))
        if isinstance(e, Expr) and e.is_number:  # log(2), an Exact atom …
            if exact:
                return lambda env: e
            return lambda env: mp_value(e, {}, mpmath.mp.prec)
        raise InputError("form", e, "sums, products, powers and registered functions")

    return build(form)


class Kernel:
    """One template equation compiled: its value and its local partials, from
    the values of its arguments (the template's symbols in written order, then
    the quantity it defines, for partials written in it)."""

    def __init__(self, equation) -> None:
        self.partial_forms = [plain(f) for f in equation.partials.values()]
        own = tuple(equation.partials) + (now(equation.base),)
        # a given partial may be written in other quantities of the step (a softmax's other outputs)
        used = set().union(*[f.free_symbols for f in self.partial_forms]) if self.partial_forms else set()
        self.extras = tuple(sorted(used - set(own), key=str))
        self.symbols = own + self.extras
        self.form = equation.form
        self._compiled: dict[bool, tuple[Callable, list[Callable]]] = {}
        self.rational = all(rule_for(f).rational for f in sympy.preorder_traversal(self.form)
                            if isinstance(f, sympy.Function))

    def compiled(self, exact: bool) -> tuple[Callable, list[Callable]]:
        if exact not in self._compiled:
            value = compile_form(plain(self.form), self.symbols, exact)
            partials = [compile_form(f, self.symbols, exact) for f in self.partial_forms]
            self._compiled[exact] = (value, partials)
        return self._compiled[exact]


_KERNELS: "weakref.WeakKeyDictionary[Any, dict[int, Kernel]]" = weakref.WeakKeyDictionary()


def kernel(graph, assignment) -> Kernel | None:
    """The compiled template of ``assignment`` (None for the total loss), compiled once per graph."""
    if assignment.template is None:
        return None
    table = _KERNELS.setdefault(graph, {})
    key = id(assignment.template)
    if key not in table:
        table[key] = Kernel(assignment.template)
    return table[key]




def mp_total(args: list, weight: sympy.Rational) -> mpmath.mpf:
    """The total loss in mpmath: the sum of ``args`` times ``weight``."""
    value = _fsum(args)
    return value if weight == 1 else value * int(weight.p) / int(weight.q)


def mp_forward(graph, leaves: dict, prec: int) -> dict:
    """Every leaf and quantity of ``graph`` in mpmath with ``prec`` bits, from the exact
    ``leaves``, in graph order.  A division by 0 names the quantity (``error.quantity``)."""
    with mpmath.workprec(prec):
        env = {s: mpmath.mpf(int(v.p)) / int(v.q) for s, v in leaves.items()}
        try:
            for a in graph.assignments:
                args = [env[s] for s in a.dependencies]
                k = kernel(graph, a)
                env[a.target] = mp_total(args, a.weight) if k is None else k.compiled(False)[0](args)
        except ZeroDivisionError as error:
            error.quantity = str(a.target)
            raise
        return env


def short_pass(evaluation, of: Symbol, wrt: Symbol, limit: int) -> Any:
    """∂of/∂wrt for a quantity ``wrt`` by a reverse pass of ``evaluation`` (an
    :class:`~rnnsym.evaluation.Evaluation`, in its own arithmetic) that stops at
    ``wrt`` (every path from it runs through later assignments), or ``None`` when
    that pass would reach more than ``limit`` assignments."""
    ev, graph, stop = evaluation, evaluation.graph, evaluation.graph.position(wrt)
    terms: dict[Symbol, list] = {of: [sympy.S.One if ev.exact else mpmath.mpf(1)]}
    queue = [-graph.position(of)]  # positions to visit, latest first
    _ = ev.env
    with mpmath.workprec(ev.prec):
        for _ in range(limit):
            if not queue or -queue[0] <= stop:
                break
            a = graph.assignments[-heapq.heappop(queue)]
            g = ev._sum(terms.pop(a.target))
            if ev.exact:  # named, so that exact sums stay shallow
                g = ev._atom(g, f"d{of}/d{a.target}")
            if not ev._nonzero(g):
                continue
            for dep, pv in zip(a.dependencies, ev.local_partials(a, raw=True)):
                if ev._nonzero(pv) and not graph.is_leaf(dep):
                    if dep not in terms:
                        terms[dep] = []
                        heapq.heappush(queue, -graph.position(dep))
                    terms[dep].append(g * pv)
        else:
            if queue and -queue[0] > stop:
                return None
        parts = terms.get(wrt)
        return ev._atom(ev._sum(parts) if parts else (sympy.S.Zero if ev.exact else mpmath.mpf(0)), f"d{of}/d{wrt}")
