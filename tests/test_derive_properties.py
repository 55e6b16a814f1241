"""Property tests for :func:`rnnsym.derivation.derive`.

Every expected value here is computed independently of the code under test:

- symbolically, by ``sympy.diff`` of the fully expanded loss (the check path
  docs/architecture.md keeps ``Graph.expand`` for), and the expanded loss itself is
  compared with an independent forward pass written in this file;
- numerically, by central finite differences of that independent forward pass
  in 50-digit arithmetic (mpmath);
- per time step, by finite differences with respect to the copy of a weight
  used at one step only (what backpropagation through time sums over).

The only hard-coded numbers are the textbook answers of the reference
exercise (seeds/000_66d79c0e53391435.txt, Task 1), which the code must
reproduce.

Coverage and cost: identity cells are compared symbolically for both
losses, with and without biases, at 1-6 steps.  Non-linear cells (tanh,
sigmoid, relu) are compared at random rational points: each symbolic
reference is built once per graph (cached) and evaluated with a memoised
50-digit mpmath evaluator; every combination up to 4 steps, and 6 steps for
the bias graph with the squared loss (see ``NONLINEAR_SWEEP``).  The finite
difference, split and line-by-line tests draw any combination up to 6 steps,
including losses at a subset of the steps.  The parametrized sweeps run one
Hypothesis test per configuration and take a fraction of the active profile's
``max_examples`` each (``SWEEP``, ``HEAVY``), so the profiles in
``conftest.py`` still scale them.
"""

from __future__ import annotations

import functools
from fractions import Fraction
from typing import NamedTuple

import mpmath

from rnnsym.exact import Exact
import pytest

import rnnsym
import sympy
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st

from rnnsym.derivation import derive
from rnnsym.evaluation import Evaluation
from rnnsym.models import elman
from rnnsym.forms import Partial, plain
from rnnsym.rules import relu, sigmoid

ACTIVATIONS = ("identity", "tanh", "sigmoid", "relu")
NONLINEAR = ("tanh", "sigmoid", "relu")
LOSSES = ("squared", "half_squared")
STEPS = (1, 2, 3, 4, 5, 6)
#: Intermediate quantities used as ``wrt`` (z_1 exists for non-identity cells only).
INTERMEDIATE = ("z_1", "h_1", "yhat_1")
PARAMETERS = ("W_h", "W_x", "W_y", "b_h", "b_y")
#: Parameters used in the recurrence (z_t / h_t); the others (W_y, b_y) in the readout.
RECURRENT = ("W_h", "W_x", "b_h")

DPS = 50  # working precision of every numeric comparison
CLOSE = mpmath.mpf("1e-35")  # relative agreement of two 50-digit evaluations
FD_STEP = mpmath.mpf("1e-20")
FD_CLOSE = mpmath.mpf("1e-15")  # relative agreement with central differences

_profile_examples = settings().max_examples
#: For tests parametrized over many configurations (one Hypothesis run each).
SWEEP = settings(max_examples=max(2, _profile_examples // 10))
#: For tests that check every leaf of a drawn configuration per example.
HEAVY = settings(max_examples=max(5, _profile_examples // 4))


# --------------------------------------------------------------------------
# configurations and cached derivations


class Config(NamedTuple):
    activation: str
    bias: bool
    loss: str
    steps: int
    loss_at: str | tuple[int, ...] = "all"

    @property
    def loss_steps(self) -> tuple[int, ...]:
        return tuple(range(1, self.steps + 1)) if self.loss_at == "all" else self.loss_at


@functools.lru_cache(maxsize=None)
def graph_for(cfg: Config):
    loss_at = "all" if cfg.loss_at == "all" else list(cfg.loss_at)
    return elman(cfg.steps, activation=cfg.activation, bias=cfg.bias, loss=cfg.loss, loss_at=loss_at)


@functools.lru_cache(maxsize=None)
def derivation(cfg: Config, of: str, wrt: str, split: str = "loss"):
    return derive(graph_for(cfg), of=of, wrt=wrt, split=split)


@functools.lru_cache(maxsize=None)
def expanded_loss(cfg: Config):
    g = graph_for(cfg)
    return g.expand(g.loss)


@functools.lru_cache(maxsize=None)
def expanded_pairs(cfg: Config) -> tuple[tuple[str, sympy.Expr, sympy.Expr], ...]:
    """(wrt, derive(...).expanded(), reference) for every leaf and for h_1, z_1, yhat_1.

    The reference for a leaf is ``diff(expand(L), leaf)``; for an intermediate
    quantity B it is ``diff(expand(L, free=B), B)``, then expanded down to leaves.
    """
    g = graph_for(cfg)
    L = expanded_loss(cfg)
    pairs = [(str(leaf), derivation(cfg, "L", str(leaf)).expanded(), sympy.diff(L, leaf)) for leaf in g.leaves]
    for name in INTERMEDIATE:
        if name not in g.names:
            continue
        B = g.symbol(name)
        reference = g.expand(sympy.diff(g.expand(g.loss, free=B), B))
        pairs.append((name, derivation(cfg, "L", name).expanded(), reference))
    return tuple(pairs)


# --------------------------------------------------------------------------
# an independent model: the scalar Elman forward pass, written out


def _mp_sigmoid(z):
    return 1 / (1 + mpmath.exp(-z))


def _relu(z):
    return z if z > 0 else 0 * z


ACT = {"identity": lambda z: z, "tanh": mpmath.tanh, "sigmoid": _mp_sigmoid, "relu": _relu}


def forward(cfg: Config, point: dict, copies: dict | None = None):
    """The loss and the pre-activations [z_1, …, z_T] of a scalar Elman RNN.

    ``point`` maps leaf names to numbers: sympy Rationals give exact
    results for identity and relu, mpmath numbers work for every activation,
    and sympy Symbols give the loss as a formula for the identity cell.
    ``copies`` maps ``(parameter, t)`` to the value of that parameter's copy
    used at step t only, to measure per-step contributions.
    """
    act = ACT[cfg.activation]
    copies = copies or {}

    def p(name: str, t: int):
        if name.startswith("b_") and not cfg.bias:
            return 0
        return copies.get((name, t), point[name])

    h = point["h_0"]
    loss = 0
    zs = []
    for t in range(1, cfg.steps + 1):
        z = p("W_h", t) * h + p("W_x", t) * point[f"x_{t}"] + p("b_h", t)
        zs.append(z)
        h = act(z)
        yhat = p("W_y", t) * h + p("b_y", t)
        if t in cfg.loss_steps:
            error = yhat - point[f"y_{t}"]
            loss += error * error if cfg.loss == "squared" else error * error / 2
    return loss, zs


def fd(f, x):
    """Central difference of ``f`` at ``x`` (50 digits, h = 1e-20)."""
    return (f(x + FD_STEP) - f(x - FD_STEP)) / (2 * FD_STEP)


# --------------------------------------------------------------------------
# exact and numeric values


def numeric(expr, point: dict | None = None, memo: dict | None = None):
    """The mpmath value of a sympy expression over numbers and leaf symbols.

    Leaves are looked up by name in ``point``.  Shared subexpressions are
    evaluated once (``memo``), which keeps expanded tanh losses cheap.
    """
    memo = {} if memo is None else memo

    def ev(e):
        if e in memo:
            return memo[e]
        if e.is_Symbol:
            v = point[e.name]
        elif e.is_Rational:
            v = mpmath.mpf(e.p) / e.q
        elif e is sympy.S.Exp1:
            v = mpmath.e
        elif e.is_Add:
            v = mpmath.fsum(ev(a) for a in e.args)
        elif e.is_Mul:
            v = mpmath.fprod(ev(a) for a in e.args)
        elif isinstance(e, sympy.exp):
            v = mpmath.exp(ev(e.args[0]))
        elif e.is_Pow and e.exp.is_Integer:
            v = ev(e.base) ** int(e.exp)
        elif isinstance(e, sympy.tanh):
            v = mpmath.tanh(ev(e.args[0]))
        elif isinstance(e, sigmoid):
            v = _mp_sigmoid(ev(e.args[0]))
        elif isinstance(e, relu):
            v = _relu(ev(e.args[0]))
        elif isinstance(e, sympy.Heaviside):
            x = ev(e.args[0])
            v = mpmath.mpf(1) if x > 0 else mpmath.mpf(0) if x < 0 else ev(e.args[1])
        elif isinstance(e, Exact):
            v = ev(e.expr)  # an exact irrational value: its own expression, in earlier values
        else:
            raise TypeError(f"numeric(): no rule for {type(e).__name__}: {e}")
        memo[e] = v
        return v

    with mpmath.workdps(DPS):
        return ev(sympy.sympify(expr))


def close(a, b, tol=CLOSE) -> bool:
    with mpmath.workdps(DPS):
        return abs(a - b) <= tol * max(1, abs(a), abs(b))


def assert_same_value(got, want, what: str) -> None:
    """Exact equality for rational values, 50-digit agreement otherwise."""
    got, want = sympy.sympify(got), sympy.sympify(want)
    if got.is_Rational and want.is_Rational:
        assert got == want, f"{what}: got {got}, expected {want}"
    else:
        a, b = numeric(got), numeric(want)
        assert close(a, b), f"{what}: got {mpmath.nstr(a, 20)}, expected {mpmath.nstr(b, 20)}"


def to_mp(point: dict) -> dict:
    with mpmath.workdps(DPS):
        return {k: mpmath.mpf(v.p) / v.q for k, v in point.items()}


def exercise_values(cfg: Config, point: dict) -> dict:
    """``point`` as an exercise file writes it: lists under "x" and "y".

    Steps without a loss have no target leaf; their list entry is a
    placeholder that must be ignored.
    """
    values = {k: v for k, v in point.items() if not k.startswith(("x_", "y_"))}
    values["x"] = [point[f"x_{t}"] for t in range(1, cfg.steps + 1)]
    values["y"] = [point.get(f"y_{t}", sympy.Integer(0)) for t in range(1, cfg.steps + 1)]
    return values


def leaf_env(cfg: Config, point: dict) -> dict:
    g = graph_for(cfg)
    return rnnsym.evaluate(g, {s: point[str(s)] for s in g.leaves}).values


# --------------------------------------------------------------------------
# strategies


def rationals(bound: int = 3, max_denominator: int = 8):
    """Exact rationals p/q in [-bound, bound] with 1 <= q <= max_denominator.

    The same values ``st.fractions(-bound, bound, max_denominator=...)``
    draws, built from two bounded integers: a position on a grid of step
    1/max_denominator and a denominator q, rounded to the nearest p/q (every
    p in [-bound q, bound q] is reached, since the grid is at least as fine
    as 1/q).  ``st.fractions`` draws through ``flatmap`` and costs ~1.6 ms a
    value here, which made data generation alone ~24 s of this file's
    runtime; this costs ~0.2 ms and shrinks the same way (towards 0 and
    towards integers).
    """
    m = max_denominator
    grid = st.integers(-bound * m, bound * m)
    pairs = st.tuples(grid, st.integers(1, m))
    fractions = pairs.map(lambda gq: Fraction(round(Fraction(gq[0] * gq[1], m)), gq[1]))
    return fractions.map(lambda f: sympy.Rational(f.numerator, f.denominator))


def points(graph):
    """A value for every leaf of ``graph``, keyed by leaf name."""
    return st.fixed_dictionaries({str(s): rationals() for s in graph.leaves})


@st.composite
def loss_ats(draw, steps: int):
    """"all", or a non-empty set of steps carrying a loss."""
    if draw(st.booleans()):
        return "all"
    chosen = draw(st.sets(st.integers(1, steps), min_size=1, max_size=steps))
    return tuple(sorted(chosen))


@st.composite
def configs(draw, activation=None, max_steps: int = 6):
    """Any Elman configuration up to ``max_steps`` steps, losses at any steps."""
    steps = draw(st.integers(1, max_steps))
    return Config(
        activation if activation is not None else draw(st.sampled_from(ACTIVATIONS)),
        draw(st.booleans()),
        draw(st.sampled_from(LOSSES)),
        steps,
        draw(loss_ats(steps)),
    )


def assume_off_kinks(cfg: Config, point: dict, margin=0) -> None:
    """For relu, reject points where some pre-activation z_t is (near) 0."""
    if cfg.activation == "relu":
        _, zs = forward(cfg, point)  # exact: Rationals through max(z, 0)
        assume(all(abs(z) > margin for z in zs))


def sum_terms(form) -> tuple:
    return form.args if isinstance(form, sympy.Add) else (form,)


# --------------------------------------------------------------------------
# 1. derive(...).expanded() equals diff of the expanded loss


@pytest.mark.parametrize("steps", STEPS)
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("bias", [False, True])
def test_identity_expanded_derivative_equals_diff_of_expanded_loss(bias, loss, steps):
    cfg = Config("identity", bias, loss, steps)
    g = graph_for(cfg)
    # The expanded loss is the loss of the independent forward pass.
    symbols = {str(s): s for s in g.leaves}
    assert sympy.expand(expanded_loss(cfg) - forward(cfg, symbols)[0]) == 0
    pairs = expanded_pairs(cfg)
    assert {name for name, _, _ in pairs} == {*map(str, g.leaves), "h_1", "yhat_1"}
    for name, got, want in pairs:
        assert sympy.expand(got - want) == 0, f"dL/d{name}: {got} != {want}"


#: Non-linear cells: every combination up to 4 steps, and at 6 steps the bias
#: graph with the squared loss (building the references for one 6-step graph
#: costs ~1 s; all 36 graphs at 5-6 steps would cost ~25 s).  The finite
#: difference test below draws every combination up to 6 steps.
NONLINEAR_SWEEP = [
    *(Config(a, b, l, t) for a in NONLINEAR for b in (False, True) for l in LOSSES for t in (1, 2, 3, 4)),
    *(Config(a, True, "squared", 6) for a in NONLINEAR),
]


def expanded_loss_agrees(cfg, point):
    """Assert that the expanded loss is the loss of the independent forward pass at
    ``point``; return the point in mpmath and the evaluation memo to reuse."""
    at = to_mp(point)
    memo: dict = {}
    with mpmath.workdps(DPS):
        assert close(numeric(expanded_loss(cfg), at, memo), forward(cfg, at)[0])
    return at, memo


@pytest.mark.slow
@pytest.mark.parametrize("cfg", NONLINEAR_SWEEP, ids=lambda c: f"{c.activation}-{'bias' if c.bias else 'nobias'}-{c.loss}-{c.steps}")
@SWEEP
@given(data=st.data())
def test_nonlinear_expanded_derivative_equals_diff_of_expanded_loss(cfg, data):
    g = graph_for(cfg)
    point = data.draw(points(g), label="point")
    assume_off_kinks(cfg, point)
    at, memo = expanded_loss_agrees(cfg, point)
    pairs = expanded_pairs(cfg)
    assert {name for name, _, _ in pairs} == {*map(str, g.leaves), *INTERMEDIATE}
    for name, got, want in pairs:
        a, b = numeric(got, at, memo), numeric(want, at, memo)
        assert close(a, b), f"dL/d{name}: derive gives {mpmath.nstr(a, 20)}, diff gives {mpmath.nstr(b, 20)}"


# --------------------------------------------------------------------------
# 2. central finite differences of an independent forward pass


@pytest.mark.slow
@pytest.mark.parametrize("activation", ACTIVATIONS)
@HEAVY
@given(data=st.data())
def test_finite_differences_agree_with_evaluate(activation, data):
    cfg = data.draw(configs(activation), label="config")
    g = graph_for(cfg)
    point = data.draw(points(g), label="point")
    assume_off_kinks(cfg, point, margin=sympy.Rational(1, 10**10))
    values = exercise_values(cfg, point)
    at = to_mp(point)
    for leaf in map(str, g.leaves):
        with mpmath.workdps(DPS):
            reference = fd(lambda v: forward(cfg, {**at, leaf: v})[0], at[leaf])
        got = numeric(derivation(cfg, "L", leaf).evaluate(values))
        assert close(got, reference, FD_CLOSE), (
            f"dL/d{leaf}: evaluate gives {mpmath.nstr(got, 20)}, finite differences {mpmath.nstr(reference, 20)}"
        )


# --------------------------------------------------------------------------
# 3. split sums add up to the total


@pytest.mark.slow
@pytest.mark.parametrize("activation", ACTIVATIONS)
@HEAVY
@given(data=st.data())
def test_split_terms_add_up_to_the_total(activation, data):
    cfg = data.draw(configs(activation), label="config")
    g = graph_for(cfg)
    wrt = data.draw(st.sampled_from([str(s) for s in g.quantities if s != g.loss] + [str(s) for s in g.leaves]), label="wrt")
    point = data.draw(points(g), label="point")
    env = leaf_env(cfg, point)
    evaluate = Evaluation(g, env)
    values = exercise_values(cfg, point)
    by_loss = derivation(cfg, "L", wrt, "loss")
    by_step = derivation(cfg, "L", wrt, "step")
    total = by_loss.evaluate(values)
    assert_same_value(by_step.evaluate(values), total, f"dL/d{wrt}, split by step vs by loss term")

    # Per loss term: the split line names ∂L_t/∂B for loss terms L_t; each has
    # exactly one chain line, and their values add up to the total.
    if by_loss.steps[0].kind == "split":
        split, *chains, summed = by_loss.steps
        assert summed.kind == "sum" and summed.lhs == split.lhs == Partial(g.loss, g.symbol(wrt))
        terms = sum_terms(split.forms[-1])
        loss_terms = {g.symbol(f"L_{t}") for t in cfg.loss_steps}
        assert all(isinstance(t, Partial) and t.of in loss_terms for t in terms)
        assert [c.lhs for c in chains] == list(terms)
        assert all(c.kind == "chain" for c in chains)
        shown = [evaluate(c.forms[-1]) for c in chains]
        assert_same_value(sympy.Add(*shown), total, f"sum of the per-loss-term lines of dL/d{wrt}")
        assert_same_value(sympy.Add(*[evaluate(t) for t in sum_terms(summed.forms[-1])]), total, "sum line")

    # Per time step: the terms of the last line add up to the total.
    last = by_step.steps[-1]
    per_step = [evaluate(t) for t in sum_terms(last.forms[-1])]
    assert_same_value(sympy.Add(*per_step), total, f"per-step terms of dL/d{wrt}")


@pytest.mark.parametrize("parameter", PARAMETERS)
@HEAVY
@given(data=st.data())
def test_per_step_contributions_are_derivatives_wrt_per_step_copies(parameter, data):
    """split="step" shows ∂L/∂W as Σ_t (contribution of step t); the
    contribution of step t is ∂L/∂W^(t), W^(t) the copy of W used at step t."""
    cfg = data.draw(configs(), label="config")
    if parameter.startswith("b_") and not cfg.bias:
        cfg = cfg._replace(bias=True)
    g = graph_for(cfg)
    point = data.draw(points(g), label="point")
    assume_off_kinks(cfg, point, margin=sympy.Rational(1, 10**10))
    env = leaf_env(cfg, point)
    evaluate = Evaluation(g, env)
    d = derivation(cfg, "L", parameter, "step")
    # Steps whose copy of the parameter lies on a path to the loss.
    used = range(1, max(cfg.loss_steps) + 1) if parameter in RECURRENT else cfg.loss_steps
    at = to_mp(point)
    with mpmath.workdps(DPS):
        expected = [
            fd(lambda v: forward(cfg, at, copies={(parameter, t): v})[0], at[parameter]) for t in used
        ]
    last = d.steps[-1]
    if len(expected) > 1:
        assert last.kind == "sum", d.steps
    terms = sum_terms(last.forms[-1])
    note(f"terms: {terms}")
    assert len(terms) == len(expected)
    for t, term, want in zip(used, terms, expected):
        got = numeric(evaluate(term))
        assert close(got, want, FD_CLOSE), f"step {t} of dL/d{parameter}: {mpmath.nstr(got, 20)} vs {mpmath.nstr(want, 20)}"


# --------------------------------------------------------------------------
# 4. both sides of every line agree


@st.composite
def questions(draw, max_steps: int = 6):
    cfg = draw(configs(max_steps=max_steps), label="config")
    g = graph_for(cfg)
    quantities = [str(q) for q in g.quantities]
    of = draw(st.one_of(st.just("L"), st.sampled_from(quantities)), label="of")
    earlier = quantities[: quantities.index(of)]
    wrt = draw(st.sampled_from([str(s) for s in g.leaves] + earlier), label="wrt")
    split = draw(st.sampled_from(["loss", "step"]), label="split")
    return cfg, of, wrt, split


def side_value(evaluate: Evaluation, lhs):
    if isinstance(lhs, sympy.Symbol):
        return evaluate.env[lhs]
    assert isinstance(lhs, Partial), lhs
    return evaluate(lhs)


@pytest.mark.slow
@given(question=questions(), data=st.data())
def test_every_line_of_a_derivation_holds(question, data):
    cfg, of, wrt, split = question
    g = graph_for(cfg)
    d = derivation(cfg, of, wrt, split)
    point = data.draw(points(g), label="point")
    env = leaf_env(cfg, point)
    evaluate = Evaluation(g, env)
    assert d.steps, "a derivation has at least one line"
    assert d.steps[-1].lhs == Partial(g.symbol(of), g.symbol(wrt))
    for step in (*d.context, *d.steps):
        assert step.kind in ("chain", "split", "sum", "recall"), step
        lhs = side_value(evaluate, step.lhs)
        assert step.forms, step
        for form in step.forms:
            assert_same_value(evaluate(form), lhs, f"{step}: form {sympy.sstr(form, order='none')}")
        if step.kind == "recall":
            # A restated definition: the symbol and the plain sympy value of its form.
            assert step.lhs in g.quantities
            assert plain(step.forms[0]) == g.assignment(step.lhs).expr
    # The last line is the answer.
    assert_same_value(side_value(evaluate, d.steps[-1].lhs), d.evaluate(exercise_values(cfg, point)), "answer")


# --------------------------------------------------------------------------
# 5. the reference exercise (seed 000, Task 1): textbook numbers

SEED_VALUES = {"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": "0.1", "W_y": 2}


def _seed_graph():
    return elman(2, activation="identity", loss="squared")


def _chain_values(d, env):
    evaluate = Evaluation(d.graph, env)
    return {str(s.lhs.of): evaluate(s.forms[-1]) for s in d.steps if s.kind == "chain"}


def test_seed_forward_values():
    d = derive(_seed_graph(), of="L", wrt="W_h")
    env = d.environment(SEED_VALUES)
    by_name = {str(k): v for k, v in env.items()}
    assert by_name["W_x"] == sympy.Rational(1, 10)
    assert by_name["yhat_2"] == 6
    assert by_name["L"] == 2


def test_seed_dL_dh1_per_loss_term():
    d = derive(_seed_graph(), of="L", wrt="h_1", split="loss")
    env = d.environment(SEED_VALUES)
    assert _chain_values(d, env) == {"L_1": -4, "L_2": 4}
    assert d.evaluate(SEED_VALUES) == 0


def test_seed_dL_dWh_per_loss_term():
    d = derive(_seed_graph(), of="L", wrt="W_h", split="loss")
    env = d.environment(SEED_VALUES)
    assert _chain_values(d, env) == {"L_1": -4, "L_2": 12}
    assert d.evaluate(SEED_VALUES) == 8


def test_seed_dL_dWh_per_step():
    d = derive(_seed_graph(), of="L", wrt="W_h", split="step")
    env = d.environment(SEED_VALUES)
    evaluate = Evaluation(d.graph, env)
    last = d.steps[-1]
    assert last.kind == "sum"
    assert [evaluate(t) for t in sum_terms(last.forms[-1])] == [0, 8]
    assert evaluate(last.lhs) == 8
    assert d.evaluate(SEED_VALUES) == 8


# --------------------------------------------------------------------------
# 6. loss at the last step only, and the half-squared loss


# With one step, loss_at=[1] is the graph of test 1; from 2 steps on it differs.


@pytest.mark.parametrize("steps", STEPS[1:])
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("bias", [False, True])
def test_identity_last_step_loss_equals_diff_of_expanded_loss(bias, loss, steps):
    cfg = Config("identity", bias, loss, steps, (steps,))
    g = graph_for(cfg)
    assert [str(s) for s in g.leaves if str(s).startswith("y_")] == [f"y_{steps}"]
    symbols = {str(s): s for s in g.leaves}
    assert sympy.expand(expanded_loss(cfg) - forward(cfg, symbols)[0]) == 0
    for name, got, want in expanded_pairs(cfg):
        assert sympy.expand(got - want) == 0, f"dL/d{name}: {got} != {want}"


@pytest.mark.parametrize("steps", (2, 3, 4))
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", NONLINEAR)
@SWEEP
@given(data=st.data())
def test_nonlinear_last_step_loss_equals_diff_of_expanded_loss(activation, loss, steps, data):
    """Non-linear cells up to 4 steps with biases (their leaves include every
    parameter); tests 2-4 draw loss_at subsets at up to 6 steps."""
    cfg = Config(activation, True, loss, steps, (steps,))
    g = graph_for(cfg)
    point = data.draw(points(g), label="point")
    assume_off_kinks(cfg, point)
    at, memo = expanded_loss_agrees(cfg, point)
    for name, got, want in expanded_pairs(cfg):
        assert close(numeric(got, at, memo), numeric(want, at, memo)), f"dL/d{name}"


@pytest.mark.slow
@pytest.mark.parametrize("activation", ACTIVATIONS)
@HEAVY
@given(data=st.data())
def test_half_squared_loss_is_half_of_squared(activation, data):
    """Independent of expansion: the same graph with ½(ŷ − y)² has half the gradient."""
    cfg = data.draw(configs(activation, max_steps=4), label="config")
    half, full = cfg._replace(loss="half_squared"), cfg._replace(loss="squared")
    g = graph_for(full)
    wrt = data.draw(st.sampled_from([str(s) for s in g.leaves]), label="wrt")
    point = data.draw(points(g), label="point")
    values = exercise_values(cfg, point)
    got = derivation(half, "L", wrt).evaluate(values)
    assert_same_value(2 * got, derivation(full, "L", wrt).evaluate(values), f"2 dL_half/d{wrt} vs dL/d{wrt}")


@pytest.mark.parametrize("digits", [30, None])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_short_reverse_passes_agree_with_full_ones(cell, digits):
    """∂q/∂p found by a pass that stops at p equals the same entry of q's full reverse
    pass, in decimals and exactly (compared to 40 digits)."""
    graph = rnnsym.build(cell, 2)
    point = {str(s): sympy.Rational((7 * i) % 9 - 4, 4) for i, s in enumerate(graph.leaves)}
    full = rnnsym.evaluate(graph, point, digits=digits)
    for of in graph.quantities:
        adjoints = full.adjoints(of)
        for wrt in graph.quantities[: graph.position(of)]:
            fresh = rnnsym.evaluate(graph, point, digits=digits)  # nothing cached: the short pass runs
            want = sympy.N(adjoints.get(wrt, 0), 40)
            assert abs(sympy.N(fresh.derivative(of, wrt), 40) - want) <= sympy.Float("1e-25") * (1 + abs(want)), (of, wrt)
