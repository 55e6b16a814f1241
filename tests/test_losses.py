"""Losses and their reduction over time, each against a reference written here.

The reference is a plain forward pass of each built-in cell (scalar hidden
state) in mpmath at 50 digits, its readout through the loss's own output
(identity, σ, softmax), the per-step losses summed or averaged over the steps
that carry one; gradients are central differences of it.  Nothing here uses
rnnsym's evaluation, and the sympy checks differentiate the expanded loss.
"""

from __future__ import annotations

import random
from fractions import Fraction

import mpmath
import pytest
import sympy
from hypothesis import Phase, find, settings

import rnnsym
from rnnsym.errors import InputError
from rnnsym.forms import Partial, Times, plain
from rnnsym.strategies import cells, graphs

CTX = mpmath.MPContext()
CTX.dps = 50
STEP = CTX.mpf(10) ** -20


def _sig(a):
    return 1 / (1 + CTX.exp(-a))


def reference_loss(cell: str, p: dict, xs: list, ys: list, loss: str, reduction: str, loss_at: list[int]):
    """L of a scalar-state cell at parameters ``p`` (names as rnnsym spells them),
    the readout o_t = W_y h_t (+ b_y) per output k, ŷ_t by the loss's output."""
    n_out = sum(1 for name in p if name.startswith("W_y"))
    h, c = CTX.mpf(p["h_0"]), CTX.mpf(p.get("c_0", 0))
    total = []
    for t, x in enumerate(xs, start=1):
        if cell == "elman":
            h = CTX.tanh(p["W_h"] * h + p["W_x"] * x)
        elif cell == "gru":
            r = _sig(p["W_xr"] * x + p["W_hr"] * h + p["b_r"])
            z = _sig(p["W_xz"] * x + p["W_hz"] * h + p["b_z"])
            candidate = CTX.tanh(p["W_xh"] * x + p["W_hh"] * (r * h) + p["b_h"])
            h = z * h + (1 - z) * candidate
        else:
            i = _sig(p["W_xi"] * x + p["W_hi"] * h + p["b_i"])
            f = _sig(p["W_xf"] * x + p["W_hf"] * h + p["b_f"])
            g = CTX.tanh(p["W_xg"] * x + p["W_hg"] * h + p["b_g"])
            o = _sig(p["W_xo"] * x + p["W_ho"] * h + p["b_o"])
            c = f * c + i * g
            h = o * CTX.tanh(c)
        if t not in loss_at:
            continue
        if n_out == 1:
            logits = [p["W_y"] * h + p.get("b_y", 0)]
        else:
            logits = [p[f"W_y[{k},1]"] * h + p.get(f"b_y[{k}]", 0) for k in range(1, n_out + 1)]
        y = ys[t - 1] if isinstance(ys[t - 1], list) else [ys[t - 1]]
        if loss == "squared":
            total.append(sum((a - b) ** 2 for a, b in zip(logits, y)))
        elif loss == "binary_cross_entropy":
            yhat = [_sig(a) for a in logits]
            total.append(-sum(b * CTX.log(q) + (1 - b) * CTX.log(1 - q) for q, b in zip(yhat, y)))
        else:
            norm = sum(CTX.exp(a) for a in logits)
            total.append(-sum(b * CTX.log(CTX.exp(a) / norm) for a, b in zip(logits, y)))
    value = CTX.fsum(total)
    return value / len(total) if reduction == "mean" else value


def reference_gradient(cell, p, xs, ys, loss, reduction, loss_at, name):
    up, down = dict(p), dict(p)
    up[name] = p[name] + STEP
    down[name] = p[name] - STEP
    return (reference_loss(cell, up, xs, ys, loss, reduction, loss_at)
            - reference_loss(cell, down, xs, ys, loss, reduction, loss_at)) / (2 * STEP)


def _point(graph, seed: int) -> dict[str, Fraction]:
    """A rational point for every leaf of a scalar-state graph, targets in [0, 1]."""
    rng = random.Random(seed)
    point = {}
    for s in graph.leaves:
        if s.name.startswith("y_"):
            point[s.name] = Fraction(rng.randint(0, 4), 4)
        else:
            point[s.name] = Fraction(rng.randint(-8, 8), 8)
    return point


def _split(point: dict, steps: int) -> tuple[dict, list, list]:
    params = {k: CTX.mpf(v.numerator) / v.denominator for k, v in point.items()
              if not k.startswith(("x_", "y_"))}
    xs = [CTX.mpf(point[f"x_{t}"].numerator) / point[f"x_{t}"].denominator for t in range(1, steps + 1)]
    ys = []
    for t in range(1, steps + 1):
        entries = sorted(k for k in point if k.startswith(f"y_{t}"))
        vals = [CTX.mpf(point[k].numerator) / point[k].denominator for k in entries]
        ys.append(vals if len(vals) != 1 else vals[0])
    return params, xs, ys


def _values(point: dict) -> dict[str, str]:
    return {k: f"{v.numerator}/{v.denominator}" for k, v in point.items()}


def _close(ours, reference, digits: int = 25) -> bool:
    ours = CTX.mpf(sympy.Float(sympy.N(ours, 60), 60)._mpf_) if not isinstance(ours, mpmath.mpf) else ours
    return abs(ours - reference) <= CTX.mpf(10) ** -digits * (1 + abs(reference))


def _check(graph, cell: str, loss: str, reduction: str, wrts: list[str], seed: int = 1) -> None:
    point = _point(graph, seed)
    params, xs, ys = _split(point, graph.steps)
    loss_at = list(graph.loss_steps)
    values = _values(point)
    ours_L = rnnsym.evaluate(graph, values).value("L")
    assert _close(ours_L, reference_loss(cell, params, xs, ys, loss, reduction, loss_at))
    for name in wrts:
        ours = rnnsym.derive(graph, "L", name).evaluate(values)
        reference = reference_gradient(cell, params, xs, ys, loss, reduction, loss_at, name)
        assert _close(ours, reference), (name, ours, reference)


# --- the mean over time ---------------------------------------------------------------------------


@pytest.mark.parametrize("steps", [1, 2, 3, 5])
@pytest.mark.parametrize("cell, wrts", [
    ("elman", ["W_h", "W_x", "W_y", "h_0"]),
    ("gru", ["W_hz", "W_hh", "b_r", "W_y"]),
    ("lstm", ["W_hf", "W_xg", "b_o", "c_0"]),
])
def test_the_mean_reduced_loss_and_its_gradients_match_the_reference(cell, wrts, steps):
    options = {"activation": "tanh"} if cell == "elman" else {}
    graph = rnnsym.build(cell, steps, reduction="mean", **options)
    _check(graph, cell, "squared", "mean", wrts, seed=steps)


def test_the_mean_is_over_the_steps_that_carry_a_loss():
    graph = rnnsym.elman(4, "tanh", loss_at=[2, 4], reduction="mean")
    _check(graph, "elman", "squared", "mean", ["W_h", "W_x"], seed=7)


def test_the_mean_is_the_sum_divided_by_the_number_of_loss_steps_exactly():
    values = {"h_0": 1, "x": [10, 10, 10], "y": [5, 5, 5], "W_h": 1, "W_x": "0.1", "W_y": 2}
    total = rnnsym.derive(rnnsym.elman(3), "L", "W_h").evaluate(values)
    mean = rnnsym.derive(rnnsym.elman(3, reduction="mean"), "L", "W_h").evaluate(values)
    # the reference exercise's sum (hand-checkable: 3 steps of yhat_t = 2 h_t) over 3
    h, grads = [sympy.Integer(1)], []
    for _ in range(3):
        h.append(h[-1] + 1)
    dh = [0, 1, 2 + 1, 3 + 2 + 1]  # dh_t/dW_h with W_h = 1: h_{t-1} + dh_{t-1}/dW_h
    for t in range(1, 4):
        grads.append(2 * (2 * h[t] - 5) * 2 * dh[t] if t > 1 else 2 * (2 * h[1] - 5) * 2 * h[0])
    assert total == sum(grads) and mean == sympy.Rational(sum(grads), 3)


def test_the_lines_of_a_mean_show_one_over_T():
    values = {"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": "0.1", "W_y": 2}
    graph = rnnsym.elman(2, reduction="mean")
    textbook = rnnsym.derive(graph, "L", "W_h", split="loss").latex(values)
    assert r"L = \frac{1}{2} \times \left(L_{1} + L_{2}\right)" in textbook[2]
    assert r"\frac{\partial L}{\partial L_{t}} = \frac{1}{2}" in textbook
    assert textbook[-1] == r"\frac{\partial L}{\partial W_{h}} = \frac{1}{2} \times \left(-4 + 12\right) = 4"
    recursion = rnnsym.derive(graph, "L", "W_h", split="step").latex(values)
    assert r"\frac{\partial L}{\partial L_{1}} = \frac{1}{2} = 0.5" in recursion
    truncated = rnnsym.derive(graph, "L", "W_h", truncate=1).latex(values)
    assert r"\left.\frac{\partial L}{\partial W_{h}}\right|_{k=1} = \frac{1}{2} \times \left(-4 + 8\right) = 2" in truncated


def test_the_sum_is_the_default_and_reduction_is_checked():
    assert rnnsym.elman(2).reduction == "sum" and rnnsym.gru(1, reduction="mean").reduction == "mean"
    with pytest.raises(InputError, match="model.reduction: got 'average'"):
        rnnsym.lstm(2, reduction="average")
    exercise = rnnsym.loads('[model]\nsteps = 2\nreduction = "mean"\n[values]\nh_0 = 1\nx = [10, 10]\ny = [5, 5]\n'
                            'W_h = 1\nW_x = "0.1"\nW_y = 2\n[[questions]]\nfind = "dL/dW_h"\n')
    assert exercise.graph.reduction == "mean"


def test_the_matrix_form_of_a_mean_matches_the_entries():
    graph = rnnsym.elman(2, "tanh", hidden=2, reduction="mean")
    values = {"h_0": [0, 1], "x": [1, 2], "y": [1, 0], "W_h": [[1, 0], [0, 1]], "W_x": [[1], [1]], "W_y": [[1, 1]]}
    whole = rnnsym.derive(graph, "L", "W_h")
    lines = whole.latex(values)
    assert lines[0].startswith(r"\nabla_{\hat{y}_{1}} L = \frac{1}{2} \left(2 \times")
    doubled = rnnsym.derive(rnnsym.elman(2, "tanh", hidden=2), "L", "W_h[1,2]").evaluate(values)
    assert _close(whole.evaluate(values)[0, 1], CTX.mpf(sympy.Float(sympy.N(doubled, 60), 60)._mpf_) / 2)


# --- binary cross-entropy --------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_binary_cross_entropy_of_a_scalar_tanh_elman(reduction):
    graph = rnnsym.elman(3, "tanh", loss="binary_cross_entropy", reduction=reduction)
    _check(graph, "elman", "binary_cross_entropy", reduction, ["W_h", "W_x", "W_y", "h_0"], seed=3)


def test_binary_cross_entropy_of_a_gru():
    graph = rnnsym.gru(2, loss="binary_cross_entropy", reduction="mean")
    _check(graph, "gru", "binary_cross_entropy", "mean", ["W_hr", "W_xz", "b_h", "W_y", "b_y"], seed=4)


def test_binary_cross_entropy_per_output_unit():
    graph = rnnsym.elman(2, "tanh", loss="binary_cross_entropy", output=2)
    _check(graph, "elman", "binary_cross_entropy", "sum", ["W_h", "W_y[2,1]"], seed=5)


def _check_against_sympy_diff(graph, names: tuple[str, ...], seed: int) -> None:
    """Each derived gradient of ``names`` equals sympy's derivative of the expanded loss, to 40 digits."""
    point = _point(graph, seed)
    env = {graph.symbol(k): sympy.Rational(v.numerator, v.denominator) for k, v in point.items()}
    expanded = graph.expand(graph.loss)
    for name in names:
        expected = sympy.diff(expanded, graph.symbol(name)).xreplace(env).evalf(50)
        ours = rnnsym.derive(graph, "L", name).evaluate(_values(point))
        assert abs(sympy.N(ours, 50) - expected) < sympy.Float("1e-40")


def test_binary_cross_entropy_against_sympy_diff_of_the_expanded_loss():
    graph = rnnsym.elman(2, "tanh", loss="binary_cross_entropy", reduction="mean")
    _check_against_sympy_diff(graph, ("W_h", "W_y"), seed=11)


def test_the_lines_of_binary_cross_entropy_show_yhat_minus_y():
    graph = rnnsym.elman(2, "tanh", loss="binary_cross_entropy", reduction="mean")
    lines = rnnsym.derive(graph, "L", "W_h").latex({"h_0": 0, "x": [1, "0.5"], "y": [1, 0], "W_h": "0.5",
                                                    "W_x": 1, "W_y": 2})
    simplified = [line for line in lines if line.startswith(r"\frac{\partial L_{t}}{\partial o_{t}}")]
    assert len(simplified) == 1 and simplified[0].endswith(r"= \hat{y}_{t} - y_{t}")
    assert r"\frac{\partial L_{t}}{\partial \hat{y}_{t}} \times \frac{\partial \hat{y}_{t}}{\partial o_{t}}" in simplified[0]
    assert any(line.startswith(r"L_{1} = - y_{1} \times \log") for line in lines)


def test_the_simplification_is_what_the_chain_rule_gives():
    # (−y/ŷ + (1 − y)/(1 − ŷ)) ŷ(1 − ŷ) = ŷ − y, and the softmax's Σ_j gives ŷ_k Σ_j y_j − y_k
    from rnnsym.derivation.scalar import simplification

    (step,) = simplification(rnnsym.elman(1, loss="binary_cross_entropy"))
    written, result = plain(step.forms[1]), plain(step.forms[2])
    assert sympy.simplify(written - result) == 0
    yhat, y = sympy.symbols("yhat y", positive=True)
    bce = -(y * sympy.log(yhat) + (1 - y) * sympy.log(1 - yhat))
    assert sympy.simplify(sympy.diff(bce, yhat) * yhat * (1 - yhat) - (yhat - y)) == 0


# --- cross-entropy ---------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_cross_entropy_for_the_lstm(reduction):
    graph = rnnsym.lstm(2, loss="cross_entropy", output=2, reduction=reduction)
    assert "a_1[1]" in graph.names  # o_t is the output gate: the readout is a_t
    _check(graph, "lstm", "cross_entropy", reduction, ["W_hi", "W_xo", "c_0", "W_y[2,1]", "b_y[1]"], seed=8)


def test_cross_entropy_for_the_gru_and_elman():
    _check(rnnsym.gru(2, loss="cross_entropy", output=3), "gru", "cross_entropy", "sum", ["W_hh", "W_y[3,1]"], seed=9)
    _check(rnnsym.elman(2, "tanh", loss="cross_entropy", output=2, reduction="mean"), "elman", "cross_entropy",
           "mean", ["W_h", "W_y[1,1]"], seed=10)


def test_lstm_cross_entropy_against_sympy_diff_of_the_expanded_loss():
    _check_against_sympy_diff(rnnsym.lstm(1, loss="cross_entropy", output=2), ("W_hf", "W_y[1,1]"), seed=12)


@pytest.mark.parametrize("cell", ["elman", "gru", "lstm"])
def test_cross_entropy_over_one_output_is_refused(cell):
    with pytest.raises(InputError, match="model.loss: got 'cross_entropy'.*binary_cross_entropy"):
        rnnsym.build(cell, 2, loss="cross_entropy")


def test_a_loss_with_its_own_output_takes_no_other_output_activation():
    with pytest.raises(InputError, match="model.output_activation: got 'tanh'"):
        rnnsym.elman(1, loss="binary_cross_entropy", output_activation="tanh")
    assert rnnsym.elman(1, loss="binary_cross_entropy", output_activation="sigmoid").cell.options["loss"]


def test_each_printed_factor_is_the_derivative_it_is_named_as():
    graph = rnnsym.elman(1, loss="cross_entropy", output=2)
    values = {"W_h": "0.5", "W_x": 1, "W_y[1,1]": 1, "W_y[2,1]": 2, "h_0": 0, "x_1": 1, "y_1[1]": 1, "y_1[2]": 0}
    evaluation = rnnsym.evaluate(graph, values)
    env = {s: v for s, v in evaluation.env.items()}
    checked = 0
    for wrt in ("W_y[1,1]", "W_y[2,1]", "W_h"):
        derivation = rnnsym.derive(graph, "L", wrt, split="loss")
        for step in derivation.steps:
            if step.kind != "chain" or len(step.forms) < 2:
                continue
            named, written = step.forms[0], step.forms[1]
            pairs = zip(named.args if isinstance(named, sympy.Add) else [named],
                        written.args if isinstance(written, sympy.Add) else [written])
            for name, form in pairs:
                if isinstance(name, Times) and isinstance(form, Times) and len(form.args) == len(name.args):
                    for partial, factor in zip(name.args, form.args):
                        assert isinstance(partial, Partial)
                        value = evaluation.partial(partial)
                        assert abs(sympy.N(plain(factor).xreplace(env) - value, 30)) < 1e-25, (partial, factor)
                        checked += 1
    assert checked >= 4
    lines = "\n".join(rnnsym.derive(graph, "L", "W_y[2,1]").latex(values))
    assert "+ -" not in lines and "-1 \\times" not in lines and "-1 \\hat" not in lines


# --- strategies ------------------------------------------------------------------------------------

QUICK = settings(database=None, derandomize=True, phases=[Phase.generate, Phase.shrink], max_examples=200)


def test_the_strategies_draw_the_new_losses_and_reductions():
    mean = find(graphs(max_steps=2), lambda g: g.reduction == "mean", settings=QUICK)
    assert mean.assignment(mean.loss).weight == sympy.Rational(1, len(mean.loss_steps))
    bce = find(cells(kind=["lstm"], loss=["binary_cross_entropy", "cross_entropy"]), lambda c: True, settings=QUICK)
    assert bce.name == "lstm"
    ce = find(cells(loss="cross_entropy"), lambda c: True, settings=QUICK)
    assert ce.options["output"] >= 2


@pytest.mark.parametrize("loss", ["binary_cross_entropy", "cross_entropy"])
def test_the_matrix_form_of_a_paired_loss_recomputes_the_gradient(loss):
    from rnnsym.evaluation import Evaluation

    graph = rnnsym.elman(2, "tanh", hidden=2, output=2, loss=loss, reduction="mean")
    values = {"h_0": [0, 1], "x": [1, 2], "y": [[1, 0], [0, 1]], "W_h": [[1, 0], [0, 1]], "W_x": [[1], [1]],
              "W_y": [[1, 1], [1, -1]]}
    derivation = rnnsym.derive(graph, "L", "W_h")
    lines = derivation.latex(values)
    if loss == "binary_cross_entropy":
        assert lines[0].startswith(r"\nabla_{o_{1}} L = \frac{1}{2} \left(\hat{y}_{1} - y_{1}\right)")
    env = rnnsym.evaluate(graph, values).decimal(40).values
    evaluator = Evaluation(graph, env)
    for step in derivation.matrix_steps():
        difference = step.value(evaluator, env) - step.formula(evaluator, env)
        assert all(abs(x) < 1e-25 for x in difference), step.lhs


def test_a_long_mean_is_written_with_dots_and_its_factor():
    values = {"h_0": 1, "x": [1] * 8, "y": [0] * 8, "W_h": "0.5", "W_x": 1, "W_y": 1}
    mean = rnnsym.compute(rnnsym.elman(8, reduction="mean"), "L").latex(values)[-1]
    summed = rnnsym.compute(rnnsym.elman(8), "L").latex(values)[-1]
    assert mean.startswith(r"L = \frac{1}{8} \times \left(L_{1} + L_{2} + \cdots + L_{7} + L_{8}\right) = ")
    total = rnnsym.evaluate(rnnsym.elman(8), values).value("L")
    assert rnnsym.evaluate(rnnsym.elman(8, reduction="mean"), values).value("L") == total / 8
    assert summed.startswith(r"L = L_{1} + L_{2} + \cdots")


def test_a_mean_is_weighted_at_the_evaluation_s_precision():
    """The 1/T of a mean, in a decimal evaluation, carries that evaluation's digits (not a double's)."""
    import mpmath

    from rnnsym.testing import check_gradients

    graph = rnnsym.elman(3, reduction="mean", output_activation="tanh")
    values = {"h_0": 0, "W_h": 0, "W_x": 0, "W_y": 0, "x": [0, 0, 0], "y": [0, 0, 0]}
    total = next(a for a in graph.assignments if str(a.target) == "L")
    [weight, *_] = rnnsym.evaluate(graph, values).decimal(55).local_partials(total, raw=True)
    with mpmath.workdps(60):
        assert abs(weight - mpmath.mpf(1) / 3) < mpmath.mpf(10) ** -50
    assert check_gradients(graph, values, wrt=["L_1", "L_2"], raises=False).ok
