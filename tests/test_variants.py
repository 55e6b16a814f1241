"""Seeded variants of an exercise (rnnsym.variants, rnnsym.specs).

The values of each variant are checked against what the draw specs allow,
computed here with :class:`fractions.Fraction`; the constraints against an
independent forward pass in fractions (identity and relu cells) and against
the derivation's value; each derivative against ``sympy.diff`` of the
expanded loss.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnsym.binding import bind
from rnnsym.errors import InputError, LimitError, NoVariantError
from rnnsym.exercise import load, loads, parse_toml
from rnnsym.limits import MAX_DRAWS
from rnnsym.sheet import Sheet
from rnnsym.variants import DRAWS, Constraints, draw, draw_file, draw_text

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "variants_tanh.toml"
TEXT = EXAMPLE.read_text(encoding="utf-8")
seeds = st.integers(min_value=0, max_value=2**40)


def span(lo, hi, step) -> set[Fraction]:
    lo, hi, step = Fraction(lo), Fraction(hi), Fraction(step)
    return {lo + k * step for k in range(int((hi - lo) / step) + 1)}


#: What the draw specs of the example allow, leaf by leaf.
ALLOWED = {
    "h_0": {Fraction(0)},
    "x_1": {Fraction(1), Fraction(-1), Fraction(1, 2)},
    "x_2": {Fraction(1), Fraction(-1), Fraction(1, 2)},
    "y_1": span(-1, 1, "0.5"),
    "y_2": {Fraction(1)},
    "W_h": span(-1, 1, "0.25"),
    "W_x": {Fraction(1, 2), Fraction(1), Fraction(2)},
    "W_y": span(-2, 2, 1),
}


def leaves(variant) -> dict[str, Fraction]:
    bound = bind(variant.exercise.graph, variant.exercise.values)
    return {str(s): Fraction(int(n.exact.p), int(n.exact.q)) for s, n in bound.items()}


def drawn(run) -> list[dict]:
    return [v.exercise.values for v in run.variants]


# -- reproducibility ---------------------------------------------------------------------------------


def test_same_seed_gives_the_same_variants_and_the_same_sheet():
    first, second = draw_file(EXAMPLE, 3, 11), draw_file(EXAMPLE, 3, 11)
    assert drawn(first) == drawn(second)
    assert [v.seed for v in first.variants] == [v.seed for v in second.variants]
    assert first.attempts == second.attempts and first.rejections == second.rejections
    assert Sheet([v.exercise for v in first.variants]).tex() == Sheet([v.exercise for v in second.variants]).tex()


def test_seeds_give_the_same_values_on_every_run():
    # values drawn once with this seed: string and integer seeding of random.Random is
    # the same on every run and Python version, and no hash() is involved
    run = draw_file(EXAMPLE, 2, 2026)
    assert [v.seed for v in run.variants][0] == 2026
    assert drawn(run)[0] == {"h_0": 0, "x": [1, -1], "y": [1, 1], "W_h": 1, "W_x": 2, "W_y": -2}
    assert drawn(run)[1]["W_h"] == "-0.75"


@settings(max_examples=10, deadline=None)
@given(seeds, seeds)
def test_different_seeds_give_different_values(a, b):
    if a != b:
        assert drawn(draw_file(EXAMPLE, 3, a)) != drawn(draw_file(EXAMPLE, 3, b))


@settings(max_examples=10, deadline=None)
@given(seeds)
def test_a_variant_is_drawn_again_from_its_own_seed(seed):
    run = draw_file(EXAMPLE, 3, seed)
    for v in run.variants:
        [again] = draw_file(EXAMPLE, 1, v.seed).variants
        assert again.exercise.values == v.exercise.values and again.seed == v.seed


@settings(max_examples=10, deadline=None)
@given(seeds)
def test_drawn_values_are_points_of_their_specs_and_distinct(seed):
    run = draw_file(EXAMPLE, 4, seed)
    assert [v.index for v in run.variants] == [1, 2, 3, 4]
    assert run.attempts == 4 + sum(run.rejections.values())
    points = [leaves(v) for v in run.variants]
    for point in points:
        assert set(point) == set(ALLOWED)
        for name, value in point.items():
            assert value in ALLOWED[name], (name, value)
    assert len({tuple(sorted(p.items())) for p in points}) == 4


def test_drawn_values_keep_their_spelling():
    run = draw_file(EXAMPLE, 6, 2026)
    for v in run.variants:
        for s, n in bind(v.exercise.graph, v.exercise.values).items():
            # ranges written in decimals give decimals (-0.75, not -3/4), exactly their value
            assert "/" not in n.spelling and Fraction(n.spelling) == Fraction(int(n.exact.p), int(n.exact.q))
    assert run.variants[1].exercise.values["W_h"] == "-0.75"
    tex = Sheet([run.variants[1].exercise]).tex()
    assert r"h_{0} \times W_{h} + x_{1} \times W_{x} = 0 \times \left(-0.75\right) + \left(-1\right) \times 0.5" in tex


# -- constraints -------------------------------------------------------------------------------------


def answer_values(variant, label):
    ex = variant.exercise
    [q] = [q for q in ex.questions if q.label == label]
    value = ex.answer(q).evaluate(ex.values)
    return list(value) if isinstance(value, sympy.MatrixBase) else [value]


@settings(max_examples=10, deadline=None)
@given(seeds)
def test_the_example_constraints_hold_on_every_variant(seed):
    for v in draw_file(EXAMPLE, 3, seed).variants:
        assert all(sympy.N(x, 30) != 0 for label in ("c", "d") for x in answer_values(v, label))
        assert all(-10 <= sympy.N(x, 30) <= 10 for x in answer_values(v, "c"))


SCALAR = """
[model]
steps = 3
activation = "{activation}"
[values]
h_0 = {{choices = [0, 1, "0.5"]}}
x = {{range = [-2, 2], step = "0.5"}}
y = [1, {{choices = [-1, 1]}}, 0]
W_h = {{range = [-1, 1], step = "0.5"}}
W_x = {{choices = [1, 2, -2]}}
W_y = {{range = [-1, 2]}}
[variants]
{variants}
[[questions]]
label = "p"
find = "dL/dW_h"
[[questions]]
label = "q"
find = "dL/dx_1"
"""


def fraction_forward(values: dict[str, Fraction], activation: str, steps: int):
    """Every quantity of a scalar Elman cell, and its relu arguments, in fractions."""
    act = (lambda z: z) if activation == "identity" else (lambda z: max(z, Fraction(0)))
    h, quantities, arguments = values["h_0"], [], []
    total = Fraction(0)
    for t in range(1, steps + 1):
        z = h * values["W_h"] + values[f"x_{t}"] * values["W_x"]
        h = act(z)
        yhat = h * values["W_y"]
        loss = (yhat - values[f"y_{t}"]) ** 2
        total += loss
        arguments.append(z)
        quantities += [z, h, yhat, loss]
    return quantities + [total], arguments


@pytest.mark.parametrize("activation", ["identity", "relu"])
@pytest.mark.parametrize("rule", ['forward = "integer"', 'forward = "decimal"\ndecimals = 1'])
@settings(max_examples=5, deadline=None)
@given(seed=seeds)
def test_forward_and_kink_constraints_hold(activation, rule, seed):
    text = SCALAR.format(activation=activation, variants=rule + '\nkink = false\nnonzero = ["q"]\nwithin = {"p" = [-4, 4]}')
    run = draw_text(text, 3, seed)
    scale = 1 if "integer" in rule else 10
    for v in run.variants:
        quantities, arguments = fraction_forward(leaves(v), activation, 3)
        assert all((q * scale).denominator == 1 for q in quantities), quantities
        if activation == "relu":
            assert all(z != 0 for z in arguments)
        assert answer_values(v, "q") != [0]
        assert all(-4 <= x <= 4 for x in answer_values(v, "p"))


def test_matrix_entries_and_whole_matrices_are_drawn_entry_by_entry():
    text = """
[model]
steps = 2
activation = "relu"
hidden = 2
[values]
h_0 = [0, {range = [0, 1], step = "0.25"}]
x = {choices = [1, 2]}
y = [1, 2]
W_h = [[{choices = [1, 2]}, 0], [0, 1]]
"W_x[1,1]" = 1
"W_x[2,1]" = {range = ["1/3", 1], step = "1/3"}
W_y = {choices = [1, -1]}
[variants]
nonzero = true
kink = false
[[questions]]
label = "m"
find = "dL/dW_h"
"""
    run = draw_text(text, 6, 5)
    allowed = {"h_0[1]": {0}, "h_0[2]": span(0, 1, "0.25"), "x_1": {1, 2}, "x_2": {1, 2}, "y_1": {1}, "y_2": {2},
               "W_h[1,1]": {1, 2}, "W_h[1,2]": {0}, "W_h[2,1]": {0}, "W_h[2,2]": {1}, "W_x[1,1]": {1},
               "W_x[2,1]": span("1/3", 1, "1/3"), "W_y[1,1]": {1, -1}, "W_y[1,2]": {1, -1}}
    for v in run.variants:
        point = leaves(v)
        assert set(point) == set(allowed) and all(point[k] in allowed[k] for k in point)
        assert all(x != 0 for x in answer_values(v, "m"))  # every entry of a matrix answer
        assert v.exercise.values["W_x[2,1]"] in ("1/3", "2/3", 1)
    assert len({tuple(sorted(leaves(v).items())) for v in run.variants}) == 6


@settings(max_examples=10, deadline=None)
@given(seeds)
def test_a_run_never_repeats_values(seed):
    text = """
[model]
steps = 1
[values]
h_0 = 0
x = [{choices = [1, 2]}]
y = [{range = ["1/2", 1], step = "1/2"}]
W_h = 1
W_x = 1
W_y = 1
"""
    run = draw_text(text, 4, seed)  # all four points of a four-point space
    points = {(v.exercise.values["x"][0], v.exercise.values["y"][0]) for v in run.variants}
    assert points == {(1, 1), (1, "1/2"), (2, 1), (2, "1/2")}
    assert run.attempts == 4 + run.rejections.get("duplicate", 0)


def test_a_whole_sequence_spec_draws_every_step():
    text = SCALAR.format(activation="identity", variants="").replace(
        'x = {range = [-2, 2], step = "0.5"}', "x = {choices = [1, 2, 3, 4]}")
    values = drawn(draw_text(text, 20, 3))
    assert {len(v["x"]) for v in values} == {3}
    assert {x for v in values for x in v["x"]} == {1, 2, 3, 4}


def test_without_constraints_nothing_is_evaluated_and_nothing_rejected_but_repeats():
    run = draw_text(SCALAR.format(activation="identity", variants=""), 5, 1)
    assert set(run.rejections) <= {"duplicate"}
    assert repr(run).startswith("Draw(5 variants, seed=1, ")


# -- the bound -------------------------------------------------------------------------------------


def test_unsatisfiable_constraints_stop_at_the_bound_with_a_clear_message():
    text = TEXT.replace('within = { "c" = [-10, 10] }', 'within = { "c" = [1000, 2000] }').replace("draws = 500", "draws = 60")
    with pytest.raises(NoVariantError) as info:
        draw_text(text, 2, 3)
    error = info.value
    assert error.attempts == 60 and error.found == 0 and error.count == 2
    message = str(error)
    assert "60 draws" in message and "found 0 of 2" in message
    assert 'within "c" = [1000, 2000]' in message and "variants.draws" in message


def test_the_draws_argument_overrides_the_file_and_the_default():
    text = TEXT.replace('within = { "c" = [-10, 10] }', 'within = { "c" = [1000, 2000] }')
    with pytest.raises(NoVariantError, match="in 7 draws"):
        draw_text(text, 1, 0, draws=7)


def test_the_default_bound():
    cheap = SCALAR.format(activation="identity", variants='within = { "p" = [100000, 100001] }')
    with pytest.raises(NoVariantError, match=f"in {DRAWS} draws"):
        draw_text(cheap, 1, 0)


def test_too_few_distinct_values_fail_before_any_draw():
    text = """
[model]
steps = 1
[values]
h_0 = 0
x = [1]
y = [{choices = [1, 2]}]
W_h = 1
W_x = 1
W_y = 1
[[questions]]
find = "L"
"""
    with pytest.raises(NoVariantError, match=r"only 2 distinct sets of values \(no draws tried\)") as info:
        draw_text(text, 3, 0)
    assert info.value.attempts == 0
    run = draw_text(text, 2, 0)
    assert sorted(v.exercise.values["y"][0] for v in run.variants) == [1, 2]
    assert run.attempts == 2 + run.rejections.get("duplicate", 0)


def test_the_cost_of_all_draws_is_bounded():
    text = SCALAR.format(activation="identity", variants="nonzero = true\ndraws = 10000").replace("steps = 3", "steps = 200")
    text = text.replace("y = [1, {choices = [-1, 1]}, 0]", "y = {choices = [1]}")
    with pytest.raises(LimitError, match=r"variants\.draws: got '10000 draws of a model of \d+ assignments'"):
        draw(parse_toml(text, "t"), 1, 0)


# -- validation --------------------------------------------------------------------------------------


@pytest.mark.parametrize("old, new, field, says", [
    ('W_x = {choices = [1, 2, -2]}', "W_x = {choices = []}", "values.W_x.choices", "non-empty"),
    ('W_x = {choices = [1, 2, -2]}', 'W_x = {choices = [1, "x"]}', "values.W_x.choices[2]", "a number"),
    ('W_y = {range = [-1, 2]}', "W_y = {range = [2, -1]}", "values.W_y.range", "lo <= hi"),
    ('W_y = {range = [-1, 2]}', "W_y = {range = [2]}", "values.W_y.range", "two numbers"),
    ('W_y = {range = [-1, 2]}', "W_y = {range = [-1, 2], step = 0}", "values.W_y.step", "> 0"),
    ('W_y = {range = [-1, 2]}', 'W_y = {range = [-1, 2], step = "-0.5"}', "values.W_y.step", "> 0"),
    ('W_y = {range = [-1, 2]}', "W_y = {range = [-1, 2], step = 1e-7}", "values.W_y.range", "at most 1000000 points"),
    ('W_y = {range = [-1, 2]}', "W_y = {range = [-1, 2], stride = 1}", "values.W_y", "a key of a draw spec"),
    ('W_y = {range = [-1, 2]}', "W_y = {range = [-1, 2], choices = [1]}", "values.W_y", "one of choices"),
    ('W_y = {range = [-1, 2]}', "W_y = {choices = [1], step = 1}", "values.W_y.step", "no step with choices"),
    ('y = [1, {choices = [-1, 1]}, 0]', "y = [1, {choices = [-1, 1], x = 1}, 0]", "values.y[2]", "a key of a draw spec"),
    ("[variants]", "[variants]\ncolour = 1", "variants", "a key among"),
    ("[variants]", '[variants]\nforward = "even"', "variants.forward", '"integer" or "decimal"'),
    ("[variants]", "[variants]\ndecimals = 2", "variants.decimals", 'forward = "decimal"'),
    ("[variants]", '[variants]\nforward = "decimal"\ndecimals = -1', "variants.decimals", "0 to 30"),
    ("[variants]", '[variants]\nnonzero = ["p", "z"]', "variants.nonzero[2]", "label of a question"),
    ("[variants]", "[variants]\nnonzero = 1", "variants.nonzero", "a list of question labels"),
    ("[variants]", '[variants]\nkink = "no"', "variants.kink", "true or false"),
    ("[variants]", '[variants]\nwithin = { "p" = [3, 1] }', 'variants.within."p"', "lo <= hi"),
    ("[variants]", '[variants]\nwithin = { "zz" = [1, 3] }', 'variants.within."zz"', "label of a question"),
    ("[variants]", '[variants]\nwithin = { "p" = [1, "a"] }', 'variants.within."p"[2]', "a number"),
    ("[variants]", "[variants]\ndraws = 0", "variants.draws", ">= 1"),
    ("[variants]", f"[variants]\ndraws = {MAX_DRAWS + 1}", "variants.draws", f"at most {MAX_DRAWS} draws"),
])
def test_bad_specs_and_constraints_name_the_field(old, new, field, says):
    text = SCALAR.format(activation="relu", variants="")
    assert text.count(old) == 1
    with pytest.raises(InputError) as info:
        draw_text(text.replace(old, new), 2, 0)
    assert info.value.field == field and says in info.value.expected, str(info.value)


def test_a_forward_constraint_on_an_irrational_model_is_refused_up_front():
    with pytest.raises(InputError, match="variants.forward: .*irrational"):
        draw_text(TEXT.replace("nonzero = true", 'forward = "integer"'), 1, 0)


@pytest.mark.parametrize("count, seed, field", [(0, 1, "count"), (True, 1, "count"), (2000, 1, "count"),
                                                (1, -1, "seed"), (1, "7", "seed"), (1, 1.5, "seed")])
def test_count_and_seed_are_checked(count, seed, field):
    with pytest.raises(InputError) as info:
        draw_file(EXAMPLE, count, seed)
    assert info.value.field == field


def test_loading_a_file_with_draw_specs_says_how_to_draw_it():
    with pytest.raises(InputError) as info:
        load(EXAMPLE)
    assert info.value.field == "values.x"
    assert "draw spec" in str(info.value) and "--variants N" in str(info.value) and "rnnsym.variants.draw" in str(info.value)
    with pytest.raises(InputError, match=r"values\.W_h\[1\]\[1\]: .*draw spec"):
        loads('[model]\nsteps = 1\nhidden = 2\n[values]\nW_h = [[{choices = [1]}, 0], [0, 1]]')


def test_a_file_without_draw_specs_loads_with_its_variants_table():
    text = SCALAR.format(activation="identity", variants="nonzero = true")
    fixed = text.replace('{choices = [0, 1, "0.5"]}', "1").replace('{range = [-2, 2], step = "0.5"}', "[1, 2, 3]")
    fixed = fixed.replace("{choices = [-1, 1]}", "1").replace('{range = [-1, 1], step = "0.5"}', "1")
    fixed = fixed.replace('{choices = [1, 2, -2]}', "1").replace("{range = [-1, 2]}", "2")
    assert loads(fixed).values["W_y"] == 2
    [v] = draw_text(fixed, 1, 0).variants  # no specs: the one set of values
    assert v.exercise.values == loads(fixed).values


def test_constraints_repr_and_description():
    from rnnsym.exercise import reference
    rules = Constraints.read({"forward": "decimal", "kink": False, "within": {"1.d": [-1, "1/2"]}}, reference())
    assert repr(rules) == "Constraints(forward=decimal (2 places), kink=false, within=1.d [-1, 1/2], draws=1000)"
    assert rules.describe("within 1.d") == 'within "1.d" = [-1, 1/2]'


# -- every derivative agrees with sympy.diff of the expanded loss -------------------------------------------


@pytest.mark.slow
@settings(max_examples=8, deadline=None)
@given(seeds)
def test_variant_derivatives_equal_sympy_diff_of_the_expanded_loss(seed):
    for v in draw_file(EXAMPLE, 2, seed).variants:
        ex = v.exercise
        g = ex.graph
        point = {s: n.exact for s, n in bind(g, ex.values).items()}
        for q in ex.questions:
            if q.wrt is None:
                continue
            of, wrt = g.symbol(q.of), g.symbol(q.wrt)
            if g.is_leaf(wrt):
                reference = sympy.diff(g.expand(of), wrt)
            else:
                reference = g.expand(sympy.diff(g.expand(of, free=wrt), wrt))
            got = ex.answer(q).evaluate(ex.values)
            difference = sympy.N(reference.xreplace(point) - got, 60)
            assert abs(difference) < sympy.Float(10) ** -45, (q.find, got, reference)
