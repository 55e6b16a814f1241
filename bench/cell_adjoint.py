"""A generic adjoint (BPTT) pipeline on symengine for any rnnsym cell: a baseline of bench/exact.py.

It reads only the cell's template equations (``Cell.equations``: each
:class:`rnnsym.cells.Equation` has its ``form`` and its local ``partials``),
converts each of them once to symengine, and compiles it into a function of a
step's values; then, independently of rnnsym's evaluation code, a forward loop
over the steps computes every component of every equation and a reverse
(adjoint) loop accumulates ∂L/∂p for every parameter component p,
L = Σ_t L_t (a loss at every step, reduction "sum").  Numbers are symengine's
arbitrary-precision reals (``RealMPFR``): each compiled function substitutes
the step's values into its expression, as ``adjoint_baseline.py`` does for the
scalar Elman cell.

>>> import rnnsym
>>> cell = rnnsym.elman(1, activation="tanh", bias=True).cell
>>> values = {"h_0": 0, "x": ["1/2", "-3/10"], "y": [1, 0],
...           "W_h": "0.9", "W_x": "0.5", "W_y": 1, "b_h": "0.1", "b_y": 0}
>>> str(gradients(cell, values, digits=30)["b_y"])[:22]
'-0.8322675465604577253'
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Mapping

import symengine as se
import sympy

from rnnsym.cells import now, placeholder, prev
from rnnsym.forms import plain
from rnnsym.rules import sigmoid

from adjoint_baseline import _compile  # a step's function of an expression, as the scalar baseline compiles it

__all__ = ["Pipeline", "gradients"]


def _symengine(form: sympy.Expr) -> se.Basic:
    """A template form as a symengine expression (σ(u) written out as 1/(1 + e^{−u}))."""
    expr = plain(form).replace(sigmoid, lambda u: 1 / (1 + sympy.exp(-u)))
    for node in sympy.preorder_traversal(expr):
        if isinstance(node, sympy.Function) and not isinstance(node, (sympy.tanh, sympy.exp, sympy.log)):
            raise ValueError(f"the symengine baseline does not know {type(node).__name__}")
    return se.sympify(expr)


class Pipeline:
    """The cell's equations converted and compiled once: ``forward`` is, in
    computation order, (target, its function); ``reverse`` is, in reverse
    order, (target, [(symbol, ∂target/∂symbol as a function)]) for every
    parameter and computed or carried quantity of the form (not inputs or targets)."""

    def __init__(self, cell) -> None:
        self.cell = cell
        self.parameters = tuple(se.Symbol(p) for p in cell.parameters)
        self.states = tuple(c for b in cell.state for c in cell.components(b))
        self.losses = tuple(se.Symbol(now(e.base).name) for e in cell.equations if e.role == "loss")
        leaves = {placeholder(now(c))[0] for b in (*cell.inputs, *cell.targets) for c in cell.components(b)}
        self.forward = tuple((se.Symbol(now(e.base).name), _compile(_symengine(e.form))) for e in cell.equations)
        self.reverse = tuple(
            (se.Symbol(now(e.base).name),
             tuple((se.Symbol(s.name), _compile(_symengine(f))) for s, f in e.partials.items()
                   if placeholder(s) is None or placeholder(s)[0] not in leaves))
            for e in reversed(cell.equations)
        )

    def __repr__(self) -> str:
        return f"Pipeline({self.cell!r})"

    def gradients(self, values: Mapping, digits: int) -> dict[str, se.RealMPFR]:
        """∂L/∂p for every parameter component p (``"W_h[1,2]"``), with ``digits`` significant digits."""
        bits = math.ceil(digits * math.log2(10)) + 1

        def number(value) -> se.RealMPFR:
            exact = Fraction(str(value))
            return se.RealMPFR(str(exact.numerator), bits) / exact.denominator

        cell = self.cell
        params = {}
        for p in cell.parameters:
            head, _, rest = p.partition("[")
            entry = values[head]
            for i in (rest.rstrip("]").split(",") if rest else ()):
                entry = entry[int(i) - 1]
            params[se.Symbol(p)] = number(entry)
        state = {}
        for b in cell.state:
            initial = values[f"{b}_0"]
            for i, c in enumerate(cell.components(b)):
                state[se.Symbol(prev(c).name)] = number(initial[i] if isinstance(initial, list) else initial)
        sequences = [(se.Symbol(now(c).name), b, i) for b in (*cell.inputs, *cell.targets)
                     for i, c in enumerate(cell.components(b))]
        tape = []
        for t in range(len(values[cell.inputs[0]])):
            env = {**params, **state}
            for s, b, i in sequences:
                v = values[b][t]
                env[s] = number(v[i] if isinstance(v, list) else v)
            for target, f in self.forward:
                env[target] = f(env)
            tape.append(env)
            state = {se.Symbol(prev(c).name): env[se.Symbol(now(c).name)] for c in self.states}

        zero, one = number(0), number(1)
        grads = dict.fromkeys(self.parameters, zero)
        carried = {se.Symbol(now(c).name): zero for c in self.states}  # ∂L/∂(state at t) through later steps
        for env in reversed(tape):
            adjoint = {**carried, **dict.fromkeys(self.losses, one)}
            for target, partials in self.reverse:
                g = adjoint.get(target)
                if g is None:
                    continue
                for s, partial in partials:
                    adjoint[s] = adjoint.get(s, zero) + g * partial(env)
            for p in self.parameters:
                grads[p] += adjoint.get(p, zero)
            carried = {se.Symbol(now(c).name): adjoint.get(se.Symbol(prev(c).name), zero) for c in self.states}
        return {str(p): g for p, g in grads.items()}


def gradients(cell, values: Mapping, digits: int) -> dict[str, se.RealMPFR]:
    """``Pipeline(cell).gradients(values, digits)``: ∂L/∂p for every parameter component of ``cell``."""
    return Pipeline(cell).gradients(values, digits)
