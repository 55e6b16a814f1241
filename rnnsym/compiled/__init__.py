"""Compiled gradients: numpy, JAX or PyTorch code generated from a cell's template equations.

:func:`compile_gradient` turns a graph into a function of float64 arrays that
returns the loss and the gradients of the chosen leaves, for one sequence or a
batch of them.  The code is generated from the cell's *template* equations and
their local partials (derived once, see :class:`rnnsym.cells.Equation`), with
common subexpressions eliminated by :func:`sympy.cse` and printed by sympy's
code printers (``NumPyPrinter``, ``JaxPrinter``, ``TorchPrinter``, the printers
behind ``sympy.lambdify``): a forward pass over t and a reverse pass over t
(back-propagation through time), so its size and set-up cost do not grow with
the number of steps.  In the reverse pass ``delta_q[t]`` is ∂L/∂q_t with q_t
free, the adjoint of the written recursion (``split="step"``); for an Elman
cell ``delta_z[t]`` is the δ_t = f′(z_t) ⊙ ∂L/∂h_t of the whole-tensor
derivations.

The modules: ``layout`` (names, shapes, :class:`CompiledGradient`),
``codegen`` (the plan every backend prints), ``numpy_backend``,
``torch_backend`` and ``jax_backend``.  JAX and PyTorch are imported only when
their backend is compiled.

>>> import numpy as np, rnnsym
>>> from rnnsym.compiled import compile_gradient
>>> f = compile_gradient(rnnsym.elman(2))
>>> loss, grads = f({"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": 0.1, "W_y": 2})
>>> round(float(loss), 10), round(float(grads["W_h"]), 10)
(2.0, 8.0)
"""

from __future__ import annotations

import importlib.util
from typing import Iterable

from ..errors import InputError
from . import jax_backend, numpy_backend, torch_backend
from .codegen import plan
from .layout import SUPPORTED_FUNCTIONS, CompiledGradient, check_functions, layout_of, signature

__all__ = ["compile_gradient", "compile", "CompiledGradient", "SUPPORTED_FUNCTIONS", "BACKENDS"]

#: The backends, each with the library it needs and the extra that installs it.
BACKENDS = {"numpy": ("numpy", None), "jax": ("jax", "jax"), "torch": ("torch", "torch")}

_BUILDERS = {"numpy": numpy_backend.build, "jax": jax_backend.build, "torch": torch_backend.build}


def compile_gradient(graph, wrt: str | Iterable[str] | None = None, backend: str = "numpy") -> CompiledGradient:
    """Generate code for the loss ``L`` of ``graph`` and its gradient with
    respect to each name of ``wrt`` (tensor names: parameters such as ``"W_h"``
    or initial states such as ``"h_0"``; default: every parameter).

    The code is generated from ``graph.cell``'s template equations, once for any
    number of steps; it is the counterpart of ``sympy.lambdify`` for a whole
    back-propagation through time.  Any cell whose equations use +, ×, powers,
    tanh, sigmoid, relu, exp and log compiles: the Elman, GRU and LSTM cells with
    every built-in activation and loss, ``loss_at`` and both reductions.

    ``backend`` is the library the code runs on:

    - ``"numpy"`` (the default): Python loops over t on numpy arrays;
    - ``"jax"``: ``jax.lax.scan`` over t (forward, then reverse for the
      adjoints), jit-compiled once per input shape, in float64 inside a scoped
      ``jax.enable_x64(True)`` (JAX's global setting is left as it was);
    - ``"torch"``: Python loops over t on float64 tensors, plain tensor ops
      (no autograd), so ``torch.compile`` can take the function.

    Every backend returns numpy floats and arrays (see :class:`CompiledGradient`).

    Raises :class:`~rnnsym.errors.InputError` for a name of ``wrt`` that is not a
    parameter or initial state, for a cell using a function the generated code
    does not know (a registered activation, say), naming it, for an unknown
    ``backend``, and for a backend whose library is not installed (naming the
    extra to install, ``pip install rnnsym[jax]``).

    >>> import rnnsym
    >>> f = compile_gradient(rnnsym.elman(3, activation="tanh"), wrt=["W_h"])
    >>> print(f.source.splitlines()[0])
    def loss_and_gradients(W_h, W_x, W_y, h_0, x, y):
    >>> sorted(f({"h_0": 0, "x": [1, 2, 3], "y": [1, 0, 1], "W_h": 0.5, "W_x": 1, "W_y": 1})[1])
    ['W_h']
    >>> compile_gradient(rnnsym.elman(3), backend="tensorflow")
    Traceback (most recent call last):
    ...
    rnnsym.errors.InputError: backend: got 'tensorflow', expected one of numpy, jax, torch
    """
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise InputError("backend", backend, "one of " + ", ".join(BACKENDS))
    library, extra = BACKENDS[backend]
    if extra and not _installed(library):
        raise InputError("backend", backend, f"an installed {library} (pip install rnnsym[{extra}])")
    cell = graph.cell
    names = layout_of(graph)
    if wrt is None:
        chosen = tuple(names["parameters"])
    else:
        chosen = (wrt,) if isinstance(wrt, str) else tuple(wrt)
        if not chosen:
            raise InputError("wrt", list(chosen), "at least one parameter or initial state")
        for w in chosen:
            if w not in names["parameters"] and w not in names["states"]:
                raise InputError("wrt", w, "one of " + ", ".join([*names["parameters"], *names["states"]]))
    check_functions(cell)
    p = plan(graph, chosen, names, signature(cell, names))
    try:
        source, function = _BUILDERS[backend](p, f"<rnnsym.compiled {cell.name}>")
    except ImportError as error:  # found but not importable (jax without jaxlib, say)
        raise InputError("backend", backend, f"an installed {backend} (pip install rnnsym[{backend}]): {error}") from None
    return CompiledGradient(graph, chosen, source, function, names, backend)


def _installed(library: str) -> bool:
    try:
        return importlib.util.find_spec(library) is not None
    except (ImportError, ValueError):  # a module without a spec, or a finder refusing it
        return False


#: ``rnnsym.compile(graph, wrt, backend)``: the name the package exports.
compile = compile_gradient
