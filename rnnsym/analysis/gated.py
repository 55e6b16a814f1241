r"""Gated cells (GRU, LSTM): their one-step factors at the model's values, and why no simple bound applies.

An Elman cell's factor f′(z_t) W_h is bounded by |W_h| max|f′| whatever the
input (:mod:`rnnsym.analysis.bound`).  A gated cell's is not: the GRU's
additive path ∂⁺h_t/∂h_{t−1} = z_t and the LSTM's ∂⁺c_t/∂c_{t−1} = f_t come
as close to 1 as the gates' inputs make them, and the other terms grow with
the state.  :func:`gated_bound` gives the factors along the model's own
sequence instead, with the explanation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import mpmath
import sympy
from sympy import Abs, Expr

from ..cells import at_step, now, prev
from ..errors import InputError, InputTypeError
from ..forms import Maximum, Norm, Partial
from ..graph import Graph
from ..notation import symbol
from ..printing import Line, Printer, RenderOptions, decimal
from ..printing import markdown as _markdown
from ..printing import latex as _latex
from ..printing import lines as _lines
from .spectral import spectral_norm
from .state import components, evaluation, one_step

__all__ = ["GatedBound", "gated_bound"]


@dataclass(frozen=True)
class GatedBound:
    """The one-step factors of a gated cell at the model's own values, and why no simple bound applies.

    A GRU's ∂h_t/∂h_{t−1} = diag(z_t) + (terms through z_t, r_t and h̃_t): its
    additive path ∂⁺h_t/∂h_{t−1} = z_t has no weight matrix and z_t ∈ (0, 1)
    can be as close to 1 as the gate's input makes it, while the other terms
    grow with the state (h_{t−1} − h̃_t); an LSTM's state (h_t, c_t) has the
    block ∂⁺c_t/∂c_{t−1} = f_t likewise.  So no bound below 1 holds for every
    input, and the factors are given at the model's values instead:
    ``factors[t − 1]`` is ‖∂s_t/∂s_{t−1}‖ (|·| for a scalar GRU, the spectral
    norm otherwise; s = h, or (h, c) for the LSTM), ``additive[t − 1]`` the
    largest entry of z_t or f_t; ``value`` is the largest factor, so
    ‖∂s_T/∂s_t‖ ≤ value^(T−t) along this sequence (submultiplicativity), and
    ``regime`` is what that says here: ``"vanishing"``, ``"neutral"`` or
    ``"possibly exploding"`` along this sequence.
    """

    cell: str
    factors: tuple[Expr, ...]
    additive: tuple[Expr, ...]
    value: Expr
    regime: str
    explanation: str
    matrix: bool

    def at(self, steps: int) -> Expr:
        """The bound on ‖∂s_T/∂s_t‖ along this sequence for T − t = ``steps``: value^steps."""
        return self.value**steps

    @property
    def form(self) -> Expr:
        """``max_t ‖∂s_t/∂s_{t−1}‖`` as written."""
        if self.cell == "lstm":
            named = Partial(sympy.Tuple(now("h"), now("c")), sympy.Tuple(prev("h"), prev("c")))
        else:
            named = Partial(now("h"), prev("h"))
        size = Norm(named, 2) if self.matrix else Abs(named, evaluate=False)
        return Maximum(size, symbol("t"))

    def lines(self, values: Mapping | None = None, options: RenderOptions | None = None) -> list[Line]:
        """One line: ``max_t ‖∂s_t/∂s_{t−1}‖ ≈ value`` (``values`` must be None)."""
        return _lines(self, values, options)

    def latex(self, values: Mapping | None = None, options: RenderOptions | None = None) -> list[str]:
        """:meth:`lines` as LaTeX, one string a line (no math delimiters)."""
        return _latex(self, values, options)

    def _rnnsym_lines(self, values: Mapping | None, options: RenderOptions) -> list[Line]:
        if values is not None:
            raise InputError("values", values, "None: a GatedBound is at the values given to bound(); call bound() again for others")
        printer = Printer(options)
        return [Line((printer.doprint(self.form), r"\approx " + decimal(self.value, max(options.approx_digits, 3))))]

    def _repr_latex_(self) -> str:
        return "$\\displaystyle " + self.latex()[0] + "$"

    def _repr_markdown_(self) -> str:
        return _markdown(self)


def gated_bound(graph: Graph, values: Mapping, digits: int = 30) -> GatedBound:
    """The one-step factors of a GRU or LSTM graph at ``values``, computed with ``digits`` digits
    (:class:`GatedBound`); leaves the states do not need (W_y, y_t) may be left out.

    >>> from rnnsym.models import gru
    >>> values = {"h_0": 0, "W_xr": 0, "W_hr": 0, "W_xz": 0, "W_hz": 0, "W_xh": 1, "W_hh": "0.5",
    ...           "b_r": 0, "b_z": 4, "b_h": 0, "x": ["0.1", "0.1", "0.1"]}
    >>> b = gated_bound(gru(3), values)
    >>> b.regime, round(float(b.additive[0]), 4)
    ('vanishing', 0.982)
    """
    if not isinstance(graph, Graph) or graph.cell.name not in ("gru", "lstm"):
        raise InputTypeError("graph", graph, "an unrolled GRU or LSTM Graph")
    if isinstance(digits, bool) or not isinstance(digits, int) or not 1 <= digits <= 1000:
        raise InputError("digits", digits, "a number of digits from 1 to 1000 (spectral norms are decimals)")
    bases = tuple(graph.cell.state)
    T = graph.steps
    top = [c for b in bases for c in components(graph, b, T)]
    point = evaluation(graph, values, top, digits)
    numbers = {s: point.number(v) for s, v in point.env.items()}
    gate = "z" if graph.cell.name == "gru" else "f"
    factors, additive = [], []
    matrix = len(top) > 1
    for t in range(1, T + 1):
        rows = [c for b in bases for c in components(graph, b, t)]
        cols = [c for b in bases for c in components(graph, b, t - 1)]
        J = sympy.Matrix(len(rows), len(cols), [one_step(graph, r, c, t)[1].xreplace(numbers) for r in rows for c in cols])
        factors.append(abs(J[0, 0]) if not matrix else spectral_norm(J.applyfunc(lambda v: sympy.Float(v, digits)), digits))
        gates = [graph.symbol(at_step(gate + c[len(bases[0]):], t)) for c in graph.cell.components(bases[0])]
        additive.append(max(numbers[g] for g in gates))
    value = max(factors)
    regime = "vanishing" if value < 1 else "neutral" if value == 1 else "possibly exploding"
    return GatedBound(graph.cell.name, tuple(factors), tuple(additive), value, regime,
                      _gated_text(graph.cell.name, factors, additive, value, regime, matrix), matrix)


def _gated_text(cell: str, factors, additive, value, regime: str, matrix: bool) -> str:
    n = lambda v: mpmath.nstr(mpmath.mpf(str(v)), 4)  # noqa: E731
    worst = max(range(len(factors)), key=lambda i: factors[i]) + 1
    size = "‖·‖₂" if matrix else "|·|"
    if cell == "gru":
        head = ("∂h_t/∂h_(t−1) = diag(z_t) + diag(h_(t−1) − h̃_t) ∂z_t/∂h_(t−1) + diag(1 − z_t) ∂h̃_t/∂h_(t−1): the "
                "first term is the additive path ∂⁺h_t/∂h_(t−1) = z_t, with no weight matrix and no squashing "
                "derivative. z_t ∈ (0, 1) comes as close to 1 as the gate's input makes it, and the other terms grow "
                "with the state (h_(t−1) − h̃_t), so no bound below 1 holds for every input: unlike the Elman cell, "
                "the GRU has no simple per-step bound.")
        gate = "z_t"
    else:
        head = ("The LSTM's state is (h_t, c_t); one step back, ∂(h_t, c_t)/∂(h_(t−1), c_(t−1)) has the block "
                "∂⁺c_t/∂c_(t−1) = f_t (the constant error carousel: no weight matrix, no squashing derivative) and "
                "blocks through the gates and o_t tanh′(c_t). f_t ∈ (0, 1) comes as close to 1 as the gate's input "
                "makes it, and the blocks through the gates grow with c_(t−1), so no bound below 1 holds for every "
                "input: unlike the Elman cell, the LSTM has no simple per-step bound.")
        gate = "f_t"
    numbers = (f" At this model's values the factors {size} of the one-step Jacobians are "
               + ", ".join(n(f) for f in factors) + f" (t = 1 … {len(factors)}), the largest {n(value)} at t = {worst}, "
               f"with {gate} up to " + ", ".join(n(a) for a in additive) + ".")
    if regime == "vanishing":
        verdict = (f" Along this sequence ‖∂s_T/∂s_t‖ ≤ ({n(value)})^(T−t): it vanishes here, the more slowly the "
                   f"closer the factors are to 1.")
    elif regime == "neutral":
        verdict = " Along this sequence the largest factor is 1: the product cannot grow exponentially here."
    else:
        verdict = (f" Along this sequence the largest factor is above 1: ‖∂s_T/∂s_t‖ ≤ ({n(value)})^(T−t) allows "
                   f"growth, and only the product of the factors themselves says whether it happens.")
    return head + numbers + verdict
