r"""The state a gradient flow follows, the point it is evaluated at, and one step of it.

The state of a cell is its recurrent quantities (``h``, or ``h`` and ``c`` for
the LSTM), each a scalar or a vector of components (:func:`components`).  A
flow is evaluated at exercise-file values where the leaves it does not need
(W_y, y_t) may be left out (:func:`filled`, :func:`evaluation`).
:func:`one_step` differentiates one step of the state through that step's own
quantities, the other parts of the previous state held fixed.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import sympy
from sympy import Expr, S, Symbol

from ..binding import fill_unused
from ..cells import at_step
from ..errors import InputError, InputTypeError
from ..evaluation import Evaluation, bind
from ..forms import Juxt, product, total
from ..graph import Graph

__all__ = ["state_base", "components", "is_vector", "filled", "leaf_values", "check_digits", "evaluation", "one_step"]


def state_base(graph: Graph) -> str:
    """The base name of the graph's one recurrent state (``"h"``); a cell with
    a second state (the LSTM's c) is refused, naming it."""
    state = graph.cell.state
    if len(state) != 1:
        raise InputError(
            "graph.cell",
            graph.cell.name,
            "a cell with one state (h); the "
            + graph.cell.name
            + f" cell carries {', '.join(state)}, so ∂h_t/∂h_(t−k) is not the product of the ∂h_j/∂h_(j−1)"
            " (paths through the other state are missed): use flow_table, which accumulates every path",
        )
    return state[0]


def components(graph: Graph, base: str, t: int) -> list[Symbol]:
    """The symbols of state ``base`` at step ``t``: ``[h_2]``, or ``[h_2[1], h_2[2]]`` for a vector."""
    return [graph.symbol(at_step(c, t)) for c in graph.cell.components(base)]


def is_vector(graph: Graph, base: str) -> bool:
    """Whether state ``base`` has components (so its Jacobians are matrices)."""
    return graph.cell.components(base) != [base]


def filled(graph: Graph, values: Mapping, targets: Sequence[Symbol]) -> dict:
    """``values`` with 0 for every leaf ``targets`` do not depend on and that is not given
    (W_y, b_y, y_t: the flow of h does not need them); :func:`rnnsym.binding.fill_unused`
    for a table of values, anything else refused.

    >>> from rnnsym.models import elman
    >>> g = elman(1)
    >>> full = filled(g, {"h_0": 1, "W_h": 2, "W_x": 1, "x": [0]}, [g.symbol("h_1")])
    >>> full["W_y"], full["y_1"], full["W_h"]
    (0, 0, 2)
    """
    if not isinstance(values, Mapping):
        raise InputTypeError("values", values, "a table of names and numbers")
    return fill_unused(graph, values, targets)


def leaf_values(graph: Graph, values: Mapping, targets: Sequence[Symbol]) -> dict[Symbol, Expr]:
    """Exact values of every leaf (:func:`filled`, then :func:`rnnsym.evaluation.bind`)."""
    return {s: n.exact for s, n in bind(graph, filled(graph, values, targets)).items()}


def check_digits(digits: object) -> int | None:
    """``digits`` if it is ``None`` (exact) or a number of digits rnnsym computes with."""
    if digits is not None and (isinstance(digits, bool) or not isinstance(digits, int) or not 1 <= digits <= 1000):
        raise InputError("digits", digits, "None (exact) or a number of digits from 1 to 1000")
    return digits


def evaluation(graph: Graph, values: Mapping, targets: Sequence[Symbol], digits: int | None = None) -> Evaluation:
    """The graph evaluated at ``values`` (:func:`filled` for ``targets``): exact, or ``digits`` digits."""
    return Evaluation(graph, leaf_values(graph, values, targets), check_digits(digits))



def one_step(graph: Graph, target: Symbol, source: Symbol, step: int) -> tuple[Expr, Expr]:
    """∂target/∂source through the quantities of ``step`` alone (the written form and the sympy
    expression): the other parts of the state at ``step − 1`` are held fixed, so for the LSTM
    ∂c_t/∂c_{t−1} = f_t here, while the total also follows c_{t−1} → h_{t−1} → the gates.

    >>> from rnnsym.models import lstm
    >>> g = lstm(2)
    >>> one_step(g, g.symbol("c_2"), g.symbol("c_1"), 2)
    (f_2, f_2)
    """
    form: dict[Symbol, Expr] = {source: S.One}
    expr: dict[Symbol, Expr] = {source: S.One}
    for a in graph.assignments:
        if a.step != step or graph.position(a.target) > graph.position(target):
            continue
        deps = [d for d in a.dependencies if d in form]
        if deps:
            form[a.target] = total([product([form[d], a.partials[d]], Juxt) for d in deps])
            expr[a.target] = sympy.Add(*[expr[d] * a.partial_exprs[d] for d in deps])
    return form.get(target, S.Zero), expr.get(target, S.Zero)
