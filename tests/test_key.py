"""Answer keys: the rows, their values against the derivations, and CSV/JSON output."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import mpmath
import pytest
import sympy
from hypothesis import given, settings, strategies as st

import rnnsym
from rnnsym import InputError, InputTypeError
from rnnsym.exercise import Question, load, loads, reference
from rnnsym.key import COLUMNS, AnswerKey, KeyRow, answer_entries, decimal_text, exact_text
from rnnsym.variants import Variant, single

from support import variant  # noqa: E402

VECTOR = Path(__file__).resolve().parent.parent / "examples" / "vector_elman.toml"

# Another value set of the reference exercise, worked by hand:
# h_1 = 2·1 + 1·1 = 3, h_2 = 2·3 + 1·2 = 8, ŷ = h (W_y = 1), L = 3² + 8² = 73,
# ∂L/∂h_1 = 2·3·1 + 2·8·1·2 = 38, ∂L/∂W_h = 2·3·1·1 + 2·8·1·(3 + 2·1) = 86.
HAND = variant(("x = [10, 10]", "x = [1, 2]"), ("y = [5, 5]", "y = [0, 0]"), ("\nW_h = 1\n", "\nW_h = 2\n"),
               ('W_x = "0.1"', "W_x = 1"), ("\nW_y = 2\n", "\nW_y = 1\n"))
HAND_ANSWERS = {"1.a": "8", "1.b": "73", "1.c": "38", "1.d": "86"}
# A fractional one and a tanh one.
THIRDS = variant(('W_x = "0.1"', 'W_x = "1/3"'), ("\nW_h = 1\n", '\nW_h = "-0.5"\n'))
TANH = variant(('activation = "identity"', 'activation = "tanh"'), ('W_x = "0.1"', 'W_x = "0.05"'))


def run_variants() -> list[Variant]:
    return [Variant(1, None, reference()), Variant(2, 7, loads(HAND)), Variant(3, 8, loads(THIRDS)),
            Variant(4, 9, loads(TANH))]


def numeric(text: str) -> mpmath.mpf:
    with mpmath.workdps(60):
        return mpmath.mpf(text)


def close(row: KeyRow, value) -> bool:
    """The row's decimal is ``value`` rounded to 15 significant digits (half a unit in the 15th digit)."""
    with mpmath.workdps(60):
        exact = sympy.N(value, 60)
        return abs(numeric(row.decimal) - mpmath.mpf(exact)) <= abs(mpmath.mpf(exact)) * mpmath.mpf("5e-15") + mpmath.mpf(10) ** -50


def test_reference_key_holds_the_seed_answers():
    key = AnswerKey.from_variants(single(reference()))
    assert [(r.label, r.find, r.entry) for r in key] == [
        ("1.a", "yhat_2", ""), ("1.b", "L", ""), ("1.c", "dL/dh_1", ""), ("1.d", "dL/dW_h", "")]
    # IN5400 week 10, Task 1: ŷ_2 = 6, L = 2, ∂L/∂h_1 = 0, ∂L/∂W_h = 8
    assert {r.label: r.exact for r in key} == {"1.a": "6", "1.b": "2", "1.c": "0", "1.d": "8"}
    assert {r.label: r.decimal for r in key} == {"1.a": "6", "1.b": "2", "1.c": "0", "1.d": "8"}
    assert all(r.variant == 1 and r.seed is None and r.exercise == reference().title for r in key)


def test_hand_worked_variant():
    key = AnswerKey.from_variants([Variant(2, 7, loads(HAND))])
    assert {r.label: r.exact for r in key} == HAND_ANSWERS
    assert {(r.variant, r.seed) for r in key} == {(2, 7)}


def test_every_row_is_the_answer_of_its_question():
    variants = run_variants()
    key = AnswerKey.from_variants(variants)
    rows = iter(key.rows)
    for v in variants:
        ex = v.exercise
        for q in ex.questions:
            if q.show is not None:
                continue
            value = ex.answer(q).evaluate(ex.values)
            row = next(rows)
            assert (row.variant, row.seed, row.label, row.find, row.entry) == (v.index, v.seed, q.label, q.find, "")
            assert close(row, value)
            if isinstance(value, sympy.Rational):
                assert sympy.Rational(row.exact) == value
            else:  # tanh: the closed form read back is the value
                assert row.exact and not row.exact.startswith("0.")
                assert abs(sympy.N(sympy.sympify(row.exact) - value, 50)) < 1e-40
    assert next(rows, None) is None


def test_fractions_are_exact_and_rounded_decimals():
    key = AnswerKey.from_variants([Variant(1, None, loads(THIRDS))])
    values = [r.exact for r in key]
    assert any("/" in text for text in values)  # a value with W_x = 1/3 that is no integer
    for row in key:
        value = sympy.Rational(row.exact)
        assert row.decimal == decimal_text(value)
        assert close(row, value)


def test_tolerance_rule():
    rtol, atol = Fraction(1, 100), Fraction(1, 1000)
    key = AnswerKey.from_variants(run_variants(), rtol="0.01", atol="0.001")
    assert key.rule == {"rule": "max(rtol * |value|, atol)", "rtol": "0.01", "atol": "0.001"}
    for row in key:
        size = abs(numeric(row.decimal))
        expected = max(size * mpmath.mpf(rtol.numerator) / rtol.denominator, mpmath.mpf(atol.numerator) / atol.denominator)
        assert abs(numeric(row.tolerance) - expected) <= expected * mpmath.mpf("1e-13")
    zero = next(r for r in AnswerKey.from_variants(single(reference())) if r.label == "1.c")
    assert zero.tolerance == "0.0005"  # the default atol for a zero answer


def test_defaults_accept_three_significant_digits():
    key = AnswerKey.from_variants([Variant(1, None, loads(TANH))])
    for row in key:
        if row.decimal == "0":
            continue
        three = numeric(mpmath.nstr(numeric(row.decimal), 3))
        assert abs(three - numeric(row.decimal)) <= numeric(row.tolerance)


def test_vector_answers_give_one_row_per_entry():
    ex = load(VECTOR)
    key = AnswerKey.from_variants(single(ex))
    by_label: dict[str, list[KeyRow]] = {}
    for row in key:
        by_label.setdefault(row.label, []).append(row)
    assert [r.entry for r in by_label["a"]] == ["[1]", "[2]"]
    assert [r.entry for r in by_label["b"]] == ["[1,1]", "[1,2]", "[2,1]", "[2,2]"]
    assert [r.entry for r in by_label["c"]] == [""]
    matrix = ex.answer(ex.questions[1]).evaluate(ex.values)
    for row, (i, j) in zip(by_label["b"], [(0, 0), (0, 1), (1, 0), (1, 1)]):
        assert close(row, matrix[i, j])
        assert abs(sympy.N(sympy.sympify(row.exact) - matrix[i, j], 40)) < 1e-30
    for row in by_label["a"]:
        assert close(row, ex.evaluation.value("h_2" + row.entry))
    whole = ex.answer(ex.questions[0]).evaluate(ex.values)  # the vector h_2, entry by entry
    assert [close(row, value) for row, value in zip(by_label["a"], whole)] == [True, True]
    assert by_label["c"][0].decimal == by_label["b"][1].decimal  # dL/dW_h[1,2] is entry [1,2]


def test_topics_and_free_text_have_no_rows():
    ex = reference()
    free = Question("3", "Explain backpropagation through time in one sentence.", "", "", None,
                    answer_text="The chain rule applied to the unrolled network.")
    ex = dataclasses.replace(ex, questions=ex.questions + (free,))
    key = AnswerKey.from_variants(single(ex))
    assert [r.label for r in key] == ["1.a", "1.b", "1.c", "1.d"]
    assert answer_entries(ex, ex.questions[0]) == [("", 6)]


def test_exact_is_left_empty_when_long():
    ex = load(VECTOR)
    d = rnnsym.derive(rnnsym.elman(12, "tanh"), "L", "W_h")
    values = {"h_0": 0, "x": [1] * 12, "y": [0] * 12, "W_h": "0.5", "W_x": 1, "W_y": 1}
    long = d.evaluate(values)
    assert exact_text(long) == ""  # far more than MAX_EXACT_CHARS characters
    assert decimal_text(long) != "0"
    assert exact_text(ex.answer(ex.questions[0]).evaluate(ex.values)[0]) == "tanh(tanh(1)/2 + 1/2)"


def test_sigmoid_is_written_with_exp():
    value = rnnsym.rules.sigmoid(sympy.tanh(sympy.Rational(1, 2)))
    text = exact_text(value)
    assert "sigmoid" not in text and "exp" in text
    assert abs(sympy.N(sympy.sympify(text) - value, 40)) < 1e-35


def test_csv_round_trip():
    key = AnswerKey.from_variants(run_variants() + [Variant(5, 11, load(VECTOR))])
    text = key.to_csv()
    assert text.startswith(",".join(COLUMNS) + "\n") and "\r" not in text
    read = list(csv.DictReader(io.StringIO(text)))
    assert len(read) == len(key)
    for got, row in zip(read, key):
        want = {k: "" if v is None else str(v) for k, v in dataclasses.asdict(row).items()}
        assert got == want


def test_json_round_trip():
    key = AnswerKey.from_variants(run_variants())
    data = json.loads(key.to_json())
    assert data["format"] == "rnnsym answer key"
    assert data["columns"] == list(COLUMNS)
    assert data["digits"] == 15
    assert data["tolerance"] == key.rule
    assert [KeyRow(**row) for row in data["rows"]] == list(key.rows)
    assert data["rows"][0]["seed"] is None and data["rows"][-1]["seed"] == 9


def test_output_is_deterministic():
    first = AnswerKey.from_variants(run_variants() + [Variant(5, None, load(VECTOR))])
    second = AnswerKey.from_variants(run_variants() + [Variant(5, None, load(VECTOR))])
    assert first.to_csv() == second.to_csv()
    assert first.to_json() == second.to_json()


@pytest.mark.slow
def test_output_is_the_same_in_other_processes():
    script = (
        "from rnnsym.key import AnswerKey; from rnnsym.variants import single; from rnnsym.exercise import load;"
        f"print(AnswerKey.from_variants(single(load({str(VECTOR)!r}))).to_json())"
    )
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
        outputs.add(done.stdout)
    assert len(outputs) == 1


def test_repr_and_markdown():
    key = AnswerKey.from_variants(run_variants(), rtol="0.01")
    assert repr(key) == "AnswerKey(16 rows, 4 variants, tolerance max(0.01·|value|, 0.0005))"
    markdown = key._repr_markdown_()
    assert markdown.splitlines()[0] == "| " + " | ".join(COLUMNS) + " |"
    assert len(markdown.splitlines()) == 2 + len(key) + 2


@pytest.mark.parametrize("kwargs, field", [
    ({"rtol": -1}, "rtol"), ({"atol": "x"}, "atol"), ({"rtol": True}, "rtol"), ({"digits": 0}, "digits"),
    ({"digits": 1.5}, "digits"),
])
def test_bad_options_name_the_field(kwargs, field):
    with pytest.raises(InputError) as error:
        AnswerKey.from_variants(single(reference()), **kwargs)
    assert error.value.field == field


def test_bad_variants():
    with pytest.raises(InputError, match="at least one variant"):
        AnswerKey.from_variants([])
    with pytest.raises(InputTypeError) as error:
        AnswerKey.from_variants([reference()])
    assert error.value.field == "variants[0]"


_SMALL = st.fractions(min_value=-3, max_value=3, max_denominator=8).map(lambda f: f"{f.numerator}/{f.denominator}")


@settings(max_examples=25)
@given(st.lists(_SMALL, min_size=7, max_size=7), st.sampled_from(["identity", "tanh"]))
def test_key_values_are_the_derivative_values(numbers, activation):
    h0, x1, x2, y1, y2, w_h, w_x = numbers
    values = {"h_0": h0, "x": [x1, x2], "y": [y1, y2], "W_h": w_h, "W_x": w_x, "W_y": "3/2"}
    text = variant(('activation = "identity"', f'activation = "{activation}"'))
    ex = dataclasses.replace(loads(text), values=values)
    key = AnswerKey.from_variants([Variant(1, None, ex)])
    graph = rnnsym.elman(2, activation)
    expected = {
        "1.a": rnnsym.compute(graph, "yhat_2").evaluate(values),
        "1.b": rnnsym.compute(graph, "L").evaluate(values),
        "1.c": rnnsym.derive(graph, "L", "h_1").evaluate(values),
        "1.d": rnnsym.derive(graph, "L", "W_h").evaluate(values),
    }
    for row in key:
        assert close(row, expected[row.label])
        if isinstance(expected[row.label], sympy.Rational):
            assert sympy.Rational(row.exact) == expected[row.label]
