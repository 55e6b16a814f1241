"""The PyTorch backend: the plan as loops over t on float64 tensors of rows t = 0..T.

The code is printed by sympy's ``TorchPrinter`` with rnnsym's activations; it
uses plain tensor operations and no autograd (the backward loop computes the
gradients), so ``torch.compile`` can take the function.  PyTorch is imported
when a function is compiled, never at ``import rnnsym``.
"""

from __future__ import annotations

import builtins

from sympy import Expr

from .codegen import Plan, row_loops

__all__ = ["build"]


def _printer():
    """sympy's PyTorch printer (its module imports torch), with rnnsym's activations and an elementwise maximum."""
    from sympy.printing.pytorch import TorchPrinter

    class TorchCode(_Activations, TorchPrinter):
        pass

    return TorchCode()


class _Activations:

    def _print_sigmoid(self, e: Expr) -> str:
        return f"torch.sigmoid({self._print(e.args[0])})"

    def _print_relu(self, e: Expr) -> str:
        return f"torch.clamp({self._print(e.args[0])}, min=0.0)"

    def _print_Heaviside(self, e: Expr) -> str:  # Heaviside(z, 0): 0 at 0, as relu's written derivative
        at_zero = float(e.args[1]) if len(e.args) > 1 else 0.5
        return f"torch.heaviside({self._print(e.args[0])}, torch.tensor({at_zero!r}, dtype=torch.float64))"

    def _print_LogSigmoid(self, e: Expr) -> str:
        return f"torch.nn.functional.logsigmoid({self._print(e.args[0])})"

    def _print_Max(self, e: Expr) -> str:
        out = self._print(e.args[-1])
        for a in reversed(e.args[:-1]):
            out = f"torch.maximum({self._print(a)}, {out})"
        return out


def build(p: Plan, name: str) -> tuple[str, object]:
    """The source of ``p`` for PyTorch and a function of numpy arguments that runs it
    on float64 tensors (without autograd) and returns numpy results; the generated
    function itself, on tensors, is its attribute ``function``.  Imports torch.

    >>> import pytest, rnnsym
    >>> torch = pytest.importorskip("torch")
    >>> f = rnnsym.compile(rnnsym.elman(2), backend="torch")
    >>> f({"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": 0.1, "W_y": 2})[0]
    2.0
    """
    import numpy
    import torch

    source = row_loops(p, _printer(), "torch.zeros((T + 1, B), dtype=torch.float64)", "torch.sum({}, dim=0)")
    namespace: dict[str, object] = {"torch": torch}
    exec(builtins.compile(source, name, "exec"), namespace)  # code printed from sympy forms, no user text
    function = namespace["loss_and_gradients"]

    def tensor(a):
        return torch.tensor(a, dtype=torch.float64) if isinstance(a, float) else torch.from_numpy(numpy.ascontiguousarray(a))

    def run(**args):
        with torch.no_grad():
            loss, grads = function(**{k: tensor(a) for k, a in args.items()})
        return loss.numpy(), {k: g.numpy() for k, g in grads.items()}

    run.function = function
    return source, run
