"""Cells and their unrolled graphs.

A :class:`Cell` is the recurrence h_t = f_W(h_{t−1}, x_t) together with its
output and per-step loss, written once as template equations over
placeholders (``prev("h")`` for h_{t−1}, ``now("x")`` for x_t) and named
parameters.  :func:`unroll` instantiates it for T steps into a :class:`Graph`:
ordered single assignments over named symbols, each with the *local* partial
derivatives of its right-hand side, derived once per template.

>>> g = elman(2)
>>> g
Graph(elman, steps=2, activation=identity, loss=squared)
>>> for a in g.assignments[:3]:
...     print(a)
h_1 := W_h*h_0 + W_x*x_1
yhat_1 := W_y*h_1
h_2 := W_h*h_1 + W_x*x_2
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterable, Mapping, Sequence

import sympy
from sympy import Add, Expr, Symbol

from .errors import InputError, InputTypeError
from .notation import name_at, symbol
from .ops import ACTIVATIONS, LOSSES, Times, partial_form, plain, substitute, symbols_in_order, total

__all__ = ["Equation", "Cell", "Assignment", "Graph", "prev", "now", "unroll", "elman", "elman_cell"]

ROLES = ("pre-activation", "state", "pre-output", "output", "loss")


def prev(base: str) -> Symbol:
    """Placeholder for quantity ``base`` at the previous step (h_{t−1})."""
    return symbol(f"{base}_prev")


def now(base: str) -> Symbol:
    """Placeholder for quantity or input ``base`` at the current step (x_t)."""
    return symbol(f"{base}_now")


@dataclass(frozen=True)
class Equation:
    """One template assignment of a cell: ``base_t := form``.

    ``role`` is one of ``pre-activation``, ``state``, ``pre-output``,
    ``output`` or ``loss``; loss equations are instantiated only at the steps
    that carry a loss.
    """

    base: str
    form: Expr
    role: str

    @cached_property
    def partials(self) -> dict[Symbol, Expr]:
        """Local partial forms of ``form`` for each symbol it uses (derived once)."""
        out = now(self.base)
        return {s: partial_form(self.form, s, out=out) for s in symbols_in_order(self.form)}


@dataclass(frozen=True)
class Cell:
    """A recurrent cell: template equations, the state carried between steps,
    per-step inputs and targets, and named parameters.

    ``options`` records how the cell was built (activation, loss, bias, …)
    for display and for exercise files.
    """

    name: str
    equations: tuple[Equation, ...]
    state: tuple[str, ...] = ("h",)
    inputs: tuple[str, ...] = ("x",)
    targets: tuple[str, ...] = ("y",)
    parameters: tuple[str, ...] = ()
    options: Mapping[str, object] = field(default_factory=dict)

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v}" for k, v in self.options.items() if k in ("activation", "loss"))
        return f"Cell({self.name}{', ' + opts if opts else ''})"


@dataclass(frozen=True)
class Assignment:
    """``target := form`` at time ``step`` (None for the total loss), with the
    local partial form of ``form`` for each symbol it uses."""

    target: Symbol
    form: Expr
    partials: Mapping[Symbol, Expr]
    step: int | None
    role: str

    @cached_property
    def expr(self) -> Expr:
        """The right-hand side as an ordinary sympy expression."""
        return plain(self.form)

    @cached_property
    def partial_exprs(self) -> dict[Symbol, Expr]:
        """The local partials as ordinary sympy expressions."""
        return {s: plain(f) for s, f in self.partials.items()}

    @cached_property
    def dependencies(self) -> tuple[Symbol, ...]:
        """The symbols the right-hand side uses, in written order."""
        return tuple(self.partials)

    def __str__(self) -> str:
        return f"{self.target} := {sympy.sstr(self.expr, order='none')}"


class Graph:
    """A cell unrolled over ``steps`` time steps: ordered assignments and leaves.

    Look a symbol up by its exercise-file name with :meth:`symbol`; substitute
    every definition with :meth:`expand` (for checking); compute every
    quantity exactly with :meth:`evaluate`.
    """

    def __init__(
        self,
        cell: Cell,
        steps: int,
        assignments: Sequence[Assignment],
        leaves: Sequence[Symbol],
        loss_steps: Sequence[int],
    ) -> None:
        self.cell = cell
        self.steps = steps
        self.assignments = tuple(assignments)
        self.leaves = tuple(leaves)
        self.loss_steps = tuple(loss_steps)
        self.loss = symbol("L")
        self._by_target = {a.target: a for a in self.assignments}
        self._order = {a.target: i for i, a in enumerate(self.assignments)}
        self._names = {str(s): s for s in (*self.leaves, *self._by_target)}

    def __repr__(self) -> str:
        opts = "".join(f", {k}={v}" for k, v in self.cell.options.items() if k in ("activation", "loss"))
        return f"Graph({self.cell.name}, steps={self.steps}{opts})"

    def _repr_latex_(self) -> str:
        from .render import render_assignments

        return "$\\begin{aligned}" + r"\\".join(render_assignments(self)) + r"\end{aligned}$"

    @property
    def quantities(self) -> tuple[Symbol, ...]:
        """The assigned symbols, in computation order."""
        return tuple(a.target for a in self.assignments)

    @property
    def names(self) -> tuple[str, ...]:
        """Every name a question may use: leaves, then quantities."""
        return tuple(self._names)

    def symbol(self, name: str, field: str = "name") -> Symbol:
        """The symbol called ``name`` (as exercise files spell it)."""
        if not isinstance(name, str):
            raise InputTypeError(field, name, "a quantity name such as 'h_1' or 'W_h'")
        try:
            return self._names[name.strip()]
        except KeyError:
            shown = ", ".join(self._names)
            raise InputError(field, name, f"one of {shown}") from None

    def is_leaf(self, s: Symbol) -> bool:
        return s not in self._by_target

    def assignment(self, s: Symbol) -> Assignment:
        return self._by_target[s]

    def position(self, s: Symbol) -> int:
        """Index of quantity ``s`` in computation order; −1 for a leaf."""
        return self._order.get(s, -1)

    def downstream(self, source: Symbol) -> set[Symbol]:
        """The quantities that depend on ``source`` (treated as free), ``source`` excluded."""
        reached = {source}
        for a in self.assignments[self.position(source) + 1 :]:
            if any(d in reached for d in a.dependencies):
                reached.add(a.target)
        reached.discard(source)
        return reached

    def upstream(self, target: Symbol) -> list[Symbol]:
        """The quantities ``target`` depends on, itself included, in computation order."""
        needed = {target}
        for a in reversed(self.assignments[: self.position(target) + 1]):
            if a.target in needed:
                needed.update(d for d in a.dependencies if not self.is_leaf(d))
        return [q for q in self.quantities if q in needed]

    def expand(self, expr: Expr, free: Symbol | None = None) -> Expr:
        """``expr`` with every quantity replaced by its definition, down to leaves.

        With ``free`` given, definitions are substituted only for quantities
        computed after ``free``: the result is in ``free`` and whatever it
        does not influence.  This exists to check derivatives; it grows
        exponentially with the number of steps for non-linear cells.
        """
        start = self.position(free) + 1 if free is not None else 0
        for a in reversed(self.assignments[start:]):
            if a.target in expr.free_symbols:
                expr = expr.xreplace({a.target: a.expr})
        return expr

    def evaluate(self, values: Mapping[Symbol, Expr]) -> dict[Symbol, Expr]:
        """Every leaf and quantity's exact value, computed one assignment at a time.

        ``values`` maps each leaf symbol to an exact number (see
        :func:`rnnsym.exercise.bind` to build it from exercise-file names).
        """
        env = dict(values)
        missing = [s for s in self.leaves if s not in env]
        if missing:
            raise InputError(f"values.{missing[0]}", None, "a number for every leaf")
        for a in self.assignments:
            env[a.target] = a.expr.xreplace(env)
        return env

    def local_partial(self, target: Symbol, dependency: Symbol) -> Expr:
        """The local partial form ∂⁺target/∂dependency (0 when not used)."""
        return self.assignment(target).partials.get(dependency, sympy.S.Zero)


def unroll(cell: Cell, steps: int, loss_at: str | Iterable[int] = "all") -> Graph:
    """Instantiate ``cell`` for ``steps`` steps.

    Per step, the cell's non-loss equations are assigned in order; then each
    loss step's loss, then the total ``L``.  ``loss_at`` is ``"all"`` or the
    steps (1-based) that carry a loss.
    """
    steps = _check_steps(steps)
    loss_steps = _check_loss_at(loss_at, steps)
    assignments: list[Assignment] = []
    leaves: list[Symbol] = [symbol(name_at(s, 0)) for s in cell.state]
    leaves += [symbol(p) for p in cell.parameters]
    per_step = [e for e in cell.equations if e.role != "loss"]
    losses = [e for e in cell.equations if e.role == "loss"]
    computed = {e.base for e in cell.equations}

    def mapping(t: int) -> dict[Symbol, Symbol]:
        m = {}
        for base in computed | set(cell.inputs) | set(cell.targets) | set(cell.state):
            m[now(base)] = symbol(name_at(base, t))
            m[prev(base)] = symbol(name_at(base, t - 1))
        return m

    def instantiate(e: Equation, t: int) -> Assignment:
        m = mapping(t)
        partials = {m.get(s, s): substitute(f, m) for s, f in e.partials.items()}
        return Assignment(m[now(e.base)], substitute(e.form, m), partials, t, e.role)

    for t in range(1, steps + 1):
        assignments += [instantiate(e, t) for e in per_step]
    for t in loss_steps:
        assignments += [instantiate(e, t) for e in losses]
    for base in cell.inputs:
        leaves += [symbol(name_at(base, t)) for t in range(1, steps + 1)]
    for base in cell.targets:
        leaves += [symbol(name_at(base, t)) for t in loss_steps]
    terms = [a.target for a in assignments if a.role == "loss"]
    if terms:
        form = total(terms)
        assignments.append(Assignment(symbol("L"), form, {s: sympy.S.One for s in terms}, None, "total"))
    return Graph(cell, steps, assignments, leaves, loss_steps)


def _check_steps(steps: object) -> int:
    if isinstance(steps, bool) or not isinstance(steps, int):
        raise InputTypeError("model.steps", steps, "an integer >= 1")
    if steps < 1:
        raise InputError("model.steps", steps, "an integer >= 1")
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


def _choice(field: str, value: object, options: Mapping[str, object]) -> str:
    if not isinstance(value, str) or value not in options:
        raise InputError(field, value, "one of " + ", ".join(repr(k) for k in options))
    return value


def elman_cell(
    activation: str = "identity",
    bias: bool = False,
    loss: str = "squared",
    output_activation: str = "identity",
) -> Cell:
    """The scalar Elman cell.

    h_t = act(h_{t−1} W_h + x_t W_x [+ b_h]), ŷ_t = h_t W_y [+ b_y] (through
    ``output_activation`` if not the identity), L_t by ``loss``.  With a
    non-identity activation the pre-activation z_t is a named quantity (and
    o_t for the output activation).
    """
    _choice("model.activation", activation, ACTIVATIONS)
    _choice("model.output_activation", output_activation, ACTIVATIONS)
    _choice("model.loss", loss, LOSSES)
    if not isinstance(bias, bool):
        raise InputTypeError("model.bias", bias, "true or false")
    W_h, W_x, W_y, b_h, b_y = map(symbol, ["W_h", "W_x", "W_y", "b_h", "b_y"])
    terms = [Times(prev("h"), W_h), Times(now("x"), W_x)] + ([b_h] if bias else [])
    recurrence = Add(*terms, evaluate=False)
    equations = []
    if activation == "identity":
        equations.append(Equation("h", recurrence, "state"))
    else:
        equations.append(Equation("z", recurrence, "pre-activation"))
        equations.append(Equation("h", ACTIVATIONS[activation].apply(now("z")), "state"))
    readout = Times(now("h"), W_y) if not bias else Add(Times(now("h"), W_y), b_y, evaluate=False)
    if output_activation == "identity":
        equations.append(Equation("yhat", readout, "output"))
    else:
        equations.append(Equation("o", readout, "pre-output"))
        equations.append(Equation("yhat", ACTIVATIONS[output_activation].apply(now("o")), "output"))
    equations.append(Equation("L", LOSSES[loss].form(now("yhat"), now("y")), "loss"))
    parameters = ("W_h", "W_x", "W_y") + (("b_h", "b_y") if bias else ())
    options = {"activation": activation, "bias": bias, "loss": loss, "output_activation": output_activation}
    return Cell("elman", tuple(equations), parameters=parameters, options=options)


def elman(
    steps: int,
    activation: str = "identity",
    bias: bool = False,
    loss: str = "squared",
    loss_at: str | Iterable[int] = "all",
    output_activation: str = "identity",
) -> Graph:
    """A scalar Elman RNN unrolled for ``steps`` steps.

    >>> g = elman(3, activation="tanh", loss_at=[3])
    >>> [str(q) for q in g.quantities]
    ['z_1', 'h_1', 'yhat_1', 'z_2', 'h_2', 'yhat_2', 'z_3', 'h_3', 'yhat_3', 'L_3', 'L']
    """
    return unroll(elman_cell(activation, bias, loss, output_activation), steps, loss_at)
