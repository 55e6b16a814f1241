"""Shared material of the gradient-flow tests: random exact points and comparisons at high precision."""

import random

import sympy
from sympy import Rational

import rnnsym

CLOSE = sympy.Float("1e-40")
LOOSE = sympy.Float("1e-25")  # for flow_table's default 30-digit values
DIGITS = 60  # random points are exact rationals; values are carried at 60 digits


def rational(rng: random.Random, low: int = -15, high: int = 15, q: int = 10) -> Rational:
    return Rational(rng.randint(low, high), rng.randint(1, q))


def elman_point(rng: random.Random, graph, scale: int = 10) -> dict[str, object]:
    """Random exact values for every leaf h_T needs (names as exercise files write them)."""
    values = {}
    for s in graph.leaves:
        name = str(s)
        if name.startswith(("y", "W_y", "b_y")):
            continue
        values[name] = Rational(rng.randint(-scale, scale), rng.randint(1, 10))
    return values


def env_for(graph, values: dict[str, object]) -> dict:
    """Every leaf and quantity at ``values`` (unneeded leaves set to 0), at DIGITS digits."""
    leaves = {str(s): s for s in graph.leaves}
    full = {s: sympy.Float(Rational(values.get(name, 0)), DIGITS) for name, s in leaves.items()}
    return rnnsym.evaluate(graph, full).values


def close(a, b, tolerance=CLOSE) -> bool:
    """|a − b| within ``tolerance``, relative to |b| when |b| > 1."""
    return abs(sympy.N(a - b, DIGITS)) <= tolerance * max(1, abs(sympy.N(b, DIGITS)))
