"""rnnsym.testing.check_bptt and assert_bptt: a hand-written numpy BPTT against rnnsym.compile.

Correct implementations of the scalar and vector tanh Elman cell pass; classic
slips are caught, the report names the gradient that differs, its numbers are
the two sides recomputed at the reported example, and the example is shrunk;
bad input is refused with the field named.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnsym
from rnnsym.binding import Missing
from rnnsym.errors import InputError, InputTypeError
from rnnsym.strategies import cells, graphs
from rnnsym.testing import BPTTMismatch, BPTTReport, assert_bptt, check_bptt
from rnnsym.testing.tables import leaf_shapes, random_tables, read_table

SCALAR = rnnsym.elman(3, activation="tanh")
VECTOR = rnnsym.elman(3, activation="tanh", hidden=2)
QUICK = 25
SLOW = pytest.mark.slow


def scalar_elman(slip: str | None = None):
    """BPTT of the scalar tanh Elman cell with the squared loss, with one ``slip`` or none."""

    def bptt(values):
        W_h, W_x, W_y, h_0, x, y = (values[k] for k in ("W_h", "W_x", "W_y", "h_0", "x", "y"))
        T = len(x)
        h = [h_0]
        for t in range(T):
            h.append(np.tanh(W_h * h[t] + W_x * x[t]))
        yhat = [W_y * h[t + 1] for t in range(T)]
        loss = sum((abs(yhat[t] - y[t]) if slip == "loss" else (yhat[t] - y[t]) ** 2) for t in range(T))
        g = {"W_h": 0.0, "W_x": 0.0, "W_y": 0.0}
        dh = 0.0
        for t in reversed(range(T)):
            dyhat = (1 if slip == "half" else 2) * (yhat[t] - y[t])
            if slip == "last loss" and t < T - 1:
                dyhat = 0.0
            g["W_y"] += dyhat * h[t + 1]
            dh += dyhat * W_y
            dz = dh if slip == "no tanh'" else dh * (1 - h[t + 1] ** 2)
            g["W_h"] += dz * (h[t + 1] if slip == "h_t" else h[t])
            g["W_x"] += dz * x[t]
            dh = 0.0 if slip == "no carry" else dz * W_h
        if slip == "swapped":
            g["W_h"], g["W_x"] = g["W_x"], g["W_h"]
        return loss, g

    return bptt


def vector_elman(slip: str | None = None):
    """BPTT of the tanh Elman cell with a vector state, z_t = W_h h_{t-1} + W_x x_t, ŷ_t = W_y h_t,
    and the gradient of h_0 too."""

    def bptt(values):
        W_h, W_x, W_y, h_0, x, y = (values[k] for k in ("W_h", "W_x", "W_y", "h_0", "x", "y"))
        T = len(x)
        h = [h_0]
        for t in range(T):
            h.append(np.tanh(W_h @ h[t] + W_x[:, 0] * x[t]))
        yhat = [float(W_y[0] @ h[t + 1]) for t in range(T)]
        loss = sum((yhat[t] - y[t]) ** 2 for t in range(T))
        g = {"W_h": np.zeros_like(W_h), "W_x": np.zeros_like(W_x), "W_y": np.zeros_like(W_y)}
        dh = np.zeros_like(h_0)
        for t in reversed(range(T)):
            dyhat = 2 * (yhat[t] - y[t])
            g["W_y"] += dyhat * h[t + 1][None, :]
            dh = dh + dyhat * W_y[0]
            dz = dh * (1 - h[t + 1] ** 2)
            g["W_h"] += np.outer(h[t], dz) if slip == "transposed" else np.outer(dz, h[t])
            g["W_x"] += dz[:, None] * x[t]
            dh = W_h.T @ dz
        g["h_0"] = dh
        return loss, g

    return bptt


def by_keywords(W_h, W_x, W_y, h_0, x, y):
    """The scalar Elman BPTT written with one argument per leaf, gradients alone."""
    return scalar_elman()({"W_h": W_h, "W_x": W_x, "W_y": W_y, "h_0": h_0, "x": x, "y": y})[1]


# -- correct implementations pass ---------------------------------------------------------------


def test_a_correct_scalar_bptt_passes():
    report = check_bptt(scalar_elman(), SCALAR, examples=QUICK)
    assert isinstance(report, BPTTReport) and report.ok and report.mismatch is None
    assert report.quantities == ("L", "dL/dW_h", "dL/dW_x", "dL/dW_y")
    assert report.examples == QUICK
    assert repr(report) == f"BPTTReport(elman, steps=3, L, dL/dW_h, dL/dW_x, dL/dW_y: {QUICK} examples agree)"
    assert assert_bptt(scalar_elman(), SCALAR, examples=QUICK).ok


def test_a_correct_vector_bptt_passes_with_the_initial_state():
    report = check_bptt(vector_elman(), VECTOR, examples=QUICK)
    assert report.ok, str(report)
    assert report.quantities == ("L", "dL/dW_h", "dL/dW_x", "dL/dW_y", "dL/dh_0")


def test_a_function_of_named_arguments_returning_gradients_alone():
    report = check_bptt(by_keywords, SCALAR, examples=QUICK)
    assert report.ok and report.quantities == ("dL/dW_h", "dL/dW_x", "dL/dW_y")


def test_wrt_chooses_the_gradients_compared():
    report = check_bptt(scalar_elman("h_t"), SCALAR, wrt=["W_x", "W_y"], examples=QUICK)
    assert report.ok and report.quantities == ("L", "dL/dW_x", "dL/dW_y")


def test_relu_kinks_are_never_drawn():
    """relu′(0) taken as 1 differs from rnnsym's 0 only on a kink, which no drawn table hits;
    the shrinking towards 0 would find one at once otherwise."""
    graph = rnnsym.elman(2, activation="relu")

    def bptt(v):
        h, grads, dh, z = [v["h_0"]], {"W_h": 0.0, "W_x": 0.0, "W_y": 0.0}, 0.0, [None]
        for x_t in v["x"]:
            z.append(v["W_h"] * h[-1] + v["W_x"] * x_t)
            h.append(max(z[-1], 0.0))
        for t in (2, 1):
            dyhat = 2 * (v["W_y"] * h[t] - v["y"][t - 1])
            grads["W_y"] += dyhat * h[t]
            dz = (dh + dyhat * v["W_y"]) * (1.0 if z[t] >= 0 else 0.0)
            grads["W_h"] += dz * h[t - 1]
            grads["W_x"] += dz * v["x"][t - 1]
            dh = dz * v["W_h"]
        return grads

    assert check_bptt(bptt, graph, examples=QUICK).ok


# -- slips are caught, named, and shown on a small example -------------------------------------------


def recomputed(function, graph, mismatch: BPTTMismatch) -> tuple[float, float]:
    """Both sides of the reported entry, recomputed at the reported example."""
    name, index = mismatch.quantity.removeprefix("dL/d"), tuple(i - 1 for i in mismatch.entry)
    arrays = {n: np.array(v, dtype=float) for n, v in mismatch.values.items()}
    loss, truth = rnnsym.compile(graph)(arrays)
    mine = function({n: float(a) if a.ndim == 0 else a for n, a in arrays.items()})
    if name == "L":
        return float(mine[0]), float(loss)
    return float(np.asarray(mine[1][name])[index]), float(truth[name][index])


@pytest.mark.parametrize("slip, quantities, hint", [
    ("no tanh'", {"dL/dW_h", "dL/dW_x"}, ""),
    ("h_t", {"dL/dW_h"}, ""),
    pytest.param("loss", {"L"}, "", marks=SLOW),
    pytest.param("half", {"dL/dW_h", "dL/dW_x", "dL/dW_y"}, "0.5 × rnnsym's", marks=SLOW),
    pytest.param("swapped", {"dL/dW_h", "dL/dW_x"}, "the two swapped", marks=SLOW),
    ("no carry", {"dL/dW_h", "dL/dW_x"}, "previous state held fixed"),
    pytest.param("last loss", {"dL/dW_h", "dL/dW_x", "dL/dW_y"}, "the last step's loss term alone", marks=SLOW),
])
def test_a_slip_is_reported_with_the_gradient_that_differs(slip, quantities, hint):
    function = scalar_elman(slip)
    report = check_bptt(function, SCALAR, examples=QUICK)
    m = report.mismatch
    assert not report.ok and isinstance(m, BPTTMismatch) and isinstance(m, AssertionError)
    assert m.quantity in quantities and m.entry == ()
    got, expected = recomputed(function, SCALAR, m)
    assert (m.got, m.expected) == pytest.approx((got, expected), rel=1e-12, abs=1e-12)
    assert abs(got - expected) > 1e-6
    assert m.hint.startswith("yours") if hint else m.hint == ""
    assert hint in m.hint
    text = str(m)
    assert text.startswith(f"{m.quantity}: bptt gives ") and "(the smallest example hypothesis found)" in text
    assert f"{m.quantity}  " in text and "MISMATCH" in text


@SLOW
def test_assert_bptt_raises_the_mismatch_check_bptt_reports():
    function = scalar_elman("h_t")
    report = check_bptt(function, SCALAR, examples=QUICK)
    with pytest.raises(BPTTMismatch) as raised:
        assert_bptt(function, SCALAR, examples=QUICK)
    assert str(raised.value) == str(report) == str(report.mismatch)
    assert repr(report) == "BPTTReport(elman, steps=3, L, dL/dW_h, dL/dW_x, dL/dW_y: DISAGREE at dL/dW_h)"


@SLOW
def test_a_transposed_matrix_gradient_names_its_entry():
    function = vector_elman("transposed")
    m = check_bptt(function, VECTOR, examples=QUICK).mismatch
    assert m.quantity == "dL/dW_h" and m.entry in {(1, 2), (2, 1)}
    assert (m.got, m.expected) == pytest.approx(recomputed(function, VECTOR, m), rel=1e-12, abs=1e-12)
    assert str(m).startswith(f"dL/dW_h[{m.entry[0]},{m.entry[1]}]: bptt gives ")
    assert "transposed" in m.hint


def test_the_reported_example_is_shrunk():
    """Drawn entries are multiples of 1/8 in [-2, 2]; the reported one is mostly zeros and integers."""
    m = check_bptt(scalar_elman("h_t"), SCALAR, examples=QUICK).mismatch
    entries = [float(e) for v in m.values.values() for e in np.ravel(v)]
    assert len(entries) == 10
    assert all(e == int(e) and abs(e) <= 2 for e in entries), m.values
    assert sum(e != 0 for e in entries) <= 4, m.values
    assert "  at h_0 = " in str(m)


def test_a_wrong_matrix_entry_in_a_gated_cell_is_named():
    """Plumbing beyond the Elman cell: a GRU's gradients from rnnsym.compile pass, and one
    entry of W_hz changed by 1 is the entry reported."""
    graph = rnnsym.gru(2, hidden=2)
    right = rnnsym.compile(graph)

    def bptt(values, wrong=False):
        loss, grads = right(values)
        if wrong:
            grads["W_hz"][1, 0] += 1.0
        return loss, grads

    assert check_bptt(bptt, graph, examples=10).ok
    m = check_bptt(lambda v: bptt(v, wrong=True), graph, examples=10).mismatch
    assert (m.quantity, m.entry, m.got - m.expected) == ("dL/dW_hz", (2, 1), pytest.approx(1.0))
    assert str(m).startswith("dL/dW_hz[2,1]: <lambda> gives ")


def test_the_values_given_are_checked_first():
    values = {"h_0": 1, "x": [1, 2, -1], "y": [0.5, 0, 1], "W_h": 0.5, "W_x": 0.25, "W_y": 2}
    m = check_bptt(scalar_elman("h_t"), SCALAR, values=values).mismatch
    assert m.values == read_table(SCALAR, values) and "(at the values given)" in str(m)
    assert m.values["x"] == [1.0, 2.0, -1.0] and "at h_0 = 1, W_h = 0.5, W_x = 0.25, W_y = 2, x = [1, 2, -1]" in str(m)


def test_a_function_that_raises_is_reported_with_its_exception():
    def bptt(values):
        return {"W_h": values["x"][3]}  # one step too far

    m = check_bptt(bptt, SCALAR, examples=QUICK).mismatch
    assert m.quantity == "raised" and isinstance(m.got, IndexError) and m.__cause__ is m.got
    assert str(m).startswith("bptt(values) raised IndexError: ")
    assert all(not np.any(v) for v in m.values.values())  # raised everywhere: shrunk to zeros


def test_a_seed_draws_other_examples():
    assert check_bptt(scalar_elman(), SCALAR, examples=10, seed=3).ok
    assert check_bptt(scalar_elman("h_t"), SCALAR, examples=QUICK, seed=3).mismatch.quantity == "dL/dW_h"


@settings(max_examples=3, derandomize=True, database=None, deadline=None)
@given(st.just(SCALAR))
def test_inside_a_hypothesis_test_seeded_tables_are_tried(graph):
    assert check_bptt(scalar_elman(), graph, examples=5).ok
    m = check_bptt(scalar_elman("h_t"), graph, examples=5).mismatch
    assert m.quantity == "dL/dW_h" and "no nested search inside a hypothesis test" in str(m)


@settings(max_examples=8, derandomize=True, database=None, deadline=None)
@given(st.data(), graphs(max_steps=3, cells=cells(kind=["elman", "gru", "lstm"], hidden=None, input=None)))
def test_drawn_tables_have_the_shapes_compile_takes(data, graph):
    shapes = leaf_shapes(graph)
    for table in random_tables(graph, 2, seed=data.draw(st.integers(0, 100))):
        assert {n: np.shape(v) for n, v in table.items()} == shapes
        loss, grads = rnnsym.compile(graph, [n for n in shapes if n not in graph.sequences])(table)
        assert all(np.shape(g) == shapes[n] for n, g in grads.items())


# -- bad input ---------------------------------------------------------------------------------------


def test_bad_arguments_name_the_field():
    cases = [
        (dict(function="bptt"), "function"),
        (dict(graph=rnnsym.elman_cell()), "graph"),
        (dict(wrt="W_z"), "wrt"),
        (dict(wrt="x"), "wrt"),
        (dict(examples=0), "examples"),
        (dict(examples=2.5), "examples"),
        (dict(rtol=-1), "rtol"),
        (dict(min_value=3), "min_value"),
        (dict(values={"W_h": 1}), "values.h_0"),
        (dict(values={"W_h": 1, "W_z": 1}), "values"),
        (dict(values={**{"h_0": 1, "W_h": 1, "W_x": 1, "W_y": 1, "y": [0, 0, 0]}, "x": [0, 0]}), "values.x"),
    ]
    for override, field in cases:
        arguments = dict(function=scalar_elman(), graph=SCALAR, examples=2) | override
        with pytest.raises(InputError) as raised:
            check_bptt(arguments.pop("function"), arguments.pop("graph"), **arguments)
        assert raised.value.field == field, (override, str(raised.value))


@pytest.mark.parametrize("returned, field, value", [
    ([1, 2], "bptt(values)", [1, 2]),
    ({}, "bptt(values)", {}),
    ({"W_z": 1.0}, "bptt(values)", "W_z"),
    ({"W_h": [1.0, 2.0]}, "bptt(values)['W_h']", "shape (2,)"),
    ({"W_h": "one"}, "bptt(values)['W_h']", "one"),
    ({"W_h": object}, "bptt(values)['W_h']", object),
    ((1.0, {"W_x": 1.0}), "bptt(values)[1]['W_h']", Missing),
    (("a lot", {"W_h": 1.0}), "bptt(values)[0]", "a lot"),
])
def test_a_wrong_return_value_names_what_and_where(returned, field, value):
    def bptt(values):
        return returned

    with pytest.raises(InputError) as raised:
        check_bptt(bptt, SCALAR, wrt="W_h", examples=2)
    got = type(raised.value.value) if value is Missing else raised.value.value  # a missing value is Missing()
    assert (raised.value.field, got) == (field, value), str(raised.value)
    assert isinstance(raised.value, InputTypeError) == (value in ([1, 2], "one", object, "a lot"))


def test_a_vector_gradient_may_drop_or_add_axes_of_length_one_but_not_change_shape():
    def bptt(values, shape):
        loss, grads = vector_elman()(values)
        return loss, {"W_x": grads["W_x"].reshape(shape)}

    assert check_bptt(lambda v: bptt(v, (2,)), VECTOR, examples=5).ok
    assert check_bptt(lambda v: bptt(v, (1, 2, 1)), VECTOR, examples=5).ok
    with pytest.raises(InputError, match=r"\['W_x'\]: got 'shape \(1, 4\)', expected shape \(2, 1\), the shape of W_x"):
        check_bptt(lambda v: (0.0, {"W_x": np.zeros((1, 4))}), VECTOR, examples=5)


def test_without_hypothesis_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "hypothesis", None)
    with pytest.raises(ModuleNotFoundError, match=r"rnnsym\[hypothesis\]"):
        check_bptt(scalar_elman(), SCALAR)


def test_a_loss_at_some_steps_takes_a_target_row_per_step():
    """With loss_at=[1, 3] of T = 4 the targets still have a row per step, as rnnsym.compile takes them."""
    graph = rnnsym.elman(4, activation="tanh", loss_at=[1, 3])
    assert leaf_shapes(graph)["y"] == (4,)

    def bptt(values, steps=(1, 3)):
        W_h, W_x, W_y, h_0, x, y = (values[k] for k in ("W_h", "W_x", "W_y", "h_0", "x", "y"))
        h = [h_0]
        for t in range(len(x)):
            h.append(np.tanh(W_h * h[t] + W_x * x[t]))
        loss = sum((W_y * h[t] - y[t - 1]) ** 2 for t in steps)
        g, dh = {"W_h": 0.0, "W_x": 0.0, "W_y": 0.0}, 0.0
        for t in range(len(x), 0, -1):
            dyhat = 2 * (W_y * h[t] - y[t - 1]) if t in steps else 0.0
            g["W_y"] += dyhat * h[t]
            dz = (dh + dyhat * W_y) * (1 - h[t] ** 2)
            g["W_h"] += dz * h[t - 1]
            g["W_x"] += dz * x[t - 1]
            dh = dz * W_h
        return loss, g

    assert check_bptt(bptt, graph, examples=QUICK).ok
    m = check_bptt(lambda v: bptt(v, (1, 2, 3)), graph, examples=QUICK).mismatch
    assert m is not None and m.quantity == "L"


def test_a_given_value_that_is_not_a_finite_number_is_refused():
    """None would read as NaN, whose truth is no number: nothing to compare, so it is refused."""
    values = {"h_0": 0, "W_h": None, "W_x": 1, "W_y": 1, "x": [1, 0, 0], "y": [0, 0, 0]}
    with pytest.raises(InputError, match="values.W_h: got None, expected finite numbers"):
        check_bptt(scalar_elman(), SCALAR, values=values, examples=2)
