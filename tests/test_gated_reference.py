"""GRU and LSTM gradients from rnnsym against an independent numeric reference.

The reference (``tests/gated_reference.py``) is a forward pass and a
hand-written backpropagation through time in 50-digit mpmath; it shares no
code with rnnsym.  It is itself checked here against central finite
differences of its own forward pass and against a step worked by hand.

What is compared, at hypothesis-drawn rational points:

- every parameter gradient, and dL/dh_0 (and dL/dc_0), from
  ``rnnsym.derive(graph, "L", name).evaluate(values)``, to 1e-30 relative,
  for the GRU (reset "before", "after", and "after" with the hidden-side
  candidate bias b_hn) and the LSTM, scalar and hidden size 2 (input size 1
  and 2), 1-3 steps; with each point also the forward values h_t (c_t, ŷ_t
  and the loss L) of ``Graph.evaluate``;
- the one-step GRU gradient, every reset, hidden, input and output size 1
  or 2, through ``sympy.N(value, 40)``;
- PyTorch's documented GRUCell and LSTMCell formulas, written out here under
  PyTorch's names with an input-side and a hidden-side bias per gate (b_hn ≠ 0),
  in 50-digit mpmath: rnnsym's states, and its gradients against central
  differences of those formulas;
- ``torch.nn.GRUCell`` and ``torch.nn.LSTMCell`` themselves (float64), states
  and every gradient, when torch can be imported (it is not a dependency: the
  tests skip without it).

Cost.  rnnsym's values are exact sympy expressions.  ``sympy.N`` on a
gradient of a hidden-size-2 cell over 3 steps takes seconds (it walks the
expression as a tree, and the tree repeats the same forward values many
times), so outside the one-step test exact values are turned into numbers by
:func:`to_mpf`, a memoised mpmath walk over the expression at 70 and 100
digits, itself checked against ``sympy.N(value, 40)`` below.  Points with
three steps, or hidden size 2 and more than one step, have no zero entries:
a zero (for instance in W_y) can make rnnsym's exact evaluation 100-1000
times slower there (from seconds to minutes a point); zeros are drawn for
the one-step cells and the scalar cells over two steps.  By default the
hidden-size-2, three-step configurations check a few drawn parameters at one
point; ``RNNSYM_SLOW_TESTS=1`` checks every parameter there and draws more
examples everywhere (a few minutes).
"""

from __future__ import annotations

import functools
import os
from fractions import Fraction

import mpmath
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gated_reference as ref
import rnnsym
from rnnsym.evaluation import bind

ctx = ref.ctx
RTOL = ctx.mpf("1e-30")  # relative agreement of rnnsym and the reference
ATOL = ctx.mpf("1e-40")  # absolute floor, for gradients that are (near) zero
FD_STEP = ctx.mpf("1e-20")
FD_TOL = ctx.mpf("1e-22")  # central differences at 50 digits: error ~ 1e-40 + 1e-50/1e-20

SLOW = os.environ.get("RNNSYM_SLOW_TESTS", "") not in ("", "0")

#: The cell variants: key → (rnnsym builder name, options).
VARIANTS = {
    "gru-before": ("gru", {"reset": "before"}),
    "gru-after": ("gru", {"reset": "after"}),
    "gru-after-bhn": ("gru", {"reset": "after", "hidden_bias": True}),
    "lstm": ("lstm", {}),
}
SIZES = ((1, 1), (2, 1), (2, 2))  # (hidden n, input m); output size 1
STEPS = (1, 2, 3)

# --- points ---------------------------------------------------------------------------------------

#: Modest rationals: sigmoid and tanh stay away from saturation.
rationals = st.fractions(min_value=-2, max_value=2, max_denominator=12)
nonzero_rationals = rationals.filter(lambda q: q != 0)


def _parameter_names(variant: str) -> tuple[str, ...]:
    cell, options = VARIANTS[variant]
    if cell == "lstm":
        return ref.LSTM_PARAMETERS
    return ref.GRU_HIDDEN_BIAS_PARAMETERS if options.get("hidden_bias") else ref.GRU_PARAMETERS


def _shapes(variant: str, n: int, m: int, k: int) -> dict[str, tuple[int, ...]]:
    """Reference shapes of every parameter and initial state."""
    names = _parameter_names(variant)
    cell = VARIANTS[variant][0]
    shapes: dict[str, tuple[int, ...]] = {}
    for name in names:
        if name == "W_y":
            shapes[name] = (k, n)
        elif name == "b_y":
            shapes[name] = (k,)
        elif name.startswith("W_x"):
            shapes[name] = (n, m)
        elif name.startswith("W_h"):
            shapes[name] = (n, n)
        else:
            shapes[name] = (n,)
    shapes["h_0"] = (n,)
    if cell == "lstm":
        shapes["c_0"] = (n,)
    return shapes


def _array(shape: tuple[int, ...], numbers):
    inner = numbers if len(shape) == 1 else _array(shape[1:], numbers)
    return st.lists(inner, min_size=shape[0], max_size=shape[0])


@st.composite
def points(draw, variant: str, n: int, m: int, k: int, steps: int, nonzero: bool = False) -> dict:
    """A point of ``variant``: every parameter and initial state (reference shapes), and per-step x and y."""
    numbers = nonzero_rationals if nonzero else rationals
    point = {name: draw(_array(shape, numbers)) for name, shape in _shapes(variant, n, m, k).items()}
    point["x"] = draw(st.lists(_array((m,), numbers), min_size=steps, max_size=steps))
    point["y"] = draw(st.lists(_array((k,), numbers), min_size=steps, max_size=steps))
    return point


def run_reference(variant: str, point: dict) -> ref.Result:
    cell, options = VARIANTS[variant]
    params = {k: v for k, v in point.items() if k not in ("h_0", "c_0", "x", "y")}
    if cell == "gru":
        return ref.gru(params, point["h_0"], point["x"], point["y"], **options)
    return ref.lstm(params, point["h_0"], point["c_0"], point["x"], point["y"])


# --- rnnsym's side: names, values, graphs ----------------------------------------------------------


def _text(q: Fraction) -> str:
    return str(q)  # "3/4", "-2": the spelling an exercise file would use


def _squeeze(value):
    """A 1-entry vector or 1×1 matrix as its number (rnnsym names those without indices)."""
    if isinstance(value, list) and len(value) == 1 and (not isinstance(value[0], list) or len(value[0]) == 1):
        return _squeeze(value[0])
    if isinstance(value, list):
        return [_squeeze_row(v) for v in value]
    return _text(value)


def _squeeze_row(v):
    return [_text(a) for a in v] if isinstance(v, list) else _text(v)


def rnnsym_values(point: dict) -> dict:
    """The point as rnnsym ``values``: whole tensors by name, row-major, and
    per-step lists for ``x`` and ``y`` (numbers when the input is scalar)."""
    values = {}
    for name, value in point.items():
        if name in ("x", "y"):
            values[name] = [_text(v[0]) if len(v) == 1 else [_text(a) for a in v] for v in value]
        else:
            values[name] = _squeeze(value)
    return values


def components(name: str, value) -> list[tuple[str, tuple[int, ...]]]:
    """rnnsym's component names of a reference array and their 0-based indices:
    ``W_hz`` for a 1×1 matrix, ``W_hz[1,2]`` otherwise (``b_h``, ``b_h[2]`` for vectors)."""
    if isinstance(value[0], list):
        rows, cols = len(value), len(value[0])
        if rows == cols == 1:
            return [(name, (0, 0))]
        return [(f"{name}[{i + 1},{j + 1}]", (i, j)) for i in range(rows) for j in range(cols)]
    if len(value) == 1:
        return [(name, (0,))]
    return [(f"{name}[{i + 1}]", (i,)) for i in range(len(value))]


def _at(array, index):
    for i in index:
        array = array[i]
    return array


@functools.lru_cache(maxsize=None)
def graph_of(variant: str, steps: int, n: int, m: int, k: int = 1) -> rnnsym.Graph:
    cell, options = VARIANTS[variant]
    builder = rnnsym.gru if cell == "gru" else rnnsym.lstm
    return builder(steps, hidden=n, input=m, output=k, **options)


@functools.lru_cache(maxsize=None)
def derivation(variant: str, steps: int, n: int, m: int, k: int, wrt: str) -> rnnsym.Derivation:
    return rnnsym.derive(graph_of(variant, steps, n, m, k), "L", wrt)


# --- exact sympy values as numbers -----------------------------------------------------------------


def _walk(expr: sympy.Expr, c, memo: dict):
    """``expr`` in mpmath context ``c`` (memoised on subexpressions: rnnsym's
    values repeat the same forward values many times)."""
    hit = memo.get(expr)
    if hit is not None:
        return hit
    if expr.is_Rational:
        value = c.mpf(int(expr.p)) / int(expr.q)
    elif expr is sympy.E:
        value = c.e
    elif expr.is_Add:
        value = c.fsum(_walk(a, c, memo) for a in expr.args)
    elif expr.is_Mul:
        value = c.fprod(_walk(a, c, memo) for a in expr.args)
    elif expr.is_Pow:
        base, exponent = expr.args
        if exponent.is_Integer:
            value = _walk(base, c, memo) ** int(exponent)
        else:
            value = c.power(_walk(base, c, memo), _walk(exponent, c, memo))
    elif isinstance(expr, sympy.exp):
        value = c.exp(_walk(expr.args[0], c, memo))
    elif isinstance(expr, sympy.tanh):
        value = c.tanh(_walk(expr.args[0], c, memo))
    elif isinstance(expr, sympy.log):
        value = c.log(_walk(expr.args[0], c, memo))
    elif type(expr).__name__ == "Exact" and isinstance(getattr(expr, "expr", None), sympy.Expr):
        # rnnsym.exact.Exact: a named stand-in for an irrational forward value,
        # carrying its exact expression (in earlier stand-ins) as ``.expr``.
        value = _walk(expr.expr, c, memo)
    elif type(expr).__name__ == "sigmoid":
        value = 1 / (1 + c.exp(-_walk(expr.args[0], c, memo)))
    elif expr.is_number and not expr.is_Float and not expr.args:
        # Some other exact atom: let sympy give its digits (at the walk's precision).
        value = c.mpf(str(sympy.N(expr, c.dps + 10)))
    else:
        raise TypeError(f"unexpected node in an exact value: {type(expr).__name__}: {expr}")
    memo[expr] = value
    return value


def to_mpf(expr) -> mpmath.mpf:
    """An exact sympy value as a reference-context number, to well beyond 40 digits.

    Walked at 70 and 100 digits; if the two disagree beyond 1e-45 (relative,
    or absolute near 0) ``sympy.N(expr, 45)`` decides instead.
    """
    expr = sympy.sympify(expr)
    values = []
    for dps in (70, 100):
        c = mpmath.MPContext()
        c.dps = dps
        values.append(_walk(expr, c, {}))
    lo, hi = (ctx.mpf(v) for v in values)
    if abs(lo - hi) <= ctx.mpf("1e-45") * max(abs(hi), 1):
        return hi
    return ctx.mpf(str(sympy.N(expr, 45)))


def via_N(expr) -> mpmath.mpf:
    """``sympy.N(expr, 40)`` as a reference-context number."""
    return ctx.mpf(str(sympy.N(expr, 40)))


def close(got, want, rtol=RTOL, atol=ATOL) -> bool:
    return abs(got - want) <= rtol * max(abs(got), abs(want)) + atol


def _show(x) -> str:
    return mpmath.nstr(x, 40) if not isinstance(x, str) else x


# --- the comparisons --------------------------------------------------------------------------------


def expected_gradients(point: dict, result: ref.Result) -> dict[str, mpmath.mpf]:
    """Every component gradient of the reference, by rnnsym component name."""
    out = {}
    for name, grad in result.grads.items():
        for component, index in components(name, point[name]):
            out[component] = _at(grad, index)
    return out


def expected_forward(result: ref.Result) -> dict[str, mpmath.mpf]:
    """L, and h_t, c_t, ŷ_t of every step, by rnnsym quantity name."""
    out = {"L": result.loss}
    for t in range(1, len(result.h)):
        for name, value in (("h", result.h[t]), ("c", result.c[t] if result.c else None), ("yhat", result.yhat[t - 1])):
            if value is not None:
                for component, index in components(f"{name}_{t}", value):
                    out[component] = _at(value, index)
    return out


def check_forward(variant, steps, n, m, k, point, result=None) -> None:
    """The forward values of ``Graph.evaluate`` agree with the reference's."""
    graph = graph_of(variant, steps, n, m, k)
    result = result or run_reference(variant, point)
    values = rnnsym_values(point)
    env = rnnsym.evaluate(graph, {s: number.exact for s, number in bind(graph, values).items()}).values
    by_name = {str(s): v for s, v in env.items()}
    wrong = []
    for name, want in expected_forward(result).items():
        got = to_mpf(by_name[name])
        if not close(got, want):
            wrong.append(f"  {name}: rnnsym {_show(got)}, reference {_show(want)}")
    assert not wrong, f"forward, {variant}, hidden={n}, input={m}, output={k}, steps={steps}, values={values}\n" + "\n".join(wrong)


def check_gradients(variant, steps, n, m, k, point, names=None, convert=None, forward=True) -> None:
    """``derive(graph, "L", name).evaluate(values)`` agrees with the reference for
    every name (or those in ``names``), and the forward values too."""
    convert = convert or to_mpf
    graph = graph_of(variant, steps, n, m, k)
    result = run_reference(variant, point)
    want = expected_gradients(point, result)
    state = {str(s) for s in graph.leaves if str(s).startswith(("h_0", "c_0"))}
    assert set(want) == set(graph.cell.parameters) | state, "reference and rnnsym disagree on the parameter names"
    if forward:
        check_forward(variant, steps, n, m, k, point, result)
    values = rnnsym_values(point)
    wrong = []
    for name in names or sorted(want):
        got = convert(derivation(variant, steps, n, m, k, name).evaluate(values))
        if not close(got, want[name]):
            wrong.append(f"  dL/d{name}: rnnsym {_show(got)}, reference {_show(want[name])}")
    assert not wrong, f"{variant}, hidden={n}, input={m}, output={k}, steps={steps}, values={values}\n" + "\n".join(wrong)


def _examples(n: int, steps: int) -> int:
    """Examples per configuration: fewer as rnnsym's exact values grow."""
    if n == 1:
        count = {1: 3, 2: 2, 3: 2}[steps]
    else:
        count = {1: 2, 2: 1, 3: 1}[steps]
    return count * 3 if SLOW else count


def _configs(keep):
    for variant in VARIANTS:
        for n, m in SIZES:
            for steps in STEPS:
                if keep(n, steps):
                    yield pytest.param(variant, n, m, steps, id=f"{variant}-n{n}-m{m}-T{steps}")


def _needs_nonzero(n: int, steps: int) -> bool:
    """Whether points must avoid zero entries to keep rnnsym's exact evaluation quick."""
    return steps == 3 or (n > 1 and steps > 1)


def _heavy(n: int, steps: int) -> bool:
    return n > 1 and steps == 3


@pytest.mark.slow
@pytest.mark.parametrize("variant, n, m, steps", list(_configs(lambda n, s: not _heavy(n, s))))
def test_gradients_and_forward_match_reference(variant, n, m, steps):
    """Every parameter gradient and dL/dh_0 (dL/dc_0) agrees with the reference to
    1e-30 relative, and so do h_t, c_t, ŷ_t and L."""
    @settings(max_examples=_examples(n, steps), deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(points(variant, n, m, 1, steps, nonzero=_needs_nonzero(n, steps)))
    def run(point):
        check_gradients(variant, steps, n, m, 1, point)

    run()


@pytest.mark.slow
@pytest.mark.parametrize("variant, n, m, steps", list(_configs(_heavy)))
def test_gradients_hidden_2_three_steps(variant, n, m, steps):
    """Hidden size 2 over three steps.  By default one point and a few drawn
    parameters, one of each kind (input weight, hidden weight, bias, initial
    state), plus the forward values; with RNNSYM_SLOW_TESTS=1 every parameter."""
    @settings(max_examples=_examples(n, steps), deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.data())
    def run(data):
        point = data.draw(points(variant, n, m, 1, steps, nonzero=True), label="point")
        names = None
        if not SLOW:
            every = sorted(expected_gradients(point, run_reference(variant, point)))
            names = [data.draw(st.sampled_from([s for s in every if s.startswith(prefix)]), label=prefix)
                     for prefix in ("W_x", "W_h", "b_", "h_0")]
        check_gradients(variant, steps, n, m, 1, point, names=names)

    run()


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["gru-before", "gru-after", "gru-after-bhn"])
@settings(max_examples=12 if SLOW else 6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_gru_one_step(variant, data):
    """The one-step GRU gradient (steps=1) agrees with the reference, through
    sympy.N(value, 40); hidden, input and output sizes 1 or 2."""
    n, m, k = (data.draw(st.integers(1, 2), label=label) for label in ("hidden", "input", "output"))
    point = data.draw(points(variant, n, m, k, 1), label="point")
    check_gradients(variant, 1, n, m, k, point, convert=via_N)


@pytest.mark.parametrize("variant", list(VARIANTS))
@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_to_mpf_agrees_with_sympy_N(variant, data):
    """The memoised evaluation used above gives sympy.N(value, 40)'s digits (scalar cell, 2 steps)."""
    point = data.draw(points(variant, 1, 1, 1, 2), label="point")
    every = sorted(expected_gradients(point, run_reference(variant, point)))
    names = data.draw(st.lists(st.sampled_from(every), min_size=1, max_size=3, unique=True), label="names")
    values = rnnsym_values(point)
    for name in names:
        value = derivation(variant, 2, 1, 1, 1, name).evaluate(values)
        assert close(to_mpf(value), via_N(value), rtol=ctx.mpf("1e-38"), atol=ctx.mpf("1e-45")), name


# --- the reference itself ---------------------------------------------------------------------------


def _perturbed(point: dict, name: str, index: tuple[int, ...], delta) -> dict:
    out = {k: ([list(r) if isinstance(r, list) else r for r in v] if k not in ("x", "y") else v)
           for k, v in point.items()}
    target = out[name]
    if len(index) == 2:
        target[index[0]][index[1]] = ref.num(target[index[0]][index[1]]) + delta
    else:
        target[index[0]] = ref.num(target[index[0]]) + delta
    return out


@pytest.mark.slow
@pytest.mark.parametrize("variant", list(VARIANTS))
@settings(max_examples=6, deadline=None)
@given(data=st.data())
def test_reference_backward_matches_finite_differences(variant, data):
    """The hand-written BPTT agrees with central differences of the reference's own forward pass."""
    n = data.draw(st.integers(1, 3), label="hidden")
    m = data.draw(st.integers(1, 2), label="input")
    k = data.draw(st.integers(1, 2), label="output")
    steps = data.draw(st.integers(1, 4), label="steps")
    point = data.draw(points(variant, n, m, k, steps), label="point")
    result = run_reference(variant, point)
    for name, grad in result.grads.items():
        for component, index in components(name, point[name]):
            up = run_reference(variant, _perturbed(point, name, index, FD_STEP)).loss
            down = run_reference(variant, _perturbed(point, name, index, -FD_STEP)).loss
            fd = (up - down) / (2 * FD_STEP)
            assert abs(fd - _at(grad, index)) <= FD_TOL * max(1, abs(fd)), (component, fd, _at(grad, index))


def test_reference_by_hand():
    """One scalar GRU step worked by hand (reset gate irrelevant with h_0 = 0):
    r, z = σ(0) = 1/2, h̃ = tanh(1), h_1 = tanh(1)/2, ŷ = h_1, L = (h_1 − 1)²,
    dL/dW_y = 2(h_1 − 1) h_1 and dL/db_h = 2(h_1 − 1)(1/2)(1 − tanh²1)."""
    zero = [[0]]
    params = {name: zero for name in ref.GRU_PARAMETERS if name.startswith("W_")}
    params.update(W_y=[[1]], b_r=[0], b_z=[0], b_h=[1], b_y=[0])
    for reset in ("before", "after"):
        r = ref.gru(params, [0], [[0]], [[1]], reset=reset)
        t = ctx.tanh(1)
        h1 = t / 2
        assert close(r.h[1][0], h1)
        assert close(r.loss, (h1 - 1) ** 2)
        assert close(r.grads["W_y"][0][0], 2 * (h1 - 1) * h1)
        assert close(r.grads["b_h"][0], 2 * (h1 - 1) * (1 - t * t) / 2)
    # b_hn = 2 inside r ⊙ (W_hh h_0 + b_hn) with b_h = 0: h̃ = tanh(r b_hn) = tanh(1) again,
    # and dL/db_hn = dL/dh̃ × (1 − tanh²1) × r = 2(h_1 − 1)(1/2)(1 − tanh²1)(1/2).
    params.update(b_h=[0], b_hn=[2])
    r = ref.gru(params, [0], [[0]], [[1]], reset="after", hidden_bias=True)
    assert close(r.h[1][0], h1)
    assert close(r.grads["b_hn"][0], 2 * (h1 - 1) * (1 - t * t) / 4)
    assert close(r.grads["b_h"][0], 2 * (h1 - 1) * (1 - t * t) / 2)


# --- the frameworks' own formulas, written out under their own names --------------------------------
#
# PyTorch documents its cells with an input-side and a hidden-side bias per gate
# (https://pytorch.org/docs/stable/generated/torch.nn.GRUCell.html,
#  https://pytorch.org/docs/stable/generated/torch.nn.LSTMCell.html):
#
#   GRUCell   r = σ(W_ir x + b_ir + W_hr h + b_hr)      z = σ(W_iz x + b_iz + W_hz h + b_hz)
#             n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))      h' = (1 − z) ⊙ n + z ⊙ h
#   LSTMCell  i = σ(W_ii x + b_ii + W_hi h + b_hi)      f = σ(W_if x + b_if + W_hf h + b_hf)
#             g = tanh(W_ig x + b_ig + W_hg h + b_hg)   o = σ(W_io x + b_io + W_ho h + b_ho)
#             c' = f ⊙ c + i ⊙ g                        h' = o ⊙ tanh(c')
#
# with weight_ih = [W_i·] stacked in the gate order (r, z, n) or (i, f, g, o),
# weight_hh, bias_ih and bias_hh likewise.  Keras GRU(reset_after=True) is the
# same GRU (separate kernel and recurrent biases, the reset gate applied after
# the recurrent product).  framework_forward below writes these formulas in
# 50-digit mpmath with every bias separate; the tests map a point to rnnsym's
# GRU (reset="after", hidden_bias=True) and LSTM by
#
#   W_x· = W_i·, W_h· = W_h·  (the GRU candidate: W_xh = W_in, W_hh = W_hn),
#   GRU:  b_r = b_ir + b_hr, b_z = b_iz + b_hz, b_h = b_in, b_hn = b_hn;
#   LSTM: b_· = b_i· + b_h·,
#
# so every framework gradient is an rnnsym gradient: dL/db_ir = dL/db_hr = dL/db_r.

FRAMEWORK_GATES = {"gru": "rzn", "lstm": "ifgo"}
FRAMEWORK_VARIANT = {"gru": "gru-after-bhn", "lstm": "lstm"}


@st.composite
def framework_points(draw, cell: str, n: int, m: int, steps: int, nonzero: bool = False) -> dict:
    """A point under PyTorch's names (W_ir, b_hn, …; reference shapes), hidden-side biases never 0."""
    numbers = nonzero_rationals if nonzero else rationals
    point = {}
    for g in FRAMEWORK_GATES[cell]:
        point[f"W_i{g}"] = draw(_array((n, m), numbers))
        point[f"W_h{g}"] = draw(_array((n, n), numbers))
        point[f"b_i{g}"] = draw(_array((n,), numbers))
        point[f"b_h{g}"] = draw(_array((n,), nonzero_rationals))
    point["W_y"] = draw(_array((1, n), numbers))
    point["b_y"] = draw(_array((1,), numbers))
    point["h_0"] = draw(_array((n,), numbers))
    if cell == "lstm":
        point["c_0"] = draw(_array((n,), numbers))
    point["x"] = draw(st.lists(_array((m,), numbers), min_size=steps, max_size=steps))
    point["y"] = draw(st.lists(_array((1,), numbers), min_size=steps, max_size=steps))
    return point


def rnnsym_name(cell: str, name: str) -> str:
    """The rnnsym parameter a framework parameter is (or is a summand of)."""
    if name in ("W_y", "b_y", "h_0", "c_0"):
        return name
    kind, side, gate = name[0], name[2], name[3]
    ours = "h" if (cell, gate) == ("gru", "n") else gate
    if kind == "W":
        return f"W_{'x' if side == 'i' else 'h'}{ours}"
    if (cell, gate) == ("gru", "n"):
        return "b_h" if side == "i" else "b_hn"
    return f"b_{ours}"


def as_rnnsym_point(cell: str, point: dict) -> dict:
    """The framework point as an rnnsym point (reference shapes): a gate's two biases summed."""
    out = {}
    for name, value in point.items():
        if name in ("x", "y"):
            out[name] = value
        elif name[0] == "W" or name in ("b_y", "h_0", "c_0") or (cell, name[3]) == ("gru", "n"):
            out[rnnsym_name(cell, name)] = value
        else:
            gate = name[3]
            out[rnnsym_name(cell, name)] = [a + b for a, b in zip(point[f"b_i{gate}"], point[f"b_h{gate}"])]
    return out


def framework_forward(cell: str, point: dict):
    """PyTorch's documented formulas (above) at 50 digits: (L, [h_1 …], [c_1 …])."""
    with ctx.workdps(ref.DPS):
        P = {k: ([[ref.num(a) for a in row] for row in v] if k[0] == "W" else [ref.num(a) for a in v])
             for k, v in point.items() if k not in ("x", "y")}

        def mv(W, v):
            return [ctx.fsum(w * a for w, a in zip(row, v)) for row in W]

        def sig(a):
            return 1 / (1 + ctx.exp(-a))

        h, c = P["h_0"], P.get("c_0")
        hs, cs, loss = [], [], ctx.mpf(0)
        for x, y in zip(point["x"], point["y"]):
            x = [ref.num(a) for a in x]
            side_i = {g: [a + b for a, b in zip(mv(P[f"W_i{g}"], x), P[f"b_i{g}"])] for g in FRAMEWORK_GATES[cell]}
            side_h = {g: [a + b for a, b in zip(mv(P[f"W_h{g}"], h), P[f"b_h{g}"])] for g in FRAMEWORK_GATES[cell]}
            if cell == "gru":
                r = [sig(a + b) for a, b in zip(side_i["r"], side_h["r"])]
                z = [sig(a + b) for a, b in zip(side_i["z"], side_h["z"])]
                new = [ctx.tanh(a + rj * b) for a, rj, b in zip(side_i["n"], r, side_h["n"])]
                h = [(1 - zj) * nj + zj * hj for zj, nj, hj in zip(z, new, h)]
            else:
                pre = {g: [a + b for a, b in zip(side_i[g], side_h[g])] for g in "ifgo"}
                i, f, o = ([sig(a) for a in pre[g]] for g in "ifo")
                g = [ctx.tanh(a) for a in pre["g"]]
                c = [fj * cj + ij * gj for fj, cj, ij, gj in zip(f, c, i, g)]
                h = [oj * ctx.tanh(cj) for oj, cj in zip(o, c)]
                cs.append(c)
            hs.append(h)
            yhat = [a + b for a, b in zip(mv(P["W_y"], h), P["b_y"])]
            loss += ctx.fsum((a - ref.num(b)) ** 2 for a, b in zip(yhat, y))
        return loss, hs, cs


def _rnnsym_forward(variant: str, steps: int, n: int, m: int, point: dict) -> dict:
    graph = graph_of(variant, steps, n, m)
    values = rnnsym_values(point)
    env = rnnsym.evaluate(graph, {s: q.exact for s, q in bind(graph, values).items()}).values
    return {str(s): v for s, v in env.items()}


def check_framework(cell: str, n: int, m: int, steps: int, point: dict) -> None:
    """rnnsym's forward values and every gradient agree with PyTorch's formula at 50
    digits: values to 1e-30, gradients with central differences of the formula."""
    variant = FRAMEWORK_VARIANT[cell]
    ours = as_rnnsym_point(cell, point)
    assert set(ours) - {"x", "y"} == set(_shapes(variant, n, m, 1)), "the mapping misses a parameter"
    loss, hs, cs = framework_forward(cell, point)
    env = _rnnsym_forward(variant, steps, n, m, ours)
    want = {"L": loss}
    for t in range(1, steps + 1):
        for base, states in (("h", hs), ("c", cs)):
            if states:
                for component, index in components(f"{base}_{t}", states[t - 1]):
                    want[component] = _at(states[t - 1], index)
    wrong = [f"  {k}: rnnsym {_show(to_mpf(env[k]))}, formula {_show(w)}" for k, w in want.items()
             if not close(to_mpf(env[k]), w)]
    values = rnnsym_values(ours)
    gradients: dict[str, mpmath.mpf] = {}
    for name, value in point.items():
        if name in ("x", "y"):
            continue
        for (component, index), (ours_component, _) in zip(components(name, value), components(rnnsym_name(cell, name), value)):
            if ours_component not in gradients:
                gradients[ours_component] = to_mpf(derivation(variant, steps, n, m, 1, ours_component).evaluate(values))
            up = framework_forward(cell, _perturbed(point, name, index, FD_STEP))[0]
            down = framework_forward(cell, _perturbed(point, name, index, -FD_STEP))[0]
            fd = (up - down) / (2 * FD_STEP)
            if abs(fd - gradients[ours_component]) > FD_TOL * max(1, abs(fd)):
                wrong.append(f"  dL/d{component} (rnnsym {ours_component}): rnnsym {_show(gradients[ours_component])}, "
                             f"central difference {_show(fd)}")
    assert not wrong, f"{cell}, hidden={n}, input={m}, steps={steps}, point={point}\n" + "\n".join(wrong)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_scalar_cells_match_pytorch_formula(cell, data):
    """Scalar GRU (with b_hn ≠ 0) and LSTM over two steps: rnnsym agrees with
    PyTorch's documented formulas, separate biases and all."""
    check_framework(cell, 1, 1, 2, data.draw(framework_points(cell, 1, 1, 2), label="point"))


@pytest.mark.slow
@pytest.mark.parametrize("cell, n, m, steps", [("gru", 2, 1, 1), ("gru", 2, 2, 2), ("lstm", 2, 1, 1), ("lstm", 2, 2, 2)])
@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_vector_cells_match_pytorch_formula(cell, n, m, steps, data):
    """Hidden size 2: rnnsym agrees with PyTorch's documented formulas."""
    point = data.draw(framework_points(cell, n, m, steps, nonzero=steps > 1), label="point")
    check_framework(cell, n, m, steps, point)


def test_framework_formula_by_hand():
    """PyTorch's GRU formula at one scalar step, worked by hand: with every weight 0,
    h_0 = 0 and biases b_ir = −b_hr, b_iz = −b_hz (r = z = 1/2), b_in = 0 and
    b_hn = 2, n = tanh(r b_hn) = tanh(1) and h_1 = tanh(1)/2."""
    point = {f"W_{s}{g}": [[0]] for s in "ih" for g in "rzn"}
    point.update(b_ir=[3], b_hr=[-3], b_iz=[-1], b_hz=[1], b_in=[0], b_hn=[2],
                 W_y=[[1]], b_y=[0], h_0=[0], x=[[5]], y=[[0]])
    loss, hs, _ = framework_forward("gru", point)
    assert close(hs[0][0], ctx.tanh(1) / 2) and close(loss, (ctx.tanh(1) / 2) ** 2)
    ours = as_rnnsym_point("gru", point)
    assert (ours["b_r"], ours["b_z"], ours["b_h"], ours["b_hn"]) == ([0], [0], [0], [2])


# --- PyTorch itself (optional: skipped when torch cannot be imported) -------------------------------


def torch_run(torch, cell: str, n: int, m: int, point: dict):
    """torch.nn.GRUCell / LSTMCell in float64 on a framework point: ([h_1 …], gradients by framework name)."""
    f64 = torch.float64

    def t(rows):
        return torch.tensor([[float(a) for a in row] for row in rows], dtype=f64)

    def v(entries):
        return torch.tensor([float(a) for a in entries], dtype=f64)

    gates = FRAMEWORK_GATES[cell]
    module = (torch.nn.GRUCell if cell == "gru" else torch.nn.LSTMCell)(m, n, bias=True, dtype=f64)
    with torch.no_grad():
        module.weight_ih.copy_(torch.cat([t(point[f"W_i{g}"]) for g in gates]))
        module.weight_hh.copy_(torch.cat([t(point[f"W_h{g}"]) for g in gates]))
        module.bias_ih.copy_(torch.cat([v(point[f"b_i{g}"]) for g in gates]))
        module.bias_hh.copy_(torch.cat([v(point[f"b_h{g}"]) for g in gates]))
    h0 = v(point["h_0"]).reshape(1, n).requires_grad_(True)
    c0 = v(point["c_0"]).reshape(1, n).requires_grad_(True) if cell == "lstm" else None
    W_y, b_y = t(point["W_y"]).requires_grad_(True), v(point["b_y"]).requires_grad_(True)
    h, c, hs, loss = h0, c0, [], 0
    for x, y in zip(point["x"], point["y"]):
        x = v(x).reshape(1, m)
        if cell == "gru":
            h = module(x, h)
        else:
            h, c = module(x, (h, c))
        hs.append(h[0].tolist())
        loss = loss + ((W_y @ h[0] + b_y - v(y)) ** 2).sum()
    loss.backward()
    grads = {"W_y": W_y.grad.tolist(), "b_y": b_y.grad.tolist(), "h_0": h0.grad[0].tolist()}
    if c0 is not None:
        grads["c_0"] = c0.grad[0].tolist()
    for j, g in enumerate(gates):
        rows = slice(j * n, (j + 1) * n)
        grads[f"W_i{g}"] = module.weight_ih.grad[rows].tolist()
        grads[f"W_h{g}"] = module.weight_hh.grad[rows].tolist()
        grads[f"b_i{g}"] = module.bias_ih.grad[rows].tolist()
        grads[f"b_h{g}"] = module.bias_hh.grad[rows].tolist()
    return hs, grads


def check_torch(torch, cell: str, n: int, m: int, steps: int, point: dict) -> None:
    """rnnsym's states and gradients agree with torch's (float64) to 1e-10 relative."""
    variant = FRAMEWORK_VARIANT[cell]
    ours = as_rnnsym_point(cell, point)
    hs, grads = torch_run(torch, cell, n, m, point)
    env = _rnnsym_forward(variant, steps, n, m, ours)
    values = rnnsym_values(ours)
    wrong = []
    for t in range(1, steps + 1):
        for component, index in components(f"h_{t}", hs[t - 1]):
            got, want = float(to_mpf(env[component])), _at(hs[t - 1], index)
            if abs(got - want) > 1e-10 * max(1.0, abs(want)):
                wrong.append(f"  {component}: rnnsym {got}, torch {want}")
    assert set(grads) == set(point) - {"x", "y"}
    for name, grad in grads.items():
        for (component, index), (ours_component, _) in zip(components(name, point[name]),
                                                           components(rnnsym_name(cell, name), point[name])):
            want = _at(grad, index)
            got = float(to_mpf(derivation(variant, steps, n, m, 1, ours_component).evaluate(values)))
            if abs(got - want) > 1e-10 * max(1.0, abs(want)):
                wrong.append(f"  dL/d{component} (rnnsym {ours_component}): rnnsym {got}, torch {want}")
    assert not wrong, f"{cell}, hidden={n}, input={m}, steps={steps}, point={point}\n" + "\n".join(wrong)


@pytest.mark.slow
@pytest.mark.parametrize("cell, n, m, steps", [
    ("gru", 1, 1, 1), ("gru", 1, 1, 2), ("gru", 2, 1, 1), ("gru", 2, 2, 1), ("gru", 2, 2, 2),
    ("lstm", 1, 1, 1), ("lstm", 1, 1, 2), ("lstm", 2, 1, 1), ("lstm", 2, 2, 1), ("lstm", 2, 2, 2),
])
def test_cells_match_torch(cell, n, m, steps):
    """rnnsym's GRU (reset="after", hidden_bias=True: b_hn ≠ 0) is torch.nn.GRUCell,
    and its LSTM is torch.nn.LSTMCell, with every torch bias drawn separately and
    rnnsym's gate bias their sum: states and every gradient, torch float64."""
    torch = pytest.importorskip("torch")

    @settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(framework_points(cell, n, m, steps, nonzero=steps > 1))
    def run(point):
        check_torch(torch, cell, n, m, steps, point)

    run()


@pytest.mark.slow
@pytest.mark.parametrize("n, m", [(1, 1), (2, 1), (2, 2)])
def test_gru_reset_after_matches_torch_grucell(n, m):
    """Without hidden_bias, rnnsym's GRU with reset="after" is torch.nn.GRUCell with
    bias_hh = 0: (b_r, b_z, b_h) = bias_ih, b_hn = 0.  rnnsym's reset="before"
    (Cho et al.) is not PyTorch's."""
    torch = pytest.importorskip("torch")

    @settings(max_examples=5, deadline=None)
    @given(framework_points("gru", n, m, 1))
    def run(point):
        for g in "rzn":
            point[f"b_h{g}"] = [0] * n
        ours = as_rnnsym_point("gru", point)
        del ours["b_hn"]
        hs, grads = torch_run(torch, "gru", n, m, point)
        env = _rnnsym_forward("gru-after", 1, n, m, ours)
        values = rnnsym_values(ours)
        for component, index in components("h_1", hs[0]):
            got, want = float(to_mpf(env[component])), _at(hs[0], index)
            assert abs(got - want) <= 1e-10 * max(1.0, abs(want)), (component, got, want)
        for name, grad in grads.items():
            if name == "b_hn":
                continue
            for (_, index), (component, _) in zip(components(name, point[name]), components(rnnsym_name("gru", name), point[name])):
                want = _at(grad, index)
                got = float(to_mpf(derivation("gru-after", 1, n, m, 1, component).evaluate(values)))
                assert abs(got - want) <= 1e-10 * max(1.0, abs(want)), (name, component, got, want)

    run()
