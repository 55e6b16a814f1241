"""GRU and LSTM gradients from rnnsym against an independent numeric reference.

The reference (``tests/gated_reference.py``) is a forward pass and a
hand-written backpropagation through time in 50-digit mpmath; it shares no
code with rnnsym.  It is itself checked here against central finite
differences of its own forward pass and against a step worked by hand.

What is compared, at hypothesis-drawn rational points:

- every parameter gradient, and dL/dh_0 (and dL/dc_0), from
  ``rnnsym.derive(graph, "L", name).evaluate(values)``, to 1e-30 relative,
  for the GRU (reset "before" and "after") and the LSTM, scalar and hidden
  size 2 (input size 1 and 2), 1-3 steps; with each point also the forward
  values h_t (c_t, ŷ_t and the loss L) of ``Graph.evaluate``;
- the one-step GRU gradient, both resets, hidden, input and output size 1
  or 2, through ``sympy.N(value, 40)``;
- PyTorch's ``torch.nn.GRUCell`` against rnnsym's ``reset="after"`` GRU, one
  step, when torch is installed (the optional ``torch`` extra).

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
    "lstm": ("lstm", {}),
}
SIZES = ((1, 1), (2, 1), (2, 2))  # (hidden n, input m); output size 1
STEPS = (1, 2, 3)

# --- points ---------------------------------------------------------------------------------------

#: Modest rationals: sigmoid and tanh stay away from saturation.
rationals = st.fractions(min_value=-2, max_value=2, max_denominator=12)
nonzero_rationals = rationals.filter(lambda q: q != 0)


def _shapes(cell: str, n: int, m: int, k: int) -> dict[str, tuple[int, ...]]:
    """Reference shapes of every parameter and initial state."""
    names = ref.GRU_PARAMETERS if cell == "gru" else ref.LSTM_PARAMETERS
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
def points(draw, cell: str, n: int, m: int, k: int, steps: int, nonzero: bool = False) -> dict:
    """A point: every parameter and initial state (reference shapes), and per-step x and y."""
    numbers = nonzero_rationals if nonzero else rationals
    point = {name: draw(_array(shape, numbers)) for name, shape in _shapes(cell, n, m, k).items()}
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
    cell = VARIANTS[variant][0]

    @settings(max_examples=_examples(n, steps), deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(points(cell, n, m, 1, steps, nonzero=_needs_nonzero(n, steps)))
    def run(point):
        check_gradients(variant, steps, n, m, 1, point)

    run()


@pytest.mark.slow
@pytest.mark.parametrize("variant, n, m, steps", list(_configs(_heavy)))
def test_gradients_hidden_2_three_steps(variant, n, m, steps):
    """Hidden size 2 over three steps.  By default one point and a few drawn
    parameters, one of each kind (input weight, hidden weight, bias, initial
    state), plus the forward values; with RNNSYM_SLOW_TESTS=1 every parameter."""
    cell = VARIANTS[variant][0]

    @settings(max_examples=_examples(n, steps), deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.data())
    def run(data):
        point = data.draw(points(cell, n, m, 1, steps, nonzero=True), label="point")
        names = None
        if not SLOW:
            every = sorted(expected_gradients(point, run_reference(variant, point)))
            names = [data.draw(st.sampled_from([s for s in every if s.startswith(prefix)]), label=prefix)
                     for prefix in ("W_x", "W_h", "b_", "h_0")]
        check_gradients(variant, steps, n, m, 1, point, names=names)

    run()


@pytest.mark.slow
@pytest.mark.parametrize("reset", ["before", "after"])
@settings(max_examples=12 if SLOW else 6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_gru_one_step(reset, data):
    """The one-step GRU gradient (steps=1) agrees with the reference, through
    sympy.N(value, 40); hidden, input and output sizes 1 or 2."""
    n, m, k = (data.draw(st.integers(1, 2), label=label) for label in ("hidden", "input", "output"))
    point = data.draw(points("gru", n, m, k, 1), label="point")
    check_gradients(f"gru-{reset}", 1, n, m, k, point, convert=via_N)


@pytest.mark.parametrize("variant", list(VARIANTS))
@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_to_mpf_agrees_with_sympy_N(variant, data):
    """The memoised evaluation used above gives sympy.N(value, 40)'s digits (scalar cell, 2 steps)."""
    point = data.draw(points(VARIANTS[variant][0], 1, 1, 1, 2), label="point")
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
    cell = VARIANTS[variant][0]
    n = data.draw(st.integers(1, 3), label="hidden")
    m = data.draw(st.integers(1, 2), label="input")
    k = data.draw(st.integers(1, 2), label="output")
    steps = data.draw(st.integers(1, 4), label="steps")
    point = data.draw(points(cell, n, m, k, steps), label="point")
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


# --- PyTorch (optional extra "torch") ---------------------------------------------------------------


@pytest.mark.parametrize("n, m", [(1, 1), (2, 1), (2, 2)])
def test_gru_reset_after_matches_torch_grucell(n, m):
    """rnnsym's GRU with reset="after" is PyTorch's torch.nn.GRUCell with bias_hh = 0.

    PyTorch documents GRUCell as
        r = σ(W_ir x + b_ir + W_hr h + b_hr)
        z = σ(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
        h' = (1 − z) ⊙ n + z ⊙ h
    with weight_ih = [W_ir; W_iz; W_in] (rows r, z, n), weight_hh likewise and
    bias_ih = [b_ir; b_iz; b_in].  rnnsym's reset="after" is
        h̃ = tanh(W_xh x + r ⊙ (W_hh h_{t−1}) + b_h),  h_t = z ⊙ h_{t−1} + (1 − z) ⊙ h̃:
    the reset gate multiplies W_hh h_{t−1} after the matrix product, exactly
    where PyTorch applies r, so the two match with W_x· = W_i·, W_h· = W_h·,
    (b_r, b_z, b_h) = bias_ih and bias_hh = 0 (b_hn = 0 in particular: with a
    non-zero b_hn PyTorch would gate that bias by r too, which rnnsym has no
    parameter for).  rnnsym's reset="before" (Cho et al.) is not PyTorch's.
    """
    torch = pytest.importorskip("torch")

    @settings(max_examples=5, deadline=None)
    @given(points("gru", n, m, 1, 1))
    def run(point):
        def t(rows):
            return torch.tensor([[float(a) for a in row] for row in rows], dtype=torch.float64)

        def v(entries):
            return torch.tensor([float(a) for a in entries], dtype=torch.float64)

        cell = torch.nn.GRUCell(m, n, bias=True, dtype=torch.float64)
        with torch.no_grad():
            cell.weight_ih.copy_(torch.cat([t(point["W_xr"]), t(point["W_xz"]), t(point["W_xh"])]))
            cell.weight_hh.copy_(torch.cat([t(point["W_hr"]), t(point["W_hz"]), t(point["W_hh"])]))
            cell.bias_ih.copy_(torch.cat([v(point["b_r"]), v(point["b_z"]), v(point["b_h"])]))
            cell.bias_hh.zero_()
        h0 = v(point["h_0"]).reshape(1, n).requires_grad_(True)
        x = v(point["x"][0]).reshape(1, m)
        W_y = t(point["W_y"]).requires_grad_(True)
        b_y = v(point["b_y"]).requires_grad_(True)
        y = v(point["y"][0])
        h1 = cell(x, h0)  # shape (1, n)
        loss = ((W_y @ h1[0] + b_y - y) ** 2).sum()
        loss.backward()

        torch_grads = {"W_y": W_y.grad.tolist(), "b_y": b_y.grad.tolist(), "h_0": h0.grad[0].tolist()}
        for j, gate in enumerate("rzh"):
            rows = slice(j * n, (j + 1) * n)
            torch_grads[f"W_x{gate}"] = cell.weight_ih.grad[rows].tolist()
            torch_grads[f"W_h{gate}"] = cell.weight_hh.grad[rows].tolist()
            torch_grads[f"b_{gate}"] = cell.bias_ih.grad[rows].tolist()

        graph = graph_of("gru-after", 1, n, m)
        values = rnnsym_values(point)
        bound = bind(graph, values)
        env = {str(s): val for s, val in rnnsym.evaluate(graph, {s: q.exact for s, q in bound.items()}).values.items()}
        h1_torch = h1[0].tolist()
        for i in range(n):
            name = "h_1" if n == 1 else f"h_1[{i + 1}]"
            got = float(to_mpf(env[name]))
            assert abs(got - h1_torch[i]) <= 1e-10 * max(1.0, abs(h1_torch[i])), (name, got, h1_torch[i])
        for name, grad in torch_grads.items():
            for component, index in components(name, point[name]):
                want = _at(grad, index)
                got = float(to_mpf(derivation("gru-after", 1, n, m, 1, component).evaluate(values)))
                assert abs(got - want) <= 1e-10 * max(1.0, abs(want)), (component, got, want)

    run()
