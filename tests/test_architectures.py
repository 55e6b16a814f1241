"""The recipes of docs/architectures.md — stacked, bidirectional and encoder–decoder
networks written with ``define_cell`` — against a reference written here from their
equations: a 50-digit mpmath forward pass and central differences of its loss."""

from __future__ import annotations

import mpmath
import pytest
import sympy

import rnnsym
import rnnsym.testing
from rnnsym import now, prev
from rnnsym.notation import symbol

DIGITS = 50
STEP = mpmath.mpf("1e-20")
TOLERANCE = mpmath.mpf("1e-20")


def _mp(value) -> mpmath.mpf:
    with mpmath.workdps(DIGITS):
        return mpmath.mpf(str(value))


def _central_difference(loss, point: dict[str, mpmath.mpf], name: str) -> mpmath.mpf:
    up, down = dict(point), dict(point)
    up[name] += STEP
    down[name] -= STEP
    return (loss(up) - loss(down)) / (2 * STEP)


def _agree(graph, values: dict, parameters, loss) -> None:
    """dL/dp from rnnsym equals the reference's central difference for every parameter p,
    and rnnsym's own checks pass on the graph."""
    with mpmath.workdps(DIGITS):
        point = {p: _mp(values[p]) for p in parameters}
        for p in parameters:
            ours = _mp(rnnsym.derive(graph, "L", p).evaluate(values, digits=DIGITS))
            reference = _central_difference(loss, point, p)
            assert abs(ours - reference) < TOLERANCE, (p, ours, reference)
    assert rnnsym.testing.check_gradients(graph, values, wrt=list(parameters)).ok


# --- 1. stacked: h_t = tanh(a h_{t−1} + b x_t), g_t = tanh(c g_{t−1} + d h_t), ŷ_t = e g_t --------


def stacked_cell():
    a, b, c, d, e = (symbol(n) for n in "abcde")
    return rnnsym.define_cell(
        [("h", sympy.tanh(a * prev("h") + b * now("x"))), ("g", sympy.tanh(c * prev("g") + d * now("h")))],
        output=[("yhat", e * now("g"))], name="stacked")


def stacked_loss(values: dict):
    x, y = [_mp(v) for v in values["x"]], [_mp(v) for v in values["y"]]

    def loss(p: dict) -> mpmath.mpf:
        h, g, total = _mp(values["h_0"]), _mp(values["g_0"]), mpmath.mpf(0)
        for x_t, y_t in zip(x, y):
            h = mpmath.tanh(p["a"] * h + p["b"] * x_t)
            g = mpmath.tanh(p["c"] * g + p["d"] * h)
            total += (p["e"] * g - y_t) ** 2
        return total

    return loss


STACKED_POINTS = [
    {"h_0": 0, "g_0": 0, "x": [1, "0.5", -1], "y": [0, "0.5", 1],
     "a": "0.5", "b": 1, "c": "0.25", "d": "0.75", "e": 2},
    {"h_0": "0.3", "g_0": "-0.2", "x": ["-0.7", "1.2"], "y": ["0.1", "-0.4"],
     "a": "-1.1", "b": "0.6", "c": "0.9", "d": "-0.35", "e": "1.5"},
]


@pytest.mark.parametrize("values", STACKED_POINTS)
def test_stacked_rnn_matches_the_reference(values):
    graph = rnnsym.unroll(stacked_cell(), len(values["x"]))
    _agree(graph, values, "abcde", stacked_loss(values))


def test_stacked_rnn_feeds_the_first_layer_into_the_second():
    graph = rnnsym.unroll(stacked_cell(), 2)
    assert [str(q) for q in graph.quantities][:3] == ["h_1", "g_1", "yhat_1"]
    assert {"h_0", "g_0"} <= {str(s) for s in graph.leaves}


# --- 2. bidirectional encoder: h over x, g over r_t = x_{T+1−t}, loss on ŷ_T = W h_T + V g_T ----


def bidirectional_cell():
    a, b, c, d, W, V = (symbol(n) for n in ("a", "b", "c", "d", "W", "V"))
    return rnnsym.define_cell(
        [("h", sympy.tanh(a * prev("h") + b * now("x"))), ("g", sympy.tanh(c * prev("g") + d * now("r")))],
        output=[("yhat", W * now("h") + V * now("g"))], inputs=("x", "r"), name="bidirectional")


def bidirectional_loss(values: dict):
    x = [_mp(v) for v in values["x"]]
    T = len(x)
    y_T = _mp(values[f"y_{T}"])

    def loss(p: dict) -> mpmath.mpf:
        h = _mp(values["h_0"])
        for t in range(T):                      # forward: x_1 … x_T
            h = mpmath.tanh(p["a"] * h + p["b"] * x[t])
        g = _mp(values["g_0"])
        for t in reversed(range(T)):            # backward: x_T … x_1
            g = mpmath.tanh(p["c"] * g + p["d"] * x[t])
        return (p["W"] * h + p["V"] * g - y_T) ** 2

    return loss


BIDIRECTIONAL_POINTS = [
    {"h_0": 0, "g_0": 0, "x": [1, "0.5", -1], "y_3": 1,
     "a": "0.5", "b": 1, "c": "0.25", "d": "0.75", "W": 2, "V": 1},
    {"h_0": "0.1", "g_0": "-0.6", "x": ["0.4", "-1.3", "0.8", "0.2"], "y_4": "-0.5",
     "a": "1.2", "b": "-0.7", "c": "-0.45", "d": "1.1", "W": "0.3", "V": "-1.4"},
]


@pytest.mark.parametrize("values", BIDIRECTIONAL_POINTS)
def test_bidirectional_encoder_matches_the_reference(values):
    T = len(values["x"])
    values = dict(values, r=values["x"][::-1])
    graph = rnnsym.unroll(bidirectional_cell(), T, loss_at=[T])
    _agree(graph, values, ("a", "b", "c", "d", "W", "V"), bidirectional_loss(values))


def test_bidirectional_encoder_has_one_loss_term():
    graph = rnnsym.unroll(bidirectional_cell(), 3, loss_at=[3])
    assert [str(q) for q in graph.quantities][-2:] == ["L_3", "L"]


# --- 3. encoder–decoder: h_t = m_t tanh(a h_{t−1} + b x_t) + (1 − m_t) tanh(c h_{t−1} + d x_t) ---


def seq2seq_cell():
    a, b, c, d, e = (symbol(n) for n in "abcde")
    m = now("m")
    encode, decode = sympy.tanh(a * prev("h") + b * now("x")), sympy.tanh(c * prev("h") + d * now("x"))
    return rnnsym.define_cell([("h", m * encode + (1 - m) * decode)], output=[("yhat", e * now("h"))],
                              inputs=("x", "m"), name="seq2seq")


def seq2seq_values(source: list, target: list, **parameters) -> dict:
    """Encoder steps read ``source``; decoder step k reads the target before it (teacher
    forcing), the first one 0 (a start symbol)."""
    S, D = len(source), len(target)
    values = {"h_0": 0, "x": source + [0] + target[:-1], "m": [1] * S + [0] * D, **parameters}
    values.update({f"y_{S + k + 1}": y for k, y in enumerate(target)})
    return values


def seq2seq_loss(source: list, target: list, h_0):
    source, target = [_mp(v) for v in source], [_mp(v) for v in target]

    def loss(p: dict) -> mpmath.mpf:
        h = _mp(h_0)
        for x_t in source:                       # encoder
            h = mpmath.tanh(p["a"] * h + p["b"] * x_t)
        total, previous = mpmath.mpf(0), mpmath.mpf(0)
        for y_t in target:                       # decoder, fed the previous target
            h = mpmath.tanh(p["c"] * h + p["d"] * previous)
            total += (p["e"] * h - y_t) ** 2
            previous = y_t
        return total

    return loss


SEQ2SEQ_POINTS = [
    ([1, -1], ["0.5", 1], {"a": "0.5", "b": 1, "c": "0.25", "d": "0.75", "e": 2}),
    pytest.param(["0.3", "-0.8", "1.1"], ["-0.2", "0.6", "0.1"],
                 {"a": "-0.9", "b": "0.4", "c": "1.3", "d": "-0.5", "e": "0.7"}, marks=pytest.mark.slow),
]


@pytest.mark.parametrize("source, target, parameters", SEQ2SEQ_POINTS)
def test_encoder_decoder_matches_the_reference(source, target, parameters):
    values = seq2seq_values(source, target, **parameters)
    S, D = len(source), len(target)
    graph = rnnsym.unroll(seq2seq_cell(), S + D, loss_at=list(range(S + 1, S + D + 1)))
    _agree(graph, values, "abcde", seq2seq_loss(source, target, values["h_0"]))


def test_encoder_decoder_teacher_forcing_inputs():
    values = seq2seq_values([1, 2], [3, 4, 5])
    assert values["x"] == [1, 2, 0, 3, 4] and values["m"] == [1, 1, 0, 0, 0]
    assert [values[f"y_{t}"] for t in (3, 4, 5)] == [3, 4, 5]
