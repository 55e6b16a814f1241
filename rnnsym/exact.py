"""Exact irrational values as atoms: exact, and linear-time to compute in decimals.

Computing a tanh network exactly nests each step's value inside the next;
an :class:`Exact` atom stands for one such value, keeping its exact expression
in terms of earlier atoms and its decimals, refined atom by atom on demand.
"""

from __future__ import annotations

from typing import Any, Mapping

import mpmath
import sympy
from sympy import Expr, Symbol

from .errors import InputTypeError, LimitError
from .forms import _Product
from .precision import MAX_EXTRA_BITS, Tracker, apply as _apply, fsum as _fsum, log as _log
from .rules import rule_for

__all__ = ["Exact", "EXACT_BITS", "exact_form", "mp_value"]

#: Bits of precision every exact irrational value keeps ready (about 77 digits); more on demand.
EXACT_BITS = 256


class Exact(sympy.AtomicExpr):
    """An exact irrational value, named after the quantity it is the value of.

    Computing a tanh network exactly nests each step's value inside the next
    (h_2 = tanh(tanh(…)·W_h + …)); sympy's evaluation of such towers costs
    exponential time in their depth.  :class:`Evaluation` therefore stands each
    irrational value in for by one ``Exact`` atom: it keeps the exact
    expression (``.expr``, in terms of earlier atoms) and its decimals to
    :data:`EXACT_BITS` bits, computed from its parts' decimals; more precision
    is computed on demand, atom by atom in the order they were made, so a
    value stays exact and its decimals cost linear time in the number of steps.
    Its decimals are kept by the number of bits they are right to: ``bits``,
    given with ``value``, or the working precision less what cancellation cost
    (:mod:`rnnsym.precision`); an atom asked for more is computed again with
    the bits lost more, up to :data:`~rnnsym.precision.MAX_EXTRA_BITS` more.
    :func:`exact_form` substitutes the atoms back.

    >>> h = Exact("h_1", sympy.tanh(sympy.Rational(1, 2)))
    >>> h, Exact("h_2", sympy.tanh(2 * h + 1))
    (tanh(1/2), h_2(≈0.9582647784))
    >>> sympy.N(2 * h, 12)
    0.924234314520
    >>> exact_form(2 * h)
    2*tanh(1/2)
    """

    is_number = True
    is_extended_real = True
    is_commutative = True
    _serial = 0

    def __new__(cls, name: str, expr: Expr, value: mpmath.mpf | None = None, bits: int = EXACT_BITS) -> "Exact":
        obj = sympy.AtomicExpr.__new__(cls)
        Exact._serial += 1
        obj.name = name
        obj.expr = expr
        obj.serial = Exact._serial
        obj._key = (name, Exact._serial)
        obj._cache = {}
        if value is None:
            value, bits = _computed(expr, EXACT_BITS, EXACT_BITS)
        if value is not None and mpmath.isfinite(value):
            obj._cache[bits] = value
        return obj

    def _hashable_content(self):
        return self._key

    def __getnewargs__(self):
        return (self.name, self.expr)

    def mp(self, prec: int) -> mpmath.mpf:
        """The value as an mpmath number right to ``prec`` bits; a
        :class:`~rnnsym.errors.LimitError` when that takes more than
        :data:`~rnnsym.precision.MAX_EXTRA_BITS` bits more."""
        best = max(self._cache, default=None)
        work = prec + 64
        while best is None or best < prec:
            if work > prec + MAX_EXTRA_BITS:
                raise LimitError(self.name, f"a value that cancels beyond {prec + MAX_EXTRA_BITS} bits",
                                 f"a value computable to {prec} bits")
            _refine(self, work)
            best = max(self._cache, default=None)
            work = 2 * work if best is None or best <= 0 else work + prec - best + 64
        return self._cache[best]

    def _eval_evalf(self, prec):
        return sympy.Float(self.mp(prec), precision=prec)

    def _mpmath_(self, prec, rounding):
        return self.mp(prec)

    def _sympystr(self, printer) -> str:
        if not self.expr.has(Exact) and sympy.count_ops(self.expr) <= 6:
            return printer._print(self.expr)
        return f"{self.name}(≈{mpmath.nstr(self.mp(EXACT_BITS), 10)})"

    def _latex(self, printer) -> str:
        return printer._print(self.expr)


def _atoms_below(expr: Expr) -> list[Exact]:
    """Every Exact atom ``expr`` depends on, directly or through other atoms, oldest first."""
    seen: dict[Exact, None] = {}
    pending = list(expr.atoms(Exact))
    while pending:
        atom = pending.pop()
        if atom in seen:
            continue
        seen[atom] = None
        pending.extend(a for a in atom.expr.atoms(Exact) if a not in seen)
    return sorted(seen, key=lambda a: a.serial)


def _refine(atom: Exact, work: int) -> None:
    """Compute ``atom`` and the atoms below it with ``work`` bits, oldest first (no
    recursion): each part from its parts' best decimals, kept by the bits it is right to."""
    for part in _atoms_below(atom.expr) + [atom]:
        if max(part._cache, default=-1) < work - 64:
            below = [max(a._cache, default=0) for a in part.expr.atoms(Exact)]
            value, bits = _computed(part.expr, min(below, default=work), work)
            if value is not None:
                part._cache[bits] = value


def _computed(expr: Expr, floor: int, work: int) -> tuple[mpmath.mpf | None, int]:
    """``expr`` computed with ``work`` bits from atoms right to ``floor`` bits, and the
    bits the result is right to (``None`` after a division by a difference that came to 0)."""
    widest = max((a._cache[max(a._cache)]._mpf_[3] for a in expr.atoms(Exact) if a._cache), default=0)
    with mpmath.workprec(max(work, widest)), Tracker() as tracker:  # no argument rounded
        try:
            value = mp_value(expr, {}, max(floor, 1))
        except ZeroDivisionError:
            return None, 0
    if not isinstance(value, mpmath.mpf) or not mpmath.isfinite(value):
        return None, 0
    return value, min(floor, work) - min(tracker.lost, work)


def exact_form(value: Expr) -> Expr:
    """``value`` with every :class:`Exact` atom replaced by its full expression.

    The result can be exponentially large in the number of steps; use it to
    compare with independent computations on small examples.
    """
    unfolded: dict[Exact, Expr] = {}
    for atom in _atoms_below(value):
        unfolded[atom] = atom.expr.xreplace(unfolded)
    return value.xreplace(unfolded)


def mp_value(expr: Any, env: Mapping[Symbol, mpmath.mpf], prec: int) -> mpmath.mpf:
    """``expr`` (a small sympy expression) as an mpmath number with ``prec`` bits, symbols from ``env``."""
    if isinstance(expr, mpmath.mpf):
        return expr
    if isinstance(expr, Symbol):
        return env[expr]
    if isinstance(expr, sympy.Rational):
        return mpmath.mpf(int(expr.p)) / int(expr.q)
    if isinstance(expr, Exact):
        return expr.mp(prec)
    if isinstance(expr, sympy.Float):
        return expr._to_mpmath(prec)
    if isinstance(expr, sympy.Add):
        return _fsum([mp_value(a, env, prec) for a in expr.args])
    if isinstance(expr, (sympy.Mul, _Product)):
        return mpmath.fprod(mp_value(a, env, prec) for a in expr.args)
    if isinstance(expr, sympy.Pow):
        return _power(mp_value(expr.base, env, prec), expr.exp, env, prec)
    if isinstance(expr, sympy.Function):
        rule, x = rule_for(expr), mp_value(expr.args[0], env, prec)
        return _log(x) if isinstance(expr, sympy.log) else rule.numeric(x) if rule.rational else _apply(rule.numeric, x)
    if isinstance(expr, Expr) and expr.is_number:
        return sympy.N(expr, mpmath.libmp.prec_to_dps(prec) + 5)._to_mpmath(prec)
    raise InputTypeError("expression", expr, "a number, a symbol, + - * / ^ or a registered function")


def _power(base: mpmath.mpf, exponent: Expr, env: Mapping, prec: int) -> mpmath.mpf:
    if exponent.is_Integer:
        return base ** int(exponent)
    return mpmath.power(base, mp_value(exponent, env, prec))
