"""The PyTorch backend: the plan as loops over t on float64 tensors of rows t = 0..T.

The code is printed by sympy's ``TorchPrinter`` with rnnsym's activations; it
uses plain tensor operations and no autograd (the backward loop computes the
gradients), so ``torch.compile`` can take the function.  PyTorch is imported
when a function is compiled, never at ``import rnnsym``.
"""

from __future__ import annotations

import builtins


from .codegen import Functions, Plan, row_loops

__all__ = ["build"]


def _printer():
    """sympy's PyTorch printer (its module imports torch), with rnnsym's activations and an elementwise maximum."""
    from sympy.printing.pytorch import TorchPrinter

    class TorchCode(Functions, TorchPrinter):
        SPELLING = {
            "sigmoid": "torch.sigmoid({x})",
            "relu": "torch.clamp({x}, min=0.0)",
            "log_sigmoid": "torch.nn.functional.logsigmoid({x})",
            "heaviside": "torch.heaviside({x}, torch.tensor({at_zero}, dtype=torch.float64))",
            "maximum": "torch.maximum({a}, {b})",
        }

    return TorchCode()


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
