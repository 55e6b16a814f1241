"""rnnsym's derivatives against an independent BPTT (tests/reference_rnn.py).

The reference knows nothing of rnnsym: it runs the scalar Elman forward pass
and the textbook backward recursion on Fractions (identity, relu) or 50-digit
mpmath floats (tanh, sigmoid).  rnnsym must agree exactly in the first case and
to 40 digits in the second, for every leaf and every intermediate quantity.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st

import rnnsym
from rnnsym.strategies import cells, graphs, values
from rnnsym.testing import numeric
from reference_rnn import Model, run

SEED = {"h_0": 1, "x_1": 10, "x_2": 10, "y_1": 5, "y_2": 5, "W_h": 1, "W_x": Fraction(1, 10), "W_y": 2}


#: The losses of a scalar output (cross-entropy needs two outputs or more).
SCALAR_LOSSES = ["squared", "half_squared", "binary_cross_entropy"]


def model_of(graph: rnnsym.Graph) -> Model:
    options = graph.cell.options
    return Model(
        steps=graph.steps,
        activation=options["activation"],
        output_activation=options["output_activation"],
        bias=options["bias"],
        loss=options["loss"],
        loss_at=graph.loss_steps,
        reduction=graph.reduction,
    )


def agree(engine: sympy.Expr, reference, exact: bool) -> bool:
    if exact:
        return isinstance(engine, sympy.Rational) and Fraction(int(engine.p), int(engine.q)) == reference
    with mpmath.workdps(50):
        return abs(numeric(engine) - reference) <= mpmath.mpf(10) ** -40 * max(1, abs(reference))


def test_the_reference_reproduces_the_seed_exercise():
    forward, grad = run(Model(steps=2), SEED)
    assert (forward["yhat_2"], forward["L"]) == (6, 2)
    assert (grad["h_1"], grad["W_h"]) == (0, 8)


@given(st.data(), graphs(min_steps=1, max_steps=5, cells=cells(output_activation=None, loss=SCALAR_LOSSES)))
def test_forward_values_match(data, graph):
    point = data.draw(values(graph))
    model = model_of(graph)
    forward, _ = run(model, point)
    env = rnnsym.evaluate(graph, {graph.symbol(n): v for n, v in point.items()}).values
    for q in graph.quantities:
        assert agree(env[q], forward[str(q)], model.exact), q


@pytest.mark.slow
@given(st.data(), graphs(min_steps=1, max_steps=5, cells=cells(output_activation=None, loss=SCALAR_LOSSES)))
def test_gradients_of_every_leaf_match(data, graph):
    point = data.draw(values(graph))
    model = model_of(graph)
    _, grad = run(model, point)
    for leaf in graph.leaves:
        engine = rnnsym.derive(graph, "L", str(leaf)).evaluate(point)
        assert agree(engine, grad[str(leaf)], model.exact), (leaf, engine, grad[str(leaf)])


@pytest.mark.slow
@given(st.data(), graphs(min_steps=1, max_steps=5, cells=cells(output_activation=None, loss=SCALAR_LOSSES)))
def test_gradients_of_intermediate_quantities_match(data, graph):
    """∂L/∂q with q free (docs/architecture.md, "What ∂A/∂B means") is the reference's adjoint of q."""
    point = data.draw(values(graph))
    model = model_of(graph)
    _, grad = run(model, point)
    inner = [str(q) for q in graph.quantities if str(q) != "L"]
    for name in data.draw(st.lists(st.sampled_from(inner), min_size=1, max_size=4, unique=True)):
        engine = rnnsym.derive(graph, "L", name).evaluate(point)
        assert agree(engine, grad[name], model.exact), (name, engine, grad[name])


@pytest.mark.parametrize("split", ["loss", "step"])
def test_both_splits_give_the_reference_value(split):
    graph = rnnsym.elman(3, activation="tanh", bias=True, loss_at=[1, 3])
    point = {str(s): sympy.Rational(k % 5 - 2, 3) for k, s in enumerate(graph.leaves)}
    _, grad = run(model_of(graph), point)
    for leaf in ("W_h", "h_0", "x_2"):
        assert agree(rnnsym.derive(graph, "L", leaf, split).evaluate(point), grad[leaf], exact=False)
