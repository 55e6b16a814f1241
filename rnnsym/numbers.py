"""Exact numbers: from what an author wrote, back to how they wrote it, and exact irrationals.

Exercise values arrive as TOML integers, floats or strings.  Each becomes a
:class:`Number`: an exact :class:`sympy.Rational` together with the author's
spelling, so that ``"0.1"`` computes as 1/10 but still prints as ``0.1``.
Strings are matched against number patterns only; nothing is evaluated.
An exact irrational value (tanh of a rational) is an atom of :mod:`rnnsym.exact`.

>>> n = parse_number("0.1", "values.W_x")
>>> n
Number('0.1')
>>> n.exact
1/10
>>> n.latex
'0.1'
>>> parse_number("1/3", "values.W_x").latex
'\\\\frac{1}{3}'
"""

from __future__ import annotations

import decimal
import math
import re
from dataclasses import dataclass

import mpmath
import sympy

from .errors import InputError, InputTypeError
from .limits import MAX_DIGITS, MAX_EXPONENT, MAX_RESULT_DIGITS, check_at_most, digits_of

__all__ = ["Number", "TomlFloat", "parse_number", "format_exact", "decimal_latex", "check_size"]

_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_FRACTION = re.compile(r"([+-]?\d+)\s*/\s*(\d+)", re.ASCII)
_EXPECTED = "a number: an integer, a decimal such as \"0.1\" or a fraction such as \"1/3\""
#: Results with more digits than this are written in scientific form.
_SHOWN_DIGITS = 30


class TomlFloat(decimal.Decimal):
    """A TOML float as its author wrote it (``parse_float`` of :func:`tomllib.loads`).

    TOML floats are read from their spelling, never through a binary double:
    ``1e-400`` stays 10⁻⁴⁰⁰ and a 21-digit π keeps its 21 digits.  ``text`` is
    the spelling (``"2.5e-3"``), which :func:`parse_number` keeps for display.

    >>> import tomllib
    >>> tomllib.loads("W = 0.10000000000000000001", parse_float=TomlFloat)["W"].text
    '0.10000000000000000001'
    """

    __slots__ = ("text",)

    def __new__(cls, text: str) -> "TomlFloat":
        obj = super().__new__(cls, text)
        obj.text = text
        return obj

    def __repr__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Number:
    """An exact rational value and the LaTeX an author would write for it."""

    exact: sympy.Rational
    latex: str

    def __repr__(self) -> str:
        return f"Number({self.spelling!r})"

    @property
    def spelling(self) -> str:
        """The plain-text spelling (``0.1``, ``1/3``, ``-2``)."""
        text = self.latex
        match = re.fullmatch(r"(-?)\\frac\{(\d+)\}\{(\d+)\}", text)
        if match:
            return f"{match.group(1)}{match.group(2)}/{match.group(3)}"
        match = re.fullmatch(r"(-?[\d.]+) \\times 10\^\{(-?\d+)\}", text)
        if match:
            return f"{match.group(1)}e{match.group(2)}"
        return text

    def _repr_latex_(self) -> str:
        return f"${self.latex}$"


def parse_number(value: object, field: str) -> Number:
    """Turn an exercise value into an exact :class:`Number`.

    Accepts ``int``; a TOML float (:class:`TomlFloat`, read from its spelling)
    or any :class:`decimal.Decimal`; a Python ``float``, read by its shortest
    decimal ``repr`` (so ``0.1`` is exactly 1/10: the double nearest to 0.1 is
    taken to mean 0.1); a :class:`sympy.Rational`; and strings holding an
    integer, a decimal (optionally with an exponent) or a fraction ``p/q``.
    Anything else raises :class:`~rnnsym.errors.InputError` naming ``field``;
    a number with more than :data:`~rnnsym.limits.MAX_DIGITS` digits or an
    exponent beyond :data:`~rnnsym.limits.MAX_EXPONENT` raises
    :class:`~rnnsym.errors.LimitError`.

    >>> parse_number(10, "x").exact
    10
    >>> parse_number(0.25, "x").exact
    1/4
    >>> parse_number("1e-400", "x").exact == sympy.Rational(1, 10**400)
    True
    >>> parse_number("__import__('os')", "values.W_h")
    Traceback (most recent call last):
    ...
    rnnsym.errors.InputError: values.W_h: got "__import__('os')", expected a number: an integer, a decimal such as "0.1" or a fraction such as "1/3"
    """
    if isinstance(value, bool):
        raise InputTypeError(field, value, _EXPECTED)
    if isinstance(value, Number):
        return value
    if isinstance(value, int):
        check_at_most(field, digits_of(value), MAX_DIGITS, "digits", shown=_abbreviate(value))
        return Number(sympy.Integer(value), str(value))
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise InputError(field, value, "a finite number")
        text = value.text.replace("_", "") if isinstance(value, TomlFloat) else format(value, "f" if -30 < value.adjusted() < 30 else "e")
        return _from_text(text, field, value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(field, value, "a finite number")
        return _from_text(repr(value), field, value)
    if isinstance(value, sympy.Rational):
        check_at_most(field, digits_of(value.p, value.q), MAX_DIGITS, "digits", shown="a number")
        text = format_exact(value)
        if text.startswith(r"\approx"):  # a spelling is exact, however long
            text = str(value.p) if value.q == 1 else rf"{'-' if value < 0 else ''}\frac{{{abs(value.p)}}}{{{value.q}}}"
        return Number(value, text)
    if isinstance(value, str):
        return _from_text(value.strip(), field, value)
    raise InputTypeError(field, value, _EXPECTED)


def _abbreviate(value: int) -> str:
    return f"an integer of {digits_of(value)} digits"


def _from_text(text: str, field: str, original: object) -> Number:
    if len(text) > 3 * MAX_DIGITS:
        raise InputError(field, original, f"a number of at most {MAX_DIGITS} digits")
    if _DECIMAL.fullmatch(text):
        mantissa, _, exponent = text.lower().partition("e")
        significant = len(mantissa.lstrip("+-").replace(".", "").lstrip("0"))
        check_at_most(field, significant, MAX_DIGITS, "significant digits", shown=original)
        if exponent and abs(int(exponent)) > MAX_EXPONENT:
            check_at_most(field, abs(int(exponent)), MAX_EXPONENT, "as the size of the exponent", shown=original)
        exact = sympy.Rational(mantissa) * sympy.Rational(10) ** int(exponent or 0)
        return Number(exact, _decimal_latex(mantissa, exponent) if exact != 0 else "0")
    match = _FRACTION.fullmatch(text)
    if match:
        check_at_most(field, len(text), MAX_DIGITS, "digits", shown=original)
        numerator, denominator = int(match.group(1)), int(match.group(2))
        if denominator == 0:
            raise InputError(field, original, "a fraction with a non-zero denominator")
        exact = sympy.Rational(numerator, denominator)
        sign = "-" if numerator < 0 else ""
        return Number(exact, f"{sign}\\frac{{{abs(numerator)}}}{{{denominator}}}")
    raise InputError(field, original, _EXPECTED)


def _decimal_latex(mantissa: str, exponent: str) -> str:
    mantissa = mantissa.lstrip("+")
    if mantissa.startswith("."):
        mantissa = "0" + mantissa
    elif mantissa.startswith("-."):
        mantissa = "-0" + mantissa[1:]
    if mantissa.endswith("."):
        mantissa = mantissa[:-1]
    if not exponent:
        return mantissa
    return f"{mantissa} \\times 10^{{{int(exponent)}}}"


def format_exact(value: sympy.Rational, max_decimals: int = 6) -> str:
    """LaTeX for an exact rational result.

    Integers print as integers; a fraction whose decimal expansion ends within
    ``max_decimals`` digits prints as that decimal; any other as ``\\frac``.
    A number too long to read (more than 30 digits) is written in scientific
    form: exactly when it is a short decimal times a power of ten, else to six
    significant digits after ``\\approx``.

    >>> format_exact(sympy.Rational(-4))
    '-4'
    >>> format_exact(sympy.Rational(3, 10))
    '0.3'
    >>> format_exact(sympy.Rational(1, 3))
    '\\\\frac{1}{3}'
    >>> format_exact(sympy.Rational(1, 10**400)), format_exact(sympy.Rational(25 * 10**99))
    ('1 \\\\times 10^{-400}', '2.5 \\\\times 10^{100}')
    >>> format_exact(sympy.Rational(2**200, 3))
    '\\\\approx 5.35646 \\\\times 10^{59}'
    """
    value = sympy.Rational(value)
    p, q = int(value.p), int(value.q)
    sign = "-" if p < 0 else ""
    p = abs(p)
    if q == 1 and digits_of(p) <= _SHOWN_DIGITS:
        return sign + str(p)
    twos = fives = 0
    while q % 2 == 0:
        q //= 2
        twos += 1
    while q % 5 == 0:
        q //= 5
        fives += 1
    digits = max(twos, fives)
    if q == 1:  # a terminating decimal: p / (2^twos 5^fives)
        scaled = p * 2 ** (digits - twos) * 5 ** (digits - fives)  # value × 10^digits
        if digits <= max_decimals and digits_of(scaled) <= _SHOWN_DIGITS:
            whole, frac = divmod(scaled, 10**digits)
            return f"{sign}{whole}.{frac:0{digits}d}" if digits else f"{sign}{whole}"
    if digits_of(abs(value.p), value.q) <= _SHOWN_DIGITS:
        return f"{sign}\\frac{{{p}}}{{{value.q}}}"
    if q == 1:
        return _scientific(scaled, -digits, sign)
    return _approximate(value)


def _scientific(significand: int, exponent: int, sign: str) -> str:
    """``sign significand × 10^exponent`` in scientific form: exact when short."""
    zeros = 0
    while significand and significand % 10 == 0 and zeros < 5 * MAX_RESULT_DIGITS:
        significand //= 10
        zeros += 1
    exponent += zeros
    if digits_of(significand) > 16:
        return _approximate(sympy.Rational(int(sign + "1") * significand) * sympy.Rational(10) ** exponent)
    text = str(significand)
    exponent += len(text) - 1
    mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
    return sign + (mantissa if exponent == 0 else f"{mantissa} \\times 10^{{{exponent}}}")


def _approximate(value: sympy.Rational, digits: int = 6) -> str:
    """``\\approx`` and ``value`` to ``digits`` significant digits, in scientific form."""
    with mpmath.workdps(digits + 10):
        text = mpmath.nstr(mpmath.mpf(int(value.p)) / int(value.q), digits, min_fixed=1, max_fixed=0)
    mantissa, _, exponent = text.partition("e")
    mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    exponent = int(exponent or 0)
    return r"\approx " + (mantissa if exponent == 0 else f"{mantissa} \\times 10^{{{exponent}}}")


def decimal_latex(value: object, digits: int) -> str:
    """LaTeX for ``value`` (a real sympy or mpmath number) to ``digits`` significant
    digits: fixed-point between 10⁻⁵ and 10^digits, else ``d.ddd \\times 10^{n}``.

    >>> decimal_latex(sympy.tanh(1), 6), decimal_latex(sympy.Rational(10**100 + 1), 6)
    ('0.761594', '1 \\\\times 10^{100}')
    """
    if isinstance(value, mpmath.mpf):
        mpf = value._mpf_
    else:
        number = sympy.N(value, digits + 5)
        if number == 0:
            return "0"
        if not isinstance(number, sympy.Float):
            raise InputTypeError("value", value, "a real number")
        mpf = number._mpf_
    text = mpmath.libmp.to_str(mpf, digits, strip_zeros=True)
    mantissa, _, exponent = text.partition("e")
    if not exponent:
        return mantissa
    mantissa = mantissa.removesuffix(".0")
    return f"{mantissa} \\times 10^{{{int(exponent)}}}"


def check_size(value: sympy.Expr, field: str) -> sympy.Expr:
    """``value``, or :class:`~rnnsym.errors.LimitError` when it is a rational with
    more than :data:`~rnnsym.limits.MAX_RESULT_DIGITS` digits."""
    if isinstance(value, sympy.Rational):
        size = digits_of(int(value.p), int(value.q))
        check_at_most(field, size, MAX_RESULT_DIGITS, "digits in an exact value",
                      shown=f"a number of about {size} digits")
    return value
