"""Structural derivatives of written forms, by the rules of the registry.

``partial_form`` differentiates a form the way a person would write it, so that
the derivative of ``(ŷ − y)²`` stays ``2 × (ŷ − y)``, and a function by its
registered rule (:mod:`rnnsym.rules`); a function it does not know is an error.
"""

from __future__ import annotations

import sympy
from sympy import Add, Expr, Function, Pow, S

from .errors import InputError
from .forms import Juxt, Times, _Product, product, total
from .rules import FUNCTIONS, rule_for

__all__ = ["partial_form"]


def partial_form(form: Expr, var: sympy.Symbol, out: Expr | None = None) -> Expr:
    """The derivative of ``form`` with respect to ``var``, as a written form.

    Sums, written and sympy products, integer and numeric powers are
    differentiated structurally, so the derivative of ``(ŷ − y)²`` stays
    ``2 × (ŷ − y)``; a function by its registered rule, its derivative
    written in ``out`` (the quantity the form defines) when the function is
    the form's top node, else in the function's own value.  Anything else
    raises :class:`~rnnsym.errors.InputError` naming it.

    >>> from rnnsym.notation import symbol
    >>> h0, Wh, x, Wx, h1 = map(symbol, ["h_0", "W_h", "x_1", "W_x", "h_1"])
    >>> partial_form(Add(Times(h0, Wh), Times(x, Wx), evaluate=False), Wh)
    h_0
    >>> partial_form(sympy.tanh(Times(h0, Wh)), h0, out=h1)
    Juxt(1 - h_1**2, W_h)
    >>> partial_form(sympy.Abs(h0), h0)
    Traceback (most recent call last):
    ...
    rnnsym.errors.InputError: function: got 'Abs', expected a registered function (tanh, sigmoid, relu, exp, log, Heaviside); see rnnsym.rules.register_function
    """
    if out is not None and isinstance(form, Function) and form.has(var):
        rule = rule_for(form)
        return product([rule.derivative(form.args[0], out), _partial(form.args[0], var)], Juxt)
    return _partial(form, var)


def _partial(form: Expr, var: sympy.Symbol) -> Expr:
    if form == var:
        return S.One
    if not form.has(var):
        return S.Zero
    if isinstance(form, Add):
        return total([_partial(a, var) for a in form.args])
    if isinstance(form, (_Product, sympy.Mul)):
        kind = type(form) if isinstance(form, _Product) else Times
        terms = []
        for i, factor in enumerate(form.args):
            d = _partial(factor, var)
            if d == 0:
                continue
            others = list(form.args[:i]) + list(form.args[i + 1 :])
            terms.append(product(others + [d], kind))
        return total(terms)
    if isinstance(form, Pow) and form.exp.is_Number and not form.exp.has(var):
        n = form.exp
        base = form.base
        power = base if n == 2 else Pow(base, n - 1, evaluate=False)
        return product([n, power, _partial(base, var)])
    if isinstance(form, Function) and len(form.args) == 1:
        rule = rule_for(form)
        return product([rule.derivative(form.args[0], form), _partial(form.args[0], var)], Juxt)
    names = ", ".join(r.name for r in FUNCTIONS.values() if r.function is not None)
    raise InputError("form", form, f"sums, products, powers and registered functions ({names})")
