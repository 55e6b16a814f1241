r"""The per-step bound of gradient flow through an Elman cell.

For h_t = f(z_t), z_t = W_h h_{t−1} + W_x x_t + b, one factor of the chain is
∂h_t/∂h_{t−1} = f′(z_t) W_h (diag(f′(z_t)) W_h for a vector state), so

    |∂h_t/∂h_{t−1}| ≤ |W_h| · max|f′|   and   |∂h_T/∂h_t| ≤ (|W_h| · max|f′|)^(T−t),

with the spectral norm ‖·‖₂ (the largest singular value σ_max) for matrices.
For a matrix the spectral radius ρ(W_h) (the largest |eigenvalue|) is given
too, and what each guarantees (Pascanu, Mikolov & Bengio 2013, "On the
difficulty of training recurrent neural networks"): σ_max(W_h)·max|f′| < 1
makes the gradient vanish for every input; ρ(W_h) ≤ σ_max(W_h) governs the
long-run growth of the linear part, ‖W_h^k‖^(1/k) → ρ(W_h) (Gelfand's
formula), so a non-normal W_h with ρ < 1 < σ_max decays in the long run after
a possible transient growth.  A gated cell (GRU, LSTM) has no such bound
that holds for every input: :func:`bound` gives a :class:`GatedBound`, its
one-step factors at the model's own values and why no simple bound applies.
max|f′|, the way f′ is written and what the explanation says about it are
read from the activation's rule in :data:`rnnsym.rules.ACTIVATIONS`, so an
activation registered with a ``max_derivative`` is bounded like a built-in one.

>>> from rnnsym.models import elman
>>> b = bound(elman(1, activation="tanh"), {"W_h": "0.5"})
>>> b.value, b.regime
(1/2, 'vanishing')
>>> print(b.latex()[0])
\left|{\frac{\partial h_{t}}{\partial h_{t-1}}}\right| \leq \left|{W_{h}}\right| \, \max_{z} \left|{1 - \tanh^{2}{\left(z \right)}}\right| = \frac{1}{2} \times 1 = \frac{1}{2}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import mpmath
import sympy
from sympy import Abs, Expr

from ..cells import Cell, now, prev
from ..errors import InputError, InputTypeError
from ..forms import Juxt, Maximum, Norm, Partial, Times, plain, product
from ..graph import Graph
from ..models import unroll
from ..notation import symbol
from ..printing import Line, Printer, RenderOptions, decimal
from ..printing import markdown as _markdown
from ..printing import latex as _latex
from ..printing import lines as _lines
from ..rules import ACTIVATIONS, Rule
from .gated import GatedBound, gated_bound
from .spectral import spectral_norm, spectral_radius
from .state import leaf_values

__all__ = ["Bound", "GatedBound", "bound", "gated_bound", "spectral_radius", "spectral_norm"]

_Z = symbol("z")


def _slope(rule: Rule) -> Expr:
    """f′(z) as the rule writes it, in its argument z."""
    return rule.derivative(_Z, rule.apply(_Z))


@dataclass(frozen=True)
class Bound:
    """The per-step bound of an Elman cell: |∂h_t/∂h_{t−1}| ≤ ``value`` = ``weight``·``max_derivative``.

    ``weight`` is |W_h| (scalar) or σ_max(W_h) = ‖W_h‖₂ (matrix), ``radius``
    the spectral radius ρ(W_h) (|W_h| for a scalar), ``slope`` is f′(z) as the
    activation's rule writes it; ``regime`` is ``"vanishing"`` (value < 1),
    ``"exploding"`` (a constant f′ and value > 1 for a scalar, or ρ·|f′| > 1
    for a matrix: exact), ``"vanishing in the long run"`` (a constant f′,
    ρ·|f′| < 1 ≤ σ_max·|f′|: a non-normal W_h, transient growth first),
    ``"possibly exploding"`` (value > 1 otherwise) or ``"neutral"``.
    For a matrix, ``normal`` says whether W_hᵀW_h = W_hW_hᵀ (then ρ = σ_max),
    and ``peak``, in the long-run vanishing regime, gives the k where
    ‖(f′W_h)^k‖₂ is largest, that norm, and the k from which it stays below 1.  It is already at the values given to :func:`bound`, so
    :meth:`lines` and :meth:`latex` take no values.
    """

    value: Expr
    weight: Expr
    max_derivative: Expr
    activation: str
    matrix: bool
    regime: str
    explanation: str
    slope: Expr = field(repr=False)
    radius: Expr | None = None
    normal: bool | None = None
    peak: tuple[int, float, int | None] | None = field(default=None, repr=False)

    def at(self, steps: int) -> Expr:
        """The bound on |∂h_T/∂h_t| for T − t = ``steps``: value^steps."""
        return self.value**steps

    @property
    def form(self) -> Expr:
        """The bound as a written relation, ``|∂h_t/∂h_{t−1}| ≤ |W_h| max_z |f′(z)|``
        (spectral norms for a matrix; f′ as the activation's rule writes it)."""
        size = (lambda x: Norm(x, 2)) if self.matrix else (lambda x: Abs(x, evaluate=False))
        rhs = product([size(symbol("W_h")), self.largest], Juxt)
        return sympy.Le(size(Partial(now("h"), prev("h"))), rhs, evaluate=False)

    @property
    def largest(self) -> Expr:
        """max|f′| as written: ``max_z |f′(z)|``, or the constant |f′| of a linear activation."""
        return Maximum(Abs(self.slope, evaluate=False), _Z) if self.slope.free_symbols else abs(self.slope)

    def lines(self, values: Mapping | None = None, options: RenderOptions | None = None) -> list[Line]:
        """One line: the relation, then ``weight × max|f′|``, then the value (``values`` must be None)."""
        return _lines(self, values, options)

    def latex(self, values: Mapping | None = None, options: RenderOptions | None = None) -> list[str]:
        """:meth:`lines` as LaTeX, one string a line (no math delimiters).

        >>> from rnnsym.models import elman
        >>> from rnnsym.notation import Notation
        >>> b = bound(elman(1, activation="sigmoid", hidden=2), {"W_h": [[2, 0], [0, 1]]})
        >>> print(b.latex(options=RenderOptions(times="cdot", partial="d", notation=Notation(bases={"h": "s"})))[0])
        \\left\\lVert \\frac{d s_{t}}{d s_{t-1}} \\right\\rVert_{2} \\leq \\left\\lVert W_{h} \\right\\rVert_{2} \\, \\max_{z} \\left|{\\sigma\\left(z\\right) \\, \\left(1 - \\sigma\\left(z\\right)\\right)}\\right| = 2 \\cdot \\frac{1}{4} = \\frac{1}{2}
        """
        return _latex(self, values, options)

    def _rnnsym_lines(self, values: Mapping | None, options: RenderOptions) -> list[Line]:
        if values is not None:
            raise InputError("values", values, "None: a Bound is at the values given to bound(); call bound() again for others")
        printer = Printer(options)
        parts = [printer.doprint(self.form)]
        if self.largest != 1:
            parts.append(printer.doprint(Times(self.weight, self.max_derivative)))
        parts.append(printer.doprint(self.value))
        if not isinstance(self.value, sympy.Rational) and options.approx_digits:
            parts.append(r"\approx " + decimal(self.value, options.approx_digits))
        return [Line(tuple(parts))]

    def _repr_latex_(self) -> str:
        return "$\\displaystyle " + self.latex()[0] + "$"

    def _repr_markdown_(self) -> str:
        """The bound with its numbers, as Markdown math.

        >>> from rnnsym.models import elman
        >>> print(bound(elman(1), {"W_h": "0.5"})._repr_markdown_())
        $$
        \\begin{aligned}
        \\left|{\\frac{\\partial h_{t}}{\\partial h_{t-1}}}\\right| \\leq \\left|{W_{h}}\\right| &= \\frac{1}{2}
        \\end{aligned}
        $$
        <BLANKLINE>
        """
        return _markdown(self)


def bound(cell_or_graph: Cell | Graph, values: Mapping) -> Bound | GatedBound:
    """The per-step bound of an Elman cell at the weights in ``values``
    (for a GRU or LSTM graph, its :class:`GatedBound`: see :func:`gated_bound`).

    ∂h_t/∂h_{t−1} = f′(z_t) W_h (diag(f′(z_t)) W_h for a vector state), so
    |∂h_t/∂h_{t−1}| ≤ |W_h|·max|f′|, with the spectral norm and σ_max(W_h)
    for a matrix, and |∂h_T/∂h_t| ≤ bound^(T−t).  Only W_h needs a value;
    max|f′| is the activation rule's ``max_derivative``.

    >>> from rnnsym.models import elman
    >>> b = bound(elman(1, activation="sigmoid"), {"W_h": 2})
    >>> b.value, b.regime
    (1/2, 'vanishing')
    >>> bound(elman(1, activation="tanh", hidden=2), {"W_h": [[1, 1], [0, 1]]}).weight
    1/2 + sqrt(5)/2
    """
    if isinstance(cell_or_graph, Cell):
        if cell_or_graph.name in ("gru", "lstm"):
            raise InputError("cell_or_graph", cell_or_graph.name, "an unrolled Graph for a gated cell (its factors "
                             "depend on the inputs and states, so they are computed along the model's own sequence)")
        graph = unroll(cell_or_graph, 1)
    elif isinstance(cell_or_graph, Graph):
        graph = cell_or_graph
    else:
        raise InputTypeError("cell_or_graph", cell_or_graph, "an rnnsym Cell or Graph")
    cell = graph.cell
    if cell.name in ("gru", "lstm"):
        return gated_bound(graph, values)
    if cell.name != "elman":
        raise InputError("cell", cell.name, "an Elman, GRU or LSTM cell (h_t = f(W_h h_(t−1) + W_x x_t + b) for the "
                         "per-step bound): use flow_table for other cells")
    activation = cell.options.get("activation")
    rule = ACTIVATIONS.get(activation)
    if rule is None or rule.max_derivative is None:
        raise InputError("activation", activation, "an activation whose rule gives max_derivative, the largest |f′| "
                         "(register it with rnnsym.register_activation(..., max_derivative=...))")
    W = graph.tensor("W_h")
    W = W.xreplace(leaf_values(graph, values, list(W)))
    matrix = W.shape != (1, 1)
    if matrix:
        weight, radius = spectral_norm(W), spectral_radius(W)
    else:
        weight = radius = abs(W[0, 0])
    fmax = rule.max_derivative
    value = sympy.simplify(weight * fmax)
    slope = _slope(rule)
    regime = _regime(value, not slope.free_symbols and not matrix)
    if matrix and not slope.free_symbols and value > 1:
        long_run = sympy.simplify(radius * fmax)
        regime = "exploding" if long_run > 1 else "vanishing in the long run" if long_run < 1 else regime
    explanation = _explain(value, weight, rule, matrix, regime)
    normal = peak = None
    if matrix:
        normal = (W.T * W - W * W.T).applyfunc(sympy.simplify).is_zero_matrix
        peak = _powers(W, abs(slope)) if regime == "vanishing in the long run" else None
        explanation += " " + _radius_text(weight, radius, rule, regime, normal, peak)
    return Bound(value, weight, fmax, activation, matrix, regime, explanation, slope, radius, normal, peak)


def _powers(W: sympy.Matrix, scale: Expr, limit: int = 200) -> tuple[int, float, int | None]:
    """For (scale·W)^k, k = 1 … limit: the k with the largest ‖·‖₂, that norm, and the first k
    from which the norm stays below 1 (None when not within ``limit``)."""
    with mpmath.workdps(30):
        A = mpmath.matrix([[mpmath.mpf(str(sympy.N(e * scale, 35))) for e in row] for row in W.tolist()])
        P = mpmath.eye(A.rows)
        best, where, below = mpmath.mpf(0), 0, None
        for k in range(1, limit + 1):
            P = P * A
            size = max(mpmath.svd_r(P, compute_uv=False))
            if size > best:
                best, where = size, k
            if size < 1 and below is None:
                below = k
            elif size >= 1:
                below = None
        return where, float(best), below


def _radius_text(weight: Expr, radius: Expr, rule: Rule, regime: str, normal: bool, peak) -> str:
    """What σ_max and ρ each guarantee, with this W_h's numbers (Pascanu, Mikolov & Bengio 2013)."""
    fmax, slope = rule.max_derivative, _slope(rule)
    text = (f"The spectral radius ρ(W_h) = {_show(radius)} (the largest |eigenvalue|) is at most σ_max(W_h) = "
            f"{_show(weight)}")
    if normal:
        text += ", and equal to it here: W_h is normal (W_hᵀW_h = W_hW_hᵀ), so the two conditions agree."
    else:
        text += (", and below it here: W_h is not normal (W_hᵀW_h ≠ W_hW_hᵀ). σ_max·max|f′| < 1 makes the gradient "
                 "vanish for every input (a sufficient condition); ρ governs the long-run growth of the linear part, "
                 "‖W_h^k‖^(1/k) → ρ(W_h) as k grows (Gelfand's formula): with a linear activation the gradient "
                 "vanishes in the long run when ρ·|f′| < 1 and explodes when ρ·|f′| > 1, and a non-normal W_h can "
                 "make ‖W_h^k‖ grow over the first steps before it decays (transient growth). Since ρ ≤ σ_max, "
                 "σ_max·max|f′| < 1 implies ρ·max|f′| < 1, not conversely.")
    if not slope.free_symbols and regime == "vanishing in the long run":
        where, best, below = peak
        text += (f" Here ρ·|f′| = {_show(sympy.simplify(radius * abs(slope)))} < 1 but σ_max·|f′| > 1: "
                 f"‖(f′W_h)^k‖₂ is largest at k = {where} (≈ {best:.4g})"
                 + (f" and stays below 1 from k = {below} on, so the gradient vanishes in the long run after a "
                    f"transient growth." if below is not None else ", and decays only after many steps."))
    elif slope.free_symbols and not normal:
        long_run = sympy.simplify(radius * fmax)
        text += (f" Here ρ(W_h)·max|f′| = {_show(long_run)}"
                 + (" < 1: the linear part decays in the long run, but with f′(z_t) changing from step to step the "
                    "factors differ and neither quantity alone decides; the σ_max bound is the one that holds for "
                    "every input." if long_run < 1 else " ≥ 1: even the long-run growth of the linear part is not "
                    "damped, and the gradient may explode where f′(z_t) stays near its largest value."))
    return text + " (Pascanu, Mikolov & Bengio 2013.)"


def _regime(value: Expr, exact: bool) -> str:
    if value < 1:
        return "vanishing"
    if value == 1:
        return "neutral"
    return "exploding" if exact else "possibly exploding"


def _show(value: Expr) -> str:
    if isinstance(value, sympy.Rational):
        return str(value)
    return f"({sympy.sstr(value)} ≈ {sympy.N(value, 4)})"


def _explain(value: Expr, weight: Expr, rule: Rule, matrix: bool, regime: str) -> str:
    fmax, slope = rule.max_derivative, _slope(rule)
    product_ = f"{_show(fmax)} · {_show(weight)}" + (f" = {_show(value)}" if fmax != 1 else "")
    why = f", since {rule.note}" if rule.note else ""
    if matrix:
        head = (f"∂h_t/∂h_(t−1) = diag(f′(z_t)) W_h, so in the spectral norm ‖∂h_t/∂h_(t−1)‖ ≤ max|f′| σ_max(W_h)"
                f" = {product_}{why}.")
    else:
        head = f"∂h_t/∂h_(t−1) = f′(z_t) W_h, so |∂h_t/∂h_(t−1)| ≤ max|f′| |W_h| = {product_}{why}."
    power = f"({_show(value)})^(T−t)" if isinstance(value, sympy.Rational) else "bound^(T−t)"
    scaled = "W_h" if slope == 1 else f"{sympy.sstr(slope)} W_h"
    if regime == "vanishing":
        return head + f" Below 1: |∂h_T/∂h_t| ≤ {power}, so the gradient vanishes exponentially in T − t."
    if regime == "neutral":
        return head + " Equal to 1: the bound rules out exponential growth but not slow decay; it does not vanish exponentially by this bound."
    if regime == "exploding" and matrix:
        return head + (f" With a constant f′ every factor is exactly {scaled}: ‖∂h_T/∂h_t‖₂ = ‖({scaled})^(T−t)‖₂ ≥ "
                       f"(ρ({scaled}))^(T−t), and ρ({scaled}) > 1 (below), so the gradient explodes.")
    if regime == "exploding":
        return head + f" With a constant f′ every factor is exactly {scaled}: |∂h_T/∂h_t| = {power}, so the gradient explodes."
    if regime == "vanishing in the long run":
        return head + (f" Above 1: the bound allows ‖∂h_T/∂h_t‖₂ to grow like {power}, but it is only an upper bound: "
                       f"with a constant f′ every factor is exactly {scaled}, whose powers decay in the long run (below).")
    head += f" Above 1: the bound allows |∂h_T/∂h_t| to grow like {power}, so the gradient may explode. It is only an upper bound"
    if not slope.free_symbols:
        return head + f": with a constant f′ it grows when an eigenvalue of {scaled} exceeds 1 in modulus."
    if rule.rational:
        return head + (f": f′ is piecewise constant, so it explodes while the pre-activations stay where"
                       f" |f′(z_t)| = {_show(fmax)}.")
    if sympy.simplify(plain(slope).xreplace({_Z: 0}) - fmax) == 0:
        return head + (
            ": each factor carries f′(z_t), which is largest at z_t = 0, so the gradient explodes only while the"
            " pre-activations z_t stay near 0 (small states and inputs); once the state saturates the factors f′(z_t)"
            " shrink it again (a saturating activation bounds the values, not the gradients)."
        )
    return head + ": each factor carries f′(z_t), so the gradient explodes only while f′(z_t) stays near its largest value."
