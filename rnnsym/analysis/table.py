"""Tables of gradient flow: |∂h_T/∂h_t| for T − t = 0, 1, … and several networks.

:func:`flow_table` computes, for each configuration ``(label, graph, values)``,
the size of ∂h_T/∂h_t as t moves back from T — along every path, so also for
the GRU and the LSTM — and its per-step :func:`~rnnsym.analysis.bound.bound`
(for a GRU or LSTM, the :class:`~rnnsym.analysis.bound.GatedBound` of its
one-step factors along the sequence).  :func:`demo_configs` are the
demonstration networks of a solution sheet; :func:`rnnsym.analysis.figure.figure`
draws a table and :func:`rnnsym.analysis.figure.table_latex` prints it.

>>> from rnnsym.models import elman
>>> table = flow_table([("id", elman(3), {"h_0": 1, "W_h": 2, "W_x": 1, "x": [0, 0, 0]})], steps=4, digits=None)
>>> print(table)
T-t           id
  0            1
  1            2
  2            4
  3            8
>>> table.series[0].values
(1, 2, 4, 8)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import mpmath
import sympy
from sympy import Expr, S

from ..errors import InputError, InputTypeError
from ..evaluation import GUARD
from ..graph import Graph
from ..printing import Block, Display
from ..models import elman, gru
from .bound import Bound, GatedBound, bound
from .spectral import spectral_norm
from .flow import check_digits, components, evaluation, is_vector

__all__ = ["NORMS", "FlowSeries", "FlowTable", "flow_table", "demo_configs"]

#: Matrix norms for vector states: the spectral norm (largest singular value,
#: the one the bound uses) or the Frobenius norm.
NORMS = ("spectral", "frobenius")


@dataclass(frozen=True)
class FlowSeries:
    """|∂h_T/∂h_t| of one configuration for T − t = 0, 1, …; ``norm`` names the
    matrix norm for a vector state (None for a scalar), ``bound`` the per-step
    bound (a :class:`~rnnsym.analysis.bound.GatedBound` for a GRU or LSTM;
    None when the activation has no known max|f′|).  For the LSTM the series
    follows h with c_t held fixed: the h-block of ∂(h_T, c_T)/∂(h_t, c_t)."""

    label: str
    values: tuple[Expr, ...]
    norm: str | None = None
    bound: Bound | GatedBound | None = None

    def log10(self) -> list[float]:
        """log10 of each value (−inf for 0)."""
        out = []
        for v in self.values:
            v = sympy.N(v, 30)
            out.append(-math.inf if v == 0 else float(sympy.N(sympy.log(v) / sympy.log(10), 15)))
        return out


@dataclass(frozen=True)
class FlowTable:
    """The series of :func:`flow_table`: row ``d`` holds |∂h_T/∂h_{T−d}| of each series,
    computed exactly (``digits`` None) or with ``digits`` digits.

    ``str(table)`` is a plain-text table; in a notebook it shows as Markdown.
    """

    series: tuple[FlowSeries, ...]
    steps: int
    digits: int | None

    def rows(self) -> list[tuple]:
        """``(d, value of each series)`` for d = T − t = 0 … steps − 1."""
        return [(d, *[s.values[d] for s in self.series]) for d in range(self.steps)]

    def __str__(self) -> str:
        width = max(12, *[len(s.label) for s in self.series])
        head = "T-t " + " ".join(f"{s.label:>{width}}" for s in self.series)
        lines = [head]
        for d, *vals in self.rows():
            lines.append(f"{d:>3} " + " ".join(f"{_plain(v):>{width}}" for v in vals))
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        """The table in Markdown (labels keep their ``$…$`` math).

        >>> from rnnsym.models import elman
        >>> print(flow_table([("$W_h = 2$", elman(2), {"h_0": 1, "W_h": 2, "W_x": 1, "x": [0, 0]})], 2)._repr_markdown_())
        | $T - t$ | $W_h = 2$ |
        | ---: | ---: |
        | 0 | 1.0 |
        | 1 | 2.0 |
        """
        cells = [["$T - t$", *[s.label.replace("|", r"\|") for s in self.series]], ["---:"] * (len(self.series) + 1)]
        cells += [[str(d), *[_plain(v) for v in vals]] for d, *vals in self.rows()]
        return "\n".join("| " + " | ".join(row) + " |" for row in cells)

    def _repr_latex_(self) -> str:
        """The table as a LaTeX ``array`` (labels' math kept, words in ``\\text``).

        >>> from rnnsym.models import elman
        >>> print(flow_table([("$W_h = 2$", elman(2), {"h_0": 1, "W_h": 2, "W_x": 1, "x": [0, 0]})], 2)._repr_latex_())
        $$
        \\begin{array}{rr}
        T - t & W_h = 2 \\\\ \\hline
        0 & 1.0 \\\\
        1 & 2.0
        \\end{array}
        $$
        """
        return Display(self)._repr_latex_()

    def _rnnsym_blocks(self, values: Mapping | None, options: object) -> list[Block]:
        """The table as one block for :func:`rnnsym.printing.markdown` and :func:`rnnsym.printing.text`
        (its values are its own: ``values`` must be None)."""
        if values is not None:
            raise InputError("values", values, "None: a FlowTable holds its values (call flow_table() for others)")
        rows = [("$T - t$", *[s.label for s in self.series])]
        rows += [(str(d), *[_plain(v) for v in vals]) for d, *vals in self.rows()]
        return [Block("table", tuple(rows))]


def _plain(value: Expr, digits: int = 4) -> str:
    if isinstance(value, sympy.Integer):
        return str(value)
    v = sympy.N(value, 30)
    if v == 0:
        return "0"
    return mpmath.nstr(mpmath.mpf(str(v)), digits, min_fixed=-3, max_fixed=5)


def _norm(matrix: sympy.Matrix, norm: str, digits: int | None) -> Expr:
    if norm == "frobenius":
        return sympy.sqrt(sum(e**2 for e in matrix))
    return spectral_norm(matrix) if digits is None else spectral_norm(matrix, digits + GUARD)


def _series(label: str, graph: Graph, values: Mapping, steps: int, digits: int | None, norm: str) -> FlowSeries:
    base = graph.cell.state[0]
    T = graph.steps
    top = components(graph, base, T)
    point = evaluation(graph, values, top, digits)
    out = []
    for d in range(steps):
        sources = components(graph, base, T - d)
        J = sympy.Matrix(len(top), len(sources),
                         lambda i, l: point.number(point.tangents(sources[l]).get(top[i], S.Zero)))
        value = abs(J[0, 0]) if J.shape == (1, 1) else _norm(J, norm, digits)
        out.append(sympy.N(value, digits) if digits is not None else value)
    try:
        per_step = bound(graph, values) if graph.cell.name in ("elman", "gru", "lstm") else None
    except InputError:
        per_step = None
    return FlowSeries(label, tuple(out), norm if is_vector(graph, base) else None, per_step)


def flow_table(
    configs: Sequence[tuple[str, Graph, Mapping]], steps: int = 12, digits: int | None = 30, norm: str = "spectral"
) -> FlowTable:
    """|∂h_T/∂h_t| for T − t = 0 … ``steps`` − 1 (T = each graph's steps) per config.

    Each config is ``(label, graph, values)``: ``label`` is LaTeX text (legend and
    table header), ``values`` exercise-file names (leaves h_T does not depend on,
    such as W_y and y_t, may be left out).  Values are computed one assignment
    at a time with ``digits`` digits (``None``: exact, slow for long
    non-linear sequences); derivatives by forward accumulation of local
    partials, h_t free (every path, so also for the GRU and LSTM).  A vector
    state gives the ``norm`` of the Jacobian matrix: ``"spectral"`` (largest
    singular value) or ``"frobenius"``.

    >>> from rnnsym.models import elman
    >>> table = flow_table([("id", elman(3), {"h_0": 1, "W_h": 2, "W_x": 1, "x": [0, 0, 0]})], steps=4, digits=None)
    >>> [row[1] for row in table.rows()]
    [1, 2, 4, 8]
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise InputError("steps", steps, "an integer >= 1")
    digits = check_digits(digits)
    if norm not in NORMS:
        raise InputError("norm", norm, "one of " + ", ".join(repr(n) for n in NORMS))
    if isinstance(configs, (str, bytes)) or not isinstance(configs, Sequence) or not configs:
        raise InputTypeError("configs", configs, "a non-empty list of (label, graph, values)")
    series = []
    for i, config in enumerate(configs):
        if not isinstance(config, (tuple, list)) or len(config) != 3:
            raise InputTypeError(f"configs[{i}]", config, "a (label, graph, values) triple")
        label, graph, values = config
        if not isinstance(label, str):
            raise InputTypeError(f"configs[{i}].label", label, "a string")
        if not isinstance(graph, Graph):
            raise InputTypeError(f"configs[{i}].graph", graph, "an unrolled rnnsym Graph")
        if steps > graph.steps + 1:
            raise InputError("steps", steps, f"at most {graph.steps + 1} for configs[{i}] (T − t ≤ T = {graph.steps})")
        series.append(_series(label, graph, values, steps, digits, norm))
    return FlowTable(tuple(series), steps, digits)


def demo_configs(steps: int = 12) -> list[tuple[str, Graph, dict]]:
    """The demonstration configurations of a solution sheet, each unrolled for ``steps`` steps:

    1. tanh Elman, W_h = 1/2, inputs 0.1: every factor ≤ 1/2, vanishing;
    2. identity Elman, W_h = 3/2: every factor is 3/2, exploding;
    3. tanh Elman, W_h = 3/2, inputs 0.001: the state stays near 0, so the
       factors (1 − h_t²) W_h stay near 3/2: exploding while it lasts;
    4. GRU with the update gate nearly open (b_z = 4, z_t = σ(4) ≈ 0.982):
       ∂h_t/∂h_{t−1} ≈ z_t, decaying slowly.

    >>> [label for label, _, _ in demo_configs(3)]
    ['tanh, $W_h = 1/2$', 'identity, $W_h = 3/2$', 'tanh, $W_h = 3/2$, small $x_t$', 'GRU, $b_z = 4$']
    """
    x = {"x": ["0.1"] * steps}
    gru_values = {"h_0": 0, "W_xr": 0, "W_hr": 0, "W_xz": 0, "W_hz": 0, "W_xh": 1, "W_hh": "0.5",
                  "b_r": 0, "b_z": 4, "b_h": 0, **x}
    return [
        ("tanh, $W_h = 1/2$", elman(steps, "tanh"), {"h_0": 0, "W_h": "0.5", "W_x": 1, **x}),
        ("identity, $W_h = 3/2$", elman(steps), {"h_0": 0, "W_h": "1.5", "W_x": 1, **x}),
        ("tanh, $W_h = 3/2$, small $x_t$", elman(steps, "tanh"), {"h_0": 0, "W_h": "1.5", "W_x": 1, "x": ["0.001"] * steps}),
        ("GRU, $b_z = 4$", gru(steps), gru_values),
    ]
