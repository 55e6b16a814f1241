"""Whole vectors and matrices as questions: checked, truncated and evaluated as matrices.

Each result is compared with an independent reference written here: a two-unit
Elman RNN in 50-digit mpmath (central differences for the gradient, the
truncated sum written from its definition), and in Fractions for the linear
model.  Nothing in the reference calls rnnsym.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnsym
from rnnsym.errors import InputError
from rnnsym.exercise import loads
from rnnsym.grading import check_exercise, loads_key
from rnnsym.strategies import values as value_strategy
from rnnsym.testing import DerivativeMismatch, assert_derivative, check_gradients

DIGITS = 50
VALUES = {"h_0": ["0.5", "-0.25"], "x": [1, "0.5"], "y": [0, 1],
          "W_h": [["0.5", "0.1"], ["0.25", "-0.5"]], "W_x": [[1], ["-1"]], "W_y": [["1", "2"]]}
ACTIVATIONS = {
    "tanh": (mpmath.tanh, lambda z: 1 - mpmath.tanh(z) ** 2),
    "sigmoid": (lambda z: 1 / (1 + mpmath.exp(-z)), lambda z: mpmath.exp(-z) / (1 + mpmath.exp(-z)) ** 2),
    "identity": (lambda z: z, lambda z: 1),
}


def _number(text) -> mpmath.mpf:
    return mpmath.mpf(Fraction(str(text)).numerator) / Fraction(str(text)).denominator


def _params(values=VALUES) -> dict[str, list[list[mpmath.mpf]]]:
    """Every weight as a list of rows, h_0 as a column, x and y per step."""
    out = {name: [[_number(v) for v in row] for row in values[name]] for name in ("W_h", "W_x", "W_y")}
    out["h_0"] = [[_number(v)] for v in values["h_0"]]
    out["x"] = [_number(v) for v in values["x"]]
    out["y"] = [_number(v) for v in values["y"]]
    return out


def _forward(p, f):
    """z_t = W_h h_{t-1} + W_x x_t, h_t = f(z_t), yhat_t = W_y h_t, L = Σ (yhat_t − y_t)²: (zs, hs, yhats, L)."""
    h = [row[0] for row in p["h_0"]]
    zs, hs, yhats = [], [h], []
    for x in p["x"]:
        z = [sum(p["W_h"][i][j] * h[j] for j in range(2)) + p["W_x"][i][0] * x for i in range(2)]
        h = [f(v) for v in z]
        zs.append(z)
        hs.append(h)
        yhats.append(sum(p["W_y"][0][j] * h[j] for j in range(2)))
    return zs, hs, yhats, sum((yh - y) ** 2 for yh, y in zip(yhats, p["y"]))


def _central(activation: str, name: str, i: int, j: int) -> mpmath.mpf:
    """∂L/∂name[i, j] by central differences at 50 digits (step 1e-20)."""
    f = ACTIVATIONS[activation][0]
    with mpmath.workdps(DIGITS + 30):
        step = mpmath.mpf(10) ** -20
        up, down = _params(), _params()
        up[name][i][j] += step
        down[name][i][j] -= step
        return (_forward(up, f)[3] - _forward(down, f)[3]) / (2 * step)


def _truncated_k1(activation: str) -> list[list[mpmath.mpf]]:
    """Truncated BPTT with k = 1 for W_h, from its definition: each loss term back-propagated
    one step only, Σ_t δ_t h_{t−1}ᵀ with δ_t = diag(f′(z_t)) W_yᵀ 2(ŷ_t − y_t)."""
    f, df = ACTIVATIONS[activation]
    with mpmath.workdps(DIGITS + 10):
        p = _params()
        zs, hs, yhats, _ = _forward(p, f)
        out = [[mpmath.mpf(0)] * 2 for _ in range(2)]
        for t in range(len(zs)):
            delta = [df(zs[t][i]) * p["W_y"][0][i] * 2 * (yhats[t] - p["y"][t]) for i in range(2)]
            for i in range(2):
                for j in range(2):
                    out[i][j] += delta[i] * hs[t][j]
        return out


def _mp(value) -> mpmath.mpf:
    """An exact or decimal sympy value as a 60-digit mpmath number."""
    with mpmath.workdps(DIGITS + 10):
        return mpmath.mpf(sympy.N(value, DIGITS + 10)) if isinstance(value, sympy.Basic) else mpmath.mpf(value)


def _close(value, reference, digits: int = 40) -> bool:
    with mpmath.workdps(DIGITS + 10):
        return abs(_mp(value) - _mp(reference)) <= mpmath.mpf(10) ** -digits * max(1, abs(_mp(reference)))


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_evaluate_of_a_whole_matrix_gives_numbers_equal_to_the_entries(activation):
    graph = rnnsym.elman(2, hidden=2, activation=activation)
    derivation = rnnsym.derive(graph, "L", "W_h")
    exact = derivation.evaluate(VALUES)
    decimals = derivation.evaluate(VALUES, 45)
    for i in range(2):
        for j in range(2):
            entry = exact[i, j]
            assert entry.is_number and not entry.free_symbols
            reference = _central(activation, "W_h", i, j)
            assert _close(entry, reference, 25)  # central differences with step 1e-20: about 40 digits
            assert _close(decimals[i, j], reference, 25)
            scalar = rnnsym.derive(graph, "L", f"W_h[{i + 1},{j + 1}]").evaluate(VALUES)
            assert _close(entry, scalar, 45)


def test_check_gradients_takes_a_whole_matrix():
    graph = rnnsym.elman(2, hidden=2, activation="tanh")
    report = check_gradients(graph, VALUES, wrt=["W_y", "W_h"])
    entries = [f"W_y[1,{j}]" for j in (1, 2)] + [f"W_h[{i},{j}]" for i in (1, 2) for j in (1, 2)]
    assert report.quantities == [f"dL/d{e}" for e in entries]
    for row in report.rows:
        if row.check == "finite differences":
            name, _, index = row.quantity.removeprefix("dL/d").partition("[")
            i, j = (int(k) - 1 for k in index.rstrip("]").split(","))
            assert _close(row.symbolic, _central("tanh", name, i, j), 25)


def test_check_gradients_of_a_whole_vector_checks_each_entry():
    report = check_gradients(rnnsym.elman(2, hidden=2, activation="tanh"), VALUES, wrt="h_0", of="h_2")
    assert report.quantities == ["dh_2[1]/dh_0[1]", "dh_2[1]/dh_0[2]", "dh_2[2]/dh_0[1]", "dh_2[2]/dh_0[2]"]
    assert report.ok


@pytest.mark.slow
def test_assert_derivative_takes_a_matrix_of_formulas():
    graph = rnnsym.elman(2, hidden=2, activation="tanh")
    right = [[f"2*(yhat_1 - y_1)*h_1[{j}] + 2*(yhat_2 - y_2)*h_2[{j}]" for j in (1, 2)]]
    assert_derivative(right, graph, "L", "W_y", max_examples=10)
    assert_derivative(right[0], graph, "L", "W_y", max_examples=10)  # a flat list for a single row
    assert_derivative(lambda v: [[2 * (v["yhat_1"] - v["y_1"]) * v[f"h_1[{j}]"] + 2 * (v["yhat_2"] - v["y_2"]) * v[f"h_2[{j}]"]
                                  for j in (1, 2)]], graph, "L", "W_y", max_examples=10)
    wrong = [right[0][0], "2*(yhat_2 - y_2)*h_2[2]"]
    with pytest.raises(DerivativeMismatch, match=r"dL/dW_y\[1,2\]"):
        assert_derivative(wrong, graph, "L", "W_y", max_examples=10)
    with pytest.raises(InputError, match="a 1×2 matrix"):
        assert_derivative([right[0][0]], graph, "L", "W_y")


@pytest.mark.parametrize("activation", ["tanh", "identity"])
def test_truncated_bptt_of_a_whole_matrix_against_its_definition(activation):
    graph = rnnsym.elman(2, hidden=2, activation=activation)
    derivation = rnnsym.derive(graph, "L", "W_h", truncate=1)
    kept, dropped, full = derivation.values(VALUES)
    reference = _truncated_k1(activation)
    value = derivation.evaluate(VALUES)
    for i in range(2):
        for j in range(2):
            assert _close(kept[i, j], reference[i][j]) and _close(value[i, j], reference[i][j])
            assert _close(full[i, j], _central(activation, "W_h", i, j), 25)
            assert _close(kept[i, j] + dropped[i, j], _central(activation, "W_h", i, j), 25)
            entry = rnnsym.derive(graph, "L", f"W_h[{i + 1},{j + 1}]", truncate=1).evaluate(VALUES)
            assert _close(value[i, j], entry)
    # truncating at k >= T keeps every contribution: the full gradient
    assert derivation.values(VALUES)[2] == rnnsym.derive(graph, "L", "W_h", truncate=2).evaluate(VALUES) or activation != "identity"


def test_truncated_matrix_lines_state_kept_dropped_and_full_in_fractions():
    # the linear model: every number is a Fraction, the truncated sum from its definition
    values = {"h_0": [1, 0], "x": [1, 2], "y": [0, 1], "W_h": [[1, 0], [0, 1]], "W_x": [[1], [0]], "W_y": [[1, 1]]}
    h = [[Fraction(1), Fraction(0)]]
    for x in (1, 2):  # h_t = W_h h_{t−1} + W_x x_t with W_h = I, W_x = (1, 0)
        h.append([h[-1][0] + x, h[-1][1]])
    grad_yhat = [2 * (h[t][0] + h[t][1] - y) for t, y in ((1, 0), (2, 1))]  # 2(ŷ_t − y_t), ŷ_t = h_t[1] + h_t[2]
    kept = [[sum(grad_yhat[t - 1] * h[t - 1][j] for t in (1, 2)) for j in range(2)] for _ in range(2)]
    dropped = [[grad_yhat[1] * h[0][j] for j in range(2)] for _ in range(2)]  # L_2 through z_1: W_h = I passes it on
    derivation = rnnsym.derive(rnnsym.elman(2, hidden=2), "L", "W_h", truncate=1)
    got = derivation.values(values)
    assert got[0] == sympy.Matrix(kept) and got[1] == sympy.Matrix(dropped)
    assert got[2] == sympy.Matrix(kept) + sympy.Matrix(dropped)

    def bmatrix(rows):
        return r"\begin{bmatrix} " + r" \\ ".join(" & ".join(str(v) for v in row) for row in rows) + r" \end{bmatrix}"

    total = [[k + d for k, d in zip(kr, dr)] for kr, dr in zip(kept, dropped)]
    last = derivation.latex(values)[-1]
    assert last.endswith(f"= {bmatrix(kept)} + {bmatrix(dropped)} = {bmatrix(total)}")
    assert r"\left.\frac{\partial L_{2}}{\partial W_{h}}\right|_{\text{dropped}}" in derivation.latex()[3]


def test_truncating_a_vector_state_names_what_is_wrong():
    with pytest.raises(InputError, match=r"wrt: got 'h_2', expected a leaf"):
        rnnsym.derive(rnnsym.elman(2, hidden=2), "L", "h_2", truncate=1)


EXERCISE = """
title = "two units"
[model]
cell = "elman"
activation = "tanh"
steps = 2
hidden = 2
[values]
h_0 = ["0.5", "-0.25"]
x = [1, "0.5"]
y = [0, 1]
W_h = [["0.5", "0.1"], ["0.25", "-0.5"]]
W_x = [[1], ["-1"]]
W_y = [["1", "2"]]
[[questions]]
label = "a"
text = "h_2"
find = "h_2"
[[questions]]
label = "b"
text = "W_y"
find = "dL/dW_y"
[[questions]]
label = "c"
text = "W_h"
find = "dL/dW_h"
[[questions]]
label = "d"
text = "W_h, truncated"
find = "dL/dW_h"
truncate = 1
"""


def _rounded(x: mpmath.mpf) -> str:
    return mpmath.nstr(x, 8, strip_zeros=False)


def _key(b: str) -> str:
    """A key for EXERCISE: the reference's h_2, ∂L/∂W_h and truncated ∂L/∂W_h to 8 digits, and ``b``."""
    f = ACTIVATIONS["tanh"][0]
    with mpmath.workdps(DIGITS):
        _, hs, _, _ = _forward(_params(), f)
    h2 = [_rounded(v) for v in hs[2]]
    w_h = [[_rounded(_central("tanh", "W_h", i, j)) for j in range(2)] for i in range(2)]
    truncated = [[_rounded(v) for v in row] for row in _truncated_k1("tanh")]
    return (f'[answers]\na = ["{h2[0]}", "{h2[1]}"]\nb = {b}\n'
            f'c = [["{w_h[0][0]}", "{w_h[0][1]}"], ["{w_h[1][0]}", "{w_h[1][1]}"]]\n'
            f'd = [["{truncated[0][0]}", "{truncated[0][1]}"], ["{truncated[1][0]}", "{truncated[1][1]}"]]\n')


def test_an_answer_key_gives_nested_lists_for_a_whole_matrix():
    exercise = loads(EXERCISE)
    with mpmath.workdps(DIGITS):
        w_y = [_rounded(_central("tanh", "W_y", 0, j)) for j in range(2)]
    right = check_exercise(exercise, loads_key(_key(f'["{w_y[0]}", "{w_y[1]}"]'), exercise))
    assert [r.status for r in right.results] == ["ok"] * 4, str(right)
    wrong = check_exercise(exercise, loads_key(_key(f'[["{w_y[0]}", "{w_y[0]}"]]'), exercise))
    assert [r.status for r in wrong.results] == ["ok", "wrong", "ok", "ok"]
    assert [note[:6] for note in wrong.results[1].notes] == ["[1,2]:"]
    with pytest.raises(InputError, match=r'answers."c": got \[1, 2\], expected a table of 2×2 answers'):
        loads_key("[answers]\nc = [1, 2]\n", exercise)


@pytest.mark.slow
def test_an_answer_key_gives_a_matrix_of_formulas():
    exercise = loads(EXERCISE)
    formulas = [[f"2*(yhat_1 - y_1)*h_1[{j}] + 2*(yhat_2 - y_2)*h_2[{j}]" for j in (1, 2)]]
    right = check_exercise(exercise, loads_key(_key(str(formulas).replace("'", '"')), exercise))
    assert right.ok, str(right)
    wrong_formulas = [[formulas[0][0], "2*(yhat_2 - y_2)*h_2[2]"]]
    wrong = check_exercise(exercise, loads_key(_key(str(wrong_formulas).replace("'", '"')), exercise))
    assert [r.status for r in wrong.results] == ["ok", "wrong", "ok", "ok"]
    assert any(note.startswith("[1,2]:") for note in wrong.results[1].notes)


def test_rnnsym_check_passes_on_a_vector_exercise(tmp_path, capsys):
    from rnnsym.cli import main

    path = tmp_path / "vector.toml"
    path.write_text(EXERCISE)
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "dL/dW_h" in out and "4 questions: all agree" in out


# --- the traps: values, names, kinks --------------------------------------------------------


def test_graph_evaluate_takes_the_values_every_call_takes():
    graph = rnnsym.elman(2, hidden=2, activation="identity")
    values = {"h_0": [1, 0], "x": [1, 2], "y": [0, 1], "W_h": [[1, 2], [3, 4]], "W_x": [[1], [-1]], "W_y": [[1, 1]]}
    # h_1 = W_h h_0 + W_x x_1 = (1 + 1, 3 − 1) = (2, 2); h_2 = (2 + 4 + 2, 6 + 8 − 2) = (8, 12); ŷ_2 = 20
    assert graph.evaluate(values).value("yhat_2") == 20
    assert graph.evaluate(values, 10).value("h_2[2]") == sympy.Float(12, 10)


def test_a_derivative_asks_only_for_the_leaves_it_depends_on():
    graph = rnnsym.elman(6)
    needed = {"h_0": 1, "x": [1] * 6, "W_h": "0.5", "W_x": 1}  # no W_y, no y
    assert rnnsym.derive(graph, "h_6", "h_0").evaluate(needed) == sympy.Rational(1, 2) ** 6  # ∂h_6/∂h_0 = W_h⁶
    h = Fraction(1)
    for _ in range(3):
        h = h / 2 + 1
    assert rnnsym.compute(graph, "h_3").evaluate(needed) == sympy.Rational(h.numerator, h.denominator)
    assert rnnsym.derive(graph, "h_6", "h_0").latex(needed)[-1].endswith(" = " + str(0.5 ** 6))  # written as 0.5 is
    with pytest.raises(InputError, match="values.W_x: got nothing"):
        rnnsym.derive(graph, "h_6", "h_0").evaluate({"h_0": 1, "x": [1] * 6, "W_h": "0.5"})
    with pytest.raises(InputError, match="values.W_y: got nothing"):
        rnnsym.derive(graph, "L", "h_0").evaluate(needed)


@pytest.mark.parametrize("equation, name", [
    ("tanh(a*prev(h) + x_1)", "x_1"),
    ("tanh(a*prev(h) + h_0*now(x))", "h_0"),
    ("tanh(L*prev(h) + now(x))", "L"),
    ("tanh(L_2*prev(h) + now(x))", "L_2"),
    ("tanh(yhat_1*prev(h) + now(x))", "yhat_1"),
])
def test_define_cell_refuses_a_parameter_named_like_a_leaf_or_quantity(equation, name):
    with pytest.raises(InputError, match=f"equations: got '{name}', expected a parameter name that is not"):
        rnnsym.define_cell([("h", equation)])


def test_define_cell_refuses_a_quantity_computed_twice():
    with pytest.raises(InputError, match="equations: got 'h', expected a quantity computed by one equation only"):
        rnnsym.define_cell([("h", "tanh(a*prev(h) + now(x))"), ("h", "prev(h)")])


def test_rnnsym_check_remarks_on_relus_kink(tmp_path, capsys):
    from rnnsym.cli import main

    path = tmp_path / "kink.toml"
    # z_1 = h_0 W_h + x_1 W_x = 1 − 1 = 0: relu's kink
    path.write_text('title = "kink"\n[model]\ncell = "elman"\nactivation = "relu"\nsteps = 2\n'
                    '[values]\nh_0 = 1\nx = [-10, 10]\ny = [5, 5]\nW_h = 1\nW_x = "0.1"\nW_y = 2\n'
                    '[[questions]]\nlabel = "a"\ntext = "t"\nfind = "dL/dW_h"\n')
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "a: finite differences skipped: relu's argument is exactly 0 at h_1" in out
    assert "relu′(0) = 0" in out


# --- a property: the truncated matrix and what it drops add up to the gradient ----------------

LINEAR = rnnsym.elman(3, hidden=2, activation="identity")


@settings(max_examples=15, deadline=None)
@given(point=value_strategy(LINEAR, max_denominator=4), k=st.integers(1, 3))
def test_kept_and_dropped_matrices_add_up_to_the_gradient_entry_by_entry(point, k):
    derivation = rnnsym.derive(LINEAR, "L", "W_x", truncate=k)
    kept, dropped, full = derivation.values(point)
    assert kept + dropped == full == rnnsym.derive(LINEAR, "L", "W_x").evaluate(point)
    for i in (1, 2):
        assert kept[i - 1, 0] == rnnsym.derive(LINEAR, "L", f"W_x[{i},1]", truncate=k).evaluate(point)
    if k == 3:  # k >= T keeps every contribution
        assert dropped == sympy.zeros(2, 1)
