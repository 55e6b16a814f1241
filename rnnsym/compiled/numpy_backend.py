"""The numpy backend: the plan as loops over t on numpy arrays of rows t = 0..T.

The code is printed by sympy's ``NumPyPrinter`` (the printer behind
``sympy.lambdify(..., "numpy")``) with rnnsym's activations, and runs as
Python loops over t, numpy doing the arithmetic over the batch.
"""

from __future__ import annotations

import builtins

from sympy.printing.numpy import NumPyPrinter

from .codegen import Functions, Plan, row_loops

__all__ = ["NumpyCode", "build"]


class NumpyCode(Functions, NumPyPrinter):
    """sympy's numpy printer, with rnnsym's activations and an elementwise maximum.

    >>> from rnnsym.rules import relu, sigmoid
    >>> from sympy import Symbol
    >>> NumpyCode().doprint(sigmoid(Symbol("a")) + relu(Symbol("b")))
    'numpy.maximum(b, 0.0) + (1/(1 + numpy.exp(-(a))))'
    """

    SPELLING = {
        "sigmoid": "(1/(1 + numpy.exp(-({x}))))",
        "relu": "numpy.maximum({x}, 0.0)",
        "log_sigmoid": "(-numpy.logaddexp(0.0, -({x})))",
        "heaviside": "numpy.heaviside({x}, {at_zero})",
        "maximum": "numpy.maximum({a}, {b})",
    }

    def __init__(self) -> None:
        super().__init__({"fully_qualified_modules": True})


def build(p: Plan, name: str) -> tuple[str, object]:
    """The source of ``p`` in numpy and the function it defines (``name`` labels the code object).

    >>> import numpy as np, rnnsym
    >>> from rnnsym.compiled.codegen import plan
    >>> from rnnsym.compiled.layout import layout_of
    >>> graph = rnnsym.elman(2)
    >>> source, f = build(plan(graph, ("W_h",), layout_of(graph), "W_h, W_x, W_y, h_0, x, y"), "<elman>")
    >>> column = lambda *v: np.array([[0.0], *[[x] for x in v]])  # rows t = 0..T, a batch of one
    >>> loss, grads = f(W_h=1.0, W_x=0.1, W_y=2.0, h_0=np.ones(1), x=column(10, 10), y=column(5, 5))
    >>> loss.tolist(), grads["W_h"].round(9).tolist()
    ([2.0], [8.0])
    """
    import numpy

    source = row_loops(p, NumpyCode(), "numpy.zeros((T + 1, B))", "numpy.sum({}, axis=0)")
    namespace: dict[str, object] = {"numpy": numpy}
    exec(builtins.compile(source, name, "exec"), namespace)  # code printed from sympy forms, no user text
    return source, namespace["loss_and_gradients"]
