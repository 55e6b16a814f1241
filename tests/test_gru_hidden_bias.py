"""The GRU's hidden-side candidate bias b_hn (``reset="after", hidden_bias=True``):
when the option is accepted, what it adds, and that b_hn = 0 is the GRU without it.

Its values and gradients against PyTorch's formula and torch itself are in
``tests/test_gated_reference.py``."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnsym
from rnnsym import InputError
from rnnsym.errors import InputTypeError

GRU_NAMES = ("W_xr", "W_hr", "W_xz", "W_hz", "W_xh", "W_hh", "b_r", "b_z", "b_h", "W_y", "b_y")


def _file(model: str, b_hn: str | None) -> str:
    values = "h_0 = 0\nx = [1]\ny = [0]\n" + "\n".join(f"{n} = 1" for n in GRU_NAMES)
    if b_hn is not None:
        values += f"\nb_hn = {b_hn}"
    return f'[model]\ncell = "gru"\nsteps = 1\n{model}\n[values]\n{values}\n[[questions]]\nfind = "h_1"\n'


@pytest.mark.parametrize(
    "model, error, message",
    [
        ("hidden_bias = true", InputError, "model.hidden_bias: got True, expected false unless reset = 'after'"),
        ('reset = "after"\nbias = false\nhidden_bias = true', InputError, "model.hidden_bias: got True"),
        ('reset = "after"\nhidden_bias = "yes"', InputTypeError, "model.hidden_bias: got 'yes'"),
        ('reset = "after"\nhidden_bias = true', InputError, "values.b_hn: got nothing"),
    ],
)
def test_hidden_bias_refused_where_it_has_no_meaning_or_no_value(model, error, message):
    with pytest.raises(error, match=message):
        rnnsym.loads(_file(model, None))


def test_b_hn_is_a_value_only_with_hidden_bias():
    with pytest.raises(InputError, match="values: got 'b_hn'"):
        rnnsym.loads(_file('reset = "after"', "1"))
    exercise = rnnsym.loads(_file('reset = "after"\nhidden_bias = true', "1"))
    assert "b_hn" in [str(s) for s in exercise.graph.leaves]


@pytest.mark.parametrize("reset", ["before", "after"])
def test_without_hidden_bias_the_gru_is_unchanged(reset):
    """The default keeps the parameters, options and written cell of the GRU without b_hn."""
    cell = rnnsym.gru_cell(reset=reset)
    assert cell.parameters == GRU_NAMES
    assert "hidden_bias" not in cell.options
    assert "b_{hn" not in "".join(rnnsym.latex(cell))


def test_hidden_bias_parameters_and_written_candidate():
    cell = rnnsym.gru_cell(reset="after", hidden_bias=True, hidden=2)
    assert [p for p in cell.parameters if p.startswith("b_hn")] == ["b_hn[1]", "b_hn[2]"]
    candidate = rnnsym.latex(cell)[4]
    assert candidate.startswith(r"\tilde{h}_{t,1} = ") and r"r_{t,1} \times \left(W_{hh,11} \, h_{t-1,1} + W_{hh,12} \, h_{t-1,2} + b_{hn,1}\right)" in candidate


values_st = st.fractions(min_value=-2, max_value=2, max_denominator=6).filter(lambda q: q != 0).map(str)
DIGITS = 40


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(point=st.fixed_dictionaries({name: values_st for name in GRU_NAMES + ("h_0",)}),
       x=st.lists(values_st, min_size=2, max_size=2), y=st.lists(values_st, min_size=2, max_size=2),
       wrt=st.sampled_from(GRU_NAMES + ("h_0",)))
def test_b_hn_zero_is_the_gru_without_it(point, x, y, wrt):
    """With b_hn = 0 the hidden-bias GRU has the loss and gradients of reset="after" without it (40 digits)."""
    values = {**point, "x": x, "y": y}
    zero = {**values, "b_hn": 0}
    plain = rnnsym.gru(2, reset="after")
    with_bias = rnnsym.gru(2, reset="after", hidden_bias=True)
    tolerance = 10 ** (5 - DIGITS)
    loss, want_loss = (rnnsym.evaluate(g, v, digits=DIGITS).value("L") for g, v in ((with_bias, zero), (plain, values)))
    assert abs(loss - want_loss) <= tolerance * max(1, abs(want_loss))
    got = rnnsym.derive(with_bias, "L", wrt).evaluate(zero, digits=DIGITS)
    want = rnnsym.derive(plain, "L", wrt).evaluate(values, digits=DIGITS)
    assert abs(got - want) <= tolerance * max(1, abs(want)), (wrt, got, want)


def test_b_hn_without_the_option_says_which_option_brings_it():
    values = {"h_0": 0, "W_xr": 0, "W_hr": 0, "W_xz": 0, "W_hz": 0, "W_xh": 1, "W_hh": 1,
              "b_r": 0, "b_z": 0, "b_h": 0, "b_hn": 1, "W_y": 1, "b_y": 0, "x": [1], "y": [0]}
    with pytest.raises(InputError, match=r"got 'b_hn', .* only with \[model\] reset = \"after\", bias = true and hidden_bias = true"):
        rnnsym.evaluate(rnnsym.gru(1), values)
