"""Gradient flow through h: chains of one-step Jacobians and the per-step bound."""

from __future__ import annotations

import random
import re

import pytest
import sympy
from sympy import Rational

import rnnsym
from flow_support import DIGITS, close, elman_point, env_for, rational
from rnnsym import InputError, elman, gru, lstm
from rnnsym.analysis.bound import Bound, bound
from rnnsym.analysis.flow import JacobianChain, jacobian_chain
from rnnsym.analysis.table import flow_table
from rnnsym.derivation import derive
from rnnsym.evaluation import Evaluation
from rnnsym.notation import Notation, symbol
from rnnsym.printing import Line, RenderOptions, decimal
from rnnsym.rules import register_activation, sigmoid, unregister

# --- the chain ------------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["identity", "tanh", "sigmoid"])
@pytest.mark.parametrize(("t", "k"), [(1, 1), (3, 1), (3, 2), (4, 3), (4, 4)])
def test_chain_equals_the_derivative_rnnsym_derives(activation, t, k):
    graph = elman(4, activation=activation, bias=True)
    chain = jacobian_chain(graph, t, k)
    direct = derive(graph, f"h_{t}", f"h_{t - k}").expr
    rng = random.Random(f"{activation}{t}{k}")
    for _ in range(3):
        values = elman_point(rng, graph)
        env = env_for(graph, values)
        got = chain.product.xreplace(env)
        assert close(got, direct.xreplace(env))
        assert close(got, Evaluation(graph, env).tangents(symbol(f"h_{t - k}")).get(symbol(f"h_{t}"), 0))
        assert close(chain.evaluate(values, digits=DIGITS), got)
        if k == 1:
            assert close(chain.factors[0].evaluate(values, digits=DIGITS), got)


@pytest.mark.parametrize("activation", ["identity", "tanh", "sigmoid"])
@pytest.mark.parametrize(("t", "k"), [(2, 1), (2, 2), (3, 2), (3, 3)])
def test_chain_equals_sympy_diff_of_the_expanded_state(activation, t, k):
    graph = elman(3, activation=activation, bias=True)
    free = symbol(f"h_{t - k}")
    expanded = graph.expand(symbol(f"h_{t}"), free=free)
    reference = sympy.diff(expanded, free)
    chain = jacobian_chain(graph, t, k)
    rng = random.Random(f"diff{activation}{t}{k}")
    for _ in range(3):
        env = env_for(graph, elman_point(rng, graph))
        leaves = {s: env[s] for s in graph.leaves}
        assert close(chain.product.xreplace(env), reference.xreplace({**leaves, free: env[free]}))


def test_vector_chain_is_the_product_of_component_jacobians():
    graph = elman(3, activation="tanh", hidden=2)
    chain = jacobian_chain(graph, 3, 2)
    assert chain.vector and chain.product.shape == (2, 2)
    assert [f.form.shape for f in chain.factors] == [(2, 2), (2, 2)]
    h1, h3 = graph.tensor("h_1"), graph.tensor("h_3")
    # h_1[2] is the last quantity of step 1: expanding after it leaves h_1[1] and h_1[2] free
    expanded = [graph.expand(h, free=h1[1]) for h in h3]
    assert all(e.free_symbols >= set(h1) for e in expanded)
    values = {"h_0": [Rational(1, 3), Rational(-1, 2)], "W_h": [["0.5", "-1.2"], ["0.7", "0.3"]],
              "W_x": [[1], [-2]], "x": ["0.4", "-0.1", "0.9"]}
    env = env_for(graph, {"h_0[1]": Rational(1, 3), "h_0[2]": Rational(-1, 2), "W_h[1,1]": Rational(1, 2),
                          "W_h[1,2]": Rational(-6, 5), "W_h[2,1]": Rational(7, 10), "W_h[2,2]": Rational(3, 10),
                          "W_x[1,1]": 1, "W_x[2,1]": -2, "x_1": Rational(2, 5), "x_2": Rational(-1, 10),
                          "x_3": Rational(9, 10)})
    leaves = {s: env[s] for s in graph.leaves}
    got = chain.evaluate(values, digits=DIGITS)
    for i in range(2):
        for j in range(2):
            direct = derive(graph, f"h_3[{i + 1}]", f"h_1[{j + 1}]").expr.xreplace(env)
            by_diff = sympy.diff(expanded[i], h1[j]).xreplace({**leaves, h1[0]: env[h1[0]], h1[1]: env[h1[1]]})
            assert close(got[i, j], direct)
            assert close(got[i, j], by_diff)
    # the product of the factors' values is the chain's value
    first, second = (f.evaluate(values, digits=DIGITS) for f in chain.factors)
    assert all(close(a, b) for a, b in zip(first * second, got))
    assert chain.latex()[0].count(r"\begin{matrix}") == 2


def test_gru_chain_matches_the_direct_derivative():
    graph = gru(3)
    chain = jacobian_chain(graph, 3, 3)
    rng = random.Random("gru")
    values = {str(s): rational(rng, -10, 10) for s in graph.leaves if not str(s).startswith(("y", "W_y", "b_y"))}
    env = env_for(graph, values)
    assert close(chain.product.xreplace(env), derive(graph, "h_3", "h_0").expr.xreplace(env))
    factor = chain.factors[0]
    assert len(factor.lines()) >= 2  # recall lines and the chain rule of ∂h_3/∂h_2
    assert all(isinstance(line, Line) for line in factor.lines())
    assert factor.latex() == [str(line) for line in factor.lines()] == rnnsym.latex(factor)
    valued = factor.latex(values)
    assert valued[-1].endswith(r"\approx " + decimal(factor.evaluate(values), 6))
    assert close(factor.evaluate(values), derive(graph, "h_3", "h_2").expr.xreplace(env))


def test_chain_latex_is_the_written_product():
    chain = jacobian_chain(elman(4, activation="tanh"), 4, 3)
    text = re.sub(r"\s+", " ", chain.latex()[0].replace(r"\,", ""))
    assert text == (
        r"\frac{\partial h_{4}}{\partial h_{1}} = \frac{\partial h_{4}}{\partial h_{3}} \frac{\partial h_{3}}{\partial h_{2}} "
        r"\frac{\partial h_{2}}{\partial h_{1}} = \left(1 - h_{4}^{2}\right) W_{h} \left(1 - h_{3}^{2}\right) W_{h} "
        r"\left(1 - h_{2}^{2}\right) W_{h}"
    )
    valued = jacobian_chain(elman(3), 3, 3).latex({"h_0": 1, "W_h": 2, "W_x": 1, "x": [0, 0, 0]}, compact=True)
    assert len(valued) == 1 and valued[0].endswith(r"= W_{h}^{3} = 8")


# --- the bound ------------------------------------------------------------------------------------


def test_bound_values_and_regimes():
    half = bound(elman(1, activation="tanh"), {"W_h": "-0.5"})
    assert (half.value, half.regime, half.matrix) == (Rational(1, 2), "vanishing", False)
    assert "(1/2)^(T−t)" in half.explanation
    sig = bound(elman(1, activation="sigmoid"), {"W_h": 2})
    assert (sig.value, sig.max_derivative, sig.regime) == (Rational(1, 2), Rational(1, 4), "vanishing")
    ident = bound(elman(1), {"W_h": "1.5"})
    assert ident.regime == "exploding" and "exactly W_h" in ident.explanation
    tanh = bound(elman(1, activation="tanh").cell, {"W_h": "1.5"})
    assert tanh.regime == "possibly exploding" and "near 0" in tanh.explanation
    relu = bound(elman(1, activation="relu"), {"W_h": 2})
    assert relu.regime == "possibly exploding" and "piecewise constant" in relu.explanation
    assert bound(elman(1, activation="relu"), {"W_h": 1}).regime == "neutral"
    matrix = bound(elman(1, activation="tanh", hidden=2), {"W_h": [[0, 2], [Rational(1, 2), 0]]})
    assert matrix.matrix and matrix.weight == 2 and matrix.value == 2
    assert r"\left\lVert W_{h} \right\rVert_{2}" in matrix.latex()[0]
    identity_matrix = bound(elman(1, hidden=2), {"W_h": [[2, 0], [0, 1]]})
    assert identity_matrix.regime == "exploding" and "ρ(W_h) = 2" in identity_matrix.explanation
    assert identity_matrix.radius == 2 and "W_h is normal" in identity_matrix.explanation
    assert half.at(3) == Rational(1, 8)
    with pytest.raises(InputError, match="^cell_or_graph: got 'gru', expected an unrolled Graph for a gated cell"):
        bound(gru(1).cell, {"W_hh": 1})
    with pytest.raises(InputError, match="values.W_h"):
        bound(elman(1), {})


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "identity"])
def test_bound_holds_at_random_points(activation):
    rng = random.Random(activation)
    steps = 6
    for trial in range(4):
        graph = elman(steps, activation=activation, bias=True)
        values = elman_point(rng, graph, scale=25)
        per_step = bound(graph, values)
        table = flow_table([("x", graph, values)], steps=steps + 1)
        for d, value in enumerate(table.series[0].values):
            assert value <= per_step.at(d) * (1 + Rational(1, 10**20)), (trial, d, value, per_step.value)


def test_matrix_bound_holds_in_the_spectral_norm():
    rng = random.Random("matrix")
    for _ in range(3):
        graph = elman(5, activation="tanh", hidden=2)
        values = {"h_0": [rational(rng), rational(rng)], "W_h": [[rational(rng) for _ in range(2)] for _ in range(2)],
                  "W_x": [[rational(rng)], [rational(rng)]], "x": [rational(rng) for _ in range(5)]}
        per_step = sympy.N(bound(graph, values).value, 30)
        series = flow_table([("v", graph, values)], steps=6).series[0]
        assert series.norm == "spectral"
        for d, value in enumerate(series.values):
            assert value <= per_step**d * (1 + Rational(1, 10**20))


@pytest.fixture
def softplus():
    """A user activation registered with its bound, unregistered after the test."""
    rule = register_activation("softplus", lambda z: sympy.log(1 + sympy.exp(z)), derivative=lambda z, out: sigmoid(z),
                               max_derivative=1, note="softplus′(z) = σ(z) < 1")
    yield rule
    unregister("softplus")


def test_a_registered_activation_is_bounded_by_its_rule(softplus):
    below = bound(elman(1, "softplus"), {"W_h": "0.5"})
    assert (below.value, below.max_derivative, below.regime) == (Rational(1, 2), 1, "vanishing")
    assert "since softplus′(z) = σ(z) < 1" in below.explanation
    assert below.latex() == [r"\left|{\frac{\partial h_{t}}{\partial h_{t-1}}}\right| \leq \left|{W_{h}}\right| \, "
                             r"\max_{z} \left|{\sigma\left(z\right)}\right| = \frac{1}{2} \times 1 = \frac{1}{2}"]
    above = bound(elman(1, "softplus"), {"W_h": 3})
    assert above.regime == "possibly exploding" and "near its largest value" in above.explanation
    rng = random.Random("softplus")
    graph = elman(5, "softplus", bias=True)
    for _ in range(3):
        values = elman_point(rng, graph)
        series = flow_table([("s", graph, values)], steps=6).series[0]
        assert series.bound == bound(graph, values)
        for d, value in enumerate(series.values):
            assert value <= series.bound.at(d) * (1 + Rational(1, 10**20))


def test_an_activation_without_max_derivative_is_refused_by_name():
    register_activation("softsign_free", lambda z: z / (1 + z**2))
    try:
        with pytest.raises(InputError, match=r"^activation: got 'softsign_free', expected an activation whose rule gives "
                                             r"max_derivative"):
            bound(elman(1, "softsign_free"), {"W_h": 1})
        graph = elman(2, "softsign_free")
        table = flow_table([("free", graph, {"h_0": 0, "W_h": 1, "W_x": 1, "x": [1, 1]})], steps=2, digits=None)
        # h_1 = f(1) = 1/2, z_2 = 3/2, f′(z) = (1 − z²)/(1 + z²)²: |∂h_2/∂h_1| = 20/169
        assert table.series[0].bound is None and table.series[0].values == (1, Rational(20, 169))
    finally:
        unregister("softsign_free")


# --- one interface, one printer -------------------------------------------------------------------

VALUES = {"h_0": 1, "W_h": 2, "W_x": 1, "x": [0, 0, 0]}
SCALAR = (lambda: jacobian_chain(elman(3, "tanh"), 3, 2), {})
COMPACT = (lambda: jacobian_chain(elman(3), 3, 3), {"compact": True})
VALUED = (lambda: jacobian_chain(elman(3), 3, 3), {"compact": True, "values": VALUES})
DECIMAL = (lambda: jacobian_chain(elman(2, "tanh"), 2, 1), {"values": {"h_0": 0, "W_h": 2, "W_x": 1, "x": [1, 1]}})
VECTOR = (lambda: jacobian_chain(elman(2, hidden=2), 2, 2),
          {"values": {"h_0": [0, 0], "W_h": [[1, 2], [0, 1]], "W_x": [[1], [1]], "x": [0, 0]}})
TANH_VECTOR = (lambda: jacobian_chain(elman(2, "tanh", hidden=2), 2, 1), {})
BOUND = (lambda: bound(elman(1, "tanh"), {"W_h": "0.5"}), {})
BOUND_MATRIX = (lambda: bound(elman(1, "sigmoid", hidden=2), {"W_h": [[1, 1], [0, 1]]}), {})
BOUND_IDENTITY = (lambda: bound(elman(1), {"W_h": "1.5"}), {})

DEFAULT = RenderOptions()
CDOT_D = RenderOptions(times="cdot", partial="d")
S = RenderOptions(notation=Notation(bases={"h": "s"}))
S_CDOT = RenderOptions(times="cdot", notation=Notation(bases={"h": "s"}))

GOLDEN = [
    ("scalar chain", SCALAR, DEFAULT,
     r"\frac{\partial h_{3}}{\partial h_{1}} = \frac{\partial h_{3}}{\partial h_{2}} \, \frac{\partial h_{2}}{\partial h_{1}}"
     r" = \left(1 - h_{3}^{2}\right) \, W_{h} \, \left(1 - h_{2}^{2}\right) \, W_{h}"),
    ("scalar chain, d", SCALAR, CDOT_D,
     r"\frac{d h_{3}}{d h_{1}} = \frac{d h_{3}}{d h_{2}} \, \frac{d h_{2}}{d h_{1}}"
     r" = \left(1 - h_{3}^{2}\right) \, W_{h} \, \left(1 - h_{2}^{2}\right) \, W_{h}"),
    ("scalar chain, s", SCALAR, S,
     r"\frac{\partial s_{3}}{\partial s_{1}} = \frac{\partial s_{3}}{\partial s_{2}} \, \frac{\partial s_{2}}{\partial s_{1}}"
     r" = \left(1 - s_{3}^{2}\right) \, W_{h} \, \left(1 - s_{2}^{2}\right) \, W_{h}"),
    ("compact chain", COMPACT, DEFAULT,
     r"\frac{\partial h_{3}}{\partial h_{0}} = \frac{\partial h_{3}}{\partial h_{2}} \, \frac{\partial h_{2}}{\partial h_{1}}"
     r" \, \frac{\partial h_{1}}{\partial h_{0}} = W_{h} \, W_{h} \, W_{h} = W_{h}^{3}"),
    ("compact chain, d and s", COMPACT, RenderOptions(partial="d", notation=Notation(bases={"h": "s"})),
     r"\frac{d s_{3}}{d s_{0}} = \frac{d s_{3}}{d s_{2}} \, \frac{d s_{2}}{d s_{1}} \, \frac{d s_{1}}{d s_{0}}"
     r" = W_{h} \, W_{h} \, W_{h} = W_{h}^{3}"),
    ("compact chain with values", VALUED, DEFAULT,
     r"\frac{\partial h_{3}}{\partial h_{0}} = \frac{\partial h_{3}}{\partial h_{2}} \, \frac{\partial h_{2}}{\partial h_{1}}"
     r" \, \frac{\partial h_{1}}{\partial h_{0}} = W_{h} \, W_{h} \, W_{h} = W_{h}^{3} = 8"),
    ("one step", (lambda: jacobian_chain(elman(2), 2, 1), {}), DEFAULT, r"\frac{\partial h_{2}}{\partial h_{1}} = W_{h}"),
    ("one step, irrational value", DECIMAL, S,
     r"\frac{\partial s_{2}}{\partial s_{1}} = \left(1 - s_{2}^{2}\right) \, W_{h} \approx 0.0508051"),
    ("vector chain with values", VECTOR, CDOT_D,
     r"\frac{d h_{2}}{d h_{0}} = \frac{d h_{2}}{d h_{1}} \, \frac{d h_{1}}{d h_{0}}"
     r" = \left[\begin{matrix}W_{h,11} & W_{h,12}\\W_{h,21} & W_{h,22}\end{matrix}\right]"
     r" \, \left[\begin{matrix}W_{h,11} & W_{h,12}\\W_{h,21} & W_{h,22}\end{matrix}\right]"
     r" = \left[\begin{matrix}1 & 4\\0 & 1\end{matrix}\right]"),
    ("vector tanh factor", TANH_VECTOR, S,
     r"\frac{\partial s_{2}}{\partial s_{1}} = \left[\begin{matrix}"
     r"\left(1 - s_{2,1}^{2}\right) \, W_{h,11} & \left(1 - s_{2,1}^{2}\right) \, W_{h,12}\\"
     r"\left(1 - s_{2,2}^{2}\right) \, W_{h,21} & \left(1 - s_{2,2}^{2}\right) \, W_{h,22}\end{matrix}\right]"),
    ("scalar bound", BOUND, DEFAULT,
     r"\left|{\frac{\partial h_{t}}{\partial h_{t-1}}}\right| \leq \left|{W_{h}}\right| \, "
     r"\max_{z} \left|{1 - \tanh^{2}{\left(z \right)}}\right| = \frac{1}{2} \times 1 = \frac{1}{2}"),
    ("scalar bound, cdot and d", BOUND, CDOT_D,
     r"\left|{\frac{d h_{t}}{d h_{t-1}}}\right| \leq \left|{W_{h}}\right| \, "
     r"\max_{z} \left|{1 - \tanh^{2}{\left(z \right)}}\right| = \frac{1}{2} \cdot 1 = \frac{1}{2}"),
    ("scalar bound, s", BOUND, S_CDOT,
     r"\left|{\frac{\partial s_{t}}{\partial s_{t-1}}}\right| \leq \left|{W_{h}}\right| \, "
     r"\max_{z} \left|{1 - \tanh^{2}{\left(z \right)}}\right| = \frac{1}{2} \cdot 1 = \frac{1}{2}"),
    ("matrix bound", BOUND_MATRIX, DEFAULT,
     r"\left\lVert \frac{\partial h_{t}}{\partial h_{t-1}} \right\rVert_{2} \leq \left\lVert W_{h} \right\rVert_{2} \, "
     r"\max_{z} \left|{\sigma\left(z\right) \, \left(1 - \sigma\left(z\right)\right)}\right| = "
     r"\left(\frac{1}{2} + \frac{\sqrt{5}}{2}\right) \times \frac{1}{4} = \frac{1}{8} + \frac{\sqrt{5}}{8} \approx 0.404508"),
    ("matrix bound, cdot, d and s", BOUND_MATRIX,
     RenderOptions(times="cdot", partial="d", notation=Notation(bases={"h": "s"}), approx_digits=3),
     r"\left\lVert \frac{d s_{t}}{d s_{t-1}} \right\rVert_{2} \leq \left\lVert W_{h} \right\rVert_{2} \, "
     r"\max_{z} \left|{\sigma\left(z\right) \, \left(1 - \sigma\left(z\right)\right)}\right| = "
     r"\left(\frac{1}{2} + \frac{\sqrt{5}}{2}\right) \cdot \frac{1}{4} = \frac{1}{8} + \frac{\sqrt{5}}{8} \approx 0.405"),
    ("identity bound", BOUND_IDENTITY, CDOT_D,
     r"\left|{\frac{d h_{t}}{d h_{t-1}}}\right| \leq \left|{W_{h}}\right| = \frac{3}{2}"),
]


@pytest.mark.parametrize(("make", "options", "expected"), [g[1:] for g in GOLDEN], ids=[g[0] for g in GOLDEN])
def test_flow_latex_golden(make, options, expected):
    build, keywords = make
    obj = build()
    keywords = dict(keywords)
    values = keywords.pop("values", None)
    assert obj.latex(values, options, **keywords) == [expected]
    if not keywords:  # the shared entry point gives the same lines
        assert rnnsym.latex(obj, values, options) == [expected]
        assert [str(line) for line in obj.lines(values, options)] == [expected]


@pytest.mark.parametrize("make", [SCALAR, VECTOR, BOUND, BOUND_MATRIX], ids=["chain", "vector", "bound", "matrix"])
def test_results_share_one_interface(make):
    obj = make[0]()
    assert isinstance(obj, (JacobianChain, Bound))
    lines = obj.lines()
    assert len(lines) == 1 and isinstance(lines[0], Line) and len(lines[0].parts) >= 2
    shown = obj._repr_latex_()
    assert shown.startswith("$") and shown.endswith("$") and obj.latex()[0] in shown
    with pytest.raises(TypeError, match="^options: got 'cdot'"):
        obj.latex(options="cdot")


def test_a_bound_takes_no_values():
    with pytest.raises(InputError, match="^values: got .* expected None: a Bound is at the values given to bound"):
        BOUND[0]().latex({"W_h": 1})


def test_digits_are_validated_like_an_evaluation():
    chain = jacobian_chain(elman(2), 2, 1)
    values = {"h_0": 1, "W_h": "0.5", "W_x": 1, "x": [0, 0]}
    assert chain.evaluate(values) == Rational(1, 2)
    assert chain.evaluate(values, digits=5) == sympy.Float("0.5", 5)
    for wrong in (0, 1001, True, "30"):
        with pytest.raises(InputError, match="^digits: got"):
            chain.evaluate(values, digits=wrong)


def test_chain_refuses_bad_input():
    with pytest.raises(InputError, match="^k: got 3"):
        jacobian_chain(lstm(3), 2, 3)
    with pytest.raises(InputError, match="^k: got 4"):
        jacobian_chain(elman(3), 3, 4)
    with pytest.raises(InputError, match="^t: got 0"):
        jacobian_chain(elman(3), 0, 1)
    with pytest.raises(InputError, match="^k: got 3, expected at most t = 2"):
        jacobian_chain(elman(3), 2, 3)
    with pytest.raises(TypeError):
        jacobian_chain("elman", 2, 1)
