"""Cells beyond the scalar Elman: user-defined recurrences, vector states, GRU, LSTM."""

import random

import pytest
import sympy
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import rnnsym
from rnnsym import InputError, now, prev
from rnnsym.evaluation import Evaluation
from rnnsym.notation import symbol


def _point(graph, seed):
    rnd = random.Random(seed)
    return {s: sympy.Rational(rnd.randint(-6, 6), rnd.randint(1, 4)) for s in graph.leaves}


def _agrees_with_diff(graph, leaves, seed, digits=40):
    """Every derivative equals sympy.diff of the expanded loss at one point (high precision)."""
    point = _point(graph, seed)
    floats = {s: sympy.Float(v, digits) for s, v in point.items()}
    env = rnnsym.evaluate(graph, floats).values
    evaluator = Evaluation(graph, env)
    loss = graph.expand(graph.loss)
    for leaf in leaves:
        ours = evaluator.tangents(leaf).get(graph.loss, 0)
        compact = rnnsym.derive(graph, "L", str(leaf)).expr.xreplace(env)
        reference = sympy.diff(loss, leaf).xreplace(floats)
        assert abs(ours - reference) < 1e-25, (leaf, ours, reference)
        assert abs(compact - reference) < 1e-25, (leaf, compact, reference)


def test_define_cell_unrolls_and_derives():
    a, b, c = symbol("a"), symbol("b"), symbol("c")
    cell = rnnsym.define_cell([("h", sympy.tanh(a * prev("h") + b * now("x")))], output=[("yhat", c * now("h"))])
    assert cell.state == ("h",)
    assert cell.parameters == ("a", "b", "c")
    graph = rnnsym.unroll(cell, 3)
    _agrees_with_diff(graph, graph.leaves, seed=1)


def test_define_cell_with_two_states():
    a = symbol("a")
    cell = rnnsym.define_cell(
        [("c", prev("c") + a * now("x")), ("h", sympy.tanh(now("c")) * prev("h"))],
        output=[("yhat", now("h"))],
        loss="half_squared",
    )
    assert set(cell.state) == {"c", "h"}
    graph = rnnsym.unroll(cell, 2)
    assert {"c_0", "h_0"} <= {str(s) for s in graph.leaves}
    _agrees_with_diff(graph, graph.leaves, seed=2)


@pytest.mark.parametrize(
    "equations, field",
    [
        ([("h", now("x"))], "equations"),  # no state
        ([("h", prev("q") + now("x"))], "equations"),  # prev of something never computed
        ([("h", prev("h") + now("w"))], "equations"),  # now of an unknown input
    ],
)
def test_define_cell_rejects_ill_formed_recurrences(equations, field):
    with pytest.raises(InputError, match=field):
        rnnsym.define_cell(equations)


@pytest.mark.slow
@pytest.mark.parametrize(
    "graph",
    [
        rnnsym.elman(2, activation="tanh", hidden=2, input=2, output=2, bias=True),
        rnnsym.elman(2, activation="sigmoid", hidden=3),
        rnnsym.elman(2, hidden=2, output=3, loss="cross_entropy"),
        rnnsym.gru(2),
        rnnsym.gru(2, reset="after", hidden=2),
        rnnsym.lstm(2),
        rnnsym.lstm(1, hidden=2, input=2),
    ],
    ids=repr,
)
def test_vector_and_gated_cells_agree_with_sympy_diff(graph):
    _agrees_with_diff(graph, graph.leaves, seed=3)


@settings(max_examples=10, deadline=None)
@given(
    activation=st.sampled_from(["identity", "tanh", "sigmoid", "relu"]),
    loss=st.sampled_from(["squared", "half_squared", "cross_entropy", "binary_cross_entropy"]),
    reduction=st.sampled_from(["sum", "mean"]),
    wrt=st.sampled_from(["W_h", "W_x", "W_y", "b_h", "b_y", "h_0"]),
    seed=st.integers(0, 10**6),
)
def test_matrix_form_lines_recompute_the_gradient(activation, loss, reduction, wrt, seed):
    """Each matrix-form line's formula, computed with matrices of values, equals
    the matrix of component derivatives on its left."""
    # σ(o) of an unbounded state's logit can round to 1 at 40 digits, where ∂L/∂ŷ of BCE has 1/(1 − ŷ)
    assume(loss != "binary_cross_entropy" or activation in ("tanh", "sigmoid"))
    graph = rnnsym.elman(3, activation=activation, loss=loss, hidden=2, input=2, output=2, bias=True,
                         reduction=reduction)
    d = rnnsym.derive(graph, "L", wrt)
    env = rnnsym.evaluate(graph, {s: sympy.Float(v, 40) for s, v in _point(graph, seed).items()}).values
    evaluator = Evaluation(graph, env)
    steps = d.matrix_steps()
    assert steps and steps[-1].lhs.endswith("L")
    for step in steps:
        difference = step.value(evaluator, env) - step.formula(evaluator, env)
        assert all(abs(x) < 1e-25 for x in difference), step.lhs
    assert steps[-1].value(evaluator, env) == d.evaluate_with(evaluator)


def test_tensor_derivative_shapes():
    graph = rnnsym.elman(2, hidden=2, input=3, output=1)
    assert rnnsym.derive(graph, "L", "W_x").shape == (2, 3)
    assert rnnsym.derive(graph, "L", "h_0").shape == (2, 1)
    jacobian = rnnsym.derive(graph, "h_2", "h_1")
    assert jacobian.shape == (2, 2)
    assert jacobian.expr == graph.tensor("W_h")  # identity activation: the Jacobian is W_h


def test_vector_exercise_answers_whole_tensors_and_entries():
    ex = rnnsym.loads(
        """
        [model]
        steps = 2
        hidden = 2
        activation = "tanh"
        [values]
        h_0 = [0, 0]
        x = [1, "0.5"]
        y = [0, 1]
        W_h = [["0.5", 0], ["0.25", "0.5"]]
        W_x = [[1], [-1]]
        W_y = [[1, 2]]
        [[questions]]
        find = "h_2"
        [[questions]]
        find = "dL/dW_h"
        [[questions]]
        find = "dL/dW_h[1,2]"
        """
    )
    (_, state), (_, matrix), (_, entry) = ex.answers()
    assert {str(s.lhs) for s in state.steps} >= {"h_2[1]", "h_2[2]"}
    whole = matrix.evaluate(ex.values)
    assert whole.shape == (2, 2)
    # exact values from two evaluations: compare them numerically, to 40 digits
    assert abs(sympy.N(whole[0, 1] - entry.evaluate(ex.values), 40)) < 1e-35
    tex = rnnsym.Sheet([ex]).tex()
    assert r"\nabla_{W_{h}} L" in tex and r"\begin{bmatrix}" in tex


@pytest.mark.parametrize(
    "model, message",
    [
        ('cell = "gru"\nsteps = 1\nactivation = "tanh"', "model: got 'activation'"),
        ('cell = "lstm"\nsteps = 1\nloss = "cross_entropy"', "model.loss"),
        ('cell = "gru"\nsteps = 1\nreset = "middle"', "model.reset: got 'middle'"),
        ('steps = 1\nhidden = 0', "model.hidden: got 0"),
        ('cell = "transformer"\nsteps = 1', "model.cell: got 'transformer'"),
    ],
)
def test_bad_cell_options(model, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        rnnsym.loads(f"[model]\n{model}\n")


def test_wrongly_shaped_matrix_names_the_entry():
    text = """
    [model]
    steps = 1
    hidden = 2
    [values]
    h_0 = [0, 0]
    x = [1]
    y = [0]
    W_h = [[1, 0], [0]]
    W_x = [[1], [0]]
    W_y = [[1, 1]]
    """
    with pytest.raises(InputError, match=r"values\.W_h\[2\]: got \[0\], expected a list of 2 numbers"):
        rnnsym.loads(text)
