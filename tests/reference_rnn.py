"""An independent scalar Elman RNN: forward pass and backpropagation through time.

Written from the equations, not from rnnsym's code, to cross-check the engine
(``tests/test_reference.py``).  Nothing here imports rnnsym or sympy:

    z_t  = h_{t-1} W_h + x_t W_x (+ b_h)        h_t    = f(z_t)
    o_t  = h_t W_y (+ b_y)                       yhat_t = g(o_t)
    L_t  = (yhat_t - y_t)^2  or  (yhat_t - y_t)^2 / 2,   L = sum of L_t over the loss steps
                                                          (or their mean, reduction "mean")

or, for the cross-entropy loss, yhat_t = softmax(o_t) (which for one output is
exp(o_t) / exp(o_t) = 1, whatever g) and L_t = -y_t log yhat_t; for the binary
cross-entropy, yhat_t = sigmoid(o_t) and L_t = -(y_t log yhat_t + (1 - y_t) log(1 - yhat_t)).

f and g are identity, tanh, sigmoid or relu, with relu'(0) taken as 0.  With
identity and relu only, every number is a :class:`fractions.Fraction` and the
gradients are exact; with tanh or sigmoid, numbers are mpmath floats at 50
digits.

The backward pass is the textbook recursion: an adjoint ``d[q]`` = dL/dq for
each quantity q, with q treated as free (so ``d["h_1"]`` is dL/dh_1 along
every path from h_1), accumulated from the last step to the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import mpmath

EXACT = ("identity", "relu")
DIGITS = 50


def _identity(v):
    return v


def _relu(v):
    return v if v > 0 else v * 0


def _relu_slope(z, out):
    return 1 if z > 0 else 0


def _tanh(v):
    return mpmath.tanh(v)


def _sigmoid(v):
    return 1 / (1 + mpmath.exp(-v))


FUNCTIONS = {
    "identity": (_identity, lambda z, out: 1),
    "relu": (_relu, _relu_slope),
    "tanh": (_tanh, lambda z, out: 1 - out * out),
    "sigmoid": (_sigmoid, lambda z, out: out * (1 - out)),
}


@dataclass
class Model:
    """The configuration of a scalar Elman RNN."""

    steps: int
    activation: str = "identity"
    output_activation: str = "identity"
    bias: bool = False
    loss: str = "squared"
    loss_at: tuple[int, ...] | None = None  # None: every step
    reduction: str = "sum"  # or "mean": L = (1/|loss steps|) Σ_t L_t

    @property
    def loss_steps(self) -> tuple[int, ...]:
        return tuple(range(1, self.steps + 1)) if self.loss_at is None else tuple(self.loss_at)

    @property
    def exact(self) -> bool:
        output = {"cross_entropy": "identity", "binary_cross_entropy": "sigmoid"}.get(self.loss, self.output_activation)
        return self.activation in EXACT and output in EXACT


def _number(value, exact: bool):
    """A Fraction (exact models) or a 50-digit mpmath float from an int,
    Fraction, or anything with numerator/denominator or ``p``/``q``."""
    if hasattr(value, "p") and hasattr(value, "q"):
        value = Fraction(int(value.p), int(value.q))
    value = Fraction(value)
    if exact:
        return value
    with mpmath.workdps(DIGITS):
        return mpmath.mpf(value.numerator) / value.denominator


def run(model: Model, values: dict) -> tuple[dict, dict]:
    """The forward values and the adjoints dL/dq of every leaf and quantity.

    ``values`` maps leaf names (``h_0``, ``W_h``, ``W_x``, ``W_y``, ``b_h``,
    ``b_y``, ``x_t``, ``y_t``) to rational numbers.  Returns ``(forward,
    grad)``: ``forward`` maps every name (``z_t``, ``h_t``, ``o_t``,
    ``yhat_t``, ``L_t``, ``L``) to its value, ``grad`` maps every leaf and
    intermediate name to dL/d(name).
    """
    with mpmath.workdps(DIGITS):
        return _run(model, {k: _number(v, model.exact) for k, v in values.items()})


def _run(model: Model, v: dict) -> tuple[dict, dict]:
    f, df = FUNCTIONS[model.activation]
    g, dg = FUNCTIONS[model.output_activation]
    softmax = model.loss == "cross_entropy"
    binary = model.loss == "binary_cross_entropy"
    if softmax:  # d softmax(o)/do = yhat (1 - yhat) for one output
        dg = lambda o, out: out * (1 - out)  # noqa: E731
    if binary:  # yhat = sigmoid(o); its derivative sigmoid(o) sigmoid(-o), digits kept for a large o
        g, dg = FUNCTIONS["sigmoid"][0], lambda o, out: out * FUNCTIONS["sigmoid"][0](-o)  # noqa: E731
    T = model.steps
    zero = v["W_h"] * 0
    b_h = v["b_h"] if model.bias else zero
    b_y = v["b_y"] if model.bias else zero
    fw = dict(v)
    for t in range(1, T + 1):
        fw[f"z_{t}"] = fw[f"h_{t - 1}"] * v["W_h"] + v[f"x_{t}"] * v["W_x"] + b_h
        fw[f"h_{t}"] = f(fw[f"z_{t}"])
        fw[f"o_{t}"] = fw[f"h_{t}"] * v["W_y"] + b_y
        fw[f"yhat_{t}"] = zero + 1 if softmax else g(fw[f"o_{t}"])
    half = model.loss == "half_squared"
    total = zero
    for t in model.loss_steps:
        error = fw[f"yhat_{t}"] - v[f"y_{t}"]
        if softmax:
            fw[f"L_{t}"] = -v[f"y_{t}"] * (zero if fw[f"yhat_{t}"] == 1 else mpmath.log(fw[f"yhat_{t}"]))
        elif binary:  # 1 - sigmoid(o) is sigmoid(-o), which keeps its digits when sigmoid(o) rounds to 1
            y, p, q = v[f"y_{t}"], fw[f"yhat_{t}"], FUNCTIONS["sigmoid"][0](-fw[f"o_{t}"])
            fw[f"L_{t}"] = -(y * mpmath.log(p) + (1 - y) * mpmath.log(q))
        else:
            fw[f"L_{t}"] = error * error / 2 if half else error * error
        total += fw[f"L_{t}"]
    weight = (zero + 1) / len(model.loss_steps) if model.reduction == "mean" else zero + 1  # dL/dL_t
    fw["L"] = total * weight

    grad = {name: zero for name in ("W_h", "W_x", "W_y", "b_h", "b_y")}
    carry = zero  # dL/dz_{t+1}
    for t in range(T, 0, -1):
        if t in model.loss_steps:
            error = fw[f"yhat_{t}"] - v[f"y_{t}"]
            grad[f"L_{t}"] = weight
            if softmax:
                grad[f"yhat_{t}"] = -v[f"y_{t}"] / fw[f"yhat_{t}"] * weight
                grad[f"y_{t}"] = zero  # -log yhat_t = -log 1
            elif binary:
                y, p, q = v[f"y_{t}"], fw[f"yhat_{t}"], FUNCTIONS["sigmoid"][0](-fw[f"o_{t}"])
                grad[f"yhat_{t}"] = (-y / p + (1 - y) / q) * weight
                grad[f"y_{t}"] = (-mpmath.log(p) + mpmath.log(q)) * weight
            else:
                grad[f"yhat_{t}"] = (error if half else 2 * error) * weight
                grad[f"y_{t}"] = -grad[f"yhat_{t}"]
        else:
            grad[f"yhat_{t}"] = zero
        grad[f"o_{t}"] = grad[f"yhat_{t}"] * dg(fw[f"o_{t}"], fw[f"yhat_{t}"])
        grad["W_y"] += grad[f"o_{t}"] * fw[f"h_{t}"]
        grad["b_y"] += grad[f"o_{t}"]
        grad[f"h_{t}"] = grad[f"o_{t}"] * v["W_y"] + carry * v["W_h"]
        grad[f"z_{t}"] = grad[f"h_{t}"] * df(fw[f"z_{t}"], fw[f"h_{t}"])
        grad["W_h"] += grad[f"z_{t}"] * fw[f"h_{t - 1}"]
        grad["W_x"] += grad[f"z_{t}"] * v[f"x_{t}"]
        grad["b_h"] += grad[f"z_{t}"]
        grad[f"x_{t}"] = grad[f"z_{t}"] * v["W_x"]
        carry = grad[f"z_{t}"]
    grad["h_0"] = carry * v["W_h"]
    if not model.bias:
        del grad["b_h"], grad["b_y"]
    return fw, grad
