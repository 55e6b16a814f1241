"""Named paths: the immediate partial ∂⁺ as a question, the LSTM's carousel ∂⁺c_T/∂c_t = Π f,
the GRU and LSTM Jacobian chains and bounds, and ρ against σ_max for a non-normal W_h.

Every reference here is written in this file: the cells' forward steps in 50-digit mpmath,
derivatives by central differences of those steps (or of their composition), matrix norms,
eigenvalues and powers by mpmath's own linear algebra.
"""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction

import mpmath
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnsym import InputError, elman, gru, lstm
from rnnsym.analysis.bound import GatedBound, bound, gated_bound
from rnnsym.analysis.flow import jacobian_chain
from rnnsym.analysis.table import flow_table
from rnnsym.derivation import derive
from rnnsym.derivation.immediate import ImmediateDerivation
from rnnsym.exercise import loads, reference
from rnnsym.grading import check_exercise

DPS = 50
STEP = mpmath.mpf(10) ** -20


def mp(value) -> mpmath.mpf:
    return mpmath.mpf(Fraction(str(value)).numerator) / Fraction(str(value)).denominator


def sigmoid(a):
    return 1 / (1 + mpmath.exp(-a))


# --- independent cells: one step of a scalar LSTM and GRU, and vector ones -----------------------

LSTM_VALUES = {"h_0": "0.2", "c_0": "0.5", "x": [1, "-1", "0.5", "0.25"], "y": [0, 0, 0, 0],
               "W_xi": 1, "W_hi": 1, "W_xf": "0.5", "W_hf": -1, "W_xg": 1, "W_hg": 2, "W_xo": 1, "W_ho": 1,
               "b_i": "0.1", "b_f": "0.3", "b_g": "-0.2", "b_o": 0, "W_y": 1, "b_y": 0}


def lstm_step(p: dict, h, c, x):
    """(h_t, c_t, f_t, o_t) from (h_{t−1}, c_{t−1}) and x_t, scalar."""
    i = sigmoid(p["W_xi"] * x + p["W_hi"] * h + p["b_i"])
    f = sigmoid(p["W_xf"] * x + p["W_hf"] * h + p["b_f"])
    g = mpmath.tanh(p["W_xg"] * x + p["W_hg"] * h + p["b_g"])
    o = sigmoid(p["W_xo"] * x + p["W_ho"] * h + p["b_o"])
    c_new = f * c + i * g
    return o * mpmath.tanh(c_new), c_new, f, o


def lstm_params(values: dict) -> dict:
    return {k: mp(v) for k, v in values.items() if not isinstance(v, list) and k not in ("h_0", "c_0")}


def lstm_run(values: dict, shift: tuple[int, str, object] | None = None):
    """States (h_t, c_t, f_t) for t = 0 … T.  ``shift=(t, "h" or "c", δ)`` adds δ to that state as
    a free variable: a shifted c_t (t ≥ 1) also moves h_t = o_t tanh(c_t), which is computed from it."""
    p = lstm_params(values)
    h, c, o = mp(values["h_0"]), mp(values["c_0"]), None
    out = [(h, c, None)]
    for t, x in enumerate(values["x"], start=1):
        if shift is not None and shift[0] == t - 1:
            if shift[1] == "h":
                h += shift[2]
            else:
                c += shift[2]
                h = h if o is None else o * mpmath.tanh(c)
        h, c, f, o = lstm_step(p, h, c, mp(x))
        out.append((h, c, f))
    return out


def central(function, step=STEP):
    return (function(step) - function(-step)) / (2 * step)


# --- ∂⁺ as a question --------------------------------------------------------------------------

LSTM_FILE = """
title = "paths"
[model]
cell = "lstm"
steps = 4
[values]
h_0 = "0.2"
c_0 = "0.5"
x = [1, "-1", "0.5", "0.25"]
y = [0, 0, 0, 0]
W_xi = 1
W_hi = 1
W_xf = "0.5"
W_hf = -1
W_xg = 1
W_hg = 2
W_xo = 1
W_ho = 1
b_i = "0.1"
b_f = "0.3"
b_g = "-0.2"
b_o = 0
W_y = 1
b_y = 0
[[questions]]
label = "a"
find = "d+c_3/dc_2"
[[questions]]
label = "b"
find = "d+c_4/dc_1"
[[questions]]
label = "c"
find = "d + h_2 / d c_2"
[[questions]]
label = "d"
find = "dc_4/dc_1"
"""


def test_immediate_question_is_the_definition_differentiated_with_the_others_fixed():
    ex = loads(LSTM_FILE)
    with mpmath.workdps(DPS):
        states = lstm_run(LSTM_VALUES)
        p = lstm_params(LSTM_VALUES)
        # c_3 = f_3 c_2 + i_3 g_3 with f_3, i_3, g_3 held fixed: vary c_2 in c_3's formula alone
        f3 = states[3][2]
        i3g3 = states[3][1] - f3 * states[2][1]
        by_difference = central(lambda d: f3 * (states[2][1] + d) + i3g3)
        # h_2 = o_2 tanh(c_2): vary c_2 with o_2 fixed
        o2 = sigmoid(p["W_xo"] * mp(LSTM_VALUES["x"][1]) + p["W_ho"] * states[1][0] + p["b_o"])
        h2_by_difference = central(lambda d: o2 * mpmath.tanh(states[2][1] + d))
        a, c = (ex.answer(q).evaluate(ex.values, digits=40) for q in (ex.questions[0], ex.questions[2]))
        assert isinstance(ex.answer(ex.questions[0]), ImmediateDerivation)
        assert abs(mp(str(a)) - by_difference) < mpmath.mpf(10) ** -25
        assert abs(mp(str(a)) - f3) < mpmath.mpf(10) ** -35
        assert abs(mp(str(c)) - h2_by_difference) < mpmath.mpf(10) ** -25
    text = ex.answer(ex.questions[0]).latex(ex.values)
    assert r"\frac{\partial^{+} c_{3}}{\partial c_{2}} = f_{3}" in text[-1]


def test_immediate_partial_of_a_leaf_on_the_reference_exercise():
    ex = reference()
    d = derive(ex.graph, "h_2", "W_h", immediate=True)
    # h_2 = h_1 W_h + x_2 W_x, with h_1 held fixed: h_1 = h_0 W_h + x_1 W_x = 1·1 + 10·0.1 = 2
    h_1 = Fraction(1) * 1 + 10 * Fraction(1, 10)
    assert d.evaluate(ex.values) == h_1
    total = derive(ex.graph, "h_2", "W_h").evaluate(ex.values)
    assert total == Fraction(1) * 1 + h_1  # h_0 W_h + h_1: the total adds the path through h_1
    assert d.latex(ex.values)[-1] == r"\frac{\partial^{+} h_{2}}{\partial W_{h}} = h_{1} = 2"


def test_carousel_is_the_product_of_forget_gates_with_the_total_beside_it():
    ex = loads(LSTM_FILE)
    carousel = ex.answer(ex.questions[1])
    with mpmath.workdps(DPS):
        states = lstm_run(LSTM_VALUES)
        product = states[2][2] * states[3][2] * states[4][2]  # f_2 f_3 f_4
        # the total ∂c_4/∂c_1: c_1 moved, everything after it recomputed
        total = central(lambda d: lstm_run(LSTM_VALUES, (1, "c", d))[4][1])
        value = carousel.evaluate(ex.values, digits=40)
        assert abs(mp(str(value)) - product) < mpmath.mpf(10) ** -35
        whole = ex.answer(ex.questions[3]).evaluate(ex.values, digits=40)
        assert abs(mp(str(whole)) - total) < mpmath.mpf(10) ** -25
        assert abs(total - product) > mpmath.mpf(10) ** -3  # the two are different quantities here
    lines = carousel.latex(ex.values)
    assert lines[-2].startswith(r"\frac{\partial^{+} c_{4}}{\partial c_{1}} = \frac{\partial^{+} c_{4}}{\partial c_{3}}"
                                r" \, \frac{\partial^{+} c_{3}}{\partial c_{2}} \, \frac{\partial^{+} c_{2}}{\partial c_{1}}"
                                r" = f_{4} \, f_{3} \, f_{2} \approx ")
    assert lines[-1].startswith(r"\frac{\partial c_{4}}{\partial c_{1}} \approx ")
    shown_total = float(lines[-1].split(r"\approx ")[-1])
    assert abs(shown_total - float(total)) < 1e-5
    note = carousel.notes(ex.values)[0]
    assert "the path that stays in $c$" in note and f"{float(total):.6g}"[:6] in note


def test_a_path_with_no_other_way_agrees_with_the_total():
    values = {"h_0": 1, "W_h": "0.5", "W_x": 1, "x": [0] * 8, "W_y": 1, "y": [0] * 8}
    d = derive(elman(8), "h_8", "h_0", immediate=True)
    assert d.evaluate(values) == Fraction(1, 2) ** 8 == derive(elman(8), "h_8", "h_0").evaluate(values)
    assert "here none leaves $h$, so the two agree" in d.notes(values)[0]


def test_long_carousel_writes_its_middle_factors_as_dots():
    values = {**LSTM_VALUES, "x": ["0.1"] * 8, "y": [0] * 8}
    g = lstm(8)
    d = derive(g, "c_8", "c_0", immediate=True)
    lines = d.latex(values)
    assert r"\cdots" in lines[0] and "f_{8}" in lines[0] and "f_{1}" in lines[0] and "f_{4}" not in lines[0]
    with mpmath.workdps(DPS):
        states = lstm_run(values)
        product = mpmath.fprod(s[2] for s in states[1:])
        total = central(lambda e: lstm_run(values, (0, "c", e))[8][1])
    assert abs(float(lines[0].split(r"\approx ")[-1]) - float(product)) < 1e-5
    assert abs(float(lines[1].split(r"\approx ")[-1]) - float(total)) < 1e-5


@settings(max_examples=15, deadline=None)
@given(st.lists(st.fractions(min_value=-2, max_value=2, max_denominator=10), min_size=12, max_size=12))
def test_carousel_matches_the_forget_gates_for_random_weights(weights):
    names = ("W_xi", "W_hi", "W_xf", "W_hf", "W_xg", "W_hg", "W_xo", "W_ho", "b_i", "b_f", "b_g", "b_o")
    values = {**LSTM_VALUES, **{n: str(w) for n, w in zip(names, weights)}}
    value = derive(lstm(4), "c_4", "c_1", immediate=True).evaluate(values, digits=30)
    with mpmath.workdps(DPS):
        states = lstm_run(values)
        assert abs(mp(str(value)) - states[2][2] * states[3][2] * states[4][2]) < mpmath.mpf(10) ** -25


def test_immediate_questions_refuse_what_has_no_immediate_partial():
    with pytest.raises(InputError, match=r"^questions\[0\]\.find: got 'd\+h_3/dh_1', expected an argument of h_3's own"):
        loads(LSTM_FILE.split("[[questions]]")[0] + '[[questions]]\nfind = "d+h_3/dh_1"\n')
    with pytest.raises(InputError, match=r"^questions\[0\]\.split: got 'step', expected no split for an immediate"):
        loads(LSTM_FILE.split("[[questions]]")[0] + '[[questions]]\nfind = "d+c_3/dc_1"\nsplit = "step"\n')
    with pytest.raises(InputError, match="^of: got 'c_0', expected a computed quantity"):
        derive(lstm(2), "c_0", "c_0", immediate=True)
    with pytest.raises(InputError, match="^truncate: got 1, expected None with immediate=True"):
        derive(lstm(2), "c_2", "c_1", truncate=1, immediate=True)
    with pytest.raises(InputError, match="^immediate: got 'yes'"):
        derive(lstm(2), "c_2", "c_1", immediate="yes")
    with pytest.raises(InputError, match=r"^wrt: got 'h_1', expected the same vector state as c_2"):
        derive(lstm(2, hidden=2), "c_2", "h_1", immediate=True)
    with pytest.raises(InputError, match=r"^wrt: got 'W_hf', expected for a whole vector, the same vector state"):
        derive(lstm(2, hidden=2), "c_2", "W_hf", immediate=True)


VECTOR_VALUES = {"h_0": [0, "0.1"], "c_0": ["0.5", -1], "x": [1, -1, "0.5"], "y": [0, 0, 0],
                 "W_xi": [[1], [-1]], "W_hi": [[1, 0], [0, 1]], "W_xf": [["0.5"], [1]], "W_hf": [[-1, "0.5"], [0, 1]],
                 "W_xg": [[1], [2]], "W_hg": [[2, 0], [1, 1]], "W_xo": [[1], [1]], "W_ho": [[1, 1], [0, 1]],
                 "b_i": [0, 0], "b_f": [0, 0], "b_g": [0, 0], "b_o": [0, 0], "W_y": [[1, 1]], "b_y": 0}


def vector_lstm_run(values: dict, shift: tuple[int, int, object] | None = None):
    """(c_t, f_t) for t = 1 … T of a two-unit LSTM; ``shift=(t, k, δ)`` adds δ to c_t[k] as a free
    variable (h_t = o_t ⊙ tanh(c_t) recomputed from it)."""
    p = {k: [[mp(e) for e in row] if isinstance(row, list) else mp(row) for row in v] if isinstance(v, list)
         else mp(v) for k, v in values.items()}
    h, c, out = list(p["h_0"]), list(p["c_0"]), []
    for t, x in enumerate(p["x"], start=1):
        def gate(name, act):
            return [act(p["W_x" + name][i][0] * x + sum(p["W_h" + name][i][j] * h[j] for j in range(2))
                        + p["b_" + name][i]) for i in range(2)]
        i_, f_, g_, o_ = gate("i", sigmoid), gate("f", sigmoid), gate("g", mpmath.tanh), gate("o", sigmoid)
        c = [f_[k] * c[k] + i_[k] * g_[k] for k in range(2)]
        if shift is not None and shift[0] == t:
            c[shift[1]] += shift[2]
        h = [o_[k] * mpmath.tanh(c[k]) for k in range(2)]
        out.append((c, f_))
    return out


def test_vector_carousel_entry_by_entry_and_whole():
    g = lstm(3, hidden=2)
    values = VECTOR_VALUES
    d = derive(g, "c_3[2]", "c_1[2]", immediate=True)
    with mpmath.workdps(DPS):
        run = vector_lstm_run(values)
        fs = [f for _, f in run]
        assert abs(mp(str(d.evaluate(values, digits=40))) - fs[1][1] * fs[2][1]) < mpmath.mpf(10) ** -35
    with pytest.raises(InputError, match="^wrt: got 'c_1\\[1\\]'"):
        derive(g, "c_3[2]", "c_1[1]", immediate=True)
    # the whole vector: diag(f_3 ⊙ f_2), and the total beside it, by central differences of the whole run
    whole = derive(g, "c_3", "c_1", immediate=True)
    value = whole.evaluate(values, digits=40)
    assert value.shape == (2, 2) and value[0, 1] == 0 and value[1, 0] == 0
    total = whole.total_at(whole.evaluation(values, 40))
    with mpmath.workdps(DPS):
        for k in range(2):
            assert abs(mp(str(value[k, k])) - fs[1][k] * fs[2][k]) < mpmath.mpf(10) ** -35
            for i in range(2):
                by_difference = central(lambda e, i=i, k=k: vector_lstm_run(values, (1, k, e))[2][0][i])
                assert abs(mp(str(total[i, k])) - by_difference) < mpmath.mpf(10) ** -25
    lines = whole.latex(values)
    assert lines[0].startswith(r"\frac{\partial^{+} c_{3}}{\partial c_{1}} = \operatorname{diag}\left(f_{3} \odot f_{2}\right)"
                               r" \approx \operatorname{diag}")
    assert lines[1].startswith(r"\frac{\partial c_{3}}{\partial c_{1}} \approx \left[\begin{matrix}")


def test_check_and_question_sheet_treat_immediate_partials_as_such(tmp_path):
    ex = loads(LSTM_FILE)
    result = check_exercise(ex)
    assert result.ok and all(r.consistent for r in result.results)
    path = tmp_path / "paths.toml"
    path.write_text(LSTM_FILE, encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "rnnsym", "check", str(path)], capture_output=True, text=True)
    assert run.returncode == 0 and "d+c_4/dc_1" in run.stdout
    from rnnsym.sheet import prompt

    assert prompt(ex.questions[1]) == r"Compute $\frac{\partial^{+} c_{4}}{\partial c_{1}}$."
    assert prompt(ex.questions[3]) == r"Compute $\frac{\partial c_{4}}{\partial c_{1}}$."


# --- Jacobian chains of gated cells -------------------------------------------------------------


def test_lstm_chain_is_the_state_jacobian_of_the_composed_steps():
    g = lstm(4)
    chain = jacobian_chain(g, t=4, k=3)
    value = chain.evaluate(LSTM_VALUES, digits=40)
    assert value.shape == (2, 2)
    with mpmath.workdps(DPS):
        p = lstm_params(LSTM_VALUES)
        states = lstm_run(LSTM_VALUES)
        xs = [mp(x) for x in LSTM_VALUES["x"]]

        def run_from(h, c):  # (h_1, c_1) ↦ (h_4, c_4)
            for x in xs[1:]:
                h, c, _, _ = lstm_step(p, h, c, x)
            return h, c

        h1, c1 = states[1][0], states[1][1]
        by_h = [central(lambda d, i=i: run_from(h1 + d, c1)[i]) for i in (0, 1)]
        by_c = [central(lambda d, i=i: run_from(h1, c1 + d)[i]) for i in (0, 1)]
        reference_ = [[by_h[0], by_c[0]], [by_h[1], by_c[1]]]
        for i in range(2):
            for j in range(2):
                assert abs(mp(str(value[i, j])) - reference_[i][j]) < mpmath.mpf(10) ** -25
    # the c-to-c entry of one factor is the carousel step f_t
    factor = chain.factors[0].evaluate(LSTM_VALUES, digits=40)
    with mpmath.workdps(DPS):
        assert abs(mp(str(factor[1, 1])) - states[4][2]) < mpmath.mpf(10) ** -35
    assert str(chain.lhs) == "∂(h_4, c_4)/∂(h_1, c_1)"
    assert chain.latex()[0].startswith(r"\frac{\partial \left( h_{4}, \  c_{4}\right)}{\partial \left( h_{1}, \  c_{1}\right)}")


def gru_step(p: dict, h, x):
    r = sigmoid(p["W_xr"] * x + p["W_hr"] * h + p["b_r"])
    z = sigmoid(p["W_xz"] * x + p["W_hz"] * h + p["b_z"])
    candidate = mpmath.tanh(p["W_xh"] * x + p["W_hh"] * (r * h) + p["b_h"])
    return z * h + (1 - z) * candidate, z


GRU_VALUES = {"h_0": "0.3", "x": ["0.5", -1, 2, "0.1"], "y": [0, 0, 0, 0], "W_xr": "0.7", "W_hr": "-1.2",
              "W_xz": "0.4", "W_hz": "0.9", "W_xh": "1.1", "W_hh": "-0.8", "b_r": "0.1", "b_z": "0.2",
              "b_h": "-0.3", "W_y": 1, "b_y": 0}


def test_gru_chain_and_its_factors_match_the_composed_steps():
    g = gru(4)
    chain = jacobian_chain(g, t=4, k=3)
    with mpmath.workdps(DPS):
        p = {k: mp(v) for k, v in GRU_VALUES.items() if not isinstance(v, list) and k != "h_0"}
        xs = [mp(x) for x in GRU_VALUES["x"]]
        hs, zs = [mp(GRU_VALUES["h_0"])], [None]
        for x in xs:
            h, z = gru_step(p, hs[-1], x)
            hs.append(h)
            zs.append(z)

        def run_from(h):
            for x in xs[1:]:
                h, _ = gru_step(p, h, x)
            return h

        total = central(lambda d: run_from(hs[1] + d))
        assert abs(mp(str(chain.evaluate(GRU_VALUES, digits=40))) - total) < mpmath.mpf(10) ** -25
        # the additive path of one factor: ∂⁺h_t/∂h_(t−1) = z_t
        additive = derive(g, "h_4", "h_3", immediate=True).evaluate(GRU_VALUES, digits=40)
        assert abs(mp(str(additive)) - zs[4]) < mpmath.mpf(10) ** -35
        # the gated bound's factors are the one-step derivatives
        b = bound(g, GRU_VALUES)
        assert isinstance(b, GatedBound) and b.cell == "gru"
        for t in range(1, 5):
            one = central(lambda d, t=t: gru_step(p, hs[t - 1] + d, xs[t - 1])[0])
            assert abs(mp(str(b.factors[t - 1])) - abs(one)) < mpmath.mpf(10) ** -25
            assert abs(mp(str(b.additive[t - 1])) - zs[t]) < mpmath.mpf(10) ** -25
    assert "no simple per-step bound" in b.explanation and "z_t" in b.explanation
    assert b.latex()[0].startswith(r"\max_{t} \left|{\frac{\partial h_{t}}{\partial h_{t-1}}}\right| \approx ")


def test_lstm_bound_factors_are_the_spectral_norms_of_the_state_jacobians():
    b = bound(lstm(4), LSTM_VALUES)
    with mpmath.workdps(DPS):
        p = lstm_params(LSTM_VALUES)
        states = lstm_run(LSTM_VALUES)
        xs = [mp(x) for x in LSTM_VALUES["x"]]
        for t in range(1, 5):
            h, c = states[t - 1][0], states[t - 1][1]
            step = lambda hh, cc, t=t: lstm_step(p, hh, cc, xs[t - 1])[:2]  # noqa: E731
            J = mpmath.matrix([[central(lambda d, i=i: step(h + d, c)[i]), central(lambda d, i=i: step(h, c + d)[i])]
                               for i in (0, 1)])
            norm = max(mpmath.svd_r(J, compute_uv=False))
            assert abs(mp(str(b.factors[t - 1])) - norm) < mpmath.mpf(10) ** -25
            assert abs(mp(str(b.additive[t - 1])) - states[t][2]) < mpmath.mpf(10) ** -25
    assert b.matrix and "constant error carousel" in b.explanation
    assert b.value == max(b.factors)


def test_gated_matrix_factors_keep_the_digits_asked_for():
    fine = gated_bound(lstm(4), LSTM_VALUES, digits=70)
    for digits in (20, 50):
        b = gated_bound(lstm(4), LSTM_VALUES, digits=digits)
        with mpmath.workdps(80):
            for ours, reference in zip(b.factors, fine.factors):
                assert mpmath.libmp.prec_to_dps(ours._prec) >= digits
                assert abs(mp(str(ours)) - mp(str(reference))) < mpmath.mpf(10) ** -(digits - 5)


def test_flow_table_carries_the_gated_bound():
    table = flow_table([("lstm", lstm(4), LSTM_VALUES)], steps=3)
    assert isinstance(table.series[0].bound, GatedBound) and table.series[0].bound.cell == "lstm"
    with mpmath.workdps(DPS):
        p = lstm_params(LSTM_VALUES)
        states = lstm_run(LSTM_VALUES)
        xs = [mp(x) for x in LSTM_VALUES["x"]]

        def h4_from(h):  # c_2 held fixed: h_2 moved alone
            c = states[2][1]
            for x in xs[2:]:
                h, c, _, _ = lstm_step(p, h, c, x)
            return h

        assert abs(mp(str(table.series[0].values[2])) - abs(central(lambda d: h4_from(states[2][0] + d)))) \
            < mpmath.mpf(10) ** -25


# --- ρ against σ_max: a non-normal W_h ---------------------------------------------------------

NON_NORMAL = [["0.9", "0.75"], [0, "0.9"]]


def test_non_normal_recurrent_matrix_spectral_radius_and_largest_singular_value():
    with mpmath.workdps(DPS):
        W = mpmath.matrix([[mp(v) for v in row] for row in NON_NORMAL])
        rho = max(abs(e) for e in mpmath.eig(W, left=False, right=False))
        sigma = max(mpmath.svd_r(W, compute_uv=False))
        powers, P = [], mpmath.eye(2)
        for _ in range(200):
            P = P * W
            powers.append(max(mpmath.svd_r(P, compute_uv=False)))
    identity = bound(elman(1, hidden=2), {"W_h": NON_NORMAL})
    with mpmath.workdps(DPS):
        assert abs(mp(str(sympy.N(identity.radius, 40))) - rho) < mpmath.mpf(10) ** -35
        assert abs(mp(str(sympy.N(identity.weight, 40))) - sigma) < mpmath.mpf(10) ** -35
    assert identity.radius == sympy.Rational(9, 10) and identity.weight == sympy.Rational(27, 20)
    assert identity.regime == "vanishing in the long run" and identity.normal is False
    peak = max(range(200), key=lambda k: powers[k])
    last_above = max(k for k in range(200) if powers[k] >= 1)
    assert identity.peak[0] == peak + 1 and abs(identity.peak[1] - float(powers[peak])) < 1e-9
    assert identity.peak[2] == last_above + 2
    assert "Gelfand" in identity.explanation and "transient growth" in identity.explanation
    assert "Pascanu, Mikolov & Bengio 2013" in identity.explanation
    tanh = bound(elman(1, "tanh", hidden=2), {"W_h": NON_NORMAL})
    assert tanh.regime == "possibly exploding" and "ρ(W_h)·max|f′| = 9/10 < 1" in tanh.explanation


def test_flow_table_shows_the_transient_growth_of_the_non_normal_matrix():
    steps = 12
    values = {"h_0": [0, 0], "W_h": NON_NORMAL, "W_x": [[1], [1]], "x": ["0.1"] * steps}
    table = flow_table([("non-normal", elman(steps, hidden=2), values)], steps=steps)
    with mpmath.workdps(DPS):
        W = mpmath.matrix([[mp(v) for v in row] for row in NON_NORMAL])
        P = mpmath.eye(2)
        for d in range(steps):
            assert abs(mp(str(table.series[0].values[d])) - max(mpmath.svd_r(P, compute_uv=False))) \
                < mpmath.mpf(10) ** -25
            P = P * W
    assert max(table.series[0].values) > 2  # grows although ρ(W_h) = 0.9 < 1


def test_vanishing_topic_states_both_conditions_with_the_models_numbers():
    from rnnsym.analysis.topics import TOPICS, Topic

    text = """
title = "non-normal"
[model]
cell = "elman"
steps = 3
hidden = 2
bias = false
[values]
h_0 = [0, 0]
W_h = [["0.9", "0.75"], [0, "0.9"]]
W_x = [[1], [1]]
W_y = [[1, 1]]
x = [1, 0, 0]
y = [0, 0, 0]
[[questions]]
show = "vanishing"
"""
    ex = loads(text)
    items = [i for i in TOPICS["vanishing"](Topic(ex.graph, ex.evaluation)) if isinstance(i, str)]
    said = " ".join(items)
    assert r"\rho(W_h) = 0.9" in said and r"\sigma_{\max}(W_h) = 1.35" in said
    assert "Gelfand" in said and "for every input" in said and "transient growth" in said
    assert "Pascanu, Mikolov" in said and "largest at $k = 9$" in said


def test_vanishing_topic_of_a_gated_cell_gives_its_factors():
    from rnnsym.analysis.topics import TOPICS, Topic

    ex = loads(LSTM_FILE.split("[[questions]]")[0] + '[[questions]]\nshow = "vanishing"\n')
    items = TOPICS["vanishing"](Topic(ex.graph, ex.evaluation))
    said = " ".join(i for i in items if isinstance(i, str))
    assert "No bound of the Elman kind" in said and r"\frac{\partial^{+} c_t}{\partial c_{t-1}} = f_t" in said


def test_sheet_legend_defines_an_immediate_partial_across_steps():
    from rnnsym.sheet import Sheet

    across = Sheet([loads(LSTM_FILE)]).tex()
    assert r"\frac{\partial^{+} c_{4}}{\partial c_{1}}" in across
    assert "For one state at two steps" in across
    one_step_only = LSTM_FILE.split("[[questions]]")[0] + '[[questions]]\nfind = "d+c_3/dc_2"\n'
    text = Sheet([loads(one_step_only)]).tex()
    assert r"\partial^{+}" in text and "For one state at two steps" not in text


def test_whole_vector_immediate_question_is_checked_and_keyed(tmp_path):
    text = "\n".join([
        'title = "vector carousel"', "[model]", 'cell = "lstm"', "steps = 3", "hidden = 2", "[values]",
        *[f"{k} = {v!r}".replace("'", '"') for k, v in VECTOR_VALUES.items()],
        "[[questions]]", 'label = "a"', 'find = "d+c_3/dc_1"'])
    ex = loads(text)
    result = check_exercise(ex)
    assert result.ok and result.results[0].consistent
    from rnnsym.key import answer_entries

    entries = dict(answer_entries(ex, ex.questions[0]))
    assert set(entries) == {"[1,1]", "[1,2]", "[2,1]", "[2,2]"} and entries["[1,2]"] == 0
    with mpmath.workdps(DPS):
        fs = [f for _, f in vector_lstm_run(VECTOR_VALUES)]
        assert abs(mpmath.mpf(str(sympy.N(entries["[2,2]"], 40))) - fs[1][1] * fs[2][1]) < mpmath.mpf(10) ** -35


@pytest.mark.parametrize("digits", [None, 0, 1001, "30", True])
def test_gated_bound_names_digits_it_cannot_use(digits):
    with pytest.raises(InputError, match="digits: got"):
        gated_bound(lstm(2), LSTM_VALUES, digits=digits)
