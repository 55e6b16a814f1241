"""rnnsym.strategies: what the strategies draw, how they refuse bad arguments,
and how they are registered with hypothesis without ``import rnnsym`` importing it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import sympy
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import rnnsym
from rnnsym.rules import ACTIVATIONS, LOSSES
from rnnsym.strategies import CELL_KINDS, activations, cells, exercises, graphs, losses, values
from rnnsym.testing import at_kink

QUICK = settings(database=None, phases=[Phase.generate, Phase.shrink], max_examples=500)


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)


# -- import hygiene and registration --------------------------------------------------


def test_import_rnnsym_does_not_import_hypothesis():
    done = run_python(
        """
        import rnnsym, sys
        assert 'hypothesis' not in sys.modules, 'hypothesis imported'
        assert 'rnnsym._hypothesis_hook' not in sys.modules, 'hook imported'
        assert 'rnnsym.strategies' not in sys.modules
        import rnnsym.testing, rnnsym.formula, rnnsym.grading, rnnsym.cli
        assert 'hypothesis' not in sys.modules, 'hypothesis imported by testing/formula/answers/cli'
        """
    )
    assert done.returncode == 0, done.stderr


def test_from_type_works_without_importing_the_strategies():
    done = run_python(
        """
        import sys
        from hypothesis import Phase, find, settings, strategies as st
        import rnnsym
        assert 'rnnsym.strategies' not in sys.modules
        quick = settings(database=None, phases=[Phase.generate, Phase.shrink])
        graph = find(st.from_type(rnnsym.Graph), lambda g: g.steps == 2, settings=quick)
        cell = find(st.from_type(rnnsym.Cell), lambda c: c.options["activation"] == "tanh", settings=quick)
        exercise = find(st.from_type(rnnsym.Exercise), lambda e: True, settings=quick)
        assert isinstance(graph, rnnsym.Graph) and graph.steps == 2, graph
        assert isinstance(cell, rnnsym.Cell), cell
        assert isinstance(exercise, rnnsym.Exercise), exercise
        print(graph)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Graph(elman, steps=2, activation=identity, loss=squared)"


def test_the_hook_is_registered_as_a_hypothesis_entry_point():
    from importlib.metadata import entry_points

    hooks = [e for e in entry_points(group="hypothesis") if e.value.startswith("rnnsym.")]
    assert [e.value for e in hooks] == ["rnnsym._hypothesis_hook:_hypothesis_setup_hook"]


# -- eager validation ---------------------------------------------------------------


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: cells(activation="swish"), ["activation='swish'", "of type str", "'tanh'"]),
        (lambda: cells(activation=[]), ["activation=[]", "of type list", "must not be empty"]),
        (lambda: cells(bias="yes"), ["bias='yes'", "of type str"]),
        (lambda: cells(bias=1), ["bias=1", "of type int"]),
        (lambda: cells(loss="l1"), ["loss='l1'", "of type str", "'squared'"]),
        (lambda: cells(kind="transformer"), ["kind='transformer'", "'elman'"]),
        (lambda: cells(hidden=0), ["hidden=0", "of type int", ">= 1"]),
        (lambda: graphs(min_steps=0), ["min_steps=0", "of type int", "at least 1"]),
        (lambda: graphs(min_steps=2.5), ["min_steps=2.5", "of type float", "an integer"]),
        (lambda: graphs(min_steps=3, max_steps=2), ["max_steps=2", "min_steps=3"]),
        (lambda: graphs(cells="elman"), ["cells='elman'", "of type str", "rnnsym.Cell"]),
        (lambda: graphs(loss_at=[1]), ["loss_at=[1]", "of type list"]),
        (lambda: values(rnnsym.elman(1), min_value="a"), ["min_value='a'", "of type str"]),
        (lambda: values(rnnsym.elman(1), min_value=2, max_value=1), ["min_value=2", "max_value=1"]),
        (lambda: values(rnnsym.elman(1), max_denominator=0), ["max_denominator=0", "at least 1"]),
        (lambda: values(rnnsym.elman(1), avoid_kinks="no"), ["avoid_kinks='no'", "of type str"]),
        (lambda: values("elman"), ["graph='elman'", "of type str", "rnnsym.Graph"]),
        (lambda: values(rnnsym.elman(1), min_value="1/3", max_value="1/3", max_denominator=2), ["max_denominator=2"]),
        (lambda: exercises(graphs=3), ["graphs=3", "of type int"]),
        (lambda: exercises(min_value=[]), ["min_value=[]", "of type list"]),
    ],
)
def test_bad_arguments_are_refused_when_the_strategy_is_made(make, words):
    with pytest.raises(InvalidArgument) as caught:
        make()
    for word in words:
        assert word in str(caught.value)


# -- what is drawn -------------------------------------------------------------------


@given(graphs(min_steps=2, max_steps=3))
def test_graphs_respect_the_step_bounds(graph):
    assert 2 <= graph.steps <= 3
    assert graph.loss_steps and set(graph.loss_steps) <= set(range(1, graph.steps + 1))


@given(graphs(max_steps=4, loss_at="last"))
def test_loss_at_last(graph):
    assert graph.loss_steps == (graph.steps,)


@given(graphs(max_steps=4, loss_at="all"))
def test_loss_at_all(graph):
    assert graph.loss_steps == tuple(range(1, graph.steps + 1))


@given(cells(activation=["tanh", "sigmoid"], bias=True, loss="half_squared", output_activation=None))
def test_cells_keep_to_the_options_asked_for(cell):
    assert isinstance(cell, rnnsym.Cell)
    assert cell.options["activation"] in ("tanh", "sigmoid")
    assert cell.options["bias"] is True and cell.options["loss"] == "half_squared"
    assert cell.options["output_activation"] in ACTIVATIONS


@given(cells(activation=st.just("relu")))
def test_cells_take_a_strategy(cell):
    assert cell.options["activation"] == "relu"


@pytest.mark.parametrize("option, choices", [("activation", ACTIVATIONS), ("loss", LOSSES), ("bias", (False, True))])
def test_every_option_can_be_drawn(option, choices):
    for choice in choices:
        cell = find(cells(), lambda c: c.options[option] == choice, settings=QUICK)
        assert cell.options[option] == choice


def test_loss_at_variants_can_be_drawn():
    everywhere = find(graphs(), lambda g: g.steps == 3 and g.loss_steps == (1, 2, 3), settings=QUICK)
    some = find(graphs(), lambda g: g.steps == 3 and g.loss_steps == (2,), settings=QUICK)
    assert everywhere.loss_steps == (1, 2, 3) and some.loss_steps == (2,)


def test_activations_and_losses():
    assert find(activations(), lambda a: True, settings=QUICK) == "identity"
    assert find(losses(), lambda name: name != "squared", settings=QUICK) == "half_squared"


@pytest.mark.parametrize("kind", sorted(CELL_KINDS))
def test_cell_kinds(kind):
    cell = find(cells(kind=kind, hidden=[1, 2]), lambda c: c.options["hidden"] == 2, settings=QUICK)
    assert cell.name == kind


@given(st.data(), graphs(max_steps=3, cells=cells(output_activation=None)))
def test_values_cover_every_leaf_within_bounds(data, graph):
    point = data.draw(values(graph, min_value="-1/2", max_value=3, max_denominator=4))
    assert list(point) == [str(s) for s in graph.leaves]
    for v in point.values():
        assert isinstance(v, sympy.Rational)
        assert -sympy.Rational(1, 2) <= v <= 3 and v.q <= 4


@given(st.data(), graphs(max_steps=4, cells=cells(activation="relu", output_activation=["identity", "relu"])))
@settings(suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
def test_values_avoid_relu_kinks(data, graph):
    point = data.draw(values(graph))
    env = rnnsym.evaluate(graph, {graph.symbol(n): v for n, v in point.items()}).values
    assert at_kink(graph, env) == []


def test_values_may_sit_on_a_kink_when_asked():
    graph = rnnsym.elman(1, activation="relu")
    point = find(values(graph, avoid_kinks=False), lambda v: True, settings=QUICK)
    env = rnnsym.evaluate(graph, {graph.symbol(n): v for n, v in point.items()}).values
    assert at_kink(graph, env) == [graph.symbol("h_1")]


@given(exercises(graphs=graphs(max_steps=3)))
def test_exercises_hold_a_graph_its_values_and_a_question_per_leaf(exercise):
    graph = exercise.graph
    assert isinstance(exercise, rnnsym.Exercise)
    assert set(exercise.values) == {str(s) for s in graph.leaves}
    finds = [q.find for q in exercise.questions]
    assert finds[0] == "L"
    targets = {str(s) for s in graph.leaves if str(s).startswith("y_")}
    assert finds[1:] == [f"dL/d{s}" for s in graph.leaves if str(s) not in targets]
    for q in exercise.questions[1:3]:
        exercise.answer(q).evaluate(exercise.values)  # every question can be answered
