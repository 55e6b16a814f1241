"""Compiled gradients: numpy code generated from a cell's template equations.

:func:`compile_gradient` turns a graph into a function of float64 arrays that
returns the loss and the gradients of the chosen leaves, for one sequence or a
batch of them.  The code is generated from the cell's *template* equations and
their local partials (derived once, see :class:`rnnsym.cells.Equation`), with
common subexpressions eliminated by :func:`sympy.cse` and printed by sympy's
``NumPyPrinter`` (the printer behind ``sympy.lambdify(..., "numpy")``): a
forward loop over t and a reverse loop over t (back-propagation through time),
so its size and set-up cost do not grow with the number of steps.  In the
reverse loop ``delta_q[t]`` is ∂L/∂q_t with q_t free, the adjoint of the
written recursion (``split="step"``); for an Elman cell ``delta_z[t]`` is the
δ_t = f′(z_t) ⊙ ∂L/∂h_t of the whole-tensor derivations.

>>> import numpy as np, rnnsym
>>> from rnnsym.compiled import compile_gradient
>>> f = compile_gradient(rnnsym.elman(2))
>>> loss, grads = f({"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": 0.1, "W_y": 2})
>>> round(float(loss), 10), round(float(grads["W_h"]), 10)
(2.0, 8.0)
"""

from __future__ import annotations

import builtins
import keyword
from typing import Iterable, Mapping

import sympy
from sympy import Expr, Symbol
from sympy.printing.numpy import NumPyPrinter

from .cells import at_step, now, placeholder
from .errors import InputError, InputTypeError
from .forms import plain
from .rules import relu, sigmoid

__all__ = ["compile_gradient", "compile", "CompiledGradient", "SUPPORTED_FUNCTIONS"]

#: The functions the generated numpy code knows, by their sympy class.
SUPPORTED_FUNCTIONS = {
    sympy.tanh: "tanh",
    sympy.exp: "exp",
    sympy.log: "log",
    sigmoid: "sigmoid",
    relu: "relu",
    sympy.Heaviside: "Heaviside",
}


class _Printer(NumPyPrinter):
    """sympy's numpy printer, with rnnsym's activations."""

    def _print_sigmoid(self, e: Expr) -> str:
        return f"(1/(1 + numpy.exp(-({self._print(e.args[0])}))))"

    def _print_relu(self, e: Expr) -> str:
        return f"numpy.maximum({self._print(e.args[0])}, 0.0)"

    def _print_Heaviside(self, e: Expr) -> str:  # Heaviside(z, 0): 0 at 0, as relu's written derivative
        at_zero = e.args[1] if len(e.args) > 1 else sympy.Rational(1, 2)
        return f"numpy.heaviside({self._print(e.args[0])}, {float(at_zero)!r})"


def _ident(name: str) -> str:
    """A Python name for a component name: ``h[2]`` → ``h2``, ``W_h[1,2]`` → ``W_h_1_2``."""
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
    """The loss and gradients of a graph as generated numpy code (see :func:`compile_gradient`).

    Call it with a table of values named as in exercise files (``"W_h"``,
    ``"h_0"``, ``"x"``, ``"y"``): each parameter an array of its tensor's
    shape, the initial states of theirs (or with a leading batch axis), the
    inputs and targets one entry per step — shape (T,) or (T, n) for one
    sequence, (B, T) or (B, T, n) for a batch of B.  It returns ``(loss,
    gradients)``: the loss (a float, or an array of shape (B,)) and a dict from
    each name of ``wrt`` to its gradient, of the tensor's shape, with the batch
    axis first when batched.  ``source`` is the generated code.

    Raises :class:`~rnnsym.errors.InputError` for a missing value, an unknown
    name or an array of the wrong shape.
    """

    def __init__(self, graph, wrt: tuple[str, ...], source: str, function, layout: dict) -> None:
        self.graph = graph
        self.wrt = wrt
        self.source = source
        self._function = function
        self._layout = layout

    def __repr__(self) -> str:
        return f"CompiledGradient({self.graph!r}, wrt={list(self.wrt)})"

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
                raise InputError(f"values.{key}", "(missing)", "an array (every leaf of the model needs a value)")
        arrays = {}
        for k in known:
            try:
                arrays[k] = np.asarray(values[k], dtype=np.float64)
            except (TypeError, ValueError):
                raise InputTypeError(f"values.{k}", values[k], "numbers (an array of float64)") from None
        batch: int | None = None
        for name, shape in lay["sequences"].items():
            a, full = arrays[name], (T,) + shape
            if a.shape == full:
                b = None
            elif a.ndim == len(full) + 1 and a.shape[1:] == full:
                b = a.shape[0]
            else:
                raise InputError(f"values.{name}", a.shape, f"shape {full} (one sequence) or (B, {', '.join(map(str, full))}) (a batch)")
            if name == next(iter(lay["sequences"])):
                batch = b
            elif b != batch:
                raise InputError(f"values.{name}", a.shape, "the same batch size as the other sequences")
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
                raise InputError(f"values.{name}", a.shape, f"shape {shape}" + (f" or {(B,) + shape}" if batch else ""))
            for index, ident in lay["components"][name]:
                args[ident] = np.array(a[tuple(i - 1 for i in index)], dtype=np.float64)
        for name, shape in lay["parameters"].items():
            a = arrays[name]
            if a.shape != shape:
                raise InputError(f"values.{name}", a.shape, f"shape {shape}")
            for index, ident in lay["components"][name]:
                args[ident] = float(a[tuple(i - 1 for i in index)])
        loss, grads = self._function(**args)
        out: dict[str, object] = {}
        for name in self.wrt:
            shape = lay["parameters"].get(name, lay["states"].get(name))
            g = np.zeros((B,) + shape)
            for index, ident in lay["components"][name]:
                g[(slice(None),) + tuple(i - 1 for i in index)] = grads[ident]
            out[name] = g if batch else g[0]
        loss = np.asarray(loss, dtype=np.float64)
        return (loss if batch else float(loss[0])), out


def compile_gradient(graph, wrt: str | Iterable[str] | None = None) -> CompiledGradient:
    """Generate numpy code for the loss ``L`` of ``graph`` and its gradient with
    respect to each name of ``wrt`` (tensor names: parameters such as ``"W_h"``
    or initial states such as ``"h_0"``; default: every parameter).

    The code is generated from ``graph.cell``'s template equations, once for any
    number of steps; it is the counterpart of ``sympy.lambdify`` for a whole
    back-propagation through time.  Any cell whose equations use +, ×, powers,
    tanh, sigmoid, relu, exp and log compiles: the Elman, GRU and LSTM cells with
    every built-in activation and loss, ``loss_at`` and both reductions.

    Raises :class:`~rnnsym.errors.InputError` for a name of ``wrt`` that is not a
    parameter or initial state, and for a cell using a function the generated
    code does not know (a registered activation, say), naming it.

    >>> import rnnsym
    >>> f = compile_gradient(rnnsym.elman(3, activation="tanh"), wrt=["W_h"])
    >>> print(f.source.splitlines()[0])
    def loss_and_gradients(W_h, W_x, W_y, h_0, x, y):
    >>> sorted(f({"h_0": 0, "x": [1, 2, 3], "y": [1, 0, 1], "W_h": 0.5, "W_x": 1, "W_y": 1})[1])
    ['W_h']
    """
    cell = graph.cell
    names = _names(graph)
    if wrt is None:
        chosen = tuple(names["parameters"])
    else:
        chosen = (wrt,) if isinstance(wrt, str) else tuple(wrt)
        if not chosen:
            raise InputError("wrt", list(chosen), "at least one parameter or initial state")
        for w in chosen:
            if w not in names["parameters"] and w not in names["states"]:
                raise InputError("wrt", w, "one of " + ", ".join([*names["parameters"], *names["states"]]))
    _check_functions(cell)
    source = _generate(graph, chosen, names)
    import numpy

    namespace: dict[str, object] = {"numpy": numpy}
    exec(builtins.compile(source, f"<rnnsym.compiled {cell.name}>", "exec"), namespace)  # code printed from sympy forms, no user text
    return CompiledGradient(graph, chosen, source, namespace["loss_and_gradients"], names)


#: ``rnnsym.compile(graph, wrt)``: the name the package exports.
compile = compile_gradient


def _check_functions(cell) -> None:
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


def _names(graph) -> dict:
    """The shapes of the parameter, initial-state and sequence tensors, and their components' Python names."""
    cell = graph.cell
    if not any(e.role == "loss" for e in cell.equations):
        raise InputError("cell", cell.name, "a cell with a loss equation")

    def group(component_names: list[str]) -> tuple[dict, dict]:
        shapes: dict[str, tuple[int, ...]] = {}
        comps: dict[str, list] = {}
        for n in component_names:
            head, index = _tensor_of(n)
            comps.setdefault(head, []).append((index, _ident(n)))
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
        ident = _ident(n)
        if (not ident.isidentifier() or keyword.iskeyword(ident) or ident in _RESERVED or ident.startswith(("tmp", "delta_", "dL_d"))
                or seen.get(ident, n) != n):
            raise InputError("cell", f"{cell.name}: {n}", "names that make distinct Python names, other than "
                             + ", ".join(_RESERVED) + " and names starting tmp, delta_ or dL_d (the generated code's own)")
        seen[ident] = n
    return {"parameters": parameters, "states": states, "sequences": sequences,
            "components": {**pcomps, **scomps}, "sequences_components": qcomps,
            "state_bases": dict(zip(state_bases, states0))}


_RESERVED = ("numpy", "T", "B", "S", "L", "L_t", "t")


def _placeholders(cell, offset: int) -> list[str]:
    out: list[str] = []
    for e in cell.equations:
        for s in e.partials:
            ph = placeholder(s)
            if ph is not None and ph[1] == offset and ph[0] not in out:
                out.append(ph[0])
    return out


def _generate(graph, wrt: tuple[str, ...], names: dict) -> str:
    cell = graph.cell
    T = graph.steps
    per_step = [e for e in cell.equations if e.role != "loss"]
    losses = [e for e in cell.equations if e.role == "loss"]
    computed = [e.base for e in cell.equations]
    quantities = [b for b in computed if all(e.base != b or e.role != "loss" for e in cell.equations)]
    weight = graph.assignments[-1].weight
    loss_steps = list(graph.loss_steps)
    every_step = loss_steps == list(range(1, T + 1))
    params = set(cell.parameters)
    wanted = {ident for w in wrt for _, ident in names["components"][w]}
    state0 = {_ident(b): _ident(s0) for b, s0 in names["state_bases"].items()}

    def code(e: Symbol) -> Symbol:
        """The Python spelling of a template symbol at step t."""
        ph = placeholder(e)
        if ph is None:
            return Symbol(_ident(e.name))
        base, offset = ph
        return Symbol(f"{_ident(base)}[t{'-1' if offset == -1 else ''}]")

    printer = _Printer({"fully_qualified_modules": True})

    def mapping(e) -> dict:
        syms = set(e.form.free_symbols) | {now(e.base)}
        for f in e.partials.values():
            syms |= plain(f).free_symbols
        return {s: code(s) for s in syms}

    def assign(lines: list[str], targets: list[str], exprs: list[Expr], op: str, indent: str,
               rows: dict[str, str] | None = None, total: bool = False) -> None:
        """``target op expr`` lines after the common subexpressions; ``rows`` respells the
        rows [t] and [t-1] to compute every step at once, ``total`` sums over those rows."""
        temps, reduced = sympy.cse(exprs, symbols=sympy.numbered_symbols("tmp"), optimizations=None)

        def spell(e: Expr) -> str:
            text = printer.doprint(e)
            for row, spelled in (rows or {}).items():
                text = text.replace(row, spelled)
            return text

        for sym, v in temps:
            lines.append(f"{indent}{sym} = {spell(v)}")
        for target, v in zip(targets, reduced):
            lines.append(f"{indent}{target} {op} " + (f"numpy.sum({spell(v)}, axis=0)" if total else spell(v)))

    seq_idents = [ident for comps in names["sequences_components"].values() for _, ident in comps]
    header = _signature(cell, names)
    L = []
    L.append(f"def loss_and_gradients({header}):")
    L.append(f'    """L and ∂L/∂w for w in {", ".join(wrt)}; every array has the batch as its last axis."""')
    L.append(f"    T = {T}")
    L.append(f"    B = {seq_idents[0]}.shape[1]")
    L.append("    # the value of each quantity at each step (row t; row 0 holds the initial state)")
    for q in quantities:
        L.append(f"    {_ident(q)} = numpy.zeros((T + 1, B))")
    for b, s0 in state0.items():
        L.append(f"    {b}[0] = {s0}")
    L.append("")
    L.append("    # forward pass")
    L.append("    for t in range(1, T + 1):")
    for e in per_step:
        m = mapping(e)
        assign(L, [f"{_ident(e.base)}[t]"], [plain(e.form).xreplace(m)], "=", " " * 8)
    steps = "slice(1, T + 1)" if every_step else repr(list(loss_steps))
    at_loss = {"[t]": "[S]"}
    L.append(f"    S = {steps}  # the steps with a loss")
    for e in losses:
        m = mapping(e)
        assign(L, [f"{_ident(e.base)}_t"], [plain(e.form).xreplace(m)], "=", " " * 4, at_loss)
        scale = "" if weight == 1 else f"{printer.doprint(weight)} * "
        L.append(f"    L = {scale}numpy.sum({_ident(e.base)}_t, axis=0)")
    L.append("")
    L.append("    # backward pass: delta_q[t] is ∂L/∂q_t (q_t free), accumulated from the quantities that use q_t")
    for q in quantities:
        L.append(f"    delta_{_ident(q)} = numpy.zeros((T + 1, B))")
    if losses:
        for e in reversed(losses):
            targets, exprs = [], []
            m = mapping(e)
            for s, f in e.partials.items():
                ph = placeholder(s)
                if ph is None or ph[0] not in computed:
                    continue  # targets
                targets.append(f"delta_{_ident(ph[0])}[S]")
                exprs.append(weight * plain(f).xreplace(m))
            L.append(f"    # ∂L/∂{e.base}_t = {printer.doprint(weight)} at the steps with a loss")
            assign(L, targets, exprs, "+=", " " * 4, at_loss)
    L.append("    for t in range(T, 0, -1):")
    gradients: list[tuple[str, Expr]] = []
    for e in reversed(per_step):
        m = mapping(e)
        d = f"delta_{_ident(e.base)}[t]"
        targets, exprs = [], []
        for s, f in e.partials.items():
            ph = placeholder(s)
            if ph is None:
                ident = _ident(s.name)
                if s.name in params and ident in wanted:
                    gradients.append((f"dL_d{ident}", plain(f).xreplace(m) * Symbol(d)))
                continue
            base, offset = ph
            if base not in computed:
                continue  # an input
            targets.append(f"delta_{_ident(base)}[t{'-1' if offset == -1 else ''}]")
            exprs.append(plain(f).xreplace(m) * Symbol(d))
        if targets:
            assign(L, targets, exprs, "+=", " " * 8)
    if len(L[-1]) - len(L[-1].lstrip()) < 8:
        L.append("        pass")
    L.append("")
    if gradients:
        L.append("    # each parameter's gradient: the sum over t of ∂⁺q_t/∂w × delta_q[t], every step at once")
        L.append("    # (row slice 1: is step t, :-1 is step t - 1)")
        assign(L, [g for g, _ in gradients], [e for _, e in gradients], "=", " " * 4,
               {"[t-1]": "[:-1]", "[t]": "[1:]"}, total=True)
        L.append("")
    grads = []
    for w in wrt:
        for _, ident in names["components"][w]:
            grads.append(f"{ident!r}: delta_{_key(state0, ident)}[0]" if ident in state0.values() else f"{ident!r}: dL_d{ident}")
    L.append("    return L, {" + ", ".join(grads) + "}")
    return "\n".join(L) + "\n"


def _key(state0: dict, ident: str) -> str:
    return next(b for b, s in state0.items() if s == ident)


def _signature(cell, names: dict) -> str:
    parts = [_ident(p) for p in cell.parameters]
    parts += [_ident(s) for s in names["state_bases"].values()]
    parts += [ident for comps in names["sequences_components"].values() for _, ident in comps]
    return ", ".join(parts)
