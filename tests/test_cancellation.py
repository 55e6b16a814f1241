"""Decimals of values whose computation cancels: each is right to the digits asked for."""

from __future__ import annotations

import mpmath
import pytest
import sympy

import rnnsym

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
