"""Golden LaTeX for the reference exercise (IN5400 week 10, Task 1) and render options.

Rows of ``assert line == r"..."``: each golden line is the seed's answer line
written the way rnnsym spells it (``\\hat{y}_{2}``, ``\\left(...\\right)``,
``\\,`` for juxtaposed factors), with the seed's value at the end.
"""

from __future__ import annotations

import math
from pathlib import Path
import re
from fractions import Fraction
from importlib import resources

import pytest
import sympy

import rnnsym
from rnnsym import InputError, InputTypeError, RenderOptions, RnnsymError, compute, derive, elman
from rnnsym.exercise import REFERENCE
from rnnsym.printing import Line, assignment_lines
from rnnsym.derivation.lines import derivation_lines

VALUES = {"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": "0.1", "W_y": 2}


@pytest.fixture(scope="module")
def exercise():
    return rnnsym.reference()


def lines_for(exercise, label, **options):
    (question,) = [q for q in exercise.questions if q.label == label]
    return exercise.answer(question).latex(exercise.values, RenderOptions(**options) if options else None)


# --- the reference exercise, question by question ------------------------------

def test_reference_questions(exercise):
    assert [(q.label, q.find) for q in exercise.questions if q.show is None] == [
        ("1.a", "yhat_2"),
        ("1.b", "L"),
        ("1.c", "dL/dh_1"),
        ("1.d", "dL/dW_h"),
    ]


def test_1a_predicted_value(exercise):
    h1, h2, yhat2 = lines_for(exercise, "1.a")
    assert h1 == r"h_{1} = h_{0} \times W_{h} + x_{1} \times W_{x} = 1 \times 1 + 10 \times 0.1 = 2"
    assert h2 == r"h_{2} = h_{1} \times W_{h} + x_{2} \times W_{x} = 2 \times 1 + 10 \times 0.1 = 3"
    assert yhat2 == r"\hat{y}_{2} = h_{2} \times W_{y} = 3 \times 2 = 6"


def test_1b_total_loss(exercise):
    lines = lines_for(exercise, "1.b")
    assert lines == [
        r"h_{1} = h_{0} \times W_{h} + x_{1} \times W_{x} = 1 \times 1 + 10 \times 0.1 = 2",
        r"\hat{y}_{1} = h_{1} \times W_{y} = 2 \times 2 = 4",
        r"h_{2} = h_{1} \times W_{h} + x_{2} \times W_{x} = 2 \times 1 + 10 \times 0.1 = 3",
        r"\hat{y}_{2} = h_{2} \times W_{y} = 3 \times 2 = 6",
        r"L_{1} = \left(\hat{y}_{1} - y_{1}\right)^{2} = \left(4 - 5\right)^{2} = 1",
        r"L_{2} = \left(\hat{y}_{2} - y_{2}\right)^{2} = \left(6 - 5\right)^{2} = 1",
        r"L = L_{1} + L_{2} = 1 + 1 = 2",
    ]


def test_1c_derivative_wrt_h1(exercise):
    lines = lines_for(exercise, "1.c")
    assert lines[0] == r"\hat{y}_{1} = h_{1} \times W_{y}"
    assert lines[1] == r"\hat{y}_{2} = h_{2} \times W_{y} = \left(h_{1} \times W_{h} + x_{2} \times W_{x}\right) \times W_{y}"
    assert lines[2] == r"L = L_{1} + L_{2} = \left(\hat{y}_{1} - y_{1}\right)^{2} + \left(\hat{y}_{2} - y_{2}\right)^{2}"
    assert lines[3] == r"\frac{\partial L}{\partial h_{1}} = \frac{\partial L_{1}}{\partial h_{1}} + \frac{\partial L_{2}}{\partial h_{1}}"
    assert lines[4] == (
        r"\frac{\partial L_{1}}{\partial h_{1}} = \frac{\partial L_{1}}{\partial \hat{y}_{1}} \times \frac{\partial \hat{y}_{1}}{\partial h_{1}}"
        r" = 2 \times \left(\hat{y}_{1} - y_{1}\right) \times W_{y} = 2 \times \left(4 - 5\right) \times 2 = -4"
    )
    assert lines[5] == (
        r"\frac{\partial L_{2}}{\partial h_{1}} = \frac{\partial L_{2}}{\partial \hat{y}_{2}} \times \frac{\partial \hat{y}_{2}}{\partial h_{1}}"
        r" = 2 \times \left(\hat{y}_{2} - y_{2}\right) \times W_{h} \, W_{y} = 2 \times \left(6 - 5\right) \times 1 \times 2 = 4"
    )
    assert lines[6] == r"\frac{\partial L}{\partial h_{1}} = -4 + 4 = 0"
    assert len(lines) == 7


def test_1d_derivative_wrt_Wh(exercise):
    lines = lines_for(exercise, "1.d")
    assert lines[0] == r"\hat{y}_{1} = h_{1} \times W_{y} = \left(h_{0} \times W_{h} + x_{1} \times W_{x}\right) \times W_{y}"
    assert lines[1] == r"\hat{y}_{2} = h_{2} \times W_{y} = \left(h_{1} \times W_{h} + x_{2} \times W_{x}\right) \times W_{y}"
    assert lines[2] == r"L = L_{1} + L_{2} = \left(\hat{y}_{1} - y_{1}\right)^{2} + \left(\hat{y}_{2} - y_{2}\right)^{2}"
    assert lines[3] == r"\frac{\partial L}{\partial W_{h}} = \frac{\partial L_{1}}{\partial W_{h}} + \frac{\partial L_{2}}{\partial W_{h}}"
    assert lines[4] == (
        r"\frac{\partial L_{1}}{\partial W_{h}} = \frac{\partial L_{1}}{\partial \hat{y}_{1}} \times \frac{\partial \hat{y}_{1}}{\partial W_{h}}"
        r" = 2 \times \left(\hat{y}_{1} - y_{1}\right) \times h_{0} \, W_{y} = 2 \times \left(4 - 5\right) \times 1 \times 2 = -4"
    )
    assert lines[5] == (
        r"\frac{\partial L_{2}}{\partial W_{h}} = \frac{\partial L_{2}}{\partial \hat{y}_{2}} \times \frac{\partial \hat{y}_{2}}{\partial W_{h}}"
        r" = 2 \times \left(\hat{y}_{2} - y_{2}\right) \times \left(h_{0} \, W_{h} \, W_{y} + h_{1} \, W_{y}\right)"
        r" = 2 \times \left(6 - 5\right) \times \left(1 \times 1 \times 2 + 2 \times 2\right) = 12"
    )
    assert lines[6] == r"\frac{\partial L}{\partial W_{h}} = -4 + 12 = 8"
    assert len(lines) == 7


def test_split_per_time_step():
    lines = derive(elman(2), "L", "W_h", split="step").latex(VALUES)
    assert lines[3:] == [
        r"\frac{\partial L}{\partial \hat{y}_{2}} = \frac{\partial L_{2}}{\partial \hat{y}_{2}} = 2 \times \left(\hat{y}_{2} - y_{2}\right) = 2 \times \left(6 - 5\right) = 2",
        r"\frac{\partial L}{\partial h_{2}} = \frac{\partial L}{\partial \hat{y}_{2}} \times \frac{\partial \hat{y}_{2}}{\partial h_{2}} = \frac{\partial L}{\partial \hat{y}_{2}} \times W_{y} = 2 \times 2 = 4",
        r"\frac{\partial L}{\partial \hat{y}_{1}} = \frac{\partial L_{1}}{\partial \hat{y}_{1}} = 2 \times \left(\hat{y}_{1} - y_{1}\right) = 2 \times \left(4 - 5\right) = -2",
        r"\frac{\partial L}{\partial h_{1}} = \frac{\partial L}{\partial \hat{y}_{1}} \times \frac{\partial \hat{y}_{1}}{\partial h_{1}} + \frac{\partial L}{\partial h_{2}} \times \frac{\partial h_{2}}{\partial h_{1}}"
        r" = \frac{\partial L}{\partial \hat{y}_{1}} \times W_{y} + \frac{\partial L}{\partial h_{2}} \times W_{h} = \left(-2\right) \times 2 + 4 \times 1 = 0",
        r"\frac{\partial L}{\partial W_{h}} = \frac{\partial L}{\partial h_{1}} \times \frac{\partial^{+} h_{1}}{\partial W_{h}} + \frac{\partial L}{\partial h_{2}} \times \frac{\partial^{+} h_{2}}{\partial W_{h}}"
        r" = \frac{\partial L}{\partial h_{1}} \times h_{0} + \frac{\partial L}{\partial h_{2}} \times h_{1} = 0 \times 1 + 4 \times 2 = 8",
        r"\frac{\partial L}{\partial W_{h}} = 0 + 8 = 8",
    ]


def test_both_splits_agree_with_the_seed_total():
    for split in ("loss", "step"):
        d = derive(elman(2), "L", "W_h", split=split)
        assert d.evaluate(VALUES) == 8
    assert derive(elman(2), "L", "h_1").evaluate(VALUES) == 0


def test_symbolic_lines_without_values():
    lines = derive(elman(2), "L", "h_1").latex()
    assert lines[-1] == (
        r"\frac{\partial L_{2}}{\partial h_{1}} = \frac{\partial L_{2}}{\partial \hat{y}_{2}} \times \frac{\partial \hat{y}_{2}}{\partial h_{1}}"
        r" = 2 \times \left(\hat{y}_{2} - y_{2}\right) \times W_{h} \, W_{y}"
    )
    assert not any(re.search(r"= -?\d+$", line) for line in lines)


def test_assignment_lines():
    assert assignment_lines(elman(2)) == [
        r"h_{1} = h_{0} \times W_{h} + x_{1} \times W_{x}",
        r"\hat{y}_{1} = h_{1} \times W_{y}",
        r"h_{2} = h_{1} \times W_{h} + x_{2} \times W_{x}",
        r"\hat{y}_{2} = h_{2} \times W_{y}",
        r"L_{1} = \left(\hat{y}_{1} - y_{1}\right)^{2}",
        r"L_{2} = \left(\hat{y}_{2} - y_{2}\right)^{2}",
        r"L = L_{1} + L_{2}",
    ]


def test_render_lines_keep_parts_apart():
    line = derivation_lines(derive(elman(2), "L", "h_1"), VALUES)[-1]
    assert isinstance(line, Line)
    assert line.parts == (r"\frac{\partial L}{\partial h_{1}}", "-4 + 4", "0")
    assert str(line) == r"\frac{\partial L}{\partial h_{1}} = -4 + 4 = 0"


def test_never_distributes_the_factor_two():
    for label in ("1.c", "1.d"):
        for line in lines_for(rnnsym.reference(), label):
            assert r"2 \hat{y}" not in line and r"2 \times \hat{y}" not in line


# --- RenderOptions ----------------------------------------------------------------

def test_option_cdot(exercise):
    lines = lines_for(exercise, "1.d", times="cdot")
    assert lines[4] == (
        r"\frac{\partial L_{1}}{\partial W_{h}} = \frac{\partial L_{1}}{\partial \hat{y}_{1}} \cdot \frac{\partial \hat{y}_{1}}{\partial W_{h}}"
        r" = 2 \cdot \left(\hat{y}_{1} - y_{1}\right) \cdot h_{0} \, W_{y} = 2 \cdot \left(4 - 5\right) \cdot 1 \cdot 2 = -4"
    )
    assert lines[6] == r"\frac{\partial L}{\partial W_{h}} = -4 + 12 = 8"
    assert not any(r"\times" in line for line in lines)


def test_option_partial_d(exercise):
    lines = lines_for(exercise, "1.c", partial="d")
    assert lines[4] == (
        r"\frac{d L_{1}}{d h_{1}} = \frac{d L_{1}}{d \hat{y}_{1}} \times \frac{d \hat{y}_{1}}{d h_{1}}"
        r" = 2 \times \left(\hat{y}_{1} - y_{1}\right) \times W_{y} = 2 \times \left(4 - 5\right) \times 2 = -4"
    )
    assert lines[6] == r"\frac{d L}{d h_{1}} = -4 + 4 = 0"
    assert not any(r"\partial" in line for line in lines)


def test_option_no_numbers(exercise):
    lines = lines_for(exercise, "1.d", numbers=False)
    assert lines[4] == (
        r"\frac{\partial L_{1}}{\partial W_{h}} = \frac{\partial L_{1}}{\partial \hat{y}_{1}} \times \frac{\partial \hat{y}_{1}}{\partial W_{h}}"
        r" = 2 \times \left(\hat{y}_{1} - y_{1}\right) \times h_{0} \, W_{y} = -4"
    )
    assert lines[5].endswith(r"\times \left(h_{0} \, W_{h} \, W_{y} + h_{1} \, W_{y}\right) = 12")
    assert lines[6] == r"\frac{\partial L}{\partial W_{h}} = -4 + 12 = 8"
    assert lines_for(exercise, "1.a", numbers=False) == [
        r"h_{1} = h_{0} \times W_{h} + x_{1} \times W_{x} = 2",
        r"h_{2} = h_{1} \times W_{h} + x_{2} \times W_{x} = 3",
        r"\hat{y}_{2} = h_{2} \times W_{y} = 6",
    ]


def test_option_no_recall(exercise):
    full = lines_for(exercise, "1.d")
    lines = lines_for(exercise, "1.d", recall=False)
    assert lines == full[3:]
    assert lines[0] == r"\frac{\partial L}{\partial W_{h}} = \frac{\partial L_{1}}{\partial W_{h}} + \frac{\partial L_{2}}{\partial W_{h}}"
    assert lines[-1] == r"\frac{\partial L}{\partial W_{h}} = -4 + 12 = 8"


@pytest.mark.parametrize(
    "field, value, error",
    [
        ("times", "star", InputError),
        ("times", r"\times", InputError),
        ("times", None, InputError),
        ("partial", "D", InputError),
        ("partial", "∂", InputError),
        ("numbers", "yes", InputTypeError),
        ("numbers", 1, InputTypeError),
        ("recall", None, InputTypeError),
        ("approx_digits", -1, InputError),
        ("approx_digits", 51, InputError),
        ("approx_digits", True, InputError),
        ("approx_digits", 2.5, InputError),
        ("max_decimals", "6", InputError),
        ("max_decimals", -2, InputError),
        ("notation", "plain", InputTypeError),
    ],
)
def test_invalid_render_options(field, value, error):
    with pytest.raises(error) as caught:
        RenderOptions(**{field: value})
    assert isinstance(caught.value, RnnsymError)
    assert str(caught.value).startswith(f"options.{field}: got {value!r}")
    assert caught.value.field == f"options.{field}"


# --- exact numbers -------------------------------------------------------------

def test_point_one_prints_as_written(exercise):
    text = "\n".join(line for label in ("1.a", "1.b") for line in lines_for(exercise, label))
    assert r"10 \times 0.1" in text
    assert r"\frac{1}{10}" not in text
    assert "0.1000" not in text
    assert "0.10000000000000" not in text


def test_toml_float_and_string_point_one_render_the_same(exercise):
    text = resources.files("rnnsym.exercises").joinpath(REFERENCE).read_text(encoding="utf-8")
    assert 'W_x = "0.1"' in text
    as_float = rnnsym.loads(text.replace('W_x = "0.1"', "W_x = 0.1"))
    for q_string, q_float in zip(exercise.questions[:4], as_float.questions[:4]):
        assert q_string.show is None
        assert exercise.answer(q_string).latex(exercise.values) == as_float.answer(q_float).latex(as_float.values)


def test_decimal_results_are_exact_not_float_sums():
    values = {"h_0": 0, "x": [0.1, 0.2], "y": [0, 0], "W_h": 1, "W_x": 1, "W_y": 1}
    assert 0.1 + 0.2 != 0.3  # the float trap this guards against
    lines = compute(elman(2), "h_2").latex(values)
    assert lines[-1] == r"h_{2} = h_{1} \times W_{h} + x_{2} \times W_{x} = 0.1 \times 1 + 0.2 \times 1 = 0.3"
    assert "0.30000000000000004" not in "\n".join(lines)


def test_fraction_value_prints_as_frac():
    values = dict(VALUES, W_x="1/3")
    h1 = compute(elman(2), "h_1").latex(values)[-1]
    # h_1 = 1*1 + 10*(1/3) = 13/3
    assert h1 == r"h_{1} = h_{0} \times W_{h} + x_{1} \times W_{x} = 1 \times 1 + 10 \times \frac{1}{3} = \frac{13}{3}"


def _frac(q: Fraction) -> str:
    if q.denominator == 1:
        return str(q.numerator)
    sign = "-" if q < 0 else ""
    return rf"{sign}\frac{{{abs(q.numerator)}}}{{{q.denominator}}}"


def test_fraction_results_are_exact():
    # An independent forward pass and the seed's chain-rule formulas, in Fraction arithmetic.
    h0, x1, x2, y1, y2, Wh, Wx, Wy = map(Fraction, (1, 10, 10, 5, 5, 1, Fraction(1, 3), 2))
    h1 = h0 * Wh + x1 * Wx
    h2 = h1 * Wh + x2 * Wx
    yh1, yh2 = h1 * Wy, h2 * Wy
    L = (yh1 - y1) ** 2 + (yh2 - y2) ** 2
    dL1 = 2 * (yh1 - y1) * h0 * Wy
    dL2 = 2 * (yh2 - y2) * (h0 * Wh * Wy + h1 * Wy)
    assert L.denominator != 1 and dL1.denominator != 1  # the test really exercises fractions

    values = dict(VALUES, W_x="1/3")
    assert compute(elman(2), "L").latex(values)[-1].endswith(f" = {_frac(L)}")
    lines = derive(elman(2), "L", "W_h").latex(values)
    assert lines[4].endswith(f" = {_frac(dL1)}")
    assert lines[5].endswith(f" = {_frac(dL2)}")
    assert lines[6] == rf"\frac{{\partial L}}{{\partial W_{{h}}}} = {_frac(dL1)} + {_frac(dL2)} = {_frac(dL1 + dL2)}"
    assert derive(elman(2), "L", "W_h").evaluate(values) == sympy.Rational(dL1 + dL2)
    assert not any("." in line.split(" = ")[-1] for line in lines)


TANH_VALUES = {"h_0": 0, "x": [1, 1], "y": [0, 0], "W_h": 1, "W_x": "1/2", "W_y": 2}


def _approx(line: str) -> float:
    match = re.search(r"\\approx (-?[0-9.]+)$", line)
    assert match, line
    return float(match.group(1))


def test_tanh_value_is_exact_with_an_approximation():
    line = compute(elman(2, activation="tanh"), "h_1").latex(TANH_VALUES)[-1]
    assert line.startswith(r"h_{1} = \tanh{\left(z_{1} \right)}")
    # the numbers line already spells the exact value, so only its decimal follows
    assert line.count(r"\tanh") == 2
    assert r"= \tanh{\left(0.5 \right)} \approx " in line
    assert _approx(line) == pytest.approx(math.tanh(0.5), rel=1e-5)


def test_tanh_gradient_matches_an_independent_sympy_diff():
    h0, x1, x2, y1, y2, Wh, Wx, Wy = sympy.symbols("h0 x1 x2 y1 y2 Wh Wx Wy")
    h1 = sympy.tanh(h0 * Wh + x1 * Wx)
    h2 = sympy.tanh(h1 * Wh + x2 * Wx)
    loss = (h1 * Wy - y1) ** 2 + (h2 * Wy - y2) ** 2
    subs = {h0: 0, x1: 1, x2: 1, y1: 0, y2: 0, Wh: 1, Wx: sympy.Rational(1, 2), Wy: 2}
    expected = sympy.diff(loss, Wh).subs(subs)

    d = derive(elman(2, activation="tanh"), "L", "W_h")
    exact = d.evaluate(TANH_VALUES)
    assert not isinstance(exact, sympy.Float) and not exact.has(sympy.Float)
    assert abs(sympy.N(exact - expected, 40)) < sympy.Float("1e-35")
    last = d.latex(TANH_VALUES)[-1]
    assert last.startswith(r"\frac{\partial L}{\partial W_{h}}")
    assert _approx(last) == pytest.approx(float(expected), rel=1e-5)


def test_no_approximation_when_disabled():
    line = compute(elman(2, activation="tanh"), "h_1").latex(TANH_VALUES, RenderOptions(approx_digits=0))[-1]
    assert line.endswith(r"\tanh{\left(\frac{1}{2} \right)}")
    assert r"\approx" not in line
    three = compute(elman(2, activation="tanh"), "h_1").latex(TANH_VALUES, RenderOptions(approx_digits=3))[-1]
    assert three.endswith(r"\approx 0.462")


def test_a_long_forward_computation_is_shortened_in_each_group():
    values = {"h_0": 1, "x": [1] * 8, "y": [1] * 8, "W_h": 1, "W_x": 1, "W_y": 1}
    lines = compute(elman(8), "L").latex(values)
    assert lines.count(r"\vdots") == 2  # the steps h_3 … ŷ_6, then the loss terms L_3 … L_6
    assert lines[-1] == r"L = L_{1} + L_{2} + \cdots + L_{7} + L_{8} = 204"
    assert [line.split(" =")[0] for line in lines if line.startswith("L_")] == ["L_{1}", "L_{2}", "L_{7}", "L_{8}"]
    assert sum((t + 1 - 1) ** 2 for t in range(1, 9)) == 204  # ŷ_t = t + 1, y_t = 1


def test_a_decimal_is_rounded_once_from_its_exact_value():
    import mpmath

    import rnnsym

    ex = rnnsym.load(str(Path(__file__).parent.parent / "examples" / "gru.toml"))
    line = rnnsym.compute(ex.graph, "r_1").latex(ex.values)[-1]
    shown = line.rpartition(r"\approx ")[2]
    with mpmath.workdps(50):
        exact = 1 / (1 + mpmath.exp(-mpmath.mpf("1.5")))  # r_1 = σ(1·1 + 0.5·1 + 0)
        assert shown == mpmath.nstr(exact, 6) == "0.817574"  # 0.8175744761…, not 0.817575
