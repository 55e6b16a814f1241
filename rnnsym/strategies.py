"""Hypothesis strategies for rnnsym's models, values and exercises.

Plain functions with plural names and keyword arguments, checked when they
are called (a bad argument raises ``hypothesis.errors.InvalidArgument``
quoting its name, value and type).  Each keyword that chooses among options
takes ``None`` (any of them), one option, a list of options, or a strategy.

This module imports hypothesis; ``import rnnsym`` does not.  With rnnsym
installed, ``st.from_type(rnnsym.Graph)`` and ``st.from_type(rnnsym.Cell)``
work without importing this module (see ``rnnsym/_hypothesis_hook.py``).

In a test:

>>> from hypothesis import given, settings
>>> from rnnsym.testing import check_gradients
>>> @settings(max_examples=5, derandomize=True, database=None, deadline=None)
... @given(graphs(max_steps=2, cells=cells(activation=["tanh", "relu"])))
... def test_rnnsym_derivatives(graph):
...     check_gradients(graph)  # at a seeded random point; raises AssertionError on a mismatch
>>> test_rnnsym_derivatives()

To look at what a strategy draws, ``find`` the simplest example (the
``generate`` and ``shrink`` phases are enough, and much faster):

>>> from hypothesis import Phase, find
>>> quick = settings(database=None, derandomize=True, phases=[Phase.generate, Phase.shrink])
>>> graph = find(graphs(min_steps=2, cells=cells(activation="tanh")), lambda g: True, settings=quick)
>>> graph
Graph(elman, steps=2, activation=tanh, loss=squared)
>>> find(values(graph), lambda v: v["W_h"] > 1, settings=quick)
{'h_0': 0, 'W_h': 2, 'W_x': 0, 'W_y': 0, 'x_1': 0, 'x_2': 0, 'y_1': 0, 'y_2': 0}
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Iterable, Mapping

import sympy
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

from .errors import RnnsymError
from .exercise import Exercise, Question
from .cells import gru_cell, lstm_cell
from .cells import Cell, elman_cell
from .graph import Graph
from .models import REDUCTIONS, unroll
from .rules import ACTIVATIONS, LOSSES, relu
from .numbers import parse_number
from .evaluation import evaluate

__all__ = ["activations", "losses", "reductions", "cells", "graphs", "values", "exercises", "CELL_KINDS"]


def _describe(name: str, value: object) -> str:
    return f"{name}={value!r} (of type {type(value).__name__})"


def _options(name: str, value: object, allowed: Iterable[object]) -> SearchStrategy:
    """A strategy over ``allowed`` for a keyword that takes None, one option,
    a list of options or a strategy."""
    allowed = tuple(allowed)
    if value is None:
        return st.sampled_from(allowed)
    if isinstance(value, SearchStrategy):
        return value
    chosen = list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]
    if not chosen:
        raise InvalidArgument(f"{_describe(name, value)} must not be empty")
    for option in chosen:
        if isinstance(option, bool) != isinstance(allowed[0], bool) or option not in allowed:
            shown = ", ".join(repr(a) for a in allowed)
            raise InvalidArgument(f"{_describe(name, value)} must be one of {shown}, a list of them, a strategy or None")
    return st.sampled_from(sorted(set(chosen), key=allowed.index))


def _integer(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{_describe(name, value)} must be an integer")
    if value < minimum:
        raise InvalidArgument(f"{_describe(name, value)} must be at least {minimum}")
    return value


def activations() -> SearchStrategy[str]:
    """Names of the registered activations (``"identity"`` first, so it shrinks there).

    >>> from hypothesis import Phase, find, settings
    >>> quick = settings(database=None, derandomize=True, phases=[Phase.generate, Phase.shrink])
    >>> find(activations(), lambda name: name != "identity", settings=quick)
    'tanh'
    """
    return st.sampled_from(tuple(ACTIVATIONS))


def losses() -> SearchStrategy[str]:
    """Names of the registered per-step losses (``squared``, ``half_squared``,
    ``cross_entropy``, ``binary_cross_entropy`` and yours)."""
    return st.sampled_from(tuple(LOSSES))


def reductions() -> SearchStrategy[str]:
    """How a graph's total loss is made of its per-step losses: ``"sum"`` or ``"mean"``."""
    return st.sampled_from(REDUCTIONS)


def _fitted(build: Any, k: Mapping[str, Any], **strategies: SearchStrategy) -> SearchStrategy[Cell]:
    """Cells of ``build`` whose loss fits its outputs: a softmax loss (cross-entropy) is
    drawn with two outputs or more (a drawn 1 becomes 2), and a loss that brings its own
    output (softmax, sigmoid) with no other output activation."""
    shared = _shared(k)

    @st.composite
    def cell(draw: Any) -> Cell:
        options = {name: draw(s) for name, s in {**shared, **strategies}.items()}
        output = LOSSES[options["loss"]].output
        if output == "softmax":
            options["output"] = max(options["output"], 2)
        if output != "identity" and "output_activation" in options:
            options["output_activation"] = "identity"
        return build(**options)

    return cell()


def _sizes(name: str, value: object) -> SearchStrategy[int]:
    """A strategy of vector sizes: None draws 1 to 3."""
    if value is None:
        return st.integers(1, 3)
    if isinstance(value, SearchStrategy):
        return value
    chosen = list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]
    if not chosen or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in chosen):
        raise InvalidArgument(f"{_describe(name, value)} must be an integer >= 1, a list of them, a strategy or None")
    return st.sampled_from(sorted(set(chosen)))


def _strategy_of(name: str, value: Any, kind: type, default) -> SearchStrategy:
    """``value`` as a strategy: ``None`` draws from ``default()``, an instance of ``kind`` is fixed."""
    if value is None:
        return default()
    if isinstance(value, kind):
        return st.just(value)
    if isinstance(value, SearchStrategy):
        return value
    raise InvalidArgument(f"{_describe(name, value)} must be a rnnsym.{kind.__name__}, a strategy of them or None")


def _shared(k: Mapping[str, Any]) -> dict[str, SearchStrategy]:
    """Strategies for the keywords every built-in cell takes."""
    return {
        "bias": _options("bias", k["bias"], (False, True)),
        "loss": _options("loss", k["loss"], LOSSES),
        "hidden": _sizes("hidden", k["hidden"]),
        "input": _sizes("input", k["input"]),
        "output": _sizes("output", k["output"]),
    }


def _elman_cells(k: Mapping[str, Any]) -> SearchStrategy[Cell]:
    return _fitted(
        elman_cell, k,
        activation=_options("activation", k["activation"], ACTIVATIONS),
        output_activation=_options("output_activation", k["output_activation"], ACTIVATIONS),
    )


def _gru_cells(k: Mapping[str, Any]) -> SearchStrategy[Cell]:
    return _fitted(
        gru_cell, k,
        reset=_options("reset", k["reset"], ("before", "after")),
        output_activation=_options("output_activation", k["output_activation"], ACTIVATIONS),
    )


def _lstm_cells(k: Mapping[str, Any]) -> SearchStrategy[Cell]:
    return _fitted(lstm_cell, k)


#: Cell kinds :func:`cells` can draw: each builds its strategy from the
#: keywords of :func:`cells` (ignoring those that do not apply to it).
CELL_KINDS = {"elman": _elman_cells, "gru": _gru_cells, "lstm": _lstm_cells}


def cells(
    *,
    kind: Any = "elman",
    activation: Any = None,
    bias: Any = None,
    loss: Any = None,
    output_activation: Any = "identity",
    reset: Any = None,
    hidden: Any = 1,
    input: Any = 1,
    output: Any = 1,
) -> SearchStrategy[Cell]:
    """:class:`rnnsym.Cell` objects.

    ``kind`` is a key of :data:`CELL_KINDS` (``"elman"``, the default,
    ``"gru"`` or ``"lstm"``); ``activation`` (Elman) and
    ``output_activation`` (Elman, GRU) name activations; ``bias`` is True or
    False; ``loss`` names a loss; ``reset`` is the GRU's ``"before"`` or
    ``"after"``; ``hidden``, ``input`` and ``output`` are vector sizes (1, the
    default, for scalars; None for 1 to 3).  A cross-entropy cell is drawn
    with two outputs or more, and a loss that brings its own output (softmax,
    sigmoid) with an identity ``output_activation``.  Where the loss is charged
    (``loss_at``) and how it is reduced belong to the unrolled graph: see
    :func:`graphs`.

    >>> from hypothesis import Phase, find, settings
    >>> quick = settings(database=None, derandomize=True, phases=[Phase.generate, Phase.shrink])
    >>> find(cells(activation=["tanh", "relu"], bias=True), lambda cell: True, settings=quick).options["activation"]
    'tanh'
    >>> cells(activation="swish")
    Traceback (most recent call last):
    ...
    hypothesis.errors.InvalidArgument: activation='swish' (of type str) must be one of 'identity', 'tanh', 'sigmoid', 'relu', a list of them, a strategy or None
    """
    keywords = {
        "activation": activation,
        "bias": bias,
        "loss": loss,
        "output_activation": output_activation,
        "reset": reset,
        "hidden": hidden,
        "input": input,
        "output": output,
    }
    kinds = _options("kind", kind, CELL_KINDS)
    builds = {k: CELL_KINDS[k](keywords) for k in CELL_KINDS}
    return kinds.flatmap(lambda k: builds[k])


def _any_cell() -> SearchStrategy[Cell]:
    return cells()


def _loss_steps(steps: int, loss_at: object) -> SearchStrategy:
    if loss_at is None:
        subsets = st.sets(st.integers(1, steps), min_size=1).map(sorted)
        return st.one_of(st.just("all"), subsets)
    if isinstance(loss_at, SearchStrategy):
        return loss_at
    if loss_at == "all":
        return st.just("all")
    if loss_at == "last":
        return st.just([steps])
    raise AssertionError("validated by graphs()")


def graphs(
    *,
    min_steps: int = 1,
    max_steps: int = 4,
    cells: Any = None,
    loss_at: Any = None,
    reduction: Any = None,
) -> SearchStrategy[Graph]:
    """Unrolled :class:`rnnsym.Graph` objects of ``min_steps`` to ``max_steps`` steps.

    ``cells`` is a :class:`rnnsym.Cell`, a strategy of them, or None for
    :func:`cells`\\(); ``loss_at`` is ``"all"``, ``"last"``, a strategy
    drawing what :func:`rnnsym.unroll` accepts, or None for either ``"all"``
    or a non-empty set of steps; ``reduction`` is ``"sum"``, ``"mean"``, a list
    of them, a strategy, or None for either (:func:`reductions`).

    >>> from hypothesis import Phase, find, settings
    >>> quick = settings(database=None, derandomize=True, phases=[Phase.generate, Phase.shrink])
    >>> graph = find(graphs(min_steps=3, max_steps=3, cells=elman_cell("relu"), loss_at="last"), lambda g: True, settings=quick)
    >>> graph, graph.loss_steps
    (Graph(elman, steps=3, activation=relu, loss=squared), (3,))
    >>> graphs(max_steps=0)
    Traceback (most recent call last):
    ...
    hypothesis.errors.InvalidArgument: max_steps=0 (of type int) must be at least min_steps=1
    """
    _integer("min_steps", min_steps, 1)
    _integer("max_steps", max_steps, 0)
    if max_steps < min_steps:
        raise InvalidArgument(f"{_describe('max_steps', max_steps)} must be at least min_steps={min_steps}")
    if loss_at is not None and not isinstance(loss_at, SearchStrategy) and loss_at not in ("all", "last"):
        raise InvalidArgument(f"{_describe('loss_at', loss_at)} must be 'all', 'last', a strategy or None")
    cell_strategy = _strategy_of("cells", cells, Cell, _any_cell)
    reduction_strategy = _options("reduction", reduction, REDUCTIONS)

    @st.composite
    def draw_graph(draw: Any) -> Graph:
        cell = draw(cell_strategy)
        steps = draw(st.integers(min_steps, max_steps))
        try:
            return unroll(cell, steps, draw(_loss_steps(steps, loss_at)), draw(reduction_strategy))
        except RnnsymError as error:
            raise InvalidArgument(f"graphs(loss_at=...) drew a value rnnsym.unroll refuses: {error}") from None

    return draw_graph()


def _rationals(low: Fraction, high: Fraction, max_denominator: int) -> SearchStrategy[sympy.Rational]:
    """p/q with q ≤ ``max_denominator`` between ``low`` and ``high``; shrinks
    towards small denominators and towards 0 (faster than ``st.fractions``)."""
    denominators = [q for q in range(1, max_denominator + 1) if math.ceil(low * q) <= math.floor(high * q)]
    if not denominators:
        raise InvalidArgument(
            f"no rational between min_value={low} and max_value={high} has a denominator of at most max_denominator={max_denominator}"
        )

    @st.composite
    def rational(draw: Any) -> sympy.Rational:
        q = draw(st.sampled_from(denominators))
        return sympy.Rational(draw(st.integers(math.ceil(low * q), math.floor(high * q))), q)

    return rational()


def _any_graph() -> SearchStrategy[Graph]:
    return graphs()


def _bound(name: str, value: object) -> Fraction:
    try:
        exact = parse_number(value, name).exact
    except RnnsymError:
        raise InvalidArgument(f"{_describe(name, value)} must be a number such as 2, '0.5' or '1/3'") from None
    return Fraction(int(exact.p), int(exact.q))


def values(
    graph: Graph,
    *,
    min_value: Any = -2,
    max_value: Any = 2,
    max_denominator: int = 8,
    avoid_kinks: bool = True,
) -> SearchStrategy[dict[str, sympy.Rational]]:
    """Exact values for every leaf of ``graph``, by name (``{"h_0": 1/2, "x_1": -1, …}``).

    Each is a :class:`sympy.Rational` between ``min_value`` and
    ``max_value`` with a denominator of at most ``max_denominator``.  With
    ``avoid_kinks`` (the default), points where a relu's argument is
    exactly 0, where relu has no derivative, are never drawn.

    >>> from hypothesis import Phase, find, settings
    >>> quick = settings(database=None, derandomize=True, phases=[Phase.generate, Phase.shrink])
    >>> from rnnsym import elman
    >>> find(values(elman(1, activation="relu"), min_value="-1/2", max_value=1), lambda v: v["W_x"] < 0, settings=quick)
    {'h_0': 0, 'W_h': 0, 'W_x': -1/2, 'W_y': 0, 'x_1': 1, 'y_1': 0}
    """
    if not isinstance(graph, Graph):
        raise InvalidArgument(f"{_describe('graph', graph)} must be a rnnsym.Graph (use graphs().flatmap(values) for a strategy)")
    low, high = _bound("min_value", min_value), _bound("max_value", max_value)
    if low > high:
        raise InvalidArgument(f"{_describe('min_value', min_value)} must not exceed max_value={max_value!r}")
    _integer("max_denominator", max_denominator, 1)
    if not isinstance(avoid_kinks, bool):
        raise InvalidArgument(f"{_describe('avoid_kinks', avoid_kinks)} must be True or False")
    number = _rationals(low, high, max_denominator)
    names = [str(s) for s in graph.leaves]
    drawn = st.fixed_dictionaries({name: number for name in names}).map(lambda point: {n: point[n] for n in names})
    if avoid_kinks and any(a.expr.has(relu) for a in graph.assignments):
        return drawn.filter(lambda point: not _kinked(graph, point))
    return drawn


def _kinked(graph: Graph, point: Mapping[str, sympy.Rational]) -> bool:
    env = evaluate(graph, {graph.symbol(name): value for name, value in point.items()}).env
    return bool(graph.kinks(env))


def exercises(
    *,
    graphs: Any = None,
    min_value: Any = -2,
    max_value: Any = 2,
    max_denominator: int = 8,
) -> SearchStrategy[Exercise]:
    """:class:`rnnsym.Exercise` objects: a graph drawn from ``graphs`` (default
    :func:`graphs`\\()), values for it drawn by :func:`values`, and the
    questions ``L`` and ``dL/d…`` for every parameter, h_0 and every input.

    >>> from hypothesis import Phase, find, settings
    >>> quick = settings(database=None, derandomize=True, phases=[Phase.generate, Phase.shrink])
    >>> ex = find(exercises(graphs=graphs(max_steps=2)), lambda ex: ex.graph.steps == 2, settings=quick)
    >>> ex
    Exercise('drawn Graph(elman, steps=2, activation=identity, loss=squared)', elman, steps=2, 7 questions)
    >>> [q.find for q in ex.questions]
    ['L', 'dL/dh_0', 'dL/dW_h', 'dL/dW_x', 'dL/dW_y', 'dL/dx_1', 'dL/dx_2']
    >>> ex.values
    {'h_0': 0, 'W_h': 0, 'W_x': 0, 'W_y': 0, 'x_1': 0, 'x_2': 0, 'y_1': 0, 'y_2': 0}
    """
    graph_strategy = _strategy_of("graphs", graphs, Graph, _any_graph)
    for name, bound in (("min_value", min_value), ("max_value", max_value)):
        _bound(name, bound)
    _integer("max_denominator", max_denominator, 1)

    def build(graph: Graph) -> SearchStrategy[Exercise]:
        questions = [Question(label="1", text="", find="L", of="L")]
        for i, name in enumerate((str(s) for s in graph.differentiable), start=2):
            questions.append(Question(label=str(i), text="", find=f"dL/d{name}", of="L", wrt=name))
        drawn = values(graph, min_value=min_value, max_value=max_value, max_denominator=max_denominator)
        return drawn.map(
            lambda point: Exercise(
                title=f"drawn {graph!r}",
                graph=graph,
                values=point,
                questions=tuple(questions),
                source="rnnsym.strategies.exercises",
            )
        )

    return graph_strategy.flatmap(build)
