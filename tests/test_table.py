"""Tables of gradient flow, their figure and their LaTeX."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import mpmath
import pytest
import sympy
from sympy import Rational

from flow_support import CLOSE, LOOSE, close
from rnnsym import InputError, elman, lstm
from rnnsym.analysis.figure import FigureOptions, figure, table_latex
from rnnsym.analysis.flow import jacobian_chain
from rnnsym.analysis.table import FlowTable, demo_configs, flow_table
from support import needs_tex

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
    gru_bound = table.series[3].bound
    assert gru_bound.cell == "gru" and gru_bound.regime == "vanishing" and len(gru_bound.factors) == 12
    for d in range(1, 12):  # |∂h_T/∂h_(T−d)| is the product of the last d one-step factors
        assert abs(gated[d] - sympy.Mul(*gru_bound.factors[12 - d:])) < sympy.Float("1e-25")


def test_table_agrees_with_the_exact_chain():
    graph = elman(4, activation="tanh", bias=True)
    values = {"h_0": "0.3", "W_h": "0.8", "W_x": "-1.1", "b_h": "0.2", "x": ["0.5", "-1", "2", "0.25"]}
    exact = flow_table([("e", graph, values)], steps=5, digits=None).series[0].values
    floats = flow_table([("f", graph, values)], steps=5).series[0].values
    for d in range(1, 5):
        chain = jacobian_chain(graph, 4, d).evaluate(values)
        assert close(exact[d], abs(chain))
        assert close(floats[d], abs(chain), LOOSE)


def test_vector_norms():
    graph = elman(3, activation="tanh", hidden=2)
    values = {"h_0": [0, 0], "W_h": [["0.5", 1], [0, "0.5"]], "W_x": [[1], [2]], "x": [1, 0, 0]}
    jac = jacobian_chain(graph, 3, 2).evaluate(values, digits=40)
    spectral = flow_table([("v", graph, values)], steps=3).series[0].values[2]
    frobenius = flow_table([("v", graph, values)], steps=3, norm="frobenius").series[0].values[2]
    with mpmath.workdps(40):
        svd = mpmath.svd_r(mpmath.matrix([[mpmath.mpf(str(e)) for e in row] for row in jac.tolist()]), compute_uv=False)
        assert abs(mpmath.mpf(str(spectral)) - max(svd)) < mpmath.mpf("1e-25")
    assert close(frobenius, sympy.sqrt(sum(e**2 for e in jac)), LOOSE)
    assert frobenius >= spectral


def test_vector_spectral_norm_keeps_the_digits_asked_for():
    graph = elman(3, activation="tanh", hidden=2)
    values = {"h_0": [0, 0], "W_h": [["0.5", 1], [0, "0.5"]], "W_x": [[1], [2]], "x": [1, 0, 0]}
    jac = jacobian_chain(graph, 3, 2).evaluate(values, digits=80)
    spectral = flow_table([("v", graph, values)], steps=3, digits=60).series[0].values[2]
    with mpmath.workdps(80):
        svd = mpmath.svd_r(mpmath.matrix([[mpmath.mpf(str(e)) for e in row] for row in jac.tolist()]), compute_uv=False)
        assert abs(mpmath.mpf(str(spectral)) - max(svd)) < mpmath.mpf("1e-55")


def test_flow_table_validates_its_input():
    graph = elman(3)
    values = {"h_0": 1, "W_h": 2, "W_x": 1, "x": [0, 0, 0]}
    with pytest.raises(InputError, match="^steps: got 5, expected at most 4"):
        flow_table([("a", graph, values)], steps=5)
    with pytest.raises(InputError, match="^norm"):
        flow_table([("a", graph, values)], steps=2, norm="max")
    with pytest.raises(InputError, match="^digits: got 0"):
        flow_table([("a", graph, values)], steps=2, digits=0)
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


def test_flow_table_shows_as_text_and_markdown():
    table = flow_table(demo_configs(3), 3, digits=20)
    assert isinstance(table, FlowTable) and table.digits == 20 and len(table.rows()) == 3
    text = str(table).splitlines()
    assert text[0].split()[0] == "T-t" and len(text) == 1 + 3
    markdown = table._repr_markdown_().splitlines()
    assert markdown[0] == "| $T - t$ | " + " | ".join(s.label for s in table.series) + " |"
    assert markdown[1] == "| " + " | ".join(["---:"] * 5) + " |"
    assert len(markdown) == 2 + 3
    for d, line in enumerate(markdown[2:]):
        cells = line.strip("| ").split(" | ")
        assert cells[0] == str(d) and len(cells) == 5
        for series, cell in zip(table.series, cells[1:]):
            assert abs(float(cell) - float(series.values[d])) <= 1e-3 * float(series.values[d])
    exact = flow_table([("a | b", elman(2), {"h_0": 1, "W_h": 3, "W_x": 1, "x": [0, 0]})], 2, digits=None)
    assert exact._repr_markdown_().splitlines()[2:] == ["| 0 | 1 |", "| 1 | 3 |"]
    assert r"a \| b" in exact._repr_markdown_()
