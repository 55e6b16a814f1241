"""The numpy backend: the plan as loops over t on numpy arrays of rows t = 0..T.

The code is printed by sympy's ``NumPyPrinter`` (the printer behind
``sympy.lambdify(..., "numpy")``) with rnnsym's activations, and runs as
Python loops over t, numpy doing the arithmetic over the batch.
"""

from __future__ import annotations

import builtins

from sympy import Expr
from sympy.printing.numpy import NumPyPrinter

from .codegen import Plan, row_loops

__all__ = ["NumpyCode", "build"]


class NumpyCode(NumPyPrinter):
    """sympy's numpy printer, with rnnsym's activations and an elementwise maximum.

    >>> from rnnsym.rules import relu, sigmoid
    >>> from sympy import Symbol
    >>> NumpyCode().doprint(sigmoid(Symbol("a")) + relu(Symbol("b")))
    'numpy.maximum(b, 0.0) + (1/(1 + numpy.exp(-(a))))'
    """

    def __init__(self) -> None:
        super().__init__({"fully_qualified_modules": True})

    def _print_sigmoid(self, e: Expr) -> str:
        return f"(1/(1 + numpy.exp(-({self._print(e.args[0])}))))"

    def _print_relu(self, e: Expr) -> str:
        return f"numpy.maximum({self._print(e.args[0])}, 0.0)"

    def _print_Heaviside(self, e: Expr) -> str:  # Heaviside(z, 0): 0 at 0, as relu's written derivative
        return f"numpy.heaviside({self._print(e.args[0])}, {_at_zero(e)!r})"

    def _print_LogSigmoid(self, e: Expr) -> str:
        return f"(-numpy.logaddexp(0.0, -({self._print(e.args[0])})))"

    def _print_Max(self, e: Expr) -> str:
        return _nested("numpy.maximum", [self._print(a) for a in e.args])


def _at_zero(e: Expr) -> float:
    return float(e.args[1]) if len(e.args) > 1 else 0.5


def _nested(function: str, args: list[str]) -> str:
    """``f(a, f(b, c))`` for a binary ``f`` over several arguments."""
    return args[0] if len(args) == 1 else f"{function}({args[0]}, {_nested(function, args[1:])})"


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
