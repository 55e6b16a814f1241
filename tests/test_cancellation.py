"""Decimals of values whose computation cancels: each is right to the digits asked for."""

from __future__ import annotations

import re

import mpmath
import pytest
import sympy
from hypothesis import given, settings, strategies as st

import rnnsym
from rnnsym.errors import LimitError
from rnnsym.notation import symbol
from rnnsym.rules import sigmoid
from rnnsym.testing.mp import numeric

BCE = rnnsym.elman(1, loss="binary_cross_entropy", output_activation="sigmoid")


def _closed_forms(o: int, y: int) -> dict[str, mpmath.mpf]:
    """L, ∂L/∂W_y and ∂L/∂W_x of one sigmoid output o = x (W_x = W_y = 1, h_0 = W_h = 0), at 200 digits."""
    with mpmath.workdps(200):
        o = mpmath.mpf(o)
        s = 1 / (1 + mpmath.exp(-o))
        loss = mpmath.log1p(mpmath.exp(-o)) + (o if y == 0 else 0)
        slope = (s - y) if y == 0 else -mpmath.exp(-o) / (1 + mpmath.exp(-o))
        return {"L": loss, "W_y": slope * o, "W_x": slope * o}


def _agrees(value, exact: mpmath.mpf, digits: int) -> bool:
    with mpmath.workdps(digits + 30):
        shown = sympy.Float(value, digits)._to_mpmath(mpmath.libmp.dps_to_prec(digits) + 20)
        return abs(shown - exact) <= abs(exact) * mpmath.mpf(10) ** (1 - digits)


@pytest.mark.parametrize("y", [0, 1])
@pytest.mark.parametrize("o", [20, 30, 40, 60, 128])
@pytest.mark.parametrize("digits", [6, 15, 30, 50])
def test_binary_cross_entropy_of_a_confident_output(o, y, digits):
    point = {"h_0": 0, "W_h": 0, "W_x": 1, "W_y": 1, "x": [o], "y": [y]}
    exact = _closed_forms(o, y)
    ev = rnnsym.evaluate(BCE, point, digits=digits)
    assert _agrees(ev.value("L"), exact["L"], digits)
    for w in ("W_y", "W_x"):
        assert _agrees(rnnsym.derive(BCE, "L", w).evaluate(point, digits=digits), exact[w], digits)
    grads = rnnsym.gradients(BCE, point, digits=digits)
    assert _agrees(grads["W_y"], exact["W_y"], digits) and _agrees(grads["W_x"], exact["W_x"], digits)


def test_saturated_tanh_gradient():
    graph = rnnsym.elman(1, activation="tanh")
    point = {"h_0": 0, "W_h": 0, "W_x": 1, "W_y": 1, "x": [40], "y": [0]}
    with mpmath.workdps(200):
        h = mpmath.tanh(40)
        expected = 2 * h * (1 - h ** 2) * 40  # ∂L/∂W_x = 2(ŷ − y) W_y (1 − h²) x
    assert _agrees(rnnsym.gradients(graph, point, digits=15)["W_x"], expected, 15)


def test_softmax_cross_entropy_with_far_apart_logits():
    graph = rnnsym.elman(1, output=2, loss="cross_entropy")
    point = {"h_0": 0, "W_h": 0, "W_x": 1, "W_y": [[1], [-1]], "x": [30], "y": [[1, 0]]}
    with mpmath.workdps(200):
        expected = mpmath.log1p(mpmath.exp(-60))  # −log softmax(30, −30)_1
    assert _agrees(rnnsym.evaluate(graph, point, digits=20).value("L"), expected, 20)


def test_the_reference_exercise_is_unchanged():
    ex = rnnsym.reference()
    ev = rnnsym.evaluate(ex.graph, ex.values, digits=12)
    assert str(ev.value("L")) == "2.00000000000" and str(ev.gradient("W_h")) == "8.00000000000"
    assert rnnsym.gradients(ex.graph, ex.values)["W_h"] == 8 and rnnsym.evaluate(ex.graph, ex.values).value("L") == 2


@pytest.mark.parametrize("y", [0, 1])
@pytest.mark.parametrize("o", [40, 128, 200, 1000])
def test_exact_values_print_right_digits(o, y):
    point = {"h_0": 0, "W_h": 0, "W_x": 1, "W_y": 1, "x": [o], "y": [y]}
    exact = _closed_forms(o, y)
    ev = rnnsym.evaluate(BCE, point)
    for digits in (15, 50):
        assert _agrees(sympy.N(ev.value("L"), digits), exact["L"], digits)
        assert _agrees(sympy.N(ev.gradient("W_y"), digits), exact["W_y"], digits)


@pytest.mark.parametrize("y", [0, 1])
def test_beyond_the_cap_is_a_limit_error(y):
    point = {"h_0": 0, "W_h": 0, "W_x": 1, "W_y": 1, "x": [5000], "y": [y]}  # 1 − σ(5000) ≈ 2^-7213
    with pytest.raises(LimitError):
        rnnsym.evaluate(BCE, point, digits=6).value("L")
    with pytest.raises(LimitError):
        rnnsym.derive(BCE, "L", "W_y").evaluate(point, digits=6)
    with pytest.raises(LimitError):
        sympy.N(rnnsym.evaluate(BCE, point).value("L"), 10)


def test_a_difference_of_equal_decimals_is_zero():
    graph = rnnsym.elman(1, activation="tanh")
    point = {"h_0": 0, "W_h": 0, "W_x": "0.1", "W_y": 1, "x": [3], "y": ["0.3"]}  # z = 0.3, L = (tanh 0.3 − 0.3)²
    with mpmath.workdps(100):
        h = mpmath.tanh(mpmath.mpf(3) / 10)
        expected = 2 * (h - mpmath.mpf(3) / 10) * (1 - h ** 2) * 3
    assert _agrees(rnnsym.gradients(graph, point, digits=20)["W_x"], expected, 20)


@pytest.mark.parametrize("o", [40, 128, 200])
def test_the_independent_checker_sees_through_cancellation(o):
    s = symbol("o_1")
    with mpmath.workdps(300):
        tail = mpmath.log1p(mpmath.exp(-o))
        loss, difference = tail + o, mpmath.exp(-o) / (1 + mpmath.exp(-o))
    assert _agrees(numeric(-sympy.log(1 - sigmoid(s)), {s: sympy.Integer(o)}, digits=30), loss, 30)
    assert _agrees(numeric(-sympy.log(sigmoid(s)), {s: sympy.Integer(o)}, digits=30), tail, 30)
    assert _agrees(numeric(1 - sigmoid(sympy.Integer(o)), digits=20), difference, 20)


@pytest.mark.slow
@settings(max_examples=40, deadline=None, database=None)
@given(st.integers(1, 2), st.sampled_from(["identity", "tanh"]), st.data())
def test_fifteen_digits_are_the_sixty_digit_value_rounded(steps, activation, data):
    # |o_t| stays below about 2000, so that 1 − σ(o_t) ≈ e^-2000 is within the cap of 4096 bits more
    graph = rnnsym.elman(steps, activation=activation, loss="binary_cross_entropy", output_activation="sigmoid")
    big = st.integers(-30, 30)
    point = {"h_0": data.draw(big), "W_h": data.draw(st.integers(-2, 2)), "W_x": data.draw(big),
             "W_y": data.draw(st.integers(-5, 5)), "x": [data.draw(st.integers(-3, 3)) for _ in range(steps)],
             "y": [data.draw(st.integers(0, 1)) for _ in range(steps)]}
    fine = rnnsym.evaluate(graph, point, digits=60)
    coarse = rnnsym.evaluate(graph, point, digits=15)
    names = ["L"] + [str(s) for s in graph.quantities]
    for name in names:
        assert _same(coarse.value(name), fine.value(name), 15), name
    for w, value in rnnsym.gradients(graph, point, digits=15).items():
        assert _same(value, fine.gradient(w), 15), w


def _same(value, reference, digits: int) -> bool:
    """``value`` is ``reference`` rounded to ``digits`` digits, within one unit in the last place."""
    if reference == 0:
        return value == 0
    with mpmath.workdps(digits + 60):
        a, b = value._to_mpmath(400), reference._to_mpmath(400)
        return abs(a - b) <= abs(b) * mpmath.mpf(10) ** (1 - digits)


@pytest.mark.parametrize("o", [5, 10, 40])
def test_number_lines_do_not_hide_a_cancellation(o):
    point = {"h_0": 0, "W_h": 0, "W_x": 1, "W_y": 1, "x": [o], "y": [0]}
    lines = rnnsym.latex(rnnsym.derive(BCE, "L", "W_y"), point)
    text = " ".join(lines)
    yhat = sympy.Float(rnnsym.evaluate(BCE, point, digits=30).value("yhat_1"), 30)
    assert r"1 - 1.0\right" not in text and r"{1 - 1.0}" not in text
    for written in re.findall(r"1 - (0\.9\d*)", text):  # every 1 − ŷ written keeps 2 digits of the difference
        assert abs((1 - sympy.Float(written, 40)) / (1 - yhat) - 1) < sympy.Rational(1, 100)
