"""Derivations: ∂A/∂B through time, as structure, value and written lines.

:func:`derive` is the one entry point: it answers ∂of/∂wrt on a graph with a
:class:`~rnnsym.derivation.core.Derivation` — a chain-rule derivation of
scalars (:mod:`~rnnsym.derivation.scalar`), of or with respect to whole
vectors and matrices (:mod:`~rnnsym.derivation.tensor`), or truncated BPTT
(:mod:`~rnnsym.derivation.truncate`); :func:`compute` writes the forward
computation of one quantity.

>>> from rnnsym.models import elman
>>> d = derive(elman(2), of="L", wrt="W_h")
>>> d
Derivation(dL/dW_h, split='loss', 4 lines)
>>> d.evaluate({"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": "0.1", "W_y": 2})
8
"""

from __future__ import annotations

from ..errors import InputError
from ..graph import Graph
from .core import SPLITS, ChainDerivation, Derivation
from .step import Step
from .scalar import MAX_PATHS, compute, derivative, derive_scalar, path_form
from .tensor import TensorDerivation
from .truncate import TruncatedDerivation, truncated
from .truncate_tensor import TruncatedTensorDerivation, truncated_tensor
from .immediate import ImmediateDerivation, derive_immediate

__all__ = ["derive", "compute", "Derivation", "ChainDerivation", "TensorDerivation", "TruncatedDerivation", "TruncatedTensorDerivation",
           "Step", "SPLITS", "MAX_PATHS", "derivative", "path_form", "ImmediateDerivation", "derive_immediate"]


def derive(
    graph: Graph,
    of: str = "L",
    wrt: str = "W_h",
    split: str = "auto",
    truncate: object = None,
    truncation: str = "per-loss",
    immediate: bool = False,
) -> Derivation:
    """Derive ∂of/∂wrt over ``graph``.

    ``of`` and ``wrt`` are names as exercise files write them: quantities and
    leaves (``"L"``, ``"h_1"``, ``"W_h[1,2]"``), or whole vectors and matrices
    (``"W_h"`` of a vector model), which give a
    :class:`~rnnsym.derivation.tensor.TensorDerivation`.  ``split`` says how
    the lines are written: ``"loss"`` per loss term (the textbook),
    ``"step"`` as the reverse-mode recursion summed per time step, ``"auto"``
    (default) chooses by size.  ``truncate`` (k, or (k1, k2)) asks for
    truncated BPTT under the convention ``truncation``
    (:func:`~rnnsym.derivation.truncate.truncated`; of a whole vector or matrix,
    every entry truncated alike: :mod:`~rnnsym.derivation.truncate_tensor`).
    ``immediate=True`` asks for the immediate partial ∂⁺of/∂wrt instead:
    ``of``'s own definition differentiated with its other arguments held
    fixed, or the product of those along one state (∂⁺c_3/∂c_1 = f_3 f_2,
    :func:`~rnnsym.derivation.immediate.derive_immediate`).

    >>> from rnnsym.models import elman, lstm
    >>> derive(elman(2, hidden=2), "L", "W_h")
    TensorDerivation(dL/dW_h, shape=(2, 2))
    >>> derive(lstm(3), "c_3", "c_1", immediate=True).expr
    f_2*f_3
    """
    if not isinstance(immediate, bool):
        raise InputError("immediate", immediate, "True or False")
    if immediate:
        if truncate is not None:
            raise InputError("truncate", truncate, "None with immediate=True (an immediate partial spans no path to truncate)")
        if split != "auto":
            raise InputError("split", split, "'auto' with immediate=True (an immediate partial is one product)")
        return derive_immediate(graph, of, wrt)
    if truncate is None and truncation != "per-loss":
        raise InputError("truncate", None, f"k or (k1, k2) when truncation={truncation!r} is given")
    whole = isinstance(of, str) and isinstance(wrt, str) and any(
        n not in graph.names and n in graph.tensors for n in (of.replace(" ", ""), wrt.replace(" ", "")))
    if truncate is not None:
        how = "loss" if split == "auto" else split
        return (truncated_tensor if whole else truncated)(graph, of, wrt, truncate, truncation, how)
    if whole:
        return TensorDerivation(graph, of, wrt, split)
    return derive_scalar(graph, of, wrt, split)
