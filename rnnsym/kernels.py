"""Template equations compiled once into closures: the arithmetic of the evaluation stage.

An unrolled graph repeats its cell's template equations at every step.  Each
template (its value and each of its local partials) is compiled once into a
tree of Python closures over its arguments, for exact sympy arithmetic or for
mpmath decimals at the current precision; an assignment of the graph calls its
template's closures with its own values.  Nothing is substituted into a nested
expression and no string is evaluated.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, Sequence

import mpmath
import sympy
from sympy import Expr, Symbol

from .cells import now
from .errors import InputError
from .forms import _Product, plain
from .exact import mp_value
from .rules import rule_for

__all__ = ["compile_form", "Kernel", "kernel"]


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
        if len(parts) == 2:
            a, b = parts
            return lambda env: a(env) + b(env)
        return lambda env: mpmath.fsum(f(env) for f in parts)

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
        numeric = rule.numeric
        return lambda env: numeric(argument(env))


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


