r"""The per-step bound of gradient flow through an Elman cell.

For h_t = f(z_t), z_t = W_h h_{t−1} + W_x x_t + b, one factor of the chain is
∂h_t/∂h_{t−1} = f′(z_t) W_h (diag(f′(z_t)) W_h for a vector state), so

    |∂h_t/∂h_{t−1}| ≤ |W_h| · max|f′|   and   |∂h_T/∂h_t| ≤ (|W_h| · max|f′|)^(T−t),

with the spectral norm ‖·‖₂ (the largest singular value) for matrices.
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
from .flow import leaf_values

__all__ = ["Bound", "bound"]

_Z = symbol("z")


def _slope(rule: Rule) -> Expr:
    """f′(z) as the rule writes it, in its argument z."""
    return rule.derivative(_Z, rule.apply(_Z))


@dataclass(frozen=True)
class Bound:
    """The per-step bound of an Elman cell: |∂h_t/∂h_{t−1}| ≤ ``value`` = ``weight``·``max_derivative``.

    ``weight`` is |W_h| (scalar) or σ_max(W_h) = ‖W_h‖₂ (matrix), ``slope`` is
    f′(z) as the activation's rule writes it; ``regime`` is
    ``"vanishing"`` (value < 1), ``"exploding"`` (a constant f′ and a scalar
    state, value > 1: exact), ``"possibly exploding"`` (value > 1 otherwise)
    or ``"neutral"``.  It is already at the values given to :func:`bound`, so
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


def bound(cell_or_graph: Cell | Graph, values: Mapping) -> Bound:
    """The per-step bound of an Elman cell at the weights in ``values``.

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
        graph = unroll(cell_or_graph, 1)
    elif isinstance(cell_or_graph, Graph):
        graph = cell_or_graph
    else:
        raise InputTypeError("cell_or_graph", cell_or_graph, "an rnnsym Cell or Graph")
    cell = graph.cell
    if cell.name != "elman":
        raise InputError("cell", cell.name, "an Elman cell, h_t = f(W_h h_(t−1) + W_x x_t + b): use flow_table for other cells")
    activation = cell.options.get("activation")
    rule = ACTIVATIONS.get(activation)
    if rule is None or rule.max_derivative is None:
        raise InputError("activation", activation, "an activation whose rule gives max_derivative, the largest |f′| "
                         "(register it with rnnsym.register_activation(..., max_derivative=...))")
    W = graph.tensor("W_h")
    W = W.xreplace(leaf_values(graph, values, list(W)))
    matrix = W.shape != (1, 1)
    if matrix:
        eigen = list((W.T * W).eigenvals())
        weight = sympy.sqrt(max(eigen, key=lambda e: sympy.N(e, 30)))
    else:
        weight = abs(W[0, 0])
    weight = sympy.sqrtdenest(sympy.simplify(weight))
    fmax = rule.max_derivative
    value = sympy.simplify(weight * fmax)
    slope = _slope(rule)
    regime = _regime(value, not slope.free_symbols and not matrix)
    return Bound(value, weight, fmax, activation, matrix, regime, _explain(value, weight, rule, matrix, regime), slope)


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
    if regime == "exploding":
        return head + f" With a constant f′ every factor is exactly {scaled}: |∂h_T/∂h_t| = {power}, so the gradient explodes."
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
