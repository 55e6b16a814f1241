"""The names and layout of compiled code: each tensor's shape, its components' Python
names, and :class:`CompiledGradient`, which lays a table of values out as the
generated function's arguments (the batch as last axis) and its results back.

Every backend's code uses these names: ``h[2]`` is ``h2``, ``W_h[1,2]`` is
``W_h_1_2``, a quantity's array ``h`` has rows t = 0..T, and ``delta_h`` is its
adjoint.
"""

from __future__ import annotations

import keyword
from typing import Mapping

import sympy

from ..cells import at_step, placeholder
from ..errors import InputError, InputTypeError
from ..binding import Missing
from ..forms import plain
from ..numbers import parse_number
from ..rules import relu, sigmoid

__all__ = ["CompiledGradient", "SUPPORTED_FUNCTIONS", "layout_of", "check_functions", "python_name", "signature"]

#: The functions the generated numpy code knows, by their sympy class.
SUPPORTED_FUNCTIONS = {
    sympy.tanh: "tanh",
    sympy.exp: "exp",
    sympy.log: "log",
    sigmoid: "sigmoid",
    relu: "relu",
    sympy.Heaviside: "Heaviside",
}


def python_name(name: str) -> str:
    """A Python name for a component name: ``h[2]`` → ``h2``, ``W_h[1,2]`` → ``W_h_1_2``.

    >>> python_name("h[2]"), python_name("W_h[1,2]"), python_name("h_0[1]")
    ('h2', 'W_h_1_2', 'h_0_1')
    """
    head, bracket, rest = name.partition("[")
    if not bracket:
        return head
    index = rest.rstrip("]").split(",")
    joined = "_".join(index)
    return head + (joined if len(index) == 1 and not head[-1].isdigit() else "_" + joined)


def _tensor_of(name: str) -> tuple[str, tuple[int, ...]]:
    """``("W_h", (1, 2))`` for ``W_h[1,2]``, ``("W_h", ())`` for ``W_h``."""
    head, bracket, rest = name.partition("[")
    return head, tuple(int(i) for i in rest.rstrip("]").split(",")) if bracket else ()


class CompiledGradient:
    """The loss and gradients of a graph as generated code (see :func:`~rnnsym.compiled.compile_gradient`).

    Call it with a table of values named as in exercise files (``"W_h"``,
    ``"h_0"``, ``"x"``, ``"y"``): each parameter an array of its tensor's
    shape, the initial states of theirs (or with a leading batch axis), the
    inputs and targets one entry per step — shape (T,) or (T, n) for one
    sequence, (B, T) or (B, T, n) for a batch of B; entries are numbers, or
    strings as exercise files write them (``"0.1"``, ``"1/3"``).  It returns ``(loss,
    gradients)``: the loss (a float, or an array of shape (B,)) and a dict from
    each name of ``wrt`` to its gradient, of the tensor's shape, with the batch
    axis first when batched.  ``source`` is the generated code and ``backend``
    the library it runs on (``"numpy"``, ``"jax"`` or ``"torch"``); every
    backend returns numpy floats and arrays.

    Raises :class:`~rnnsym.errors.InputError` for a missing value, an unknown
    name or an array of the wrong shape.

    >>> import numpy as np, rnnsym
    >>> f = rnnsym.compile(rnnsym.elman(2), wrt=["W_h"])
    >>> f
    CompiledGradient(Graph(elman, steps=2, activation=identity, loss=squared), wrt=['W_h'])
    >>> losses, grads = f({"h_0": 1, "x": [[10, 10], [0, 0]], "y": [[5, 5], [0, 0]], "W_h": 1, "W_x": 0.1, "W_y": 2})
    >>> losses.tolist(), grads["W_h"].round(9).tolist()
    ([2.0, 8.0], [8.0, 24.0])
    """

    def __init__(self, graph, wrt: tuple[str, ...], source: str, function, layout: dict,
                 backend: str = "numpy") -> None:
        self.graph = graph
        self.backend = backend
        self.wrt = wrt
        self.source = source
        self._function = function
        self._layout = layout

    @property
    def function(self):
        """The generated function itself: the arguments of :attr:`source`'s signature, as
        arrays of the backend's library with the batch as last axis (rows t = 0..T for a
        sequence), returning the loss and a dict of gradients by component name."""
        return getattr(self._function, "function", self._function)

    def __repr__(self) -> str:
        backend = "" if self.backend == "numpy" else f", backend={self.backend!r}"
        return f"CompiledGradient({self.graph!r}, wrt={list(self.wrt)}{backend})"

    def __call__(self, values: Mapping) -> tuple[object, dict]:
        import numpy as np  # imported when used: ``import rnnsym`` stays quick for the command line

        if not isinstance(values, Mapping):
            raise InputTypeError("values", values, "a table of names and arrays")
        lay = self._layout
        T = self.graph.steps
        known = list(lay["parameters"]) + list(lay["states"]) + list(lay["sequences"])
        for key in values:
            if key not in known:
                raise InputError("values", key, "one of " + ", ".join(known))
        for key in known:
            if key not in values:
                raise InputError(f"values.{key}", Missing(), "an array (every leaf of the model needs a value)")
        arrays = {}
        for k in known:
            try:
                arrays[k] = np.asarray(values[k], dtype=np.float64)
            except (TypeError, ValueError):
                arrays[k] = _as_written(np, values[k], f"values.{k}")
            if np.isnan(arrays[k]).any() and any(v is None for v in np.asarray(values[k], dtype=object).flat):
                raise InputTypeError(f"values.{k}", values[k], "numbers (numpy reads None as NaN)")
        batch: int | None = None
        for name, shape in lay["sequences"].items():
            a, full = arrays[name], (T,) + shape
            if a.shape == full:
                b = None
            elif a.ndim == len(full) + 1 and a.shape[1:] == full and a.shape[0] > 0:
                b = a.shape[0]
            else:
                raise InputError(f"values.{name}", f"shape {a.shape}", f"shape {full} (one sequence) or (B, {', '.join(map(str, full))}) (a batch, B ≥ 1)")
            if name == next(iter(lay["sequences"])):
                batch = b
            elif b != batch:
                raise InputError(f"values.{name}", f"shape {a.shape}", "the same batch size as the other sequences")
        B = batch or 1
        args: dict[str, object] = {}
        for name, shape in lay["sequences"].items():
            a = arrays[name] if batch else arrays[name][None]
            a = np.moveaxis(a, 0, -1)  # (T, …, B)
            for index, ident in lay["sequences_components"][name]:
                column = np.zeros((T + 1, B))
                column[1:] = a[(slice(None),) + tuple(i - 1 for i in index)]
                args[ident] = column
        for name, shape in lay["states"].items():
            a = arrays[name]
            if a.shape == shape:
                a = np.broadcast_to(a[..., None], shape + (B,))
            elif batch and a.shape == (B,) + shape:
                a = np.moveaxis(a, 0, -1)
            else:
                raise InputError(f"values.{name}", f"shape {a.shape}", f"shape {shape}" + (f" or {(B,) + shape}" if batch else ""))
            for index, ident in lay["components"][name]:
                args[ident] = np.array(a[tuple(i - 1 for i in index)], dtype=np.float64)
        for name, shape in lay["parameters"].items():
            a = arrays[name]
            if a.shape != shape:
                raise InputError(f"values.{name}", f"shape {a.shape}", f"shape {shape}")
            for index, ident in lay["components"][name]:
                args[ident] = float(a[tuple(i - 1 for i in index)])
        with np.errstate(over="ignore"):  # exp(-a) of a sigmoid at a < -709 is inf, and σ(a) rightly 0
            loss, grads = self._function(**args)
        out: dict[str, object] = {}
        for name in self.wrt:
            shape = lay["parameters"].get(name, lay["states"].get(name))
            g = np.zeros((B,) + shape)
            for index, ident in lay["components"][name]:
                g[(slice(None),) + tuple(i - 1 for i in index)] = np.asarray(grads[ident])
            out[name] = g if batch else g[0]
        loss = np.asarray(loss, dtype=np.float64)
        return (loss if batch else float(loss[0])), out


def _as_written(np, value, field: str):
    """``value`` as float64 when its entries are numbers as exercise files write them
    (``"1/3"``); :func:`~rnnsym.numbers.parse_number` names a bad entry."""
    try:
        entries = np.asarray(value, dtype=object)
    except (TypeError, ValueError):
        raise InputTypeError(field, value, "numbers (an array of float64)") from None
    read = np.vectorize(lambda v: float(parse_number(v, field).exact), otypes=[np.float64])
    return read(entries)


def check_functions(cell) -> None:
    """Refuse (:class:`~rnnsym.errors.InputError`, field ``cell``) a cell using a function
    outside :data:`SUPPORTED_FUNCTIONS` or an unevaluated derivative.

    >>> import rnnsym
    >>> check_functions(rnnsym.gru_cell())  # sigmoid and tanh: compiled code knows them
    """
    for e in cell.equations:
        for form in (e.form, *e.partials.values()):
            for node in sympy.preorder_traversal(plain(form)):
                if isinstance(node, sympy.Function) and type(node) not in SUPPORTED_FUNCTIONS:
                    raise InputError("cell", f"{cell.name} uses {type(node).__name__}",
                                     "a cell whose functions are among " + ", ".join(SUPPORTED_FUNCTIONS.values())
                                     + " (the functions compiled code knows)")
                if isinstance(node, sympy.Derivative):
                    raise InputError("cell", f"{cell.name} has an unevaluated derivative {node}",
                                     "local partials in closed form")


def layout_of(graph) -> dict:
    """The shapes of the parameter, initial-state and sequence tensors, and their components' Python names.

    Raises :class:`~rnnsym.errors.InputError` (field ``cell``) for a cell without a
    loss, or whose names make no distinct Python names or meet the generated code's.

    >>> import rnnsym
    >>> lay = layout_of(rnnsym.elman(3, hidden=2))
    >>> lay["parameters"], lay["states"], lay["sequences"]
    ({'W_h': (2, 2), 'W_x': (2, 1), 'W_y': (1, 2)}, {'h_0': (2,)}, {'x': (), 'y': ()})
    >>> lay["components"]["h_0"]
    [((1,), 'h_0_1'), ((2,), 'h_0_2')]
    """
    cell = graph.cell
    if not any(e.role == "loss" for e in cell.equations):
        raise InputError("cell", cell.name, "a cell with a loss equation")

    def group(component_names: list[str]) -> tuple[dict, dict]:
        shapes: dict[str, tuple[int, ...]] = {}
        comps: dict[str, list] = {}
        for n in component_names:
            head, index = _tensor_of(n)
            comps.setdefault(head, []).append((index, python_name(n)))
        for head, entries in comps.items():
            dims = len(entries[0][0])
            shapes[head] = tuple(max(i[d] for i, _ in entries) for d in range(dims))
        return shapes, comps

    parameters, pcomps = group(list(cell.parameters))
    state_bases = _placeholders(cell, -1)
    states0 = [at_step(b, 0) for b in state_bases]
    states, scomps = group(states0)
    computed = {e.base for e in cell.equations}
    seq_bases = [b for b in _placeholders(cell, 0) if b not in computed]
    sequences, qcomps = group(seq_bases)
    seen: dict[str, str] = {}
    for n in list(cell.parameters) + states0 + seq_bases + sorted(computed - {e.base for e in cell.equations if e.role == "loss"}):
        ident = python_name(n)
        if (not ident.isidentifier() or keyword.iskeyword(ident) or ident in _RESERVED or ident.startswith(("tmp", "delta_", "dL_d"))
                or seen.get(ident, n) != n):
            raise InputError("cell", f"{cell.name}: {n}", "names that make distinct Python names, other than "
                             + ", ".join(_RESERVED) + " and names starting tmp, delta_ or dL_d (the generated code's own)")
        seen[ident] = n
    return {"parameters": parameters, "states": states, "sequences": sequences,
            "components": {**pcomps, **scomps}, "sequences_components": qcomps,
            "state_bases": dict(zip(state_bases, states0)), "idents": set(seen)}


#: Names the generated code of some backend defines itself.
_RESERVED = ("numpy", "jax", "torch", "T", "B", "S", "L", "L_t", "t", "carry", "row", "zero", "forward", "backward")


def _placeholders(cell, offset: int) -> list[str]:
    out: list[str] = []
    for e in cell.equations:
        for s in e.partials:
            ph = placeholder(s)
            if ph is not None and ph[1] == offset and ph[0] not in out:
                out.append(ph[0])
    return out


def signature(cell, names: dict) -> str:
    """The generated function's parameters: the weights, the initial states, the sequences.

    >>> import rnnsym
    >>> graph = rnnsym.lstm(2)
    >>> signature(graph.cell, layout_of(graph))
    'W_xi, W_hi, W_xf, W_hf, W_xg, W_hg, W_xo, W_ho, b_i, b_f, b_g, b_o, W_y, b_y, h_0, c_0, x, y'
    """
    parts = [python_name(p) for p in cell.parameters]
    parts += [python_name(s) for s in names["state_bases"].values()]
    parts += [ident for comps in names["sequences_components"].values() for _, ident in comps]
    return ", ".join(parts)
