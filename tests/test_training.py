"""Training-step questions: one step of gradient descent, clipped by global norm or not.

Every value is checked against a reference written here: the reference model's
gradients from the independent BPTT of ``tests/reference_rnn.py`` (Fractions),
and for a tanh model and a vector model, gradients by central differences of a
loss computed here in 50-digit mpmath; the step itself, W' = W − η s g with
s = min(1, c/‖g‖), is recomputed from those gradients.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import pytest
import sympy
from hypothesis import HealthCheck, given, settings, strategies as st

import rnnsym
from rnnsym import InputError
from rnnsym.exercise import loads
from rnnsym.grading import check_exercise, loads_key
from rnnsym.key import AnswerKey
from rnnsym.printing import markdown, text
from rnnsym.sheet import Sheet, prompt
from rnnsym.training import StepSpec, TrainingStep, parameters, sgd_step
from rnnsym.variants import single

from reference_rnn import Model, run

DIGITS = 50
REFERENCE = {"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": "0.1", "W_y": 2}
LEAVES = {"h_0": 1, "x_1": 10, "x_2": 10, "y_1": 5, "y_2": 5, "W_h": 1, "W_x": Fraction(1, 10), "W_y": 2}


def reference_gradients() -> dict[str, Fraction]:
    """dL/dW of the reference exercise by the independent BPTT, exactly."""
    _, grad = run(Model(steps=2), LEAVES)
    return {name: grad[name] for name in ("W_h", "W_x", "W_y")}


@pytest.fixture(autouse=True)
def precision():
    """Every test here computes its reference in 70-digit mpmath."""
    with mpmath.workdps(DIGITS + 20):
        yield


def real(value) -> mpmath.mpf:
    """An exact sympy value as a 70-digit number (no rnnsym code involved)."""
    return mpmath.mpf(str(sympy.N(value, DIGITS + 20)))


def mp(value) -> mpmath.mpf:
    """A Fraction or an integer as an mpmath number."""
    value = Fraction(value)
    return mpmath.mpf(value.numerator) / value.denominator


# -- the reference exercise, exactly --------------------------------------------------------------------------


def test_the_reference_gradients_are_the_ones_the_issue_quotes():
    assert reference_gradients() == {"W_h": 8, "W_x": 40, "W_y": 2}


def test_one_sgd_step_on_the_reference_exercise():
    g = reference_gradients()
    lr = Fraction(1, 10)
    step = sgd_step(rnnsym.reference().graph, "W_h", "0.1")
    assert step.evaluate(REFERENCE) == LEAVES["W_h"] - lr * g["W_h"]  # 1 − 0.1 × 8 = 0.2
    last = step.latex(REFERENCE)[-1]
    assert last.endswith(r"= 1 - 0.1 \times 8 = 0.2")
    assert last.startswith(r"W_{h}' = W_{h} - \eta \times \frac{\partial L}{\partial W_{h}}")


def test_the_step_shows_the_gradient_derivation_first():
    ex = rnnsym.reference()
    lines = sgd_step(ex.graph, "W_h", "0.1").latex(ex.values)
    gradient = rnnsym.derive(ex.graph, "L", "W_h").latex(ex.values)
    assert lines[1:1 + len(gradient)] == gradient


def test_several_parameters_in_one_step():
    g = reference_gradients()
    lr = Fraction(1, 10)
    new = sgd_step(rnnsym.reference().graph, ["W_h", "W_x", "W_y"], "0.1").evaluate(REFERENCE)
    assert new == {name: LEAVES[name] - lr * g[name] for name in g}


def test_none_updates_every_parameter():
    graph = rnnsym.reference().graph
    assert sgd_step(graph, None, "0.1").wrt == ("W_h", "W_x", "W_y") == parameters(graph)


def test_a_clipped_step_of_one_parameter():
    g = reference_gradients()["W_h"]  # ‖g‖ = 8 > c = 5: s = 5/8
    step = sgd_step(rnnsym.reference().graph, "W_h", "0.1", clip=5)
    scale = min(Fraction(1), Fraction(5) / abs(g))
    assert step.evaluate(REFERENCE) == 1 - Fraction(1, 10) * scale * g == Fraction(1, 2)
    lines = step.latex(REFERENCE)
    assert any(line.endswith(r"= \sqrt{8^{2}} = 8") for line in lines)
    assert lines[-1].endswith(r"= 1 - 0.1 \times 0.625 \times 8 = 0.5")


def test_a_clipped_step_of_several_parameters_is_exact():
    g = reference_gradients()
    squared = sum(v * v for v in g.values())  # 8² + 40² + 2² = 1668
    lr, c = Fraction(1, 10), 5
    new = sgd_step(rnnsym.reference().graph, None, "0.1", clip=c).evaluate(REFERENCE)
    for name, value in new.items():
        # W' = W − η s g with s = c/‖g‖: ((W − W')/(η g))² = c²/‖g‖² exactly
        scale = (sympy.Rational(LEAVES[name]) - value) / (sympy.Rational(lr) * g[name])
        assert sympy.simplify(scale**2 - sympy.Rational(c * c, squared)) == 0
        assert abs(real(value) - (mp(LEAVES[name]) - mp(lr) * c / mpmath.sqrt(squared) * mp(g[name]))) < mpmath.mpf(10) ** -45


def test_the_clipping_lines_show_the_norm_and_the_scale():
    ex = rnnsym.reference()
    lines = sgd_step(ex.graph, None, "0.1", clip=5).latex(ex.values)
    norm = next(line for line in lines if line.startswith(r"\lVert g \rVert"))
    assert r"\sqrt{8^{2} + 40^{2} + 2^{2}} = \sqrt{1668} = 2 \times \sqrt{417} \approx 40.8412" in norm
    scale = next(line for line in lines if line.startswith("s = "))
    assert r"\min\left(1, \frac{5}{2 \times \sqrt{417}}\right)" in scale
    assert scale.endswith(r"\approx 0.122426")
    assert str(mpmath.nstr(5 / mpmath.sqrt(1668), 6)) == "0.122426"


def test_a_threshold_above_the_norm_leaves_the_gradient_as_it_is():
    g = reference_gradients()
    step = sgd_step(rnnsym.reference().graph, None, "0.1", clip=100)  # ‖g‖ ≈ 40.8 < 100
    assert step.evaluate(REFERENCE) == {name: LEAVES[name] - Fraction(1, 10) * g[name] for name in g}
    assert any(line.startswith("s = ") and line.endswith("= 1") for line in step.latex(REFERENCE))


def test_a_zero_gradient_is_not_scaled():
    ex = rnnsym.reference()
    values = dict(ex.values, y=[4, 6])  # ŷ = y: every gradient is 0
    assert sgd_step(ex.graph, None, "0.1", clip=5).evaluate(values) == {"W_h": 1, "W_x": Fraction(1, 10), "W_y": 2}


def test_decimals_agree_with_the_exact_step():
    ex = rnnsym.reference()
    step = sgd_step(ex.graph, None, "0.1", clip=5)
    exact, approx = step.evaluate(ex.values), step.evaluate(ex.values, digits=30)
    for name in exact:
        assert abs(real(exact[name]) - mpmath.mpf(str(approx[name]))) < mpmath.mpf(10) ** -25


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lr=st.fractions(min_value=Fraction(1, 100), max_value=2, max_denominator=100),
       clip=st.fractions(min_value=Fraction(1, 10), max_value=60, max_denominator=20))
def test_the_clipped_step_moves_by_the_gradient_clipped_to_norm_c(lr, clip):
    g = reference_gradients()
    norm = mpmath.sqrt(sum(v * v for v in g.values()))
    new = sgd_step(rnnsym.reference().graph, None, str(lr), clip=str(clip)).evaluate(REFERENCE)
    moved = [(mp(LEAVES[name]) - real(value)) / mp(lr) for name, value in new.items()]  # the clipped gradient
    size = mpmath.sqrt(mpmath.fsum(m * m for m in moved))
    assert abs(size - min(norm, mp(clip))) < mpmath.mpf(10) ** -40
    for m, name in zip(moved, new):  # and in the gradient's direction
        assert abs(m * norm - mp(g[name]) * size) < mpmath.mpf(10) ** -38


# -- a tanh model and a vector model, against central differences -----------------------------------------


def tanh_loss(w: dict) -> mpmath.mpf:
    """L of a 3-step scalar tanh RNN with squared loss at every step, in mpmath."""
    h, total = w["h_0"], mpmath.mpf(0)
    for x, y in zip(w["x"], w["y"]):
        h = mpmath.tanh(h * w["W_h"] + x * w["W_x"])
        total += (h * w["W_y"] - y) ** 2
    return total


def central(loss, point: dict, name: str, entry=None) -> mpmath.mpf:
    step = mpmath.mpf(10) ** -20
    up, down = dict(point), dict(point)
    if entry is None:
        up[name], down[name] = point[name] + step, point[name] - step
    else:
        up[name], down[name] = point[name].copy(), point[name].copy()
        up[name][entry] += step
        down[name][entry] -= step
    return (loss(up) - loss(down)) / (2 * step)


def test_a_clipped_step_on_a_tanh_model():
    values = {"h_0": "0.5", "x": [1, "-0.5", 2], "y": ["0.3", 0, "-0.2"], "W_h": "0.8", "W_x": "0.6", "W_y": "1.5"}
    with mpmath.workdps(DIGITS + 20):
        point = {k: ([mpmath.mpf(Fraction(v).numerator) / Fraction(v).denominator for v in val] if isinstance(val, list)
                     else mpmath.mpf(Fraction(val).numerator) / Fraction(val).denominator) for k, val in values.items()}
        g = {name: central(tanh_loss, point, name) for name in ("W_h", "W_x", "W_y")}
        norm = mpmath.sqrt(mpmath.fsum(v * v for v in g.values()))
        lr, c = mpmath.mpf(1) / 2, mpmath.mpf(1) / 4
        assert norm > c  # the threshold clips
        expected = {name: point[name] - lr * min(1, c / norm) * g[name] for name in g}
    step = sgd_step(rnnsym.elman(3, activation="tanh"), None, "0.5", clip="0.25")
    new = step.evaluate(values)
    for name in g:
        assert abs(real(new[name]) - expected[name]) < mpmath.mpf(10) ** -30
    unclipped = sgd_step(rnnsym.elman(3, activation="tanh"), "W_y", "0.5").evaluate(values)
    with mpmath.workdps(DIGITS):
        assert abs(real(unclipped) - (point["W_y"] - lr * g["W_y"])) < mpmath.mpf(10) ** -30
    # the written step ends in a decimal, and the text and Markdown hold the same update lines
    assert step.latex(values)[-1].split(r"\approx ")[-1] == mpmath.nstr(expected["W_y"], 6)
    assert "W_y' = W_y − η × s × ∂L/∂W_y" in text(step, values)
    assert r"W_{y}' &= W_{y} - \eta \times s \times" in markdown(step, values)


def vector_loss(w: dict) -> mpmath.mpf:
    """L of a 2-step Elman RNN with identity activations: h_t = W_h h_{t−1} + W_x x_t, ŷ_t = W_y h_t."""
    h, total = w["h_0"], mpmath.mpf(0)
    for x, y in zip(w["x"], w["y"]):
        h = w["W_h"] * h + w["W_x"] * mpmath.matrix([[x]])
        error = w["W_y"] * h - mpmath.matrix([[y]])
        total += error[0, 0] ** 2
    return total


def test_a_clipped_step_of_whole_matrices():
    values = {"h_0": [1, 0], "x": [1, 2], "y": [0, 1], "W_h": [[1, 0], [0, 1]], "W_x": [[1], [0]], "W_y": [[1, 1]]}
    with mpmath.workdps(DIGITS + 20):
        point = {"h_0": mpmath.matrix([[1], [0]]), "x": [1, 2], "y": [0, 1], "W_h": mpmath.matrix([[1, 0], [0, 1]]),
                 "W_x": mpmath.matrix([[1], [0]]), "W_y": mpmath.matrix([[1, 1]])}
        g = {name: {(i, j): central(vector_loss, point, name, (i, j))
                    for i in range(point[name].rows) for j in range(point[name].cols)} for name in ("W_h", "W_y")}
        norm = mpmath.sqrt(mpmath.fsum(v * v for entries in g.values() for v in entries.values()))
        lr, c = mpmath.mpf(1) / 100, mpmath.mpf(3)
        expected = {name: {ij: point[name][ij] - lr * min(1, c / norm) * v for ij, v in entries.items()}
                    for name, entries in g.items()}
    graph = rnnsym.elman(2, hidden=2)
    new = sgd_step(graph, ["W_h", "W_y"], "0.01", clip=3).evaluate(values)
    for name, entries in expected.items():
        assert new[name].shape == (point[name].rows, point[name].cols)
        for (i, j), value in entries.items():
            assert abs(real(new[name][i, j]) - value) < mpmath.mpf(10) ** -30
    rows = sgd_step(graph, ["W_h", "W_y"], "0.01", clip=3).entries(rnnsym.evaluate(graph, values))
    assert [name for name, _ in rows] == ["W_h[1,1]", "W_h[1,2]", "W_h[2,1]", "W_h[2,2]", "W_y[1,1]", "W_y[1,2]"]
    assert [value for _, value in rows][:4] == list(new["W_h"])


# -- errors ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("wrt, lr, clip, field", [
    ("h_1", "0.1", None, "wrt"), (["W_h", "W_h"], "0.1", None, "wrt[1]"), ([], "0.1", None, "wrt"),
    ("W_h", 0, None, "lr"), ("W_h", "-0.1", None, "lr"), ("W_h", "fast", None, "lr"), ("W_h", "0.1", 0, "clip"),
])
def test_bad_arguments_name_the_field(wrt, lr, clip, field):
    with pytest.raises(InputError) as error:
        sgd_step(rnnsym.reference().graph, wrt, lr, clip)
    assert error.value.field == field


def test_the_loss_is_what_a_step_descends():
    with pytest.raises(InputError, match="^of: got 'L_1'"):
        sgd_step(rnnsym.reference().graph, "W_h", "0.1", of="L_1")


# -- exercise files, answer keys, checking and sheets ---------------------------------------------------------

EXERCISE = """
title = "A step"
[model]
cell = "elman"
steps = 2
[values]
h_0 = 1
x = [10, 10]
y = [5, 5]
W_h = 1
W_x = "0.1"
W_y = 2
[[questions]]
label = "a"
find = "dL/dW_h"
step = { lr = "0.1" }
[[questions]]
label = "b"
find = "step"
step = { lr = "0.1", clip = 5 }
"""


def test_an_exercise_file_asks_for_steps():
    ex = loads(EXERCISE)
    a, b = ex.questions
    assert a.step == StepSpec(rnnsym.parse_number("0.1", "lr"), None, ("W_h",))
    assert b.step.wrt == ("W_h", "W_x", "W_y") and b.step.clip.exact == 5
    assert isinstance(ex.answer(a), TrainingStep)
    assert ex.answer(a).evaluate(ex.values) == Fraction(1, 5)
    assert ex.answer(b).evaluate(ex.values) == sgd_step(ex.graph, None, "0.1", clip=5).evaluate(ex.values)


@pytest.mark.parametrize("question, field, words", [
    ('find = "dL/dW_h"\nstep = { lr = "0.1", wrt = ["W_x"] }', "questions[0].step.wrt", "no wrt"),
    ('find = "step"\nstep = { clip = 5 }', "questions[0].step.lr", "required"),
    ('find = "step"\nstep = { lr = "0.1", rate = 1 }', "questions[0].step", "a key among lr, clip, wrt"),
    ('find = "step"\nstep = "0.1"', "questions[0].step", "a table"),
    ('find = "step"\nstep = { lr = "0.1", wrt = ["h_0", "W_h"] }', "questions[0].step.wrt[0]", "a parameter"),
    ('find = "dL/dh_1"\nstep = { lr = "0.1" }', "questions[0].find", "a parameter"),
    ('find = "dL_1/dW_h"\nstep = { lr = "0.1" }', "questions[0].find", "gradient of the loss"),
    ('find = "yhat_2"\nstep = { lr = "0.1" }', "questions[0].find", "gradient of the loss"),
    ('find = "dL/dW_h"\nstep = { lr = "0.1" }\ntruncate = 1', "questions[0].truncate", "no truncation"),
    ('show = "vanishing"\nstep = { lr = "0.1" }', "questions[0].step", "no step together with show"),
    ('text = "Why?"\nanswer = "Because."\nstep = { lr = "0.1" }', "questions[0].step", "no step without find"),
])
def test_a_bad_step_question_names_its_field(question, field, words):
    text_ = EXERCISE.split("[[questions]]")[0] + "[[questions]]\n" + question + "\n"
    with pytest.raises(InputError) as error:
        loads(text_)
    assert error.value.field == field, str(error.value)
    assert words in str(error.value)


def test_the_answer_key_has_a_row_per_new_parameter():
    rows = AnswerKey.from_variants(single(loads(EXERCISE))).rows
    assert [(r.label, r.entry, r.exact) for r in rows] == [
        ("a", "W_h", "1/5"),
        ("b", "W_h", "1 - 2*sqrt(417)/417"), ("b", "W_x", "1/10 - 10*sqrt(417)/417"), ("b", "W_y", "2 - sqrt(417)/834"),
    ]
    g, norm = reference_gradients(), mpmath.sqrt(1668)
    for row in rows[1:]:
        independent = mp(LEAVES[row.entry]) - mp(Fraction(1, 10)) * 5 / norm * mp(g[row.entry])
        assert abs(mpmath.mpf(row.decimal) - independent) < mpmath.mpf(10) ** -14


def test_check_agrees_and_compares_the_key():
    ex = loads(EXERCISE)
    result = check_exercise(ex, loads_key('[answers]\na = "0.2"', ex))
    assert result.ok and [r.consistent for r in result.results] == [True, True]
    wrong = check_exercise(ex, loads_key('[answers]\na = "0.3"', ex))
    assert not wrong.ok
    assert "expected 0.3, but W_h after the step = 1/5" in str(wrong)


def test_check_finds_a_wrong_step(monkeypatch):
    ex = loads(EXERCISE)
    entries = TrainingStep.entries
    monkeypatch.setattr(TrainingStep, "entries", lambda self, ev: [(n, v + sympy.Rational(1, 10**12))
                                                                    for n, v in entries(self, ev)])
    result = check_exercise(ex)
    assert [r.status for r in result.results] == ["MISMATCH", "MISMATCH"]
    assert "from finite-difference gradients" in str(result)


def test_the_sheets_and_the_text_formats_write_the_step():
    ex = loads(EXERCISE)
    solutions = Sheet([ex]).tex()
    assert r"W_{h}' &= W_{h} - \eta \times \frac{\partial L}{\partial W_{h}} = 1 - 0.1 \times 8 = 0.2" in solutions
    assert r"\texttt{clip\_grad\_norm\_}" in solutions
    questions = Sheet([ex], kind="questions").tex()
    assert prompt(ex.questions[0]) in questions
    assert prompt(ex.questions[1]).endswith("the gradient clipped to global norm $c = 5$.")
    written = text(ex)
    assert "W_h' = W_h − η × ∂L/∂W_h = 1 − 0.1 × 8 = 0.2" in written
    assert "‖g‖ = √((∂L/∂W_h)² + (∂L/∂W_x)² + (∂L/∂W_y)²) = √(8² + 40² + 2²) = √1668" in written
    assert r"s &= \min\left(1, \frac{c}{\lVert g \rVert}\right) = \min\left(1, \frac{5}{2 \times \sqrt{417}}\right)" in markdown(ex)


def test_a_moodle_export_asks_for_each_new_parameter():
    from rnnsym.lms import moodle_xml
    xml = moodle_xml(single(loads(EXERCISE)))
    for name in ("W_h", "W_x", "W_y"):
        assert f"Answer with {name} after the step." in xml
    assert "of the result" not in xml
    assert "after one step of gradient descent" in xml
