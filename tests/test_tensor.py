"""The matrix form of BPTT for vector Elman cells: golden strings, written by the one printer."""

from __future__ import annotations

import pytest

import rnnsym
from rnnsym.notation import Notation

GOLDEN = [
    (dict(activation="identity"), "W_h",
     r"\nabla_{W_{h}} L = \sum_{t=1}^{2} \nabla_{h_{t}} L \, h_{t-1}^{\top}"),
    (dict(activation="tanh"), "W_h",
     r"\nabla_{W_{h}} L = \sum_{t=1}^{2} \operatorname{diag}\left(1 - h_{t}^{2}\right) \, \nabla_{h_{t}} L \, h_{t-1}^{\top}"),
    (dict(activation="sigmoid"), "W_x",
     r"\nabla_{W_{x}} L = \sum_{t=1}^{2} \operatorname{diag}\left(h_{t} \odot \left(1 - h_{t}\right)\right) \, "
     r"\nabla_{h_{t}} L \, x_{t}^{\top}"),
    (dict(activation="relu"), "W_h",
     r"\nabla_{W_{h}} L = \sum_{t=1}^{2} \operatorname{diag}\left(\mathbf{1}\left[z_{t} > 0\right]\right) \, "
     r"\nabla_{h_{t}} L \, h_{t-1}^{\top}"),
    (dict(activation="tanh", bias=True), "b_h",
     r"\nabla_{b_{h}} L = \sum_{t=1}^{2} \operatorname{diag}\left(1 - h_{t}^{2}\right) \, \nabla_{h_{t}} L"),
    (dict(activation="tanh"), "h_0",
     r"\nabla_{h_{0}} L = W_{h}^{\top} \, \operatorname{diag}\left(1 - h_{1}^{2}\right) \, \nabla_{h_{1}} L"),
    (dict(activation="tanh", output=2, loss="cross_entropy"), "W_y",
     r"\nabla_{W_{y}} L = \sum_{t=1}^{2} \nabla_{o_{t}} L \, h_{t}^{\top}"),
]


@pytest.mark.parametrize("options, wrt, golden", GOLDEN)
def test_the_last_line_of_the_matrix_form(options, wrt, golden):
    graph = rnnsym.elman(2, hidden=2, **options)
    assert rnnsym.derive(graph, "L", wrt).latex()[-1] == golden


def test_the_recursion_lines_and_the_loss_gradient():
    lines = rnnsym.derive(rnnsym.elman(2, "tanh", hidden=2, loss="half_squared"), "L", "W_h").latex()
    assert lines[:4] == [
        r"\nabla_{\hat{y}_{1}} L = \hat{y}_{1} - y_{1}",
        r"\nabla_{\hat{y}_{2}} L = \hat{y}_{2} - y_{2}",
        r"\nabla_{h_{2}} L = W_{y}^{\top} \, \nabla_{\hat{y}_{2}} L",
        r"\nabla_{h_{1}} L = W_{y}^{\top} \, \nabla_{\hat{y}_{1}} L + W_{h}^{\top} \, "
        r"\operatorname{diag}\left(1 - h_{2}^{2}\right) \, \nabla_{h_{2}} L",
    ]


def test_the_softmax_cross_entropy_gradient_and_loss_steps():
    graph = rnnsym.elman(3, "tanh", hidden=2, output=2, loss="cross_entropy", loss_at=[1, 3])
    lines = rnnsym.derive(graph, "L", "W_y").latex()
    assert lines[0] == r"\nabla_{o_{1}} L = \left(\mathbf{1}^{\top} y_{1}\right) \hat{y}_{1} - y_{1}"
    assert lines[-1] == r"\nabla_{W_{y}} L = \sum_{t \in \{1, 3\}} \nabla_{o_{t}} L \, h_{t}^{\top}"


def test_the_matrix_form_follows_the_notation():
    options = rnnsym.RenderOptions(notation=Notation(bases={"h": "s", "yhat": "o"}))
    lines = rnnsym.derive(rnnsym.elman(2, "tanh", hidden=2), "L", "W_h").latex(options=options)
    assert lines[2] == r"\nabla_{s_{2}} L = W_{y}^{\top} \, \nabla_{o_{2}} L"
    assert lines[-1] == (r"\nabla_{W_{h}} L = \sum_{t=1}^{2} \operatorname{diag}\left(1 - s_{t}^{2}\right) \, "
                         r"\nabla_{s_{t}} L \, s_{t-1}^{\top}")


def test_a_registered_activation_has_a_matrix_form():
    import sympy

    from rnnsym.rules import sigmoid, unregister

    rnnsym.register_activation("softplus", lambda z: sympy.log(1 + sympy.exp(z)), derivative=lambda z, out: sigmoid(z))
    try:
        lines = rnnsym.derive(rnnsym.elman(2, "softplus", hidden=2), "L", "W_h").latex()
        assert lines[-1] == (r"\nabla_{W_{h}} L = \sum_{t=1}^{2} \operatorname{diag}\left(\sigma\left(z_{t}\right)\right) \, "
                             r"\nabla_{h_{t}} L \, h_{t-1}^{\top}")
    finally:
        unregister("softplus")


def test_computing_a_whole_vector_gives_every_entry():
    import rnnsym

    graph = rnnsym.elman(2, hidden=2, activation="identity")
    values = {"h_0": [1, 0], "x": [1, 2], "y": [0, 1], "W_h": [[1, 2], [3, 4]], "W_x": [[1], [-1]], "W_y": [[1, 1]]}
    whole = rnnsym.compute(graph, "h_2").evaluate(values)
    entries = [rnnsym.compute(graph, f"h_2[{i}]").evaluate(values) for i in (1, 2)]
    # h_1 = W_h h_0 + W_x x_1 = (2, 2); h_2 = W_h h_1 + W_x x_2 = (6 + 2, 14 - 2)
    assert list(whole) == entries == [8, 12]
