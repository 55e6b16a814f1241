"""The registry of rules: a user activation works everywhere after one registration call."""

from __future__ import annotations

import mpmath
import pytest
import sympy
from hypothesis import Phase, find, settings

import rnnsym
from rnnsym.analysis.bound import bound
from rnnsym.errors import InputError
from rnnsym.rules import ACTIVATIONS, LOSSES, register_loss, rule_for, sigmoid, unregister
from rnnsym.partials import partial_form
from rnnsym.strategies import activations, cells, losses
from rnnsym.testing import check_gradients, numeric

from support import needs_tex

VALUES = {"h_0": "1/2", "x": [1, "-1/2", 2], "y": [0, 1, "1/3"], "W_h": "1/2", "W_x": 1, "W_y": "3/2",
          "b_h": 0, "b_y": "1/4"}

EXERCISE = """
title = "A softplus RNN"
[model]
activation = "softplus"
steps = 3
bias = true
[values]
h_0 = "1/2"
x = [1, "-1/2", 2]
y = [0, 1, "1/3"]
W_h = "1/2"
W_x = 1
W_y = "3/2"
b_h = 0
b_y = "1/4"
[[questions]]
find = "dL/dW_h"
[[questions]]
show = "vanishing"
"""


@pytest.fixture
def softplus():
    rule = rnnsym.register_activation(
        "softplus", lambda z: sympy.log(1 + sympy.exp(z)), derivative=lambda z, out: sigmoid(z),
        max_derivative=1, note="softplus′(z) = σ(z) < 1")
    yield rule
    unregister("softplus")


def test_a_registered_activation_derives_evaluates_and_renders(softplus):
    graph = rnnsym.elman(3, activation="softplus", bias=True)
    d = rnnsym.derive(graph, "L", "W_h")
    exact = d.evaluate(VALUES)
    point = {s: n.exact for s, n in rnnsym.evaluation.bind(graph, VALUES).items()}
    truth = sympy.diff(graph.expand(graph.loss), graph.symbol("W_h")).xreplace(point)
    with mpmath.workdps(40):
        assert abs(numeric(exact) - numeric(truth)) < mpmath.mpf(10) ** -35
    assert abs(d.evaluate(VALUES, digits=30) - sympy.N(truth, 30)) < sympy.Float("1e-25")
    text = "\n".join(rnnsym.derive(graph, "h_2", "h_1").latex(VALUES))
    assert r"\sigma\left(z_{2}\right)" in text  # the registered derivative, written as registered
    assert r"\operatorname{softplus}" in "\n".join(rnnsym.compute(graph, "h_1").latex())


def test_a_registered_activation_passes_check_gradients_and_bounds(softplus):
    graph = rnnsym.elman(3, activation="softplus", bias=True)
    assert check_gradients(graph, VALUES).ok
    b = bound(graph, VALUES)
    assert (b.value, b.regime) == (sympy.Rational(1, 2), "vanishing")


def test_a_registered_activation_in_an_exercise_file_and_a_sheet(softplus):
    exercise = rnnsym.loads(EXERCISE)
    tex = rnnsym.Sheet([exercise]).tex()
    assert r"\operatorname{softplus}" in tex and "vanishes" in tex


@needs_tex
def test_a_registered_activation_sheet_compiles(softplus):
    assert rnnsym.Sheet([rnnsym.loads(EXERCISE)]).pdf().startswith(b"%PDF")


def test_strategies_draw_registered_activations_and_every_loss(softplus):
    quick = settings(database=None, derandomize=True, phases=[Phase.generate, Phase.shrink])
    assert find(activations(), lambda name: name == "softplus", settings=quick) == "softplus"
    assert find(losses(), lambda name: name == "cross_entropy", settings=quick) == "cross_entropy"
    cell = find(cells(activation="softplus"), lambda c: True, settings=quick)
    assert cell.options["activation"] == "softplus"


def test_an_unknown_activation_is_refused_by_name():
    with pytest.raises(InputError, match="model.activation: got 'softplus'"):
        rnnsym.loads(EXERCISE)


def test_an_unknown_function_is_an_error_not_a_fallback():
    x = sympy.Symbol("x")
    with pytest.raises(InputError, match="got 'cos', expected a registered function"):
        partial_form(sympy.cos(x), x)
    with pytest.raises(InputError, match="got 'cos'"):
        rule_for(sympy.cos(x))


def test_a_registered_loss(softplus):
    register_loss("quartic", lambda yhat, y: sympy.Pow(yhat - y, 4))
    try:
        graph = rnnsym.elman(2, loss="quartic")
        assert "quartic" in LOSSES and check_gradients(graph, seed=1).ok
    finally:
        unregister("quartic")


@pytest.mark.parametrize("name", ["tanh", "identity", "cross_entropy"])
def test_built_in_rules_cannot_be_replaced_or_removed(name):
    with pytest.raises(InputError):
        rnnsym.register_activation(name, lambda z: z)
    with pytest.raises(InputError):
        unregister(name)
    assert name in ACTIVATIONS or name in LOSSES
