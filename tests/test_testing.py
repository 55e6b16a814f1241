"""rnnsym.testing and rnnsym.formula: checking rnnsym's derivatives and hand-derived ones.

The property tests run check_gradients over every activation (state and
output), bias on and off, both losses, every loss_at variant, 1 to 5 steps and
every leaf, at points drawn by rnnsym.strategies.
"""

from __future__ import annotations

import re
from fractions import Fraction

import pytest
import sympy
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import rnnsym
import rnnsym.testing as testing
from rnnsym.derivation import Step
from rnnsym.formula import parse_formula, tokenize
from rnnsym.strategies import cells, exercises, graphs, values
from rnnsym.testing import DerivativeMismatch, assert_derivative, check_gradients, default_wrt, numeric

SEED = {"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": "0.1", "W_y": 2}
ALL_CELLS = cells(output_activation=None)

# -- check_gradients as a property over the whole space -----------------------------


@pytest.mark.slow
@given(exercises(graphs=graphs(min_steps=1, max_steps=5, cells=ALL_CELLS)))
def test_every_leaf_of_every_drawn_model_checks_out(exercise):
    report = check_gradients(exercise.graph, exercise.values)
    assert report.ok
    assert report.quantities == [f"dL/d{name}" for name in default_wrt(exercise.graph)]


@pytest.mark.slow
@given(st.data(), graphs(min_steps=2, max_steps=4, cells=ALL_CELLS))
def test_derivatives_with_respect_to_quantities_check_out(data, graph):
    """∂L/∂q for an intermediate quantity q, q treated as free (docs/architecture.md, "What ∂A/∂B means")."""
    candidates = [str(q) for q in graph.quantities if str(q) != "L"]
    wrt = data.draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=3, unique=True))
    check_gradients(graph, data.draw(values(graph)), wrt=wrt)


@pytest.mark.slow
@given(graphs(min_steps=1, max_steps=3, cells=ALL_CELLS), st.integers(0, 10**6))
def test_a_seeded_random_point_checks_out(graph, seed):
    assert check_gradients(graph, seed=seed).ok


@pytest.mark.slow
@given(st.data(), graphs(min_steps=1, max_steps=3, cells=ALL_CELLS))
def test_derivatives_of_other_quantities(data, graph):
    of = data.draw(st.sampled_from([str(q) for q in graph.quantities if not str(q).startswith("L")]))
    check_gradients(graph, data.draw(values(graph)), wrt=["W_h", "h_0"], of=of)


# -- the report ----------------------------------------------------------------------


def test_report_on_the_reference_exercise():
    report = check_gradients(rnnsym.elman(2), SEED)
    assert repr(report) == "GradientReport(elman, steps=2, 6 derivatives: 30 checks agree)"
    text = str(report)
    assert text.splitlines()[0].split() == ["quantity", "check", "symbolic", "numeric", "difference", "status"]
    assert "dL/dW_h   sympy.diff of the expanded L  8" in text
    assert text.endswith("at h_0 = 1, W_h = 1, W_x = 1/10, W_y = 2, x_1 = 10, x_2 = 10, y_1 = 5, y_2 = 5")
    markdown = report._repr_markdown_()
    assert markdown.startswith("| quantity | check | symbolic | numeric | difference | status |\n|---|")
    assert all(r.status == "ok" for r in report.rows)


def test_wrt_a_single_name_and_the_default():
    graph = rnnsym.elman(2, bias=True)
    assert check_gradients(graph, wrt="b_h").quantities == ["dL/db_h"]
    assert default_wrt(graph) == ["h_0", "W_h", "W_x", "W_y", "b_h", "b_y", "x_1", "x_2"]


def test_targets_can_be_asked_for():
    report = check_gradients(rnnsym.elman(2), SEED, wrt=["y_1", "y_2"])
    assert [r.symbolic for r in report.rows[::5]] == [2, -2]


def test_the_expanded_check_is_skipped_for_long_non_linear_models():
    report = check_gradients(rnnsym.elman(4, activation="tanh"), wrt="W_h", max_expand_steps=3)
    (skipped,) = report.skipped
    assert skipped.check == "sympy.diff of the expanded L"
    assert "non-linear cell over 4 steps (more than 3)" in skipped.note
    assert "1 skipped" in repr(report)
    assert "skipped: a non-linear cell over 4 steps" in str(report)
    linear = check_gradients(rnnsym.elman(4), wrt="W_h", max_expand_steps=3)
    assert not linear.skipped


def test_finite_differences_are_skipped_on_relus_kink():
    graph = rnnsym.elman(1, activation="relu")
    point = {"h_0": 0, "x": [0], "y": [1], "W_h": 1, "W_x": 1, "W_y": 1}
    report = check_gradients(graph, point, wrt="W_y")
    (skipped,) = report.skipped
    assert skipped.check == "finite differences"
    assert "relu's argument is exactly 0 at h_1" in skipped.note


def test_a_wrong_value_is_reported_with_a_table(monkeypatch):
    real = rnnsym.ChainDerivation.value_at
    monkeypatch.setattr(rnnsym.ChainDerivation, "value_at", lambda self, evaluation: real(self, evaluation) + 1)
    with pytest.raises(AssertionError) as caught:
        check_gradients(rnnsym.elman(2), SEED, wrt="W_h")
    message = str(caught.value)
    header = next(line for line in message.splitlines() if line.startswith("quantity"))
    assert header.split() == ["quantity", "check", "symbolic", "numeric", "difference", "status"]
    assert re.search(r"dL/dW_h\s+finite differences\s+9\s+8\.0\s+1\.0\s+MISMATCH", message)
    assert re.search(r"dL/dW_h\s+compact expression\s+9\s+8\s+1\s+MISMATCH", message)
    assert re.search(r"dL/dW_h\s+sympy.diff of the expanded L\s+9\s+8\s+1\s+MISMATCH", message)


def test_a_wrong_line_is_reported(monkeypatch):
    real = testing.gradients.derive

    def broken(graph, of, wrt, split="loss"):
        d = real(graph, of, wrt, split)
        last = d.steps[-2]
        d.steps = d.steps[:-2] + (Step(last.lhs, (*last.forms[:-1], last.forms[-1] + 1), last.kind), d.steps[-1])
        return d

    monkeypatch.setattr(testing.gradients, "derive", broken)
    report = check_gradients(rnnsym.elman(2), SEED, wrt="W_h", raises=False)
    assert not report.ok
    bad = {r.check for r in report.mismatches}
    assert bad == {"rendered lines, split=loss", "rendered lines, split=step"}
    assert "≠" in report.mismatches[0].note


def test_bad_arguments():
    with pytest.raises(rnnsym.InputTypeError, match="graph"):
        check_gradients("elman")
    with pytest.raises(rnnsym.InputError, match="digits: got 10"):
        check_gradients(rnnsym.elman(1), digits=10)
    with pytest.raises(rnnsym.InputError, match="wrt: got 'W_z'"):
        check_gradients(rnnsym.elman(1), wrt="W_z")
    with pytest.raises(rnnsym.InputError, match="values"):
        check_gradients(rnnsym.elman(1), {"h_0": 1})


def test_numeric_evaluates_what_rnnsym_writes():
    from rnnsym.notation import symbol
    from rnnsym.rules import relu, sigmoid

    z = symbol("z_1")
    value = numeric(relu(2 * sympy.tanh(z)) + sigmoid(z) * sympy.Heaviside(z, 0), {z: sympy.Rational(1, 3)})
    import mpmath

    with mpmath.workdps(50):
        expected = 2 * mpmath.tanh(mpmath.mpf(1) / 3) + 1 / (1 + mpmath.exp(-mpmath.mpf(1) / 3))
    assert abs(value - expected) < mpmath.mpf(10) ** -45


# -- assert_derivative: hand-derived formulas ------------------------------------------

GRAPH = rnnsym.elman(2)
RIGHT = "2*(yhat_1 - y_1)*W_y*h_0 + 2*(yhat_2 - y_2)*W_y*(h_1 + W_h*h_0)"
MISTAKES = {
    "the path through h_1 dropped": "2*(yhat_1 - y_1)*W_y*h_0 + 2*(yhat_2 - y_2)*W_y*h_1",
    "the factor 2 missing": "(yhat_1 - y_1)*W_y*h_0 + (yhat_2 - y_2)*W_y*(h_1 + W_h*h_0)",
    "the sign of (yhat - y) flipped": "2*(y_1 - yhat_1)*W_y*h_0 + 2*(y_2 - yhat_2)*W_y*(h_1 + W_h*h_0)",
}


def test_the_right_formula_passes_in_every_form():
    assert_derivative(RIGHT, GRAPH, "L", "W_h", values=SEED)
    assert_derivative(parse_formula(RIGHT, GRAPH), GRAPH, "L", "W_h")
    plain = sympy.sympify(RIGHT)  # symbols without real=True are matched by name
    assert_derivative(plain, GRAPH, "L", "W_h")

    def by_hand(v):
        return 2 * (v["yhat_1"] - v["y_1"]) * v["W_y"] * v["h_0"] + 2 * (v["yhat_2"] - v["y_2"]) * v["W_y"] * (v["h_1"] + v["W_h"] * v["h_0"])

    assert_derivative(by_hand, GRAPH, "L", "W_h")


def test_a_function_of_leaves_only_passes():
    def expanded(v):
        h0, Wh, Wx, Wy = v["h_0"], v["W_h"], v["W_x"], v["W_y"]
        h1 = h0 * Wh + v["x_1"] * Wx
        h2 = h1 * Wh + v["x_2"] * Wx
        return 2 * (h1 * Wy - v["y_1"]) * Wy * h0 + 2 * (h2 * Wy - v["y_2"]) * Wy * (h1 + Wh * h0)

    assert_derivative(expanded, GRAPH, "L", "W_h")


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_a_plausible_mistake_is_caught_with_a_counterexample(mistake):
    formula = MISTAKES[mistake]
    with pytest.raises(DerivativeMismatch) as caught:
        assert_derivative(formula, GRAPH, "L", "W_h")
    error = caught.value
    message = str(error)
    assert isinstance(error, AssertionError)
    assert message.startswith("dL/dW_h: the candidate differs from the derivative at")
    for name, value in error.point.items():
        assert f"{name} = {value}" in message
    assert re.search(rf"dL/dW_h\s+{re.escape(str(error.candidate))}\s+{re.escape(str(error.derivative))}\s", message)
    # The counterexample is real: recompute both sides at the point independently.
    truth = rnnsym.derive(GRAPH, "L", "W_h").evaluate(error.point)
    env = rnnsym.evaluate(GRAPH, {GRAPH.symbol(n): v for n, v in error.point.items()}).values
    assert truth == error.derivative
    assert parse_formula(formula, GRAPH).xreplace(env) == error.candidate != truth


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_a_mistake_is_caught_at_the_exercise_values_when_it_shows_there(mistake):
    formula = MISTAKES[mistake]
    env = rnnsym.evaluate(GRAPH, {s: n.exact for s, n in rnnsym.evaluation.bind(GRAPH, SEED).items()}).values
    if parse_formula(formula, GRAPH).xreplace(env) == 8:
        pytest.skip("this mistake happens to give the right number at the exercise's values")
    with pytest.raises(DerivativeMismatch, match=r"\(at the values given\)") as caught:
        assert_derivative(formula, GRAPH, "L", "W_h", values=SEED)
    assert caught.value.derivative == 8


def test_a_wrong_function_is_caught():
    with pytest.raises(DerivativeMismatch) as caught:
        assert_derivative(lambda v: 2 * (v["yhat_2"] - v["y_2"]) * v["W_y"] * v["h_1"], GRAPH, "L", "W_h")
    assert "W_h = " in str(caught.value)


@settings(max_examples=10, derandomize=True)
@given(st.data())
def test_inside_a_hypothesis_test_the_drawn_values_are_checked(data):
    point = data.draw(values(GRAPH, min_value=1, max_value=2))
    assume(rnnsym.derive(GRAPH, "L", "W_h").evaluate(point) != 0)  # where halving it shows
    assert_derivative(RIGHT, GRAPH, "L", "W_h", values=point)
    with pytest.raises(DerivativeMismatch, match=r"\(at the values given\)"):
        assert_derivative(MISTAKES["the factor 2 missing"], GRAPH, "L", "W_h", values=point)


def test_inside_a_hypothesis_test_without_values_seeded_points_are_tried():
    @settings(max_examples=1, database=None)
    @given(st.just(None))
    def inner(_):
        assert_derivative(MISTAKES["the path through h_1 dropped"], GRAPH, "L", "W_h")

    with pytest.raises(DerivativeMismatch, match="no nested search inside a hypothesis test"):
        inner()


def test_floats_are_compared_with_a_tolerance():
    assert_derivative(lambda v: float(2 * (v["yhat_1"] - v["y_1"]) * v["h_1"]), rnnsym.elman(1), "L", "W_y")
    with pytest.raises(DerivativeMismatch):
        assert_derivative(lambda v: float(2 * (v["yhat_1"] - v["y_1"]) * v["h_1"]) + 1e-6, rnnsym.elman(1), "L", "W_y")


def test_a_function_that_fails_is_a_counterexample():
    with pytest.raises(DerivativeMismatch, match="undefined"):
        assert_derivative(lambda v: 1 / Fraction(0), rnnsym.elman(1), "L", "W_y")


@pytest.mark.slow
@pytest.mark.parametrize(
    "graph, of, wrt, right, wrong",
    [
        (rnnsym.elman(1, activation="tanh"), "L", "W_y", "2*(yhat_1 - y_1)*h_1", "2*(yhat_1 - y_1)*z_1"),
        (rnnsym.elman(1, activation="tanh"), "L", "W_h", "2*(yhat_1 - y_1)*W_y*(1 - h_1^2)*h_0", "2*(yhat_1 - y_1)*W_y*(1 - h_1)*h_0"),
        (rnnsym.elman(2, activation="sigmoid"), "yhat_2", "h_1", "W_y*h_2*(1 - h_2)*W_h", "W_y*h_2*W_h"),
        (rnnsym.elman(1, activation="relu", bias=True), "L", "b_h", "2*(yhat_1 - y_1)*W_y*(z_1 > 0)", None),
    ],
)
def test_non_linear_formulas(graph, of, wrt, right, wrong):
    if ">" in right:  # no comparison operators in formulas: spell the step as relu(z)/z
        right = "2*(yhat_1 - y_1)*W_y*relu(z_1)/z_1"
    assert_derivative(right, graph, of, wrt)
    if wrong is not None:
        with pytest.raises(DerivativeMismatch):
            assert_derivative(wrong, graph, of, wrt)


def test_assert_derivative_refuses_bad_candidates():
    with pytest.raises(rnnsym.InputTypeError, match="candidate"):
        assert_derivative([1, 2], GRAPH)
    with pytest.raises(rnnsym.InputError, match="candidate: got 'W_z'"):
        assert_derivative(sympy.Symbol("W_z"), GRAPH)
    with pytest.raises(rnnsym.InputError, match="candidate: got 'cos'"):
        assert_derivative("cos(W_h)", GRAPH)
    with pytest.raises(rnnsym.InputError, match="max_examples"):
        assert_derivative(RIGHT, GRAPH, max_examples=0)


# -- the formula parser ------------------------------------------------------------


def test_tokens():
    assert [(t.kind, t.text) for t in tokenize("2.5e-1*yhat_2^2")] == [
        ("number", "2.5e-1"),
        ("op", "*"),
        ("name", "yhat_2"),
        ("op", "^"),
        ("number", "2"),
        ("end", ""),
    ]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2*(yhat_1 - y_1)", "2*yhat_1 - 2*y_1"),
        ("2(yhat_1 - y_1) W_y", "W_y*(2*yhat_1 - 2*y_1)"),
        ("-h_0^2", "-h_0**2"),
        ("(-h_0)^2", "h_0**2"),
        ("2^3^2", "512"),
        ("h_0 ** 2 / 4", "h_0**2/4"),
        ("1/3 - 0.1", "7/30"),
        ("+-+h_0", "-h_0"),
        ("tanh(h_1) + sigmoid(x_1) + relu(W_h) + exp(L) + log(y_2)", "exp(L) + log(y_2) + relu(W_h) + sigmoid(x_1) + tanh(h_1)"),
        ("  yhat_2  ", "yhat_2"),
    ],
)
def test_formulas(text, expected):
    from rnnsym.rules import relu, sigmoid

    names = {str(s): s for s in GRAPH.leaves + GRAPH.quantities}
    namespace = {**names, "relu": relu, "sigmoid": sigmoid}
    assert parse_formula(text, GRAPH) == sympy.sympify(expected, locals=namespace)


@pytest.mark.parametrize(
    "text, token",
    [
        ("W_z * 2", "'W_z'"),
        ("cos(h_0)", "'cos'"),
        ("__import__('os').system('true')", "'_'"),
        ("h_0 + ", "'the end of the formula'"),
        ("(h_0", "'the end of the formula'"),
        ("h_0)", "')'"),
        ("2 3", "'3'"),
        ("h_0 $ 2", "'$'"),
        ("tanh h_0", "'h_0'"),
        ("lambda: 1", "':'"),
        ("1/0", "'1/0'"),
        ("2^100000", "'2^100000'"),
        ("", "''"),
    ],
)
def test_bad_formulas_name_the_token(text, token):
    with pytest.raises(rnnsym.InputError) as caught:
        parse_formula(text, GRAPH)
    assert f"formula: got {token}" in str(caught.value)


def test_deep_nesting_is_refused():
    with pytest.raises(rnnsym.InputError, match="nested at most"):
        parse_formula("(" * 500 + "h_0" + ")" * 500, GRAPH)
    with pytest.raises(rnnsym.InputTypeError):
        parse_formula(3, GRAPH)


def test_the_parser_never_hands_a_string_to_eval_or_sympify(monkeypatch):
    import builtins
    import sys

    import sympy.parsing.sympy_parser

    def guard(original):
        def checked(value, *args, **kwargs):
            if isinstance(value, str):
                raise AssertionError(f"a string reached {original.__name__}: {value!r}")
            return original(value, *args, **kwargs)

        return checked

    monkeypatch.setattr(builtins, "eval", guard(builtins.eval))
    module = sys.modules["sympy.core.sympify"]
    monkeypatch.setattr(module, "sympify", guard(module.sympify))
    monkeypatch.setattr(sympy, "sympify", guard(sympy.sympify))
    monkeypatch.setattr(sympy.parsing.sympy_parser, "parse_expr", guard(sympy.parsing.sympy_parser.parse_expr))
    assert parse_formula(RIGHT + " + 0.5*tanh(h_1)^2 - 1/3", GRAPH) is not None


@pytest.mark.slow
def test_a_1000_step_tanh_model_is_checked_through_its_recursion():
    from rnnsym.testing.gradients import MAX_WRITTEN_STEPS

    graph = rnnsym.elman(1000, activation="tanh", bias=True)
    report = check_gradients(graph, wrt=["W_h"], seed=3)
    checks = {r.check: r for r in report.rows}
    assert checks["finite differences"].status == "ok"
    assert [c for c, r in checks.items() if r.status == "ok"] == ["finite differences", "rendered lines, split=step"]
    assert {r.check for r in report.skipped} == {"compact expression", "sympy.diff of the expanded L", "rendered lines, split=loss"}
    assert all(str(MAX_WRITTEN_STEPS) in r.note or "non-linear" in r.note for r in report.skipped)
    assert "more)…" in str(report)  # 2000 inputs and targets are not all listed


def test_relus_kink_is_found_in_a_model_with_irrational_values():
    graph = rnnsym.elman(2, activation="relu", output_activation="sigmoid")
    point = {"h_0": 1, "x": [1, 1], "y": [0, 1], "W_h": 1, "W_x": -1, "W_y": 2}
    report = check_gradients(graph, point, wrt=["W_h"])
    (skipped,) = report.skipped
    assert skipped.check == "finite differences" and "exactly 0 at h_1" in skipped.note


def test_finite_differences_keep_their_digits_through_a_cancelling_loss():
    """1 − σ(o_4) with o_4 = 64 is 1.6e-28: at 50 digits L keeps too few digits for a step of
    1e-20, so the difference quotient is taken again with more (found by hypothesis)."""
    graph = rnnsym.elman(4, loss="binary_cross_entropy", output_activation="sigmoid")
    point = {s: 0 for s in graph.leaves} | {graph.symbol(k): 2 for k in ("h_0", "W_h", "W_y")}
    report = check_gradients(graph, point, wrt=["h_1"])
    assert report.ok, str(report)
    assert [c.status for c in report.rows if c.check == "finite differences"] == ["ok"]
