"""Registers rnnsym's types with hypothesis (the ``hypothesis`` entry point).

Hypothesis calls :func:`_hypothesis_setup_hook` when it is imported, so that
``st.from_type(rnnsym.Graph)``, ``st.from_type(rnnsym.Cell)`` and
``st.from_type(rnnsym.Exercise)`` work without importing
:mod:`rnnsym.strategies`.  ``import rnnsym`` never imports this module; the
strategies themselves are looked up only when first resolved.
"""

from __future__ import annotations


def _hypothesis_setup_hook() -> None:
    from hypothesis import strategies as st

    from .exercise import Exercise
    from .cells import Cell
    from .graph import Graph

    def resolve(name: str):
        def strategy(_type: type):
            from . import strategies

            return getattr(strategies, name)()

        return strategy

    st.register_type_strategy(Graph, resolve("graphs"))
    st.register_type_strategy(Cell, resolve("cells"))
    st.register_type_strategy(Exercise, resolve("exercises"))
