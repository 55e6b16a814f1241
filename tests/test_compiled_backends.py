"""The JAX and PyTorch backends of rnnsym.compiled against numpy and the exact evaluation.

Each backend's loss and gradients are compared, to 1e-12 relative in float64,
with the numpy backend's and with ``rnnsym.evaluate(graph, values, digits=30)``
and its reverse pass, for one sequence and for a batch.  JAX and PyTorch are
optional: their tests are skipped where the library is not installed; the
tests of the softmax at large logits and of the refused backends run anywhere.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import numpy as np
import pytest

import rnnsym
from rnnsym import InputError
from rnnsym.compiled import compile_gradient
from test_compiled import assert_close, draw, exact

BACKENDS = ["jax", "torch"]


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    pytest.importorskip(request.param)
    return request.param


def check(graph, backend: str, seed: int = 0, wrt=None) -> None:
    rng = np.random.default_rng(seed)
    base = compile_gradient(graph, wrt)
    f = compile_gradient(graph, wrt, backend=backend)
    assert f.backend == backend and f.wrt == base.wrt
    one = draw(graph, rng)
    loss, grads = f(one)
    want_loss, want = exact(graph, one, f.wrt)
    base_loss, base_grads = base(one)
    assert isinstance(loss, float)
    assert_close(loss, want_loss)
    assert_close(loss, base_loss)
    for name in f.wrt:
        assert grads[name].shape == want[name].shape
        assert_close(grads[name], want[name])
        assert_close(grads[name], base_grads[name])
    batch = draw(graph, rng, batch=3)
    losses, bgrads = f(batch)
    base_losses, base_bgrads = base(batch)
    assert losses.shape == (3,)
    assert_close(losses, base_losses)
    for name in f.wrt:
        assert bgrads[name].shape == base_bgrads[name].shape
        assert_close(bgrads[name], base_bgrads[name])
    row = {k: v[1] if k in f._layout["sequences"] or k in f._layout["states"] else v for k, v in batch.items()}
    row_loss, row_want = exact(graph, row, f.wrt)
    assert_close(losses[1], row_loss)
    for name in f.wrt:
        assert_close(bgrads[name][1], row_want[name])


GRAPHS = {
    "elman-tanh-squared": lambda: rnnsym.elman(4, activation="tanh"),
    "elman-relu-half": lambda: rnnsym.elman(4, activation="relu", loss="half_squared"),
    "vector-elman-sigmoid-bias": lambda: rnnsym.elman(3, activation="sigmoid", bias=True, hidden=2, input=3, output=2),
    "cross-entropy": lambda: rnnsym.elman(3, activation="tanh", loss="cross_entropy", hidden=2, output=3),
    "binary-cross-entropy": lambda: rnnsym.elman(3, activation="tanh", loss="binary_cross_entropy", hidden=2, output=2),
    "loss-at-mean": lambda: rnnsym.elman(4, activation="tanh", loss_at=[3], reduction="mean"),
}

SLOW_GRAPHS = {
    **{f"elman-{a}-{loss}": (lambda a=a, loss=loss: rnnsym.elman(4, activation=a, loss=loss))
       for a in ("identity", "tanh", "sigmoid", "relu") for loss in ("squared", "half_squared")},
    **{f"vector-elman-{a}": (lambda a=a: rnnsym.elman(3, activation=a, bias=True, hidden=2, input=3, output=2))
       for a in ("identity", "tanh", "sigmoid", "relu")},
    "loss-at": lambda: rnnsym.elman(4, activation="tanh", loss_at=[2, 4]),
    "mean-bias-half": lambda: rnnsym.elman(4, activation="tanh", reduction="mean", bias=True, loss="half_squared"),
    "output-sigmoid": lambda: rnnsym.elman(4, activation="tanh", output_activation="sigmoid"),
    **{f"{c}-{n}": (lambda c=c, n=n: rnnsym.build(c, 3, hidden=n)) for c in ("gru", "lstm") for n in (1, 2)},
    "gru-reset-after": lambda: rnnsym.gru(3, reset="after", hidden_bias=True, hidden=2),
    "custom": lambda: rnnsym.unroll(rnnsym.define_cell(
        [("a", "sigmoid(W*prev(s) + U*now(x))"), ("s", "now(a)*prev(s) + (1 - now(a))*tanh(now(x))")],
        output=[("yhat", "V*now(s)")]), 3),
}


@pytest.mark.parametrize("name", GRAPHS)
def test_backend_equals_numpy_and_exact(name, backend):
    check(GRAPHS[name](), backend, seed=len(name))


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW_GRAPHS)
def test_every_built_in_cell_and_loss(name, backend):
    check(SLOW_GRAPHS[name](), backend, seed=len(name))


@pytest.mark.slow
def test_gradient_of_initial_states(backend):
    check(rnnsym.elman(3, activation="tanh", hidden=2), backend, seed=6, wrt=["h_0", "W_x"])
    check(rnnsym.lstm(2), backend, seed=7, wrt=["c_0", "h_0"])


def exact_at(graph, values: dict, wrt, digits: int) -> tuple[float, dict[str, np.ndarray]]:
    """The loss and gradients at ``digits`` digits: σ(800) differs from 1 in the 348th digit."""
    ev = rnnsym.evaluate(graph, {k: np.asarray(v, dtype=float).tolist() for k, v in values.items()}, digits=digits)
    adjoint = ev.adjoints(graph.symbol("L"))
    grads = {}
    for name in wrt:
        shape = np.asarray(values[name]).shape
        grads[name] = np.array([float(adjoint.get(s, 0)) for s in graph.tensors[name].values()]).reshape(shape)
    return float(ev.value("L")), grads


@pytest.mark.parametrize("backend_name", ["numpy", *BACKENDS])
@pytest.mark.parametrize("loss, outputs", [("cross_entropy", 3), ("binary_cross_entropy", 2)])
@pytest.mark.parametrize("scale", [800.0, -800.0])
def test_cross_entropy_at_large_logits_is_finite_and_exact(backend_name, loss, outputs, scale):
    """Logits near ±800: exp overflows, and a softmax or sigmoid rounds to 0 or 1 in float64."""
    if backend_name != "numpy":
        pytest.importorskip(backend_name)
    graph = rnnsym.elman(3, activation="tanh", loss=loss, hidden=2, output=outputs)
    weights = np.array([[1.0, 0.5], [-1.0, 0.25], [0.5, -1.0]])[:outputs]
    targets = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0], [0.0, 0.4, 0.6]])[:, :outputs]
    values = {"W_h": np.array([[0.5, -0.3], [0.2, 0.4]]), "W_x": np.array([[1.0], [-1.0]]), "W_y": scale * weights,
              "h_0": np.array([0.1, -0.2]), "x": np.array([1.0, -2.0, 0.5]), "y": targets}
    loss_value, grads = compile_gradient(graph, backend=backend_name)(values)
    want_loss, want = exact_at(graph, values, list(grads), digits=400)
    assert np.isfinite(loss_value) and all(np.isfinite(g).all() for g in grads.values())
    assert want_loss > 100  # the logits are large: a probability of order exp(-100) or less is scored
    assert_close(loss_value, want_loss)
    for name, g in grads.items():
        assert_close(g, want[name])


def test_scan_is_not_unrolled():
    jax = pytest.importorskip("jax")
    sizes = []
    for steps in (5, 50):
        f = compile_gradient(rnnsym.elman(steps, activation="tanh"), backend="jax")
        args = {"W_h": 0.5, "W_x": 1.0, "W_y": 1.0, "h_0": np.zeros(2), "x": np.ones((steps + 1, 2)),
                "y": np.ones((steps + 1, 2))}
        with jax.enable_x64(True):
            sizes.append(len(jax.make_jaxpr(f.function)(**args).jaxpr.eqns))
    assert sizes[0] == sizes[1]
    assert "jax.lax.scan(forward" in f.source and "reverse=True" in f.source


def test_jax_leaves_x64_setting_alone():
    jax = pytest.importorskip("jax")
    before = jax.config.jax_enable_x64
    f = compile_gradient(rnnsym.elman(2), backend="jax")
    loss, grads = f({"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": 0.1, "W_y": 2})
    assert jax.config.jax_enable_x64 == before
    assert loss == 2.0 and grads["W_h"] == pytest.approx(8.0, rel=1e-14)
    assert repr(f).endswith("backend='jax')")


def test_jax_compiles_once_per_batch_size():
    pytest.importorskip("jax")
    f = compile_gradient(rnnsym.elman(2), backend="jax")
    values = {"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": 0.1, "W_y": 2}
    f(values)
    assert f(dict(values, W_h=0.5))[0] == pytest.approx(compile_gradient(rnnsym.elman(2))(dict(values, W_h=0.5))[0], rel=1e-14)
    assert f._function.jitted._cache_size() == 1  # new values, same shapes: the same compiled function
    f(dict(values, x=[[1, 2], [3, 4]], y=[[1, 2], [3, 4]]))
    assert f._function.jitted._cache_size() == 2


def test_jax_refuses_names_meeting_its_step_names():
    pytest.importorskip("jax")
    graph = rnnsym.unroll(rnnsym.define_cell([("s", "tanh(s_t*prev(s) + U*now(x))")], output=[("yhat", "V*now(s)")]), 2)
    assert compile_gradient(graph).wrt == ("U", "s_t", "V")
    with pytest.raises(InputError) as err:
        compile_gradient(graph, backend="jax")
    assert err.value.field == "cell" and "s_t" in str(err.value)


def test_torch_source_is_plain_tensor_code():
    pytest.importorskip("torch")
    src = compile_gradient(rnnsym.elman(3, activation="tanh"), backend="torch").source
    assert "torch.zeros((T + 1, B), dtype=torch.float64)" in src
    assert "backward()" not in src and "grad" not in src.replace("gradient", "")


@pytest.mark.parametrize("bad", ["tensorflow", "NumPy", None, 3])
def test_unknown_backend_is_refused(bad):
    with pytest.raises(InputError) as err:
        compile_gradient(rnnsym.elman(2), backend=bad)
    assert err.value.field == "backend" and "numpy, jax, torch" in str(err.value)


@pytest.mark.parametrize("name", BACKENDS)
def test_missing_library_names_the_extra(name, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == name else real(n, *a))
    with pytest.raises(InputError) as err:
        compile_gradient(rnnsym.elman(2), backend=name)
    assert err.value.field == "backend" and f"pip install rnnsym[{name}]" in str(err.value)


def test_import_and_numpy_compile_import_neither_jax_nor_torch():
    code = ("import sys, rnnsym; rnnsym.compile(rnnsym.elman(2))({'h_0': 1, 'x': [1, 2], 'y': [1, 0], 'W_h': 1, "
            "'W_x': 1, 'W_y': 1}); print(sorted(m for m in ('jax', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


SHARED_WEIGHT = [("a", "sigmoid(W*prev(s) + U*now(x))"), ("s", "now(a)*prev(s) + (1 - now(a))*tanh(W*now(x))")]


def test_weight_used_by_two_equations_sums_both_numpy():
    """W enters the gate and the candidate: its gradient is the sum of both equations' terms."""
    from test_compiled import check as check_numpy

    check_numpy(rnnsym.unroll(rnnsym.define_cell(SHARED_WEIGHT, output=[("yhat", "V*now(s)")]), 3), seed=9)


def test_weight_used_by_two_equations_sums_both(backend):
    check(rnnsym.unroll(rnnsym.define_cell(SHARED_WEIGHT, output=[("yhat", "V*now(s)")]), 3), backend, seed=9)
