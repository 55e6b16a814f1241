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

__all__ = ["derive", "compute", "Derivation", "ChainDerivation", "TensorDerivation", "TruncatedDerivation", "TruncatedTensorDerivation",
           "Step", "SPLITS", "MAX_PATHS", "derivative", "path_form"]


def derive(
    graph: Graph,
    of: str = "L",
    wrt: str = "W_h",
    split: str = "auto",
    truncate: object = None,
    truncation: str = "per-loss",
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

    >>> from rnnsym.models import elman
    >>> derive(elman(2, hidden=2), "L", "W_h")
    TensorDerivation(dL/dW_h, shape=(2, 2))
    """
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
