"""Hand-written BPTT for the scalar tanh Elman RNN with biases: the baselines of bench/compiled.py.

    z_t = h_{t−1} W_h + x_t W_x + b_h,   h_t = tanh(z_t),   ŷ_t = h_t W_y + b_y,   L = Σ_t (ŷ_t − y_t)²

Each ``prepare_*`` takes the weights (a dict of floats) and a batch of inputs and
targets (float64 arrays of shape (B, T)), does what may be done once (moving the
data, tracing), and returns a function of no arguments that computes
∂L/∂w of every sequence for every weight w and returns them as numpy arrays of
shape (B,), so that a timing of that function is warm:

- :func:`prepare_python`: a pure-Python loop over the steps, sequence by sequence;
- :func:`prepare_jax`: ``jax.jit(jax.vmap(jax.grad(loss)))``, the loss written
  with ``jax.lax.scan``, in float64;
- :func:`prepare_torch`: the forward pass in torch float64 over the whole batch,
  one copy of each weight per sequence, and ``.backward()``.

>>> import numpy as np
>>> weights = {"W_h": 0.9, "W_x": 0.5, "W_y": 1.0, "b_h": 0.1, "b_y": 0.0}
>>> x, y = np.array([[0.5, -0.3]]), np.array([[1.0, 0.0]])
>>> round(float(prepare_python(weights, x, y)()["b_y"][0]), 12)
-0.83226754656
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["WEIGHTS", "prepare_python", "prepare_jax", "prepare_torch"]

WEIGHTS = ("W_h", "W_x", "W_y", "b_h", "b_y")


def bptt(W_h: float, W_x: float, W_y: float, b_h: float, b_y: float, x: list, y: list) -> tuple[float, ...]:
    """∂L/∂(W_h, W_x, W_y, b_h, b_y) of one sequence, with h_0 = 0: a forward and a backward loop."""
    hs = [0.0]
    for x_t in x:
        hs.append(math.tanh(hs[-1] * W_h + x_t * W_x + b_h))
    g_Wh = g_Wx = g_Wy = g_bh = g_by = 0.0
    carried = 0.0  # ∂L/∂h_t through the steps after t
    for t in range(len(x), 0, -1):
        h = hs[t]
        d_yhat = 2.0 * (h * W_y + b_y - y[t - 1])
        g_Wy += d_yhat * h
        g_by += d_yhat
        d_z = (d_yhat * W_y + carried) * (1.0 - h * h)
        g_Wh += d_z * hs[t - 1]
        g_Wx += d_z * x[t - 1]
        g_bh += d_z
        carried = d_z * W_h
    return g_Wh, g_Wx, g_Wy, g_bh, g_by


def prepare_python(weights: dict, x: np.ndarray, y: np.ndarray):
    """The pure-Python loop, one sequence after another."""
    w = [weights[name] for name in WEIGHTS]
    rows = [(list(map(float, a)), list(map(float, b))) for a, b in zip(x, y)]

    def run() -> dict:
        grads = np.array([bptt(*w, a, b) for a, b in rows])
        return dict(zip(WEIGHTS, grads.T))

    return run


def prepare_jax(weights: dict, x: np.ndarray, y: np.ndarray):
    """``jax.jit(jax.vmap(jax.grad(loss)))`` over ``jax.lax.scan``, float64; traced and compiled on the first call."""
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    def loss(w, xs, ys):
        def step(h, xy):
            x_t, y_t = xy
            h = jnp.tanh(h * w["W_h"] + x_t * w["W_x"] + w["b_h"])
            return h, (h * w["W_y"] + w["b_y"] - y_t) ** 2
        _, losses = jax.lax.scan(step, jnp.float64(0.0), (xs, ys))
        return jnp.sum(losses)

    gradient = jax.jit(jax.vmap(jax.grad(loss), in_axes=(None, 0, 0)))
    w = {name: jnp.float64(weights[name]) for name in WEIGHTS}
    xs, ys = jnp.asarray(x, dtype=jnp.float64), jnp.asarray(y, dtype=jnp.float64)

    def run() -> dict:
        grads = jax.block_until_ready(gradient(w, xs, ys))
        return {name: np.asarray(g) for name, g in grads.items()}

    return run


def prepare_torch(weights: dict, x: np.ndarray, y: np.ndarray):
    """A forward pass in torch float64 over the batch, one copy of each weight per
    sequence (so that autograd gives each sequence's gradient), and ``.backward()``."""
    import torch

    xs = torch.as_tensor(x, dtype=torch.float64).T.contiguous()  # (T, B): row t is step t + 1
    ys = torch.as_tensor(y, dtype=torch.float64).T.contiguous()
    batch = xs.shape[1]

    def run() -> dict:
        w = {name: torch.full((batch,), float(weights[name]), dtype=torch.float64, requires_grad=True)
             for name in WEIGHTS}
        h = torch.zeros(batch, dtype=torch.float64)
        loss = torch.zeros(batch, dtype=torch.float64)
        for x_t, y_t in zip(xs, ys):
            h = torch.tanh(h * w["W_h"] + x_t * w["W_x"] + w["b_h"])
            loss = loss + (h * w["W_y"] + w["b_y"] - y_t) ** 2
        loss.sum().backward()
        return {name: p.grad.numpy() for name, p in w.items()}

    return run
