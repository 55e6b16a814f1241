"""What a cell connects: its states, inputs, outputs and gates, and the weights on each source.

:func:`wiring` reads a :class:`~rnnsym.cells.Cell`'s template equations the way
a figure of the network draws them (:mod:`rnnsym.diagram`): which quantities
are carried from step to step, which are computed on the way to them (the
gates), and which parameters multiply h_{t−1}, x_t and h_t.

>>> from rnnsym.cells import lstm_cell
>>> w = wiring(lstm_cell())
>>> w.states, w.gates, w.recurrent
(('h', 'c'), ('i', 'f', 'g', 'o'), {'h': ('W_hi', 'W_hf', 'W_hg', 'W_ho'), 'c': ()})
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import sympy
from sympy import Expr, Symbol

from ..errors import InputTypeError
from ..forms import Juxt, Times
from .cell import Cell, Equation, now, placeholder, prev

__all__ = ["Wiring", "wiring"]


def _head(name: str) -> str:
    """``"h"`` for ``"h[2]"``: the vector a component belongs to."""
    return name.partition("[")[0]


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


@dataclass(frozen=True)
class Wiring:
    """What a figure of ``cell`` draws, read from its template equations.

    - ``states``: the recurrent quantities (``("h",)``, ``("h", "c")``), one row each;
    - ``inputs``, ``outputs``: the per-step inputs and outputs (``("x",)``, ``("yhat",)``);
    - ``gates``: the intermediate quantities the states are computed from
      (``("r", "z", "htilde")`` for the GRU), in computation order;
    - ``recurrent``: for each state, the parameters multiplying its previous value;
    - ``entering``: for each input, the parameters multiplying it;
    - ``leaving``: for each state, the parameters multiplying it on the way to an
      output (a state that no output uses is absent).

    Parameters are named by their matrix (``W_h``, not ``W_h[1,2]``); biases,
    which multiply nothing, appear nowhere.

    >>> from rnnsym.cells import gru_cell
    >>> w = wiring(gru_cell())
    >>> w.gates, w.recurrent["h"], w.entering["x"], w.leaving["h"]
    (('r', 'z', 'htilde'), ('W_hr', 'W_hz', 'W_hh'), ('W_xr', 'W_xz', 'W_xh'), ('W_y',))
    """

    states: tuple[str, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    gates: tuple[str, ...]
    recurrent: dict[str, tuple[str, ...]]
    entering: dict[str, tuple[str, ...]]
    leaving: dict[str, tuple[str, ...]]


def wiring(cell: Cell) -> Wiring:
    """The :class:`Wiring` of ``cell`` (see there).

    >>> from rnnsym.cells import elman_cell
    >>> w = wiring(elman_cell("tanh", bias=True, hidden=2))
    >>> w.states, w.gates, w.recurrent, w.entering, w.leaving
    (('h',), ('z',), {'h': ('W_h',)}, {'x': ('W_x',)}, {'h': ('W_y',)})
    """
    if not isinstance(cell, Cell):
        raise InputTypeError("cell", cell, "a rnnsym.Cell")
    equations = [e for e in cell.equations if e.role != "loss"]
    computed = _unique(_head(e.base) for e in equations)
    states = _unique(_head(s) for s in cell.state)
    # the state side: the state equations and, transitively, what they use at the same step
    side, pending = set(states), list(states)
    while pending:
        head = pending.pop()
        for e in equations:
            if _head(e.base) != head:
                continue
            for used in _placeholders(e, 0):
                if used in computed and used not in side:
                    side.add(used)
                    pending.append(used)
    state_side = [e for e in equations if _head(e.base) in side]
    output_side = [e for e in equations if _head(e.base) not in side]
    params = frozenset(cell.parameters)
    inputs = _unique(h for e in equations for h in _placeholders(e, 0) if h not in computed)
    leaving = {}
    for s in states:
        found = _multipliers(output_side, _sources(output_side, s, 0), params)
        if found or any(s in _placeholders(e, 0) for e in output_side):
            leaving[s] = found
    return Wiring(
        states=states,
        inputs=inputs,
        outputs=_unique(_head(e.base) for e in equations if e.role == "output"),
        gates=_unique(_head(e.base) for e in state_side if _head(e.base) not in states),
        recurrent={s: _multipliers(state_side, _sources(state_side, s, -1), params) for s in states},
        entering={x: _multipliers(state_side, _sources(state_side, x, 0), params) for x in inputs},
        leaving=leaving,
    )


def _placeholders(e: Equation, offset: int) -> list[str]:
    """The heads of the placeholders ``e`` uses at ``offset`` (0: now, −1: prev)."""
    out = []
    for s in e.partials:
        ph = placeholder(s)
        if ph is not None and ph[1] == offset:
            out.append(_head(ph[0]))
    return out


def _sources(equations: Sequence[Equation], head: str, offset: int) -> frozenset[Symbol]:
    """The placeholders of ``head``'s components at ``offset`` used by ``equations``."""
    which = prev if offset == -1 else now
    used = set()
    for e in equations:
        for s in e.partials:
            ph = placeholder(s)
            if ph is not None and ph[1] == offset and _head(ph[0]) == head:
                used.add(which(ph[0]))
    return frozenset(used)


def _multipliers(equations: Sequence[Equation], sources: frozenset[Symbol], params: frozenset[str]) -> tuple[str, ...]:
    """The parameters (by matrix name) that are factors of a product with a source
    among its other factors, in the order they are met."""
    found: list[str] = []

    def walk(expr: Expr) -> None:
        if not expr.args or not expr.free_symbols & sources:
            return
        if isinstance(expr, (sympy.Mul, Times, Juxt)):
            for i, factor in enumerate(expr.args):
                if isinstance(factor, Symbol) and factor.name in params:
                    if any(other.free_symbols & sources for j, other in enumerate(expr.args) if j != i):
                        found.append(_head(factor.name))
        for arg in expr.args:
            walk(arg)

    for e in equations:
        walk(e.form)
    return _unique(found)
