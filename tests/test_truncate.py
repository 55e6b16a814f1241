"""Tests for :mod:`rnnsym.derivation.truncate` (truncated backpropagation through time).

Expected values are computed independently of the code under test:

- the full gradient by :func:`rnnsym.derivation.derive` (forward accumulation from
  the weight), which the contributions must add up to for every cell;
- for the scalar identity Elman cell, the truncated gradient of W_h by the
  hand formula Σ_t Σ_{kept s} 2(ŷ_t − y_t) W_y W_h^{t−s} h_{s−1}, with a
  forward pass and the update windows of TBPTT(k1, k2) written out here in
  Python fractions.

Irrational values (tanh, sigmoid, GRU, LSTM) are compared exactly but
cheaply: equal expressions stay equal when every opaque part (an exact value
of a quantity, a tanh, an exp) is replaced by the same pseudo-random rational
(:func:`same`); expanding them symbolically takes minutes for the GRU.
"""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

import rnnsym
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnsym.derivation import derive
from rnnsym.evaluation import Evaluation
from rnnsym.errors import InputError, InputTypeError
from rnnsym.models import elman, gru, lstm
from rnnsym.printing import Printer, RenderOptions
from rnnsym.derivation.truncate import CONVENTIONS, Dropped, Kept, Truncation, contributions, truncated, truncation
from rnnsym.exact import Exact
from rnnsym.evaluation import bind

FEW = settings(max_examples=max(8, settings().max_examples // 5))
SEED_VALUES = {"h_0": 1, "x": [10, 10, 10], "y": [5, 5, 5], "W_h": 1, "W_x": "0.1", "W_y": 2}


# --------------------------------------------------------------------------
# exact comparison of irrational values


def _probe(expr, seed: int, memo: dict) -> Fraction:
    """``expr`` with + × and integer powers done exactly and every other part
    replaced by a rational determined by ``seed``, its kind and its arguments."""
    if expr in memo:
        return memo[expr]
    if isinstance(expr, sympy.Rational):
        value = Fraction(int(expr.p), int(expr.q))
    elif isinstance(expr, sympy.Add):
        value = sum((_probe(a, seed, memo) for a in expr.args), Fraction(0))
    elif isinstance(expr, sympy.Mul):
        value = Fraction(1)
        for a in expr.args:
            value *= _probe(a, seed, memo)
    elif isinstance(expr, sympy.Pow) and expr.exp.is_Integer:
        value = _probe(expr.base, seed, memo) ** int(expr.exp)
    elif isinstance(expr, Exact) and "/" in expr.name:
        value = _probe(expr.expr, seed, memo)  # a derivative's value: its own expression
    else:
        key = expr.name if isinstance(expr, Exact) else tuple(_probe(a, seed, memo) for a in expr.args)
        rng = random.Random(repr((seed, type(expr).__name__, key)))
        value = Fraction(rng.randint(1, 10**12), rng.randint(1, 10**12))
    memo[expr] = value
    return value


def same(a, b) -> bool:
    """Whether two exact values are equal (identical, or equal at two random probes)."""
    a, b = sympy.sympify(a), sympy.sympify(b)
    return a == b or all(_probe(a, seed, {}) == _probe(b, seed, {}) for seed in (1, 2))


def test_same_tells_exact_values_apart():
    g = elman(2, activation="tanh")
    env = rnnsym.evaluate(g, {s: sympy.Rational(1, 3) for s in g.leaves}).values
    h1, h2 = env[g.symbol("h_1")], env[g.symbol("h_2")]
    assert same((h1 + 1) ** 2, h1**2 + 2 * h1 + 1)
    assert not same(h1 * h2, h1 * h1)
    assert same(rnnsym.evaluate(g, {s: sympy.Rational(1, 3) for s in g.leaves}).values[g.symbol("h_2")], h2)


# --------------------------------------------------------------------------
# every cell: the contributions add up to the full gradient


def point(graph, seed: int) -> dict[str, str]:
    """Non-zero rational values, small enough to keep relu units alive."""
    rng = random.Random(seed)
    return {str(s): f"{rng.choice([-1, 1]) * rng.randint(1, 9)}/{rng.randint(2, 9)}" for s in graph.leaves}


CELLS = {
    "elman-identity": lambda n: elman(3, hidden=n),
    "elman-tanh": lambda n: elman(3, activation="tanh", hidden=n),
    "elman-sigmoid": lambda n: elman(3, activation="sigmoid", hidden=n),
    "elman-relu": lambda n: elman(3, activation="relu", hidden=n),
    "gru": lambda n: gru(3 if n == 1 else 2, hidden=n),
    "lstm": lambda n: lstm(3 if n == 1 else 2, hidden=n),
}
RECURRENT = {"elman": "W_h", "gru": "W_hz", "lstm": "W_hf"}


@pytest.mark.slow
@pytest.mark.parametrize("hidden", [1, 2])
@pytest.mark.parametrize("cell", list(CELLS))
def test_contributions_add_up_to_the_full_gradient(cell, hidden):
    g = CELLS[cell](hidden)
    values = point(g, seed=len(cell) + hidden)
    env = rnnsym.evaluate(g, {s: n.exact for s, n in bind(g, values).items()}).values
    for leaf in g.leaves:
        parts = contributions(g, "L", leaf, env)
        assert all(1 <= s <= t <= g.steps for t, s in parts)
        assert same(sympy.Add(*parts.values()), derive(g, "L", str(leaf)).evaluate(values)), leaf
    wrt = RECURRENT[cell.split("-")[0]] + ("[1,2]" if hidden == 2 else "")
    for convention in CONVENTIONS:
        for k in range(1, g.steps + 2):
            kept, dropped, full = truncated(g, "L", wrt, k if convention == "per-loss" else (1, k), convention).values(values)
            assert same(kept + dropped, full)
            if k >= g.steps:
                assert dropped == 0 and same(kept, full)


# --------------------------------------------------------------------------
# the hand formula (scalar identity Elman, fractions)


def windows(steps: int, k1: int) -> list[tuple[int, list[int]]]:
    """TBPTT(k1, ·): the update times τ = k1, 2k1, … (and T) with their loss steps."""
    times = list(range(k1, steps + 1, k1))
    if not times or times[-1] != steps:
        times.append(steps)
    return [(tau, list(range(prev + 1, tau + 1))) for prev, tau in zip([0] + times, times)]


def hand(values: dict, steps: int, keep) -> Fraction:
    """Σ over kept (t, s) of 2(ŷ_t − y_t) W_y W_h^{t−s} h_{s−1}."""
    W_h, W_x, W_y = (Fraction(values[n]) for n in ("W_h", "W_x", "W_y"))
    h = [Fraction(values["h_0"])]
    for t in range(1, steps + 1):
        h.append(h[-1] * W_h + Fraction(values["x"][t - 1]) * W_x)
    total = Fraction(0)
    for t in range(1, steps + 1):
        error = 2 * (h[t] * W_y - Fraction(values["y"][t - 1])) * W_y
        total += sum((error * W_h ** (t - s) * h[s - 1] for s in range(1, t + 1) if keep(t, s)), Fraction(0))
    return total


def per_loss(k):
    return lambda t, s: t - s < k


def k1_k2(steps, k1, k2):
    update = {t: tau for tau, terms in windows(steps, k1) for t in terms}
    return lambda t, s: s > update[t] - k2


fractions = st.fractions(min_value=-3, max_value=3, max_denominator=5).map(str)


@st.composite
def scalar_values(draw, steps):
    return {"h_0": draw(fractions), "W_h": draw(fractions), "W_x": draw(fractions), "W_y": draw(fractions),
            "x": draw(st.lists(fractions, min_size=steps, max_size=steps)),
            "y": draw(st.lists(fractions, min_size=steps, max_size=steps))}


@FEW
@given(st.integers(1, 5).flatmap(lambda T: st.tuples(st.just(T), scalar_values(T))))
def test_k1_is_the_own_step_formula(case):
    steps, values = case
    expected = Fraction(0)
    h = Fraction(values["h_0"])
    W_h, W_x, W_y = (Fraction(values[n]) for n in ("W_h", "W_x", "W_y"))
    for t in range(1, steps + 1):
        before, h = h, h * W_h + Fraction(values["x"][t - 1]) * W_x
        expected += 2 * (h * W_y - Fraction(values["y"][t - 1])) * W_y * before
    assert truncated(elman(steps), "L", "W_h", 1).evaluate(values) == sympy.Rational(expected.numerator, expected.denominator)


@FEW
@given(st.integers(1, 5).flatmap(lambda T: st.tuples(st.just(T), scalar_values(T), st.integers(1, 6), st.integers(1, 6))))
def test_hand_formula_for_both_conventions(case):
    steps, values, a, b = case
    g = elman(steps)
    k1, k2 = min(a, b), max(a, b)
    kept, dropped, full = truncated(g, "L", "W_h", a).values(values)
    assert kept == hand(values, steps, per_loss(a)) and full == hand(values, steps, lambda t, s: True)
    assert kept + dropped == full
    kept, dropped, _ = truncated(g, "L", "W_h", (k1, k2), "k1-k2").values(values)
    assert kept == hand(values, steps, k1_k2(steps, k1, k2)) and kept + dropped == full
    t = steps
    single = truncated(g, f"L_{t}", "W_h", a).evaluate(values)
    assert single == hand(values, steps, lambda u, s: u == t and t - s < a)


def test_k1_k2_update_times():
    rule = truncation((2, 3), "k1-k2")
    assert [rule.update(t, 5) for t in range(1, 6)] == [2, 2, 4, 4, 5]
    assert windows(5, 2) == [(2, [1, 2]), (4, [3, 4]), (5, [5])]
    assert {(t, s) for t in range(1, 6) for s in range(1, t + 1) if rule.keeps(t, s, 5)} == {
        (1, 1), (2, 1), (2, 2), (3, 2), (3, 3), (4, 2), (4, 3), (4, 4), (5, 3), (5, 4), (5, 5)}
    assert truncation(4) == Truncation("per-loss", 1, 4)


# --------------------------------------------------------------------------
# properties over drawn Elman graphs


@st.composite
def cases(draw):
    steps = draw(st.integers(1, 4))
    activation = draw(st.sampled_from(["identity", "relu", "tanh"]))
    loss_at = draw(st.sampled_from(["all", [steps], list(range(1, steps + 1, 2))]))
    g = elman(steps, activation=activation, bias=draw(st.booleans()), loss_at=loss_at)
    values = {str(s): draw(fractions) for s in g.leaves}
    wrt = draw(st.sampled_from([str(s) for s in g.leaves]))
    k1 = draw(st.integers(1, 5))
    return g, values, wrt, k1, draw(st.integers(k1, 6))


@FEW
@given(cases())
def test_truncated_plus_dropped_is_full(case):
    g, values, wrt, k1, k2 = case
    full = derive(g, "L", wrt).evaluate(values)
    for k, convention in ((k1, "per-loss"), (k2, "per-loss"), ((k1, k2), "k1-k2")):
        result = truncated(g, "L", wrt, k, convention)
        kept, dropped, whole = result.values(values)
        assert same(whole, full) and same(kept + dropped, full)
        if result.truncation.k2 >= g.steps:
            assert dropped == 0 and same(kept, full) and not result.dropped


@FEW
@given(cases())
def test_kept_pairs_grow_with_k(case):
    g, values, wrt, k1, k2 = case
    def pairs(k, convention="per-loss"):
        return truncated(g, "L", wrt, k, convention).kept

    assert pairs(k1) <= pairs(k1 + 1) and pairs((k1, k2), "k1-k2") <= pairs((k1, k2 + 1), "k1-k2")
    assert pairs(k2) == pairs((1, k2), "k1-k2")
    assert pairs(g.steps) == pairs((g.steps, g.steps), "k1-k2") == pairs((1, g.steps), "k1-k2")
    own = {(t, s) for t, s in pairs((k1, k2), "k1-k2") | truncated(g, "L", wrt, (k1, k2), "k1-k2").dropped if t == s}
    assert own <= pairs((k1, k2), "k1-k2") and own <= pairs(1)


@FEW
@given(cases())
def test_every_line_holds(case):
    g, values, wrt, k1, k2 = case
    result = truncated(g, "L", wrt, (k1, k2), "k1-k2")
    env = result.environment(values)
    ev = Evaluation(g, env)
    for step in result.steps:
        left = ev(step.lhs)
        for form in step.forms:
            assert same(left, ev(form)), step
    kept, dropped, full = result.values(values)
    assert same(ev(result.steps[-1].lhs), full)
    assert same(ev(Kept(result.of, result.wrt, result.truncation)), kept)
    assert same(ev(Dropped(result.of, result.wrt, result.truncation)), dropped)
    assert same(result.expr.xreplace(env), kept)
    assert result.latex(values)


# --------------------------------------------------------------------------
# the seed exercise, written out


def test_seed_exercise_contributions():
    g = elman(2)
    env = {s: n.exact for s, n in bind(g, {**SEED_VALUES, "x": [10, 10], "y": [5, 5]}).items()}
    assert contributions(g, "L", "W_h", env) == {(1, 1): -4, (2, 1): 4, (2, 2): 8}
    assert contributions(g, "L_2", g.symbol("W_h"), rnnsym.evaluate(g, env).values) == {(2, 1): 4, (2, 2): 8}


def test_lines_per_loss_k2():
    options = RenderOptions(recall=False)
    lines = truncated(elman(3), "L", "W_h", 2).latex(SEED_VALUES, options)
    d = r"\frac{\partial L_{%d}}{\partial h_{%d}}"
    local = r"\frac{\partial^{+} h_{%d}}{\partial W_{h}}"
    kept = r"\left.\frac{\partial L%s}{\partial W_{h}}\right|_{k=2}"
    drop = r"\left.\frac{\partial L%s}{\partial W_{h}}\right|_{\text{dropped}}"
    assert lines == [
        r"\frac{\partial L}{\partial W_{h}} = " + kept % "" + " + " + drop % "",
        kept % "" + " = " + " + ".join(kept % f"_{{{t}}}" for t in (1, 2, 3)),
        kept % "_{1}" + f" = {d % (1, 1)} \\times {local % 1} = {d % (1, 1)} \\times h_{{0}} = \\left(-4\\right) \\times 1 = -4",
        drop % "_{1}" + " = 0",
        kept % "_{2}" + f" = {d % (2, 1)} \\times {local % 1} + {d % (2, 2)} \\times {local % 2}"
        f" = {d % (2, 1)} \\times h_{{0}} + {d % (2, 2)} \\times h_{{1}} = 4 \\times 1 + 4 \\times 2 = 12",
        drop % "_{2}" + " = 0",
        kept % "_{3}" + f" = {d % (3, 2)} \\times {local % 2} + {d % (3, 3)} \\times {local % 3}"
        f" = {d % (3, 2)} \\times h_{{1}} + {d % (3, 3)} \\times h_{{2}} = 12 \\times 2 + 12 \\times 3 = 60",
        drop % "_{3}" + f" = {d % (3, 1)} \\times {local % 1} = {d % (3, 1)} \\times h_{{0}} = 12 \\times 1 = 12",
        kept % "" + " = -4 + 12 + 60 = 68",
        drop % "" + " = 0 + 0 + 12 = 12",
        r"\frac{\partial L}{\partial W_{h}} = 68 + 12 = 80",
    ]


def test_node_printing():
    g = elman(3)
    L3, W = g.symbol("L_3"), g.symbol("W_h")
    printer = Printer(RenderOptions())
    assert printer.doprint(Kept(L3, W, truncation(2))) == r"\left.\frac{\partial L_{3}}{\partial W_{h}}\right|_{k=2}"
    assert printer.doprint(Dropped(L3, W, truncation(2))) == r"\left.\frac{\partial L_{3}}{\partial W_{h}}\right|_{\text{dropped}}"
    assert printer.doprint(Kept(L3, W, truncation((1, 3), "k1-k2"))).endswith(r"\right|_{k_{1}=1,\, k_{2}=3}")
    assert Printer(RenderOptions(partial="d")).doprint(Kept(L3, W, truncation(2))).startswith(r"\left.\frac{d L_{3}}{d W_{h}}")
    numbers = Printer(RenderOptions(), {L3: "7", W: "1"})  # a numbers line keeps the names inside the bar
    assert numbers.doprint(Kept(L3, W, truncation(2))) == printer.doprint(Kept(L3, W, truncation(2)))
    assert sympy.latex(Kept(L3, W, truncation(2))) == printer.doprint(Kept(L3, W, truncation(2)))
    assert str(Kept(L3, W, truncation(2))) == "∂L_3/∂W_h|k=2" and str(Dropped(L3, W, truncation(2))) == "∂L_3/∂W_h|dropped"


def test_expanded_truncated_gradient_at_k_steps_is_the_derivative():
    g = elman(3)
    W = g.symbol("W_h")
    assert sympy.expand(truncated(g, "L", "W_h", 3).expanded() - sympy.diff(g.expand(g.loss), W)) == 0
    assert sympy.expand(truncated(g, "L", "W_h", 1).expanded() - sympy.diff(g.expand(g.loss), W)) != 0


# --------------------------------------------------------------------------
# errors


@pytest.mark.parametrize("k, convention, field, error", [
    (2, "sliding", "truncation", InputError),
    (0, "per-loss", "truncate", InputError),
    (-1, "per-loss", "truncate", InputError),
    (True, "per-loss", "truncate", InputTypeError),
    ("2", "per-loss", "truncate", InputTypeError),
    (2.0, "per-loss", "truncate", InputTypeError),
    ((1, 2), "per-loss", "truncate", InputTypeError),
    (2, "k1-k2", "truncate", InputError),
    ((3, 2), "k1-k2", "truncate", InputError),
    ((0, 2), "k1-k2", "truncate", InputError),
    ((1, True), "k1-k2", "truncate", InputError),
    ((1, 2, 3), "k1-k2", "truncate", InputError),
])
def test_bad_truncation(k, convention, field, error):
    with pytest.raises(error) as caught:
        truncated(elman(2), "L", "W_h", k, convention)
    given = convention if field == "truncation" else k
    assert caught.value.field == field and caught.value.value == given
    message = str(caught.value)
    assert message.startswith(f"{field}: got {given!r}")
    assert ("'per-loss', 'k1-k2'" in message) if field == "truncation" else ("k1" in message or "k >= 1" in message)


@pytest.mark.parametrize("of, wrt, split, field", [
    ("L", "h_1", "loss", "wrt"),
    ("W_h", "W_x", "loss", "of"),
    ("L", "W_z", "loss", "wrt"),
    ("L", "W_h", "step", "split"),
])
def test_bad_question(of, wrt, split, field):
    with pytest.raises(InputError) as caught:
        truncated(elman(2), of, wrt, 1, split=split)
    assert caught.value.field == field


def test_derive_dispatches_here():
    g = elman(3)
    result = derive(g, "L", "W_h", truncate=(2, 3), truncation="k1-k2")
    assert repr(result) == "Derivation(dL/dW_h, truncated k1-k2 k1=2, k2=3, 11 steps)"
    assert result.values(SEED_VALUES) == truncated(g, "L", "W_h", (2, 3), "k1-k2").values(SEED_VALUES)
    assert derive(g, "L", "W_h", truncate=2).evaluate(SEED_VALUES) == 68
    with pytest.raises(InputError, match="^split: got 'step'"):
        derive(g, "L", "W_h", split="step", truncate=2)


def test_truncation_on_the_model_applies_to_leaf_derivatives_of_an_exercise():
    from support import variant

    from rnnsym import loads

    ex = loads(variant(('loss_at = "all"', 'loss_at = "all"\ntruncate = 1')))
    by_find = {q.find: q for q in ex.questions if q.show is None}
    assert by_find["dL/dW_h"].truncate == 1 and by_find["dL/dh_1"].truncate is None
    kept, dropped, full = ex.answer(by_find["dL/dW_h"]).values(ex.values)
    assert full == 8 and kept + dropped == full  # the seed's gradient, split by the truncation
    per_term = [c for (t, s), c in contributions(ex.graph, "L", "W_h", ex.answer(by_find["dL/dW_h"]).environment(ex.values)).items() if t == s]
    assert kept == sum(per_term)
