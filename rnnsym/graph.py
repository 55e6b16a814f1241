"""An unrolled graph: ordered single assignments over named symbols, and its leaves.

:func:`rnnsym.models.unroll` instantiates a cell for T steps into a
:class:`Graph`; each :class:`Assignment` is an instance of one of the cell's
template equations, with the *local* partial derivatives of its right-hand
side.  The graph answers structural questions (what depends on what, which
symbols belong to one step) and names every symbol as exercise files do.

>>> from rnnsym.models import elman
>>> g = elman(2)
>>> g.symbol("h_1"), g.consumers(g.symbol("h_1")), g.is_leaf(g.symbol("W_h"))
(h_1, (yhat_1, h_2), True)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterable, Mapping, Sequence

import sympy
from sympy import Expr, Symbol

from .cells import Cell, Equation, now, prev
from .errors import InputError, InputTypeError
from .evaluation import Evaluation, evaluate
from .notation import symbol
from .forms import plain, substitute
from .printing import Line, assignment_lines
from .rules import relu, rule_for

__all__ = ["Assignment", "Graph"]


@dataclass(frozen=True, eq=False)
class Assignment:
    """``target := form`` at time ``step`` (None for the total loss), with the
    local partial form of ``form`` for each symbol it uses.

    An assignment of an unrolled cell is an instance of one of its template
    equations: ``template`` with each of its symbols replaced per ``mapping``
    (h_{t−1} ↦ h_1, x_t ↦ x_2 …).  Its form and partials are instantiated when
    first asked for; ``dependencies`` (the symbols it uses, in written order)
    are known at once.  The total loss has no template; its ``written`` form is
    given, and ``weight`` is the local partial of every loss term in it (1 for
    a sum over time, 1/|loss steps| for a mean).
    """

    target: Symbol
    dependencies: tuple[Symbol, ...]
    step: int | None
    role: str
    template: Equation | None = None
    mapping: Mapping[Symbol, Symbol] | None = field(default=None, repr=False)
    written: Expr | None = field(default=None, repr=False)
    weight: Expr = field(default=sympy.S.One, repr=False)

    @cached_property
    def form(self) -> Expr:
        """The right-hand side as written (a form)."""
        if self.template is None:
            return self.written
        return substitute(self.template.form, self.mapping)

    @cached_property
    def partials(self) -> dict[Symbol, Expr]:
        """The local partial form of the right-hand side for each dependency."""
        if self.template is None:
            return {s: self.weight for s in self.dependencies}
        return {d: substitute(f, self.mapping) for d, f in zip(self.dependencies, self.template.partials.values())}

    @cached_property
    def expr(self) -> Expr:
        """The right-hand side as an ordinary sympy expression."""
        return plain(self.form)

    @cached_property
    def partial_exprs(self) -> dict[Symbol, Expr]:
        """The local partials as ordinary sympy expressions."""
        return {s: plain(f) for s, f in self.partials.items()}

    def __str__(self) -> str:
        return f"{self.target} := {sympy.sstr(self.expr, order='none')}"


class Graph:
    """A cell unrolled over ``steps`` time steps: ordered assignments and leaves.

    Look a symbol up by its exercise-file name with :meth:`symbol`; substitute
    every definition with :meth:`expand` (for checking); compute every
    quantity with :func:`rnnsym.evaluate`.
    """

    def __init__(
        self,
        cell: Cell,
        steps: int,
        assignments: Sequence[Assignment],
        leaves: Sequence[Symbol],
        loss_steps: Sequence[int],
        sequences: Sequence[str] = ("x", "y"),
        reduction: str = "sum",
    ) -> None:
        self.cell = cell
        self.reduction = reduction
        self.steps = steps
        self.assignments = tuple(assignments)
        self.leaves = tuple(leaves)
        self.loss_steps = tuple(loss_steps)
        self.loss = symbol("L")
        self._by_target = {a.target: a for a in self.assignments}
        self._order = {a.target: i for i, a in enumerate(self.assignments)}
        self._names = {str(s): s for s in (*self.leaves, *self._by_target)}
        self.sequences = tuple(sequences)
        self._downstream: dict[Symbol, frozenset[Symbol]] = {}
        self._upstream: dict[Symbol, tuple[Symbol, ...]] = {}
        self.tensors = _tensors(self.leaves, self.quantities, self.sequences)

    def __repr__(self) -> str:
        opts = "".join(f", {k}={v}" for k, v in self.cell.options.items() if k in ("activation", "loss"))
        opts += ", reduction=mean" if self.reduction == "mean" else ""
        return f"Graph({self.cell.name}, steps={self.steps}{opts})"

    def _repr_latex_(self) -> str:
        return "$\\begin{aligned}" + r"\\".join(l.replace(" = ", " &= ", 1) for l in assignment_lines(self)) + r"\end{aligned}$"

    def _rnnsym_lines(self, values=None, options=None) -> list[Line]:
        """Every assignment, ``quantity = definition`` (see :func:`rnnsym.printing.latex`)."""
        return [Line(tuple(text.split(" = ", 1))) for text in assignment_lines(self, options)]

    @property
    def quantities(self) -> tuple[Symbol, ...]:
        """The assigned symbols, in computation order."""
        return tuple(a.target for a in self.assignments)

    @property
    def names(self) -> tuple[str, ...]:
        """Every name a question may use: leaves, then quantities."""
        return tuple(self._names)

    def symbol(self, name: str, field: str = "name") -> Symbol:
        """The symbol called ``name`` (as exercise files spell it: ``h_1``, ``W_h[1,2]``)."""
        if not isinstance(name, str):
            raise InputTypeError(field, name, "a quantity name such as 'h_1' or 'W_h'")
        try:
            return self._names[name.replace(" ", "")]
        except KeyError:
            shown = ", ".join(self._names) if len(self._names) <= 40 else ", ".join(list(self._names)[:40]) + ", ..."
            raise InputError(field, name, f"one of {shown}") from None

    def tensor(self, name: str, field: str = "name") -> sympy.Matrix:
        """The vector or matrix of symbols called ``name`` (``"W_h"``, ``"h_2"``):
        a column for a vector, a 1×1 matrix for a scalar."""
        entries = self.tensors.get(name.replace(" ", ""))
        if entries is None or name in self.sequences:
            raise InputError(field, name, "one of " + ", ".join(n for n in self.tensors if n not in self.sequences))
        return _as_matrix(entries)

    def evaluate(self, values: Mapping, digits: int | None = None) -> Evaluation:
        """Every leaf and quantity at ``values``, the table every other call takes
        (exercise-file names: ``{"W_h": 1, "x": [10, 10], …}``, nested lists for
        vectors and matrices, or leaf symbols with numbers): exact, or decimals of
        ``digits`` digits.  The same as :func:`rnnsym.evaluate`; returns an
        :class:`~rnnsym.evaluation.Evaluation`.

        >>> from rnnsym.models import elman
        >>> g = elman(2)
        >>> g.evaluate({"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": "0.1", "W_y": 2}).value("yhat_2")
        6
        """
        return evaluate(self, values, digits)

    @cached_property
    def rational(self) -> bool:
        """Whether rational values give rational values everywhere (identity, relu, …:
        every function the cell uses is rational by its rule)."""
        return all(rule_for(f).rational for e in self.cell.equations for f in e.form.atoms(sympy.Function))

    @cached_property
    def polynomial(self) -> bool:
        """Whether every assignment is a polynomial of its dependencies (no tanh, σ, relu …)."""
        return not any(e.form.atoms(sympy.Function) for e in self.cell.equations)

    @property
    def differentiable(self) -> tuple[Symbol, ...]:
        """The leaves a loss is differentiated with respect to by default: every
        parameter, initial state and input (not the targets)."""
        targets = set(self.cell.targets)
        return tuple(s for s in self.leaves if s.name.partition("_")[0] not in targets)

    def is_leaf(self, s: Symbol) -> bool:
        return s not in self._by_target

    def assignment(self, s: Symbol) -> Assignment:
        return self._by_target[s]

    def position(self, s: Symbol) -> int:
        """Index of quantity ``s`` in computation order; −1 for a leaf."""
        return self._order.get(s, -1)

    def downstream(self, source: Symbol) -> frozenset[Symbol]:
        """The quantities that depend on ``source`` (treated as free), ``source`` excluded."""
        if source not in self._downstream:
            self._downstream[source] = self._reach(source)
        return self._downstream[source]

    def _reach(self, source: Symbol) -> frozenset[Symbol]:
        reached = {source}
        for a in self.assignments[self.position(source) + 1 :]:
            if any(d in reached for d in a.dependencies):
                reached.add(a.target)
        reached.discard(source)
        return frozenset(reached)

    @cached_property
    def _consumers(self) -> dict[Symbol, tuple[Symbol, ...]]:
        table: dict[Symbol, list[Symbol]] = {}
        for a in self.assignments:
            for d in a.dependencies:
                table.setdefault(d, []).append(a.target)
        return {s: tuple(v) for s, v in table.items()}

    def consumers(self, s: Symbol) -> tuple[Symbol, ...]:
        """The quantities whose assignments use ``s`` directly, in computation order."""
        return self._consumers.get(s, ())

    def reaches(self, source: Symbol, targets: Iterable[Symbol], before: Symbol) -> bool:
        """Whether some quantity among ``targets`` depends on ``source``, looking only at
        quantities computed before ``before`` (so the search stays local in time)."""
        goal = set(targets)
        limit = self.position(before)
        pending, seen = [source], {source}
        while pending:
            for v in self.consumers(pending.pop()):
                if v in goal:
                    return True
                if v not in seen and self.position(v) < limit:
                    seen.add(v)
                    pending.append(v)
        return False

    @cached_property
    def _by_step(self) -> dict[int, list[tuple[str, Symbol]]]:
        """Symbols named ``base_t`` (``h_2``, ``x_2[1]``), by t, with their base (``h``, ``x[1]``)."""
        table: dict[int, list[tuple[str, Symbol]]] = {}
        for name, s in self._names.items():
            head, bracket, index = name.partition("[")
            base, _, t = head.partition("_")
            if t.isdigit():
                table.setdefault(int(t), []).append((base + bracket + index, s))
        return table

    def generic(self, step: int) -> dict[Symbol, Symbol]:
        """Symbols of ``step`` ↦ their t-placeholders, of ``step − 1`` ↦ the (t−1) ones,
        so that a line about steps 2 and 1 reads as one about steps t and t−1."""
        mapping = {s: now(base) for base, s in self._by_step.get(step, ())}
        mapping.update({s: prev(base) for base, s in self._by_step.get(step - 1, ())})
        return mapping

    def upstream(self, target: Symbol) -> list[Symbol]:
        """The quantities ``target`` depends on, itself included, in computation order."""
        if target not in self._upstream:
            self._upstream[target] = self._needs(target)
        return list(self._upstream[target])

    def _needs(self, target: Symbol) -> tuple[Symbol, ...]:
        needed = {target}
        for a in reversed(self.assignments[: self.position(target) + 1]):
            if a.target in needed:
                needed.update(d for d in a.dependencies if not self.is_leaf(d))
        return tuple(q for q in self.quantities if q in needed)

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

    def kinks(self, env: Mapping[Symbol, Expr], within: Iterable[Symbol] | None = None) -> list[Symbol]:
        """The quantities (among ``within``, default all) whose relu argument is
        exactly 0 at ``env``: relu has no derivative there, and rnnsym takes
        relu′(0) = 0."""
        chosen = set(within) if within is not None else None
        out = []
        for a in self.assignments:
            if chosen is not None and a.target not in chosen or a.template is None or not a.template.form.has(relu):
                continue
            if any(f.args[0].xreplace(env) == 0 for f in a.expr.atoms(relu)):
                out.append(a.target)
        return out

    def local_partial(self, target: Symbol, dependency: Symbol) -> Expr:
        """The local partial form ∂⁺target/∂dependency (0 when not used)."""
        return self.assignment(target).partials.get(dependency, sympy.S.Zero)


_STEP_NAME = re.compile(r"(?P<base>[A-Za-z]+)_(?P<t>\d+)(?:\[(?P<index>[\d,]+)\])?")


def _tensors(leaves, quantities, sequences) -> dict[str, dict[tuple[int, ...], Symbol]]:
    """Group symbols into named tensors by their indices: ``W_h`` → {(1, 2): W_h[1,2], …};
    the per-step leaves of each sequence base as ``x`` → {(t, i): x_t[i]}."""
    out: dict[str, dict[tuple[int, ...], Symbol]] = {}
    leaf_set = frozenset(leaves)
    for s in (*leaves, *quantities):
        head, _, rest = s.name.partition("[")
        index = tuple(int(i) for i in rest.rstrip("]").split(",")) if rest else ()
        out.setdefault(head, {})[index] = s
        match = _STEP_NAME.fullmatch(s.name)
        if match and match["base"] in sequences and s in leaf_set:
            extra = tuple(int(i) for i in match["index"].split(",")) if match["index"] else ()
            out.setdefault(match["base"], {})[(int(match["t"]), *extra)] = s
    return out


def _as_matrix(entries: Mapping[tuple[int, ...], Symbol]) -> sympy.Matrix:
    index = next(iter(entries))
    if len(index) == 0:
        return sympy.Matrix([[entries[()]]])
    if len(index) == 1:
        return sympy.Matrix([entries[(i,)] for i in sorted(i for (i,) in entries)])
    rows = max(i for i, _ in entries)
    cols = max(j for _, j in entries)
    return sympy.Matrix(rows, cols, lambda i, j: entries[(i + 1, j + 1)])
