"""Unrolled models: a cell instantiated for T steps, and the built-in Elman, GRU and LSTM graphs.

>>> g = elman(2)
>>> g
Graph(elman, steps=2, activation=identity, loss=squared)
>>> [str(a) for a in g.assignments[:3]]
['h_1 := W_h*h_0 + W_x*x_1', 'yhat_1 := W_y*h_1', 'h_2 := W_h*h_1 + W_x*x_2']
"""

from __future__ import annotations

from typing import Iterable

from sympy import Expr, Rational, Symbol

from .cells import CELLS, Cell, Equation, at_step, elman_cell, gru_cell, lstm_cell, now, placeholder, prev
from .cells.build import _choice
from .errors import InputError, InputTypeError
from .forms import Times, total
from .graph import Assignment, Graph
from .limits import MAX_EDGES, MAX_STEPS, check_at_most
from .notation import symbol

__all__ = ["unroll", "elman", "gru", "lstm", "build", "total_loss", "REDUCTIONS"]

#: How the per-step losses L_t make the total L, by the name PyTorch's losses give the
#: option (``reduction``): their ``"sum"``, or their ``"mean"`` over the time steps that carry
#: a loss, L = (1/|loss_at|) Σ_t L_t, as d2l.ai's sequence models average their loss.
REDUCTIONS = ("sum", "mean")


def unroll(cell: Cell, steps: int, loss_at: str | Iterable[int] = "all", reduction: str = "sum") -> Graph:
    """Instantiate ``cell`` for ``steps`` steps.

    Per step, the cell's non-loss equations are assigned in order; then each
    loss step's loss, then the total ``L``.  ``loss_at`` is ``"all"`` or the
    steps (1-based) that carry a loss.  ``reduction`` makes the total from the
    per-step losses: ``"sum"``, L = Σ_t L_t, or ``"mean"``, L = (1/|loss_at|) Σ_t L_t
    (the names of PyTorch's ``reduction`` option; the mean over time is what
    d2l.ai's RNN chapters minimise), so that ∂L/∂L_t = 1/|loss_at|.  The leaves are
    the step-0 states, the parameters, the inputs of every step and the
    targets of the loss steps.

    >>> g = unroll(elman_cell(), 2, reduction="mean")
    >>> str(g.assignments[-1])
    'L := L_1/2 + L_2/2'
    """
    steps = _check_steps(steps)
    loss_steps = _check_loss_at(loss_at, steps)
    reduction = _choice("model.reduction", reduction, REDUCTIONS)
    per_step = [e for e in cell.equations if e.role != "loss"]
    losses = [e for e in cell.equations if e.role == "loss"]
    edges = steps * sum(len(e.partials) for e in per_step) + len(loss_steps) * (1 + sum(len(e.partials) for e in losses))
    check_at_most("model", edges, MAX_EDGES, "local derivatives in the unrolled model (steps × the cell's size)",
                  shown=f"{steps} steps of a cell with {sum(len(e.partials) for e in cell.equations)} local derivatives a step")
    computed = {e.base for e in cell.equations}
    states, inputs, targets = [], [], []
    for e in cell.equations:
        for s in e.partials:
            ph = placeholder(s)
            if ph is None:
                continue
            base, offset = ph
            if offset == -1 and base not in states:
                states.append(base)
            elif offset == 0 and base not in computed:
                group = targets if e.role == "loss" else inputs
                if base not in group:
                    group.append(base)

    # One symbol object per name: lookups by identity stay fast once sympy's cache is full.
    named = {str(s): s for e in cell.equations for s in e.partials if placeholder(s) is None}

    def symbol_of(name: str) -> Symbol:
        if name not in named:
            named[name] = symbol(name)
        return named[name]

    def mapping(t: int) -> dict[Symbol, Symbol]:
        m = {}
        for base in computed | set(inputs) | set(targets) | set(states):
            m[now(base)] = symbol_of(at_step(base, t))
            m[prev(base)] = symbol_of(at_step(base, t - 1))
        return m

    def instantiate(e: Equation, t: int, m: dict[Symbol, Symbol]) -> Assignment:
        return Assignment(m[now(e.base)], tuple(m.get(s, s) for s in e.partials), t, e.role, e, m)

    assignments: list[Assignment] = []
    for t in range(1, steps + 1):
        m = mapping(t)
        assignments += [instantiate(e, t, m) for e in per_step]
    for t in loss_steps:
        m = mapping(t)
        assignments += [instantiate(e, t, m) for e in losses]
    leaves = [symbol_of(at_step(b, 0)) for b in states] + [symbol_of(p) for p in cell.parameters]
    leaves += [symbol_of(at_step(b, t)) for t in range(1, steps + 1) for b in inputs]
    leaves += [symbol_of(at_step(b, t)) for t in loss_steps for b in targets]
    terms = [a.target for a in assignments if a.role == "loss"]
    if terms:
        weight = Rational(1, len(terms)) if reduction == "mean" else Rational(1)
        assignments.append(Assignment(symbol("L"), tuple(terms), None, "total", written=total_loss(terms, weight),
                                      weight=weight))
    sequences = tuple(dict.fromkeys(b.partition("[")[0] for b in (*inputs, *targets)))
    return Graph(cell, steps, assignments, leaves, loss_steps, sequences, reduction)


def total_loss(terms: list[Expr], weight: Expr = Rational(1)) -> Expr:
    """The total loss as written: L_1 + L_2 + …, or ``weight × (L_1 + L_2 + …)`` for a mean.

    >>> from rnnsym.notation import symbol
    >>> total_loss([symbol("L_1"), symbol("L_2")], Rational(1, 2))
    Times(1/2, L_1 + L_2)
    """
    return total(terms) if weight == 1 else Times(weight, total(terms))


def _check_steps(steps: object) -> int:
    if isinstance(steps, bool) or not isinstance(steps, int):
        raise InputTypeError("model.steps", steps, "an integer >= 1")
    if steps < 1:
        raise InputError("model.steps", steps, "an integer >= 1")
    check_at_most("model.steps", steps, MAX_STEPS, "steps")
    return steps


def _check_loss_at(loss_at: object, steps: int) -> tuple[int, ...]:
    if loss_at == "all":
        return tuple(range(1, steps + 1))
    if isinstance(loss_at, int) and not isinstance(loss_at, bool):
        loss_at = [loss_at]
    if isinstance(loss_at, (list, tuple)) and loss_at:
        chosen = sorted(set(loss_at))
        if all(isinstance(t, int) and not isinstance(t, bool) and 1 <= t <= steps for t in chosen):
            return tuple(chosen)
    raise InputError("model.loss_at", loss_at, f'"all" or a non-empty list of steps between 1 and {steps}')


def elman(
    steps: int,
    activation: str = "identity",
    bias: bool = False,
    loss: str = "squared",
    loss_at: str | Iterable[int] = "all",
    output_activation: str = "identity",
    hidden: int = 1,
    input: int = 1,
    output: int = 1,
    reduction: str = "sum",
) -> Graph:
    """An Elman RNN unrolled for ``steps`` steps (scalar unless ``hidden``,
    ``input`` or ``output`` is above 1); see :func:`rnnsym.cells.elman_cell`;
    ``reduction`` as :func:`unroll`.

    >>> g = elman(3, activation="tanh", loss_at=[3])
    >>> [str(q) for q in g.quantities]
    ['z_1', 'h_1', 'yhat_1', 'z_2', 'h_2', 'yhat_2', 'z_3', 'h_3', 'yhat_3', 'L_3', 'L']
    """
    cell = elman_cell(activation, bias, loss, output_activation, hidden, input, output)
    return unroll(cell, steps, loss_at, reduction)


def gru(steps: int, loss_at: str | Iterable[int] = "all", reduction: str = "sum", **options) -> Graph:
    """A GRU unrolled for ``steps`` steps; ``options`` as :func:`rnnsym.cells.gru_cell`,
    ``reduction`` as :func:`unroll`.

    >>> [str(q) for q in gru(1).quantities]
    ['r_1', 'z_1', 'htilde_1', 'h_1', 'yhat_1', 'L_1', 'L']
    """
    return unroll(gru_cell(**options), steps, loss_at, reduction)


def lstm(steps: int, loss_at: str | Iterable[int] = "all", reduction: str = "sum", **options) -> Graph:
    """An LSTM unrolled for ``steps`` steps; ``options`` as :func:`rnnsym.cells.lstm_cell`,
    ``reduction`` as :func:`unroll`.

    >>> [str(s) for s in lstm(1).leaves][:2]
    ['h_0', 'c_0']
    """
    return unroll(lstm_cell(**options), steps, loss_at, reduction)


def build(cell: str, steps: int, loss_at: str | Iterable[int] = "all", reduction: str = "sum", **options) -> Graph:
    """The graph of the built-in cell named ``cell`` (``"elman"``, ``"gru"``, ``"lstm"``);
    ``reduction`` as :func:`unroll`, ``options`` as the cell's function.

    >>> build("gru", 2, reduction="mean")
    Graph(gru, steps=2, loss=squared, reduction=mean)
    """
    if cell not in CELLS:
        raise InputError("model.cell", cell, "one of " + ", ".join(repr(c) for c in CELLS))
    return unroll(CELLS[cell](**options), steps, loss_at, reduction)
