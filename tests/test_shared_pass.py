"""Every gradient of one loss from one forward and one reverse pass (``gradients``,
``Evaluation.gradient``), checked against the per-tensor derivations and sympy's diff."""

from __future__ import annotations

import sympy
from hypothesis import given, settings, strategies as st

import rnnsym
from rnnsym.evaluation import Evaluation

REFERENCE = {"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": "0.1", "W_y": 2}


def _values(graph, draw_int):
    return {s: sympy.Rational(draw_int(), 4) for s in graph.leaves}


def test_reference_gradients_are_the_worked_answers():
    g = rnnsym.elman(2)
    assert rnnsym.gradients(g, REFERENCE) == {"W_h": 8, "W_x": 40, "W_y": 2}
    # ∂L/∂h_0 = W_h ∂L/∂h_1, and ∂L/∂h_1 = −4 + 4 = 0 on the sheet
    assert rnnsym.gradients(g, REFERENCE, "h_0") == {"h_0": rnnsym.derive(g, "L", "h_0").evaluate(REFERENCE)} == {"h_0": 0}


@settings(max_examples=12, deadline=None)
@given(cell=st.sampled_from(["elman", "gru", "lstm"]), hidden=st.integers(1, 2),
       seed=st.integers(0, 10**6))
def test_every_gradient_equals_its_own_derivation(cell, hidden, seed):
    """One shared pass gives what ``derive(g, "L", w)`` gives for each weight, entry by entry."""
    import random

    rng = random.Random(seed)
    g = rnnsym.build(cell, 2, hidden=hidden)
    values = _values(g, lambda: rng.randint(-4, 4))
    shared = rnnsym.gradients(g, values, digits=20)
    assert tuple(shared) == g.cell.parameter_tensors
    alone = Evaluation(g, values, 20)  # a fresh evaluation for the per-tensor derivations
    for name, value in shared.items():
        own = rnnsym.derive(g, "L", name).value_at(alone)
        own = own if isinstance(own, sympy.Matrix) else sympy.Matrix([[own]])
        got = value if isinstance(value, sympy.Matrix) else sympy.Matrix([[value]])
        assert got.shape == own.shape, name
        for a, b in zip(got, own):
            assert abs(a - b) <= sympy.Float("1e-15") * (1 + abs(b)), (name, a, b)


def test_exact_gradient_of_a_vector_model_equals_sympy_diff():
    g = rnnsym.elman(2, activation="identity", hidden=2)
    values = {"h_0": [1, 0], "x": [1, 2], "y": [1, 0], "W_h": [["1/2", 0], [1, 1]], "W_x": [[1], [-1]], "W_y": [[1, 2]]}
    ev = Evaluation(g, values)
    loss = g.expand(g.loss)
    for name in ("W_h", "W_x", "W_y", "h_0"):
        grad = ev.gradient(name)
        grad = grad if isinstance(grad, sympy.Matrix) else sympy.Matrix([[grad]])
        tensor = g.tensor(name)
        assert grad.shape == tensor.shape
        for entry, s in zip(grad, tensor):
            assert entry == sympy.diff(loss, s).xreplace(ev.leaves), (name, s)


def test_quantity_gradient_is_the_adjoint():
    g = rnnsym.elman(2, hidden=2)
    ev = Evaluation(g, {"h_0": [1, 0], "x": [1, 2], "y": [1, 0], "W_h": [[1, 0], [0, 1]], "W_x": [[1], [1]], "W_y": [[1, 1]]})
    assert list(ev.gradient("h_2")) == [ev.derivative(g.loss, s) for s in g.tensor("h_2")]


def test_unknown_names_are_named():
    import pytest

    g = rnnsym.elman(2)
    with pytest.raises(rnnsym.InputError, match="wrt: got 'W_q'"):
        rnnsym.gradients(g, REFERENCE, ["W_q"])
    with pytest.raises(rnnsym.InputError, match="of: got 'M'"):
        rnnsym.gradients(g, REFERENCE, of="M")


def test_one_point_is_evaluated_once_and_a_new_point_anew():
    g = rnnsym.elman(2)
    first = rnnsym.evaluate(g, REFERENCE)
    assert rnnsym.evaluate(g, dict(REFERENCE)) is first  # the same point: its passes are shared
    other = rnnsym.evaluate(g, dict(REFERENCE, W_h=2))
    assert other is not first and other.gradients(["W_h"]) != first.gradients(["W_h"])
    again = rnnsym.evaluate(g, REFERENCE)
    assert again.gradients() == {"W_h": 8, "W_x": 40, "W_y": 2}
    # the same number spelled otherwise is printed otherwise: a separate evaluation
    assert rnnsym.evaluate(g, dict(REFERENCE, W_x="1/10")) is not again
    assert rnnsym.evaluate(g, REFERENCE, digits=10) is not again
