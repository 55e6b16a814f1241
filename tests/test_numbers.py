"""Exact numbers from exercise values: rnnsym.numbers.parse_number and format_exact.

Hypothesis example counts come from the profiles in conftest.py.
"""

from __future__ import annotations

import fractions
import re

import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st

from rnnsym import InputError, InputTypeError, Number, RnnsymError, parse_number
from rnnsym.numbers import format_exact

R = sympy.Rational


# --- accepted spellings -------------------------------------------------------

@pytest.mark.parametrize(
    "value, exact, latex",
    [
        (0, R(0), "0"),
        (10, R(10), "10"),
        (-3, R(-3), "-3"),
        (2**70, R(2**70), str(2**70)),
        # TOML floats are read by their shortest repr: 0.1 is exactly 1/10.
        (0.1, R(1, 10), "0.1"),
        (0.25, R(1, 4), "0.25"),
        (-2.5, R(-5, 2), "-2.5"),
        (1e-7, R(1, 10**7), r"1 \times 10^{-7}"),
        # decimal strings keep the author's spelling
        ("0.1", R(1, 10), "0.1"),
        ("-0.5", R(-1, 2), "-0.5"),
        ("+3", R(3), "3"),
        (".5", R(1, 2), "0.5"),
        ("-.5", R(-1, 2), "-0.5"),
        ("5.", R(5), "5"),
        ("  0.1  ", R(1, 10), "0.1"),
        # exponents
        ("1e5", R(10**5), r"1 \times 10^{5}"),
        ("1.5E-3", R(3, 2000), r"1.5 \times 10^{-3}"),
        ("-2e+2", R(-200), r"-2 \times 10^{2}"),
        ("1e100", R(10**100), r"1 \times 10^{100}"),
        # fractions
        ("1/3", R(1, 3), r"\frac{1}{3}"),
        ("-1/3", R(-1, 3), r"-\frac{1}{3}"),
        ("2/4", R(1, 2), r"\frac{2}{4}"),
        (" 1 / 3 ", R(1, 3), r"\frac{1}{3}"),
        # a sympy Rational passes through exactly
        (R(7, 3), R(7, 3), r"\frac{7}{3}"),
    ],
)
def test_parse_number_accepts(value, exact, latex):
    number = parse_number(value, "values.W_x")
    assert isinstance(number, Number)
    assert isinstance(number.exact, sympy.Rational)
    assert number.exact == exact
    assert number.latex == latex


def test_toml_float_point_one_is_exactly_one_tenth_not_the_binary_double():
    number = parse_number(0.1, "values.W_x")
    assert number.exact == R(1, 10)
    assert number.exact != R(*(0.1).as_integer_ratio())  # what a float-based path would give
    assert number.latex == "0.1"
    assert repr(number) == "Number('0.1')"


def test_parse_number_never_returns_a_float():
    for value in (0.1, "0.1", "1e-3", "1/3", 3):
        exact = parse_number(value, "x").exact
        assert not isinstance(exact, (float, sympy.Float))
        assert exact.is_Rational


def test_spelling_of_fractions_is_plain_text():
    assert parse_number("1/3", "x").spelling == "1/3"
    assert parse_number("-1/3", "x").spelling == "-1/3"
    assert parse_number("0.1", "x").spelling == "0.1"


# --- rejected values ------------------------------------------------------------

@pytest.mark.parametrize(
    "value, error, expected_words",
    [
        ("abc", InputError, "a number"),
        ("1e1001", InputError, "exponent"),
        ("1e-1001", InputError, "exponent"),
        ("__import__('os')", InputError, "a number"),
        ("1/0", InputError, "non-zero denominator"),
        ("", InputError, "a number"),
        ("1/2/3", InputError, "a number"),
        ("1/-3", InputError, "a number"),
        ("0x10", InputError, "a number"),
        ("1_000", InputError, "a number"),
        ("sqrt(2)", InputError, "a number"),
        ("nan", InputError, "a number"),
        ("inf", InputError, "a number"),
        (float("inf"), InputError, "finite"),
        (float("nan"), InputError, "finite"),
        (True, InputTypeError, "a number"),
        (False, InputTypeError, "a number"),
        (None, InputTypeError, "a number"),
        ([1], InputTypeError, "a number"),
        ({"a": 1}, InputTypeError, "a number"),
        (sympy.Float(0.5), InputTypeError, "a number"),
        (sympy.sqrt(2), InputTypeError, "a number"),
    ],
)
def test_parse_number_rejects(value, error, expected_words):
    with pytest.raises(error) as caught:
        parse_number(value, "values.W_h")
    message = str(caught.value)
    assert isinstance(caught.value, RnnsymError)
    assert message.startswith("values.W_h: got ")
    assert repr(value)[:50] in message  # the value as given
    assert expected_words in message
    assert caught.value.field == "values.W_h"
    assert caught.value.value is value


def test_rejections_are_builtin_errors_too():
    with pytest.raises(ValueError):
        parse_number("abc", "f")
    with pytest.raises(TypeError):
        parse_number(None, "f")


def test_parse_number_does_not_evaluate_strings(monkeypatch):
    calls = []

    def trap(*args, **kwargs):
        calls.append(args)
        raise AssertionError("a user string reached eval/sympify")

    monkeypatch.setattr(sympy, "sympify", trap)
    monkeypatch.setattr("builtins.eval", trap)
    for text in ("__import__('os').system('true')", "2*3", "1+1", "pi"):
        with pytest.raises(InputError):
            parse_number(text, "values.W_h")
    assert calls == []


def test_non_ascii_digits_are_rejected_or_spelled_in_ascii():
    try:
        number = parse_number("١٢", "values.W_h")
    except InputError:
        return
    assert number.latex.isascii()


# --- properties ----------------------------------------------------------------

@given(st.fractions())
def test_fraction_strings_parse_exactly(q: fractions.Fraction):
    p, d = q.numerator, q.denominator
    assert parse_number(f"{p}/{d}", "x").exact == R(p, d)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=6))
def test_decimal_strings_parse_exactly(d):
    text = str(d)
    number = parse_number(text, "x")
    assert number.exact == R(text)
    assert number.exact == R(*d.as_integer_ratio())


@given(
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15).filter(
        lambda x: x == 0 or abs(x) > 1e-90  # exponents beyond 100 are refused on purpose
    )
)
def test_floats_parse_as_their_shortest_decimal(x: float):
    assert parse_number(x, "x").exact == R(repr(x))


@given(st.fractions(), st.integers(min_value=0, max_value=12))
def test_format_exact_round_trips(q: fractions.Fraction, max_decimals: int):
    value = R(q.numerator, q.denominator)
    text = format_exact(value, max_decimals)
    long = len(str(abs(value.p))) + (len(str(value.q)) if value.q != 1 else 0) > 30
    if text.startswith(r"\approx"):
        # too long to read: six significant digits in scientific form
        assert long
        mantissa, exponent = re.fullmatch(r"\\approx (-?[\d.]+)(?: \\times 10\^\{(-?\d+)\})?", text).groups()
        approx = sympy.Rational(mantissa) * sympy.Rational(10) ** int(exponent or 0)
        assert abs(approx / value - 1) < sympy.Rational(1, 10**5)
        return
    # What format_exact writes exactly, read back through the number parser, is the same value.
    assert parse_number(Number(value, text).spelling, "x").exact == value
    if value.q == 1 and not long:
        assert text == str(value.p)
    elif re.fullmatch(r"-?\d+\.\d+", text):
        # a decimal only when the expansion terminates within max_decimals digits
        assert len(text.split(".")[1]) <= max_decimals
    elif long:
        assert re.fullmatch(r"-?[\d.]+ \\times 10\^\{-?\d+\}", text)  # exact scientific form
    else:
        assert re.fullmatch(r"-?\\frac\{\d+\}\{\d+\}", text)


@pytest.mark.parametrize(
    "value, text",
    [
        (R(-4), "-4"),
        (R(0), "0"),
        (R(3, 10), "0.3"),
        (R(-1, 8), "-0.125"),
        (R(1, 3), r"\frac{1}{3}"),
        (R(-2, 3), r"-\frac{2}{3}"),
        (R(1, 2**7), r"\frac{1}{128}"),  # 0.0078125 has 7 decimals > 6
        (R(1, 10**6), "0.000001"),
        # more than 30 digits: scientific form, exact when the significand is short
        (R(1, 10**400), r"1 \times 10^{-400}"),
        (R(-25 * 10**99), r"-2.5 \times 10^{100}"),
        (R(2**200, 3), r"\approx 5.35646 \times 10^{59}"),
        (R(-(10**40) - 1), r"\approx -1 \times 10^{40}"),
    ],
)
def test_format_exact_table(value, text):
    assert format_exact(value) == text


def test_format_exact_max_decimals():
    assert format_exact(R(1, 2**7), max_decimals=7) == "0.0078125"
    assert format_exact(R(1, 2), max_decimals=0) == r"\frac{1}{2}"
