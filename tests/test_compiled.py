"""Compiled gradients (rnnsym.compiled) against the exact evaluation.

Every compiled loss and gradient is compared, to 1e-12 relative in float64,
with the same quantities computed by ``rnnsym.evaluate(graph, values,
digits=30)`` and its one reverse pass (``Evaluation.adjoints``), for one
sequence and for a batch (whose rows must equal the single-sequence results).
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, given, settings, strategies as st

import rnnsym
from rnnsym import InputError
from rnnsym.compiled import CompiledGradient, compile_gradient

RTOL = 1e-12


def _nested(a: np.ndarray):
    return a.tolist() if a.ndim else float(a)


def exact(graph, values: dict, wrt) -> tuple[float, dict[str, np.ndarray]]:
    """The loss and the gradient of each tensor of ``wrt``, from one exact reverse pass at 30 digits."""
    ev = rnnsym.evaluate(graph, {k: _nested(np.asarray(v, dtype=float)) for k, v in values.items()}, digits=30)
    adjoint = ev.adjoints(graph.symbol("L"))
    grads = {}
    for name in wrt:
        entries = graph.tensors[name]
        dims = len(next(iter(entries)))
        shape = tuple(max(i[d] for i in entries) for d in range(dims))
        g = np.zeros(shape)
        for index, s in entries.items():
            g[tuple(i - 1 for i in index)] = float(adjoint.get(s, 0))
        grads[name] = g
    return float(ev.value("L")), grads


def draw(graph, rng: np.random.Generator, batch: int | None = None, scale: float = 0.7) -> dict[str, np.ndarray]:
    """Random values for ``graph`` from ``rng`` (targets in (0, 1) so that cross-entropy targets are valid)."""
    f = compile_gradient(graph)
    lay = f._layout
    lead = () if batch is None else (batch,)
    T = graph.steps
    values = {name: rng.uniform(-scale, scale, shape) for name, shape in lay["parameters"].items()}
    values |= {name: rng.uniform(-scale, scale, lead + shape) for name, shape in lay["states"].items()}
    for name, shape in lay["sequences"].items():
        values[name] = rng.uniform(0.05 if name == "y" else -1, 1, lead + (T,) + shape)
    return values


def assert_close(actual, expected) -> None:
    expected = np.asarray(expected, dtype=float)
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=RTOL * scale)


def check(graph, seed: int = 0, wrt=None) -> None:
    rng = np.random.default_rng(seed)
    f = compile_gradient(graph, wrt)
    names = list(f.wrt)
    one = draw(graph, rng)
    loss, grads = f(one)
    want_loss, want = exact(graph, one, names)
    assert isinstance(loss, float)
    assert_close(loss, want_loss)
    assert sorted(grads) == sorted(names)
    for name in names:
        assert grads[name].shape == want[name].shape
        assert_close(grads[name], want[name])
    batch = draw(graph, rng, batch=3)
    losses, bgrads = f(batch)
    assert losses.shape == (3,)
    for b in range(3):
        row = {k: v[b] if k in f._layout["sequences"] or k in f._layout["states"] else v for k, v in batch.items()}
        l1, g1 = f(row)
        assert losses[b] == pytest.approx(l1, rel=1e-15, abs=1e-300)
        for name in names:
            assert bgrads[name].shape == (3,) + want[name].shape
            np.testing.assert_allclose(bgrads[name][b], g1[name], rtol=1e-14, atol=1e-300)
    _, want_first = exact(graph, {k: v for k, v in row.items()}, names)
    for name in names:
        assert_close(bgrads[name][2], want_first[name])


ACTIVATIONS = ["identity", "tanh", "sigmoid", "relu"]


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("loss", ["squared", "half_squared"])
def test_scalar_elman_equals_exact(activation, loss):
    check(rnnsym.elman(4, activation=activation, loss=loss))


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_vector_elman_with_bias_equals_exact(activation):
    check(rnnsym.elman(3, activation=activation, bias=True, hidden=2, input=3, output=2), seed=1)


@pytest.mark.parametrize("options", [
    {"loss_at": [2, 4]},
    {"loss_at": [3], "reduction": "mean"},
    {"reduction": "mean", "bias": True, "loss": "half_squared"},
    {"output_activation": "sigmoid"},
])
def test_elman_options_equal_exact(options):
    check(rnnsym.elman(4, activation="tanh", **options), seed=2)


@pytest.mark.parametrize("loss, output", [("cross_entropy", 3), ("binary_cross_entropy", 2)])
def test_classification_losses_equal_exact(loss, output):
    check(rnnsym.elman(3, activation="tanh", loss=loss, hidden=2, output=output), seed=3)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("hidden", [1, 2])
def test_gated_cells_equal_exact(cell, hidden):
    check(rnnsym.build(cell, 3, hidden=hidden), seed=4)


def test_gru_reset_after_with_hidden_bias_equals_exact():
    check(rnnsym.gru(3, reset="after", hidden_bias=True, hidden=2), seed=5)


def test_gradient_of_initial_state():
    check(rnnsym.elman(3, activation="tanh", hidden=2), seed=6, wrt=["h_0", "W_x"])
    check(rnnsym.lstm(2), seed=7, wrt=["c_0", "h_0"])


def test_reference_exercise():
    f = compile_gradient(rnnsym.elman(2))
    loss, grads = f({"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": 0.1, "W_y": 2})
    values = {"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": "0.1", "W_y": 2}
    for name in ("W_h", "W_x", "W_y"):
        assert grads[name] == pytest.approx(float(rnnsym.derive(rnnsym.elman(2), "L", name).evaluate(values)), rel=RTOL)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), steps=st.integers(1, 5), activation=st.sampled_from(ACTIVATIONS),
       hidden=st.integers(1, 2), bias=st.booleans())
def test_random_elman_equals_exact(seed, steps, activation, hidden, bias):
    check(rnnsym.elman(steps, activation=activation, hidden=hidden, bias=bias), seed=seed)


#: Eighths are exact in binary and so are their short sums and products: relu's kink falls on the
#: same side in float64 and exactly; other activations are also drawn at any float.
eighths = st.integers(-8, 8).map(lambda k: k / 8)
floats = st.floats(-1, 1, allow_nan=False, allow_subnormal=False)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), activation=st.sampled_from(ACTIVATIONS), loss=st.sampled_from(["squared", "half_squared"]))
def test_drawn_values_equal_exact(data, activation, loss):
    steps = data.draw(st.integers(1, 4), label="steps")
    graph = rnnsym.elman(steps, activation=activation, loss=loss, bias=True)
    small = eighths if activation == "relu" else st.one_of(eighths, floats)
    values = {name: data.draw(small, label=name) for name in ("h_0", "W_h", "W_x", "W_y", "b_h", "b_y")}
    values["x"] = data.draw(st.lists(small, min_size=steps, max_size=steps), label="x")
    values["y"] = data.draw(st.lists(small, min_size=steps, max_size=steps), label="y")
    loss_value, grads = compile_gradient(graph)(values)
    want_loss, want = exact(graph, values, list(grads))
    assert_close(loss_value, want_loss)
    for name, g in grads.items():
        assert_close(g, want[name])


def test_setup_does_not_depend_on_steps():
    short = compile_gradient(rnnsym.elman(2, activation="tanh", bias=True))
    long = compile_gradient(rnnsym.elman(500, activation="tanh", bias=True))
    assert short.source.replace("T = 2", "T = 500") == long.source


def test_source_reads_as_bptt():
    f = compile_gradient(rnnsym.elman(3, activation="tanh"))
    assert isinstance(f, CompiledGradient)
    src = f.source
    assert "for t in range(1, T + 1):" in src and "for t in range(T, 0, -1):" in src
    assert "delta_z[t] += delta_h[t]*(1 - h[t]**2)" in src
    assert "delta_h[t-1] += W_h*delta_z[t]" in src
    assert "CompiledGradient(Graph(elman" in repr(f)


def test_unsupported_function_is_refused():
    rnnsym.register_activation("softplus_c", lambda z: sympy.log(1 + sympy.exp(z)))
    try:
        graph = rnnsym.elman(2, activation="softplus_c")
        with pytest.raises(InputError) as err:
            compile_gradient(graph)
        assert "softplus_c" in str(err.value)
    finally:
        from rnnsym.rules import unregister
        unregister("softplus_c")


def test_cell_names_the_code_uses_are_refused():
    cell = rnnsym.define_cell([("B", "tanh(W*prev(B) + U*now(x))")], output=[("yhat", "V*now(B)")])
    with pytest.raises(InputError) as err:
        compile_gradient(rnnsym.unroll(cell, 2))
    assert err.value.field == "cell" and "B" in str(err.value)


def test_custom_cell_equals_exact():
    cell = rnnsym.define_cell([("a", "sigmoid(W*prev(s) + U*now(x))"), ("s", "now(a)*prev(s) + (1 - now(a))*tanh(now(x))")],
                              output=[("yhat", "V*now(s)")])
    check(rnnsym.unroll(cell, 3), seed=8)


@pytest.mark.parametrize("wrt", ["W_q", ["x"], []])
def test_unknown_wrt_is_refused(wrt):
    with pytest.raises(InputError) as err:
        compile_gradient(rnnsym.elman(2), wrt)
    assert err.value.field == "wrt"


@pytest.mark.parametrize("change, field", [
    ({"x": [1, 2, 3]}, "values.x"),
    ({"W_h": [1, 2]}, "values.W_h"),
    ({"W_q": 1}, "values"),
    ({"W_x": "a tenth"}, "values.W_x"),
    ({"W_x": None}, "values.W_x"),
    ({"y": [5, None]}, "values.y"),
])
def test_bad_values_are_refused(change, field):
    values = {"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": 0.1, "W_y": 2} | change
    with pytest.raises(InputError) as err:
        compile_gradient(rnnsym.elman(2))(values)
    assert err.value.field == field


def test_missing_value_is_refused():
    with pytest.raises(InputError) as err:
        compile_gradient(rnnsym.elman(2))({"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": 0.1})
    assert err.value.field == "values.W_y"


@pytest.mark.parametrize("change, message", [
    ({"x": [1, 2, 3]}, "values.x: got 'shape (3,)', expected shape (2,) (one sequence) or (B, 2) (a batch, B ≥ 1)"),
    ({"x": np.zeros((0, 2)), "y": np.zeros((0, 2))},
     "values.x: got 'shape (0, 2)', expected shape (2,) (one sequence) or (B, 2) (a batch, B ≥ 1)"),
    ({"W_h": [1]}, "values.W_h: got 'shape (1,)', expected shape ()"),
    ({"y": [[5, 5], [1, 1]]}, "values.y: got 'shape (2, 2)', expected the same batch size as the other sequences"),
])
def test_a_wrong_shape_is_named_as_a_shape(change, message):
    values = {"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": 0.1, "W_y": 2} | change
    with pytest.raises(InputError) as err:
        compile_gradient(rnnsym.elman(2))(values)
    assert str(err.value) == message


def test_values_written_as_in_exercise_files_are_read():
    """A fraction "1/10" is read as an exercise file reads it, a bad entry named with its field."""
    f = compile_gradient(rnnsym.elman(2))
    values = {"h_0": 1, "x": [10, "10"], "y": [5, 5], "W_h": 1, "W_x": "1/10", "W_y": 2}
    loss, grads = f(values)
    assert loss == pytest.approx(2.0, rel=1e-15) and float(grads["W_x"]) == pytest.approx(40.0, rel=1e-15)
    with pytest.raises(InputError) as err:
        f(dict(values, x=[10, "1/0"]))
    assert err.value.field == "values.x" and err.value.value == "1/0"
