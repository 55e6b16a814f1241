"""Gradient flow: chains of one-step Jacobians, the per-step bound, the table and its figure."""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
from pathlib import Path

import mpmath
import pytest

import rnnsym
import sympy
from sympy import Rational

from rnnsym import InputError, elman, gru, lstm
from rnnsym.derivation import derive
from rnnsym.evaluation import Evaluation
from rnnsym.analysis.figure import FigureOptions, figure, table_latex
from rnnsym.analysis.flow import FlowTable, bound, demo_configs, flow_table, jacobian_chain
from rnnsym.notation import symbol

needs_tex = pytest.mark.skipif(
    shutil.which("latexmk") is None and not os.environ.get("CI"),
    reason="latexmk is not installed (in CI this test runs and fails instead)",
)

CLOSE = sympy.Float("1e-40")
DIGITS = 60  # random points are exact rationals; values are carried at 60 digits


def rational(rng: random.Random, low: int = -15, high: int = 15, q: int = 10) -> Rational:
    return Rational(rng.randint(low, high), rng.randint(1, q))


def elman_point(rng: random.Random, graph, scale: int = 10) -> dict[str, object]:
    """Random exact values for every leaf h_T needs (names as exercise files write them)."""
    values = {}
    for s in graph.leaves:
        name = str(s)
        if name.startswith(("y", "W_y", "b_y")):
            continue
        values[name] = Rational(rng.randint(-scale, scale), rng.randint(1, 10))
    return values


def env_for(graph, values: dict[str, object]) -> dict:
    """Every leaf and quantity at ``values`` (unneeded leaves set to 0), at DIGITS digits."""
    leaves = {str(s): s for s in graph.leaves}
    full = {s: sympy.Float(Rational(values.get(name, 0)), DIGITS) for name, s in leaves.items()}
    return rnnsym.evaluate(graph, full).values


def close(a, b, tolerance=CLOSE) -> bool:
    """|a − b| within ``tolerance``, relative to |b| when |b| > 1."""
    return abs(sympy.N(a - b, DIGITS)) <= tolerance * max(1, abs(sympy.N(b, DIGITS)))


LOOSE = sympy.Float("1e-25")  # for flow_table's default 30-digit values


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
        assert close(chain.evaluate(values, precision=DIGITS), got)


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
    got = chain.evaluate(values, precision=DIGITS)
    for i in range(2):
        for j in range(2):
            direct = derive(graph, f"h_3[{i + 1}]", f"h_1[{j + 1}]").expr.xreplace(env)
            by_diff = sympy.diff(expanded[i], h1[j]).xreplace({**leaves, h1[0]: env[h1[0]], h1[1]: env[h1[1]]})
            assert close(got[i, j], direct)
            assert close(got[i, j], by_diff)
    assert r"\begin{matrix}" in chain.latex()


def test_gru_chain_matches_the_direct_derivative():
    graph = gru(3)
    chain = jacobian_chain(graph, 3, 3)
    rng = random.Random("gru")
    values = {str(s): rational(rng, -10, 10) for s in graph.leaves if not str(s).startswith(("y", "W_y", "b_y"))}
    env = env_for(graph, values)
    assert close(chain.product.xreplace(env), derive(graph, "h_3", "h_0").expr.xreplace(env))
    assert len(chain.factors[0].lines()) >= 2  # recall lines and the chain rule of ∂h_3/∂h_2


def test_chain_latex_is_the_written_product():
    chain = jacobian_chain(elman(4, activation="tanh"), 4, 3)
    text = chain.latex().replace(r"\,", "")
    text = re.sub(r"\s+", " ", text)
    assert text == (
        r"\frac{\partial h_{4}}{\partial h_{1}} = \frac{\partial h_{4}}{\partial h_{3}} \frac{\partial h_{3}}{\partial h_{2}} "
        r"\frac{\partial h_{2}}{\partial h_{1}} = \left(1 - h_{4}^{2}\right) W_{h} \left(1 - h_{3}^{2}\right) W_{h} "
        r"\left(1 - h_{2}^{2}\right) W_{h}"
    )
    one = jacobian_chain(elman(2), 2, 1)
    assert one.latex() == r"\frac{\partial h_{2}}{\partial h_{1}} = W_{h}"
    valued = jacobian_chain(elman(3), 3, 3).latex({"h_0": 1, "W_h": 2, "W_x": 1, "x": [0, 0, 0]}, compact=True)
    assert valued.endswith(r"= W_{h}^{3} = 8")


def test_chain_refuses_bad_input_and_two_state_cells():
    with pytest.raises(InputError, match="carries h, c"):
        jacobian_chain(lstm(3), 3, 2)
    with pytest.raises(InputError, match="^k: got 4"):
        jacobian_chain(elman(3), 3, 4)
    with pytest.raises(InputError, match="^t: got 0"):
        jacobian_chain(elman(3), 0, 1)
    with pytest.raises(InputError, match="^k: got 3, expected at most t = 2"):
        jacobian_chain(elman(3), 2, 3)
    with pytest.raises(TypeError):
        jacobian_chain("elman", 2, 1)


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
    assert bound(elman(1, activation="relu"), {"W_h": 1}).regime == "neutral"
    matrix = bound(elman(1, activation="tanh", hidden=2), {"W_h": [[0, 2], [Rational(1, 2), 0]]})
    assert matrix.matrix and matrix.weight == 2 and matrix.value == 2
    assert r"\sigma_{\max}" in matrix.latex()
    assert half.at(3) == Rational(1, 8)
    with pytest.raises(InputError, match="an Elman cell"):
        bound(gru(1), {"W_hh": 1})
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


# --- the table ------------------------------------------------------------------------------------


def test_demonstration_configs_show_vanishing_exploding_and_the_gru():
    table = flow_table(demo_configs(12), 12)
    vanish, explode, small, gated = (s.values for s in table.series)
    assert all(b < a for a, b in zip(vanish, vanish[1:])) and vanish[-1] < Rational(1, 1000)
    assert all(b > a for a, b in zip(explode, explode[1:])) and abs(explode[-1] - Rational(3, 2) ** 11) < CLOSE
    assert all(b > a for a, b in zip(small, small[1:])) and small[-1] > 50
    assert all(b < a for a, b in zip(gated, gated[1:])) and gated[-1] > Rational(8, 10)
    assert gated[11] > 1000 * vanish[11]
    assert 0.97 < gated[1] < 1  # ≈ z_t = σ(4) ≈ 0.982
    assert [s.bound.regime for s in table.series[:3]] == ["vanishing", "exploding", "possibly exploding"]
    assert table.series[3].bound is None


def test_table_agrees_with_the_exact_chain():
    graph = elman(4, activation="tanh", bias=True)
    values = {"h_0": "0.3", "W_h": "0.8", "W_x": "-1.1", "b_h": "0.2", "x": ["0.5", "-1", "2", "0.25"]}
    exact = flow_table([("e", graph, values)], steps=5, precision=None).series[0].values
    floats = flow_table([("f", graph, values)], steps=5).series[0].values
    for d in range(1, 5):
        chain = jacobian_chain(graph, 4, d).evaluate(values)
        assert close(exact[d], abs(chain))
        assert close(floats[d], abs(chain), LOOSE)


def test_vector_norms():
    graph = elman(3, activation="tanh", hidden=2)
    values = {"h_0": [0, 0], "W_h": [["0.5", 1], [0, "0.5"]], "W_x": [[1], [2]], "x": [1, 0, 0]}
    jac = jacobian_chain(graph, 3, 2).evaluate(values, precision=40)
    spectral = flow_table([("v", graph, values)], steps=3).series[0].values[2]
    frobenius = flow_table([("v", graph, values)], steps=3, norm="frobenius").series[0].values[2]
    with mpmath.workdps(40):
        svd = mpmath.svd_r(mpmath.matrix([[mpmath.mpf(str(e)) for e in row] for row in jac.tolist()]), compute_uv=False)
        assert abs(mpmath.mpf(str(spectral)) - max(svd)) < mpmath.mpf("1e-25")
    assert close(frobenius, sympy.sqrt(sum(e**2 for e in jac)), LOOSE)
    assert frobenius >= spectral


def test_flow_table_validates_its_input():
    graph = elman(3)
    values = {"h_0": 1, "W_h": 2, "W_x": 1, "x": [0, 0, 0]}
    with pytest.raises(InputError, match="^steps: got 5, expected at most 4"):
        flow_table([("a", graph, values)], steps=5)
    with pytest.raises(InputError, match="^norm"):
        flow_table([("a", graph, values)], steps=2, norm="max")
    with pytest.raises(InputError, match="^precision"):
        flow_table([("a", graph, values)], steps=2, precision=5)
    with pytest.raises(TypeError, match=r"configs\[0\]"):
        flow_table([("a", graph)], steps=2)
    with pytest.raises(InputError, match="values.W_h"):
        flow_table([("a", graph, {"h_0": 1, "W_x": 1, "x": [0, 0, 0]})], steps=2)
    assert flow_table([("lstm", lstm(3), {str(s): 0 for s in lstm(3).leaves})], steps=4).steps == 4


# --- figure and table LaTeX -----------------------------------------------------------------------

ALLOWED = {"begingroup", "endgroup", "setlength", "unitlength", "begin", "end", "put", "line", "qbezier", "circle",
           "framebox", "makebox", "vector", "thinlines", "thicklines", "footnotesize", "small", "scriptstyle",
           "times", "triangle", "left", "right", "partial", "parbox", "in", "dots", "centering", "caption", "frac"}


def test_figure_uses_only_the_picture_environment():
    table = flow_table(demo_configs(12), 12)
    code = figure(table)
    assert set(re.findall(r"\\([A-Za-z]+)", code)) <= ALLOWED
    for forbidden in ("tikz", "pgf", "pict2e", "usepackage", "includegraphics"):
        assert forbidden not in code
    assert code.count(r"\qbezier") >= 4 * 11
    assert "Clipped" not in code
    clipped = figure(table, FigureOptions(ylim=(-2, 1)))
    assert "Clipped (arrows)" in clipped and r"\vector(0,1)" in clipped and r"\vector(0,-1)" in clipped
    assert r"above $10^{1}$" in clipped and r"below $10^{-2}$" in clipped
    assert figure(table, caption="Flow").startswith(r"\begin{figure}")


def test_figure_options_are_validated():
    with pytest.raises(InputError, match="figure.ylim"):
        FigureOptions(ylim=(2, 1))
    with pytest.raises(InputError, match="figure.width"):
        FigureOptions(width=5)
    with pytest.raises(TypeError):
        figure("table")


def test_table_latex_rows():
    table = flow_table(demo_configs(4), 4)
    text = table_latex(table)
    assert text.count(r"\\") >= 4 + 2
    assert text.startswith(r"\begin{tabular}{rrrrr}") and r"\midrule" in text
    assert "\n3 & " in text


@needs_tex
def test_figure_and_table_compile(tmp_path: Path):
    table = flow_table(demo_configs(12), 12)
    tex = "\n".join([
        r"\documentclass[11pt]{article}", r"\usepackage{booktabs}", r"\begin{document}",
        figure(table, caption="Gradient flow"), figure(table, FigureOptions(ylim=(-2, 1))), table_latex(table),
        r"\end{document}", ""])
    (tmp_path / "flow.tex").write_text(tex, encoding="utf-8")
    result = subprocess.run(["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "flow.tex"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:]
    assert (tmp_path / "flow.pdf").stat().st_size > 1000
    log = (tmp_path / "flow.log").read_text(errors="replace")
    assert "Undefined control sequence" not in log


def test_flow_table_type():
    table = flow_table(demo_configs(2), 2)
    assert isinstance(table, FlowTable) and len(table.rows()) == 2
    assert "T-t" in str(table)
