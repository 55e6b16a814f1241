"""Numbers in high precision: what the checks of :mod:`rnnsym.testing` compute with.

:func:`numeric` turns any value or form rnnsym writes into an mpmath number
(symbols from an environment, shared subexpressions computed once);
:func:`forward` runs a graph's assignments in that arithmetic, optionally
nudging one leaf or quantity (for finite differences); :func:`close` compares
exactly when it can and to a relative tolerance otherwise.

>>> from rnnsym.models import elman
>>> graph = elman(1, activation="tanh")
>>> point = {graph.symbol(n): v for n, v in random_point(graph, seed=3).items()}
>>> print(mpmath.nstr(forward(graph, point)[graph.symbol("L")], 20))
0.24710435545028816918
"""

from __future__ import annotations

import decimal
import fractions
import functools
import random
from typing import Any, Mapping

import mpmath
import sympy
from sympy import Expr, Symbol

from ..errors import InputError, InputTypeError, RnnsymError
from ..graph import Graph
from ..forms import Juxt, Times
from ..rules import FUNCTIONS_BY_CLASS
from ..limits import MAX_RESULT_DIGITS, digits_of
from ..numbers import parse_number
from ..evaluation import evaluate

__all__ = ["DIGITS", "numeric", "evaluate_formula", "forward", "close", "at_kink", "random_point"]

#: Working precision, in decimal digits.
DIGITS = 50


def numeric(expr: Any, env: Mapping[Symbol, Any] | None = None, digits: int = DIGITS) -> mpmath.mpf:
    """``expr`` as an mpmath number at ``digits`` digits, symbols taken from ``env``.

    Shared subexpressions are computed once, so this stays fast on expanded
    derivatives whose exact substitution would not finish.

    >>> from rnnsym.notation import symbol
    >>> from rnnsym.rules import sigmoid
    >>> h = symbol("h_1")
    >>> print(mpmath.nstr(numeric(sympy.tanh(h) + sigmoid(0), {h: sympy.Rational(1, 2)}), 10))
    0.9621171573
    """
    env = env or {}
    memo: dict[Any, Any] = {}
    rounded = [False]  # whether a sum absorbed a part whole, or a function saturated, in this pass

    def walk(e: Any) -> Any:
        if isinstance(e, (int, mpmath.mpf)):
            return mpmath.mpf(e)
        if e in memo:
            return memo[e]
        if isinstance(e, Symbol):
            if e not in env:
                raise InputError("values", str(e), "a value for every symbol the expression uses")
            value = walk(env[e])
        elif isinstance(e, sympy.Rational):
            value = mpmath.mpf(e.p) / e.q
        elif isinstance(e, sympy.Float):
            value = mpmath.mpf(str(e))
        elif isinstance(e, sympy.Add):
            parts = [walk(a) for a in e.args]
            value = mpmath.fsum(parts)
            if sum(p != 0 for p in parts) > 1 and any(p == value for p in parts):
                rounded[0] = True  # 1 + e^-128 = 1: the small part is lost
        elif isinstance(e, (sympy.Mul, Times, Juxt)):
            value = mpmath.fprod(walk(a) for a in e.args)
        elif isinstance(e, sympy.Pow):
            base, exponent = walk(e.base), e.exp
            value = _power(base, int(exponent) if exponent.is_Integer else walk(exponent))
        elif type(e) in FUNCTIONS_BY_CLASS:
            args = [walk(a) for a in e.args]
            value = _apply(type(e), args)
            if args[0] != 0 and value == mpmath.nint(value) and not FUNCTIONS_BY_CLASS[type(e)].rational:
                rounded[0] = True  # sigmoid(128) = 1: the distance to 1 is lost
        elif e.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
            raise ZeroDivisionError("division by zero")
        elif isinstance(e, sympy.AtomicExpr) and isinstance(getattr(e, "expr", None), sympy.Basic):
            value = walk(e.expr)  # a named exact value (rnnsym.exact.Exact): walk its definition
        elif isinstance(e, sympy.Expr) and e.is_number:
            value = mpmath.mpmathify(sympy.N(e, mpmath.mp.dps + 5))
        else:
            raise InputTypeError("expression", e, "an expression of numbers, symbols, + - * / ^, tanh, sigmoid, relu, exp, log")
        if isinstance(value, mpmath.mpc):
            if abs(value.imag) > abs(value) * mpmath.mpf(10) ** (5 - digits):
                raise InputError("expression", e, "an expression with a real value")
            value = value.real
        memo[e] = value
        return value

    # A difference that cancels (1 - sigmoid(40) is e^-40) loses digits, and can round to 0
    # and make a defined value look undefined: the value is computed with 10 guard digits
    # and again with twice the guard digits, until two in a row agree at ``digits`` digits
    # and the second neither absorbed a part of a sum whole nor saturated a function
    # (a failure agrees with nothing), up to a guard of 16 times ``digits`` + 10, where the
    # last value is returned (a difference of equal numbers never settles: 0.3 − 3 × 0.1).
    expr = _as_number(expr)
    guard, value = 10, None
    while True:
        memo.clear()
        rounded[0] = False
        try:
            with mpmath.workdps(digits + guard):
                current = walk(expr)
        except (ArithmeticError, ValueError) as error:
            if isinstance(error, RnnsymError) or guard > 16 * digits:
                raise
            current = None
        settled = value is not None and not rounded[0] and _agree(value, current, digits)
        if current is not None and (settled or guard > 16 * digits):
            break
        value, guard = current, 2 * guard
    with mpmath.workdps(digits):
        return +current


def _agree(a: mpmath.mpf, b: mpmath.mpf, digits: int) -> bool:
    """Whether ``a`` and ``b`` are the same number to ``digits`` significant digits."""
    with mpmath.workdps(2 * digits + 20):
        return a == b or abs(a - b) <= abs(b) * mpmath.mpf(10) ** (-digits - 1)


#: Largest size, in bits of the exponent, of a number :func:`numeric` computes (about 10^300000).
MAX_MAGNITUDE_BITS = 1_000_000


def _power(base: mpmath.mpf, exponent: Any) -> mpmath.mpf:
    """``base ** exponent``; ArithmeticError or ValueError (with the reason) where it is undefined or too large."""
    if base == 0 and exponent < 0:
        raise ZeroDivisionError("division by zero")
    if base < 0 and not isinstance(exponent, int) and exponent != mpmath.floor(exponent):
        raise ValueError("a negative number to a fractional power")
    if base != 0 and abs(exponent) * abs(mpmath.log(abs(base), 2)) > MAX_MAGNITUDE_BITS:
        raise OverflowError("a power too large to compute")
    return base ** exponent


def _apply(function: type, args: list) -> mpmath.mpf:
    """``function`` at ``args`` in mpmath; ArithmeticError or ValueError where it is undefined or too large."""
    if function is sympy.log and args[0] <= 0:
        raise ValueError("the log of a number that is not positive")
    if function is sympy.exp and args[0] > MAX_MAGNITUDE_BITS * mpmath.log(2):
        raise OverflowError("exp of a number too large to compute")
    if function is sympy.Heaviside and args[0] == 0:  # Heaviside(z, H0): its value at 0 is its second argument
        return args[1] if len(args) > 1 else mpmath.mpf(1) / 2
    return FUNCTIONS_BY_CLASS[function].numeric(args[0])


def evaluate_formula(expr: Expr, env: Mapping[Symbol, Any], digits: int = DIGITS) -> Any:
    """The value of an author's formula at ``env``: an exact :class:`sympy.Rational`
    when the formula is a rational function of rational values whose results stay
    below :data:`~rnnsym.limits.MAX_RESULT_DIGITS` digits, else an mpmath number at
    ``digits`` digits.  Where the formula is undefined or too large it raises
    :class:`ZeroDivisionError`, :class:`OverflowError` or :class:`ValueError`,
    whose message says why; nothing is computed without a bound.

    >>> from rnnsym.notation import symbol
    >>> w = symbol("W_h")
    >>> evaluate_formula(1 / (w - 1), {w: sympy.Rational(3)})
    1/2
    >>> evaluate_formula(1 / (w - 1), {w: sympy.Integer(1)})
    Traceback (most recent call last):
    ...
    ZeroDivisionError: division by zero
    """
    exact = _exact(expr, env, {})
    return exact if exact is not None else numeric(expr, env, digits)


def _exact(e: Any, env: Mapping[Symbol, Any], memo: dict) -> sympy.Rational | None:
    """``e`` exactly, or None when it is not a rational function of rational values
    (or a result would pass the size limit)."""
    if e in memo:
        return memo[e]
    if isinstance(e, sympy.Rational):
        value = e
    elif isinstance(e, Symbol):
        value = env.get(e)
        if not isinstance(value, sympy.Rational):
            return None
    elif isinstance(e, (sympy.Add, sympy.Mul, Times, Juxt)):
        parts = [_exact(a, env, memo) for a in e.args]
        if any(p is None for p in parts):
            return None
        value = sympy.Add(*parts) if isinstance(e, sympy.Add) else sympy.Mul(*parts)
    elif isinstance(e, sympy.Pow) and e.exp.is_Integer:
        base = _exact(e.base, env, memo)
        if base is None:
            return None
        if base == 0 and e.exp < 0:
            raise ZeroDivisionError("division by zero")
        if digits_of(int(base.p), int(base.q)) * abs(int(e.exp)) > MAX_RESULT_DIGITS:
            return None
        value = base ** e.exp
    else:
        return None
    if digits_of(int(value.p), int(value.q)) > MAX_RESULT_DIGITS:
        return None
    memo[e] = value
    return value


def _as_number(value: Any) -> Any:
    """``value`` as something :func:`numeric` walks; text is read as a number only."""
    if isinstance(value, (int, mpmath.mpf, sympy.Basic)) and not isinstance(value, bool):
        return value
    if isinstance(value, (str, float, decimal.Decimal)):
        return parse_number(value, "expression").exact
    if isinstance(value, fractions.Fraction):
        return sympy.Rational(value.numerator, value.denominator)
    raise InputTypeError("expression", value, "a number or a sympy expression")


def forward(
    graph: Graph,
    point: Mapping[Symbol, Any],
    shift: tuple[Symbol, Any] | None = None,
    digits: int = DIGITS,
) -> dict[Symbol, mpmath.mpf]:
    """Every leaf and quantity of ``graph`` as an mpmath number, computed in
    graph order one assignment at a time; ``shift=(s, δ)`` adds δ to leaf or
    quantity ``s`` as soon as it is known (``s`` treated as free)."""
    with mpmath.workdps(digits):
        env = {s: numeric(point[s], digits=digits) for s in graph.leaves}
        if shift is not None and shift[0] in env:
            env[shift[0]] += shift[1]
        for a in graph.assignments:
            env[a.target] = numeric(a.expr, env, digits)
            if shift is not None and shift[0] == a.target:
                env[a.target] += shift[1]
    return env


def close(a: Any, b: Any, rtol: mpmath.mpf, scale: Any = 1) -> tuple[bool, mpmath.mpf]:
    """Whether ``a`` and ``b`` agree: exactly when both are rational, else within
    ``rtol`` times the largest of 1, |a|, |b| and ``scale``."""
    if isinstance(a, sympy.Rational) and isinstance(b, sympy.Rational):
        return a == b, abs(a - b)
    with mpmath.workdps(DIGITS):
        x, y = _constant(a), _constant(b)
        difference = abs(x - y)
        bound = rtol * max(mpmath.mpf(1), abs(x), abs(y), abs(numeric(scale)))
        return bool(difference <= bound), difference


def _constant(value: Any) -> mpmath.mpf:
    """``numeric(value)``, remembered for exact sympy constants (a derivative's
    exact value is compared several times)."""
    if isinstance(value, sympy.Basic) and not isinstance(value, sympy.Rational):
        return _constant_cached(value)
    return numeric(value)


@functools.lru_cache(maxsize=1024)
def _constant_cached(value: sympy.Basic) -> mpmath.mpf:
    return numeric(value)


def at_kink(graph: Graph, env: Mapping[Symbol, Expr]) -> list[Symbol]:
    """The quantities whose relu argument is exactly 0 at ``env`` (where
    relu has no derivative and rnnsym takes relu′(0) = 0)."""
    return graph.kinks(env)


def random_point(graph: Graph, seed: int = 0, bound: int = 2, max_denominator: int = 8) -> dict[str, sympy.Rational]:
    """A reproducible random rational value for every leaf, by name, avoiding
    relu's kink when it can.

    >>> from rnnsym.models import elman
    >>> random_point(elman(1), seed=1)
    {'h_0': 1, 'W_h': 0, 'W_x': 3/2, 'W_y': 7/4, 'x_1': 11/7, 'y_1': -5/4}
    """
    rng = random.Random(seed)
    point: dict[str, sympy.Rational] = {}
    for _ in range(100):
        point = {}
        for s in graph.leaves:
            q = rng.randint(1, max_denominator)
            point[str(s)] = sympy.Rational(rng.randint(-bound * q, bound * q), q)
        env = evaluate(graph, {graph.symbol(n): v for n, v in point.items()}).env
        if not at_kink(graph, env):
            break
    return point
