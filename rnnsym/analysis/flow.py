r"""Gradient flow: ∂h_t/∂h_{t−k} as a product of one-step Jacobians.

Long-range dependencies are hard to learn because ∂h_T/∂h_t is a product of
T − t one-step Jacobians.  :func:`jacobian_chain` writes that product,
∂h_t/∂h_{t−k} = Π_j ∂h_j/∂h_{j−1}, each factor derived by
:func:`rnnsym.derivation.derive` (a matrix of component derivatives for a
vector state).  The per-step bound is :mod:`rnnsym.analysis.bound`, the
numbers for T − t = 0, 1, … are :mod:`rnnsym.analysis.table`.

What those share — the state a flow follows, the point it is evaluated at
and one step of it (:func:`~rnnsym.analysis.state.one_step`) — is
:mod:`rnnsym.analysis.state`, whose names this module also exports.

>>> from rnnsym.models import elman
>>> chain = jacobian_chain(elman(3, activation="tanh"), t=3, k=2)
>>> chain.product
W_h**2*(1 - h_2**2)*(1 - h_3**2)
>>> chain.latex(options=RenderOptions(times="cdot", partial="d"))
['\\frac{d h_{3}}{d h_{1}} = \\frac{d h_{3}}{d h_{2}} \\, \\frac{d h_{2}}{d h_{1}} = \\left(1 - h_{3}^{2}\\right) \\, W_{h} \\, \\left(1 - h_{2}^{2}\\right) \\, W_{h}']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import sympy
from sympy import Expr, S, Symbol

from ..cells import at_step
from ..derivation import Derivation, derive
from ..errors import InputError, InputTypeError
from ..forms import Juxt, Partial, Times, product
from ..graph import Graph
from ..notation import symbol
from ..printing import Display, Line, Printer, RenderOptions, format_value
from ..printing import markdown as _markdown
from ..printing import latex as _latex
from ..printing import lines as _lines
from .state import (check_digits, components, evaluation, filled, is_vector, leaf_values, one_step,  # noqa: F401
                    state_base)

__all__ = ["Factor", "JacobianChain", "jacobian_chain", "one_step", "state_base", "components", "is_vector", "filled",
           "leaf_values", "evaluation", "check_digits"]


def _options(options: object) -> RenderOptions:
    if options is None:
        return RenderOptions()
    if not isinstance(options, RenderOptions):
        raise InputTypeError("options", options, "a rnnsym.RenderOptions")
    return options


# --- the chain of one-step Jacobians -------------------------------------------------------------


@dataclass(frozen=True)
class Factor:
    """One factor ∂h_j/∂h_{j−1} of a chain.

    ``form`` is the written form (a sympy Matrix of forms for a vector
    state, entry [i, l] = ∂h_j[i]/∂h_{j−1}[l]), ``expr`` the plain sympy
    derivative, ``derivations`` the derivation of each entry (row-major).

    >>> from rnnsym.models import elman
    >>> factor = jacobian_chain(elman(2, activation="tanh"), t=2, k=1).factors[0]
    >>> factor.evaluate({"h_0": 0, "W_h": 2, "W_x": 1, "x": [0, 0]})
    2
    >>> print(factor.latex()[-1])
    \\frac{\\partial h_{2}}{\\partial h_{1}} = \\frac{\\partial h_{2}}{\\partial z_{2}} \\times \\frac{\\partial z_{2}}{\\partial h_{1}} = \\left(1 - h_{2}^{2}\\right) \\times W_{h}
    """

    step: int
    named: Partial
    form: object
    expr: object
    derivations: tuple[Derivation, ...]
    owner: Graph | None = field(default=None, repr=False)
    targets: tuple[Symbol, ...] = field(default=(), repr=False)

    @property
    def graph(self) -> Graph:
        return self.owner if self.owner is not None else self.derivations[0].graph

    def evaluate(self, values: Mapping, digits: int | None = None) -> object:
        """The factor at ``values``: a number, or a Matrix for a vector state;
        exact, or decimals of ``digits`` digits."""
        if not self.derivations:  # a state of several parts: the Jacobian of the step's own quantities
            point = evaluation(self.graph, values, list(self.targets), digits)
            return self.expr.xreplace({s: point.number(v) for s, v in point.env.items()})
        point = evaluation(self.graph, values, [d.of for d in self.derivations], digits)
        entries = [d.value_at(point) for d in self.derivations]
        if isinstance(self.form, sympy.MatrixBase):
            return sympy.Matrix(*self.form.shape, entries)
        return entries[0]

    def lines(self, values: Mapping | None = None, options: RenderOptions | None = None) -> list[Line]:
        """The derivation of each entry (numbers when ``values``)."""
        return _lines(self, values, options)

    def latex(self, values: Mapping | None = None, options: RenderOptions | None = None) -> list[str]:
        """The derivation of each entry as LaTeX relation chains, one string a line."""
        return _latex(self, values, options)

    def _rnnsym_lines(self, values: Mapping | None, options: RenderOptions) -> list[Line]:
        out: list[Line] = []
        if not self.derivations:
            printer = Printer(options)
            parts = [printer.doprint(self.named), printer.doprint(sympy.ImmutableMatrix(self.form))]
            if values is not None:
                parts.append(printer.doprint(self.evaluate(values)) if self.graph.rational else
                             r"\approx " + printer.doprint(self.evaluate(values, max(options.approx_digits, 1)).applyfunc(
                                 lambda v: sympy.Float(v, max(options.approx_digits, 1)) if v != 0 else S.Zero)))
            return [Line(tuple(parts))]
        for d in self.derivations:
            out += d.lines(None if values is None else filled(d.graph, values, [d.of]), options)
        return out

    def _repr_latex_(self) -> str:
        return Display(self)._repr_latex_()


def _flatten_product(form: Expr) -> list[Expr]:
    """The factors of a written product (one factor for anything else)."""
    if isinstance(form, (Times, Juxt)):
        return [f for a in form.args for f in _flatten_product(a)]
    return [form]


def _written(form: Expr) -> Expr:
    """A factor's form with a top-level product juxtaposed, as a chain of products is written."""
    return product(_flatten_product(form), Juxt) if isinstance(form, (Times, Juxt)) else form


@dataclass(frozen=True)
class JacobianChain:
    """∂h_t/∂h_{t−k} as the product of one-step Jacobians, latest step first.

    >>> from rnnsym.models import elman
    >>> chain = jacobian_chain(elman(4, activation="tanh"), t=4, k=3)
    >>> [str(f.named) for f in chain.factors]
    ['∂h_4/∂h_3', '∂h_3/∂h_2', '∂h_2/∂h_1']
    >>> chain.evaluate({"h_0": 0, "W_h": "0.5", "W_x": 1, "x": [0, 0, 0, 0]})
    1/8
    """

    graph: Graph
    t: int
    k: int
    base: str
    factors: tuple[Factor, ...]
    product: object = field(repr=False)
    bases: tuple[str, ...] = ()

    @property
    def vector(self) -> bool:
        """Whether the state is a vector (factors and product are matrices)."""
        return isinstance(self.product, sympy.MatrixBase)

    @property
    def lhs(self) -> Partial:
        """∂h_t/∂h_{t−k}, named; ∂(h_t, c_t)/∂(h_{t−k}, c_{t−k}) for a state of several parts."""
        return _named(self.bases or (self.base,), self.t, self.t - self.k)

    @property
    def named(self) -> Expr:
        """The product of named one-step partials."""
        return self.factors[0].named if self.k == 1 else Juxt(*[f.named for f in self.factors])

    @property
    def form(self) -> Expr:
        """The written product: every factor's form juxtaposed (its matrices, for a vector state)."""
        if self.vector:
            matrices = [sympy.ImmutableMatrix(f.form) for f in self.factors]
            return matrices[0] if self.k == 1 else Juxt(*matrices)
        return product([p for f in self.factors for p in _flatten_product(f.form)], Juxt)

    def evaluate(self, values: Mapping, digits: int | None = None) -> object:
        """The product at ``values`` (exercise-file names; leaves h_t does not need may
        be left out): exact, or decimals of ``digits`` digits."""
        top = [c for b in (self.bases or (self.base,)) for c in components(self.graph, b, self.t)]
        point = evaluation(self.graph, values, top, digits)
        return self.product.xreplace({s: point.number(v) for s, v in point.env.items()})

    def lines(self, values: Mapping | None = None, options: RenderOptions | None = None, *,
              compact: bool = False) -> list[Line]:
        """One line: ``∂h_t/∂h_{t−k} = named partials = written product [= compact] [= value]``.

        ``compact`` adds the product as sympy collects it (``W_{h}^{3}`` for
        the identity); ``values`` adds its value there.
        """
        options = _options(options)
        printer = Printer(options)
        parts = [printer.doprint(self.lhs)]
        if self.k > 1:
            parts.append(printer.doprint(self.named))
        parts.append(printer.doprint(self.form))
        if compact:
            text = printer.doprint(self.product)
            if text != parts[-1]:
                parts.append(text)
        if values is not None:
            parts.append(self._value_latex(values, options, printer))
        return [Line(tuple(parts))]

    def latex(self, values: Mapping | None = None, options: RenderOptions | None = None, *,
              compact: bool = False) -> list[str]:
        """:meth:`lines` as LaTeX, one string a line (no math delimiters).

        >>> from rnnsym.models import elman
        >>> jacobian_chain(elman(3), t=3, k=2).latex(compact=True)
        ['\\\\frac{\\\\partial h_{3}}{\\\\partial h_{1}} = \\\\frac{\\\\partial h_{3}}{\\\\partial h_{2}} \\\\, \\\\frac{\\\\partial h_{2}}{\\\\partial h_{1}} = W_{h} \\\\, W_{h} = W_{h}^{2}']
        """
        return [str(line) for line in self.lines(values, options, compact=compact)]

    def _rnnsym_lines(self, values: Mapping | None, options: RenderOptions) -> list[Line]:
        return self.lines(values, options)

    def _repr_latex_(self) -> str:
        return "$\\displaystyle " + self.latex(compact=True)[0] + "$"

    def _repr_markdown_(self) -> str:
        return _markdown(self)

    def show(self, values: Mapping | None = None, options: RenderOptions | None = None) -> Display:
        """The chain written at ``values`` (its value last) for display: a notebook shows
        it as math, ``print`` as text (:class:`~rnnsym.printing.Display`).

        >>> from rnnsym.models import elman
        >>> print(jacobian_chain(elman(3), t=3, k=2).show({"h_0": 1, "W_h": 2, "W_x": 1, "x": [0, 0, 0]}))
        ∂h₃/∂h₁ = ∂h₃/∂h₂ ∂h₂/∂h₁ = W_h W_h = 4
        """
        return Display(self, values, options)

    def _value_latex(self, values: Mapping, options: RenderOptions, printer: Printer) -> str:
        shown = max(options.approx_digits, 1)
        if not self.vector:
            return format_value(self.evaluate(values), options, self.evaluate(values, digits=shown + 15))
        exact = self.evaluate(values)
        if all(isinstance(v, sympy.Rational) for v in exact):
            return printer.doprint(exact)
        approx = self.evaluate(values, digits=shown + 15).applyfunc(
            lambda v: S.Zero if v == 0 else sympy.Float(v, shown))
        return r"\approx " + printer.doprint(approx)


def _named(bases: Sequence[str], t: int, s: int) -> Partial:
    """∂h_t/∂h_s, or ∂(h_t, c_t)/∂(h_s, c_s) for several bases."""
    if len(bases) == 1:
        return Partial(symbol(at_step(bases[0], t)), symbol(at_step(bases[0], s)))
    return Partial(sympy.Tuple(*[symbol(at_step(b, t)) for b in bases]),
                   sympy.Tuple(*[symbol(at_step(b, s)) for b in bases]))


def jacobian_chain(graph: Graph, t: int, k: int) -> JacobianChain:
    """∂h_t/∂h_{t−k} = Π_{j=t−k+1}^{t} ∂h_j/∂h_{j−1}, each factor derived by rnnsym.

    For a scalar state each factor is ``derive(graph, f"h_{j}", f"h_{j-1}")``;
    for a vector state (components ``h_2[1]``) it is the Jacobian matrix of
    the component derivatives, and the product is the matrix product
    J_t J_{t−1} ⋯ J_{t−k+1}.  A cell carrying a second state (the LSTM's c)
    follows the whole state s_t = (h_t, c_t): each factor is the block matrix
    ∂(h_j, c_j)/∂(h_{j−1}, c_{j−1}) of derivatives through step j's own
    quantities (:func:`one_step`: h_{j−1} and c_{j−1} are independent there),
    and the product is ∂(h_t, c_t)/∂(h_{t−k}, c_{t−k}); its c-to-c entry is the
    carousel f_t ⋯ f_{t−k+1} plus the paths through h.

    >>> from rnnsym.models import lstm
    >>> chain = jacobian_chain(lstm(3), t=3, k=2)
    >>> str(chain.lhs), chain.product.shape
    ('∂(h_3, c_3)/∂(h_1, c_1)', (2, 2))

    >>> from rnnsym.models import elman
    >>> print(jacobian_chain(elman(3), t=3, k=2).latex(compact=True)[0])
    \\frac{\\partial h_{3}}{\\partial h_{1}} = \\frac{\\partial h_{3}}{\\partial h_{2}} \\, \\frac{\\partial h_{2}}{\\partial h_{1}} = W_{h} \\, W_{h} = W_{h}^{2}
    """
    if not isinstance(graph, Graph):
        raise InputTypeError("graph", graph, "an unrolled rnnsym Graph")
    bases = tuple(graph.cell.state)
    base = bases[0]
    for name, value in (("t", t), ("k", k)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= graph.steps:
            raise InputError(name, value, f"an integer from 1 to {graph.steps} (the graph's steps)")
    if k > t:
        raise InputError("k", k, f"at most t = {t} (h_0 is the first state)")
    if len(bases) > 1:
        return _multi_chain(graph, t, k, bases)
    vector = is_vector(graph, base)
    factors = []
    for j in range(t, t - k, -1):
        named = Partial(symbol(at_step(base, j)), symbol(at_step(base, j - 1)))
        if not vector:
            d = derive(graph, of=at_step(base, j), wrt=at_step(base, j - 1))
            factors.append(Factor(j, named, _written(d.steps[-1].forms[-1]), d.expr, (d,)))
            continue
        rows, cols = components(graph, base, j), components(graph, base, j - 1)
        ds = [derive(graph, of=str(r), wrt=str(c)) for r in rows for c in cols]
        n, m = len(rows), len(cols)
        forms = sympy.Matrix(n, m, [_written(d.steps[-1].forms[-1]) for d in ds])
        exprs = sympy.Matrix(n, m, [d.expr for d in ds])
        factors.append(Factor(j, named, forms, exprs, tuple(ds)))
    if vector:
        total = factors[0].expr
        for f in factors[1:]:
            total = total * f.expr
    else:
        total = sympy.Mul(*[f.expr for f in factors])
    return JacobianChain(graph, t, k, base, tuple(factors), total)


def _multi_chain(graph: Graph, t: int, k: int, bases: tuple[str, ...]) -> JacobianChain:
    """The chain of a state of several parts: block Jacobians of (h_j, c_j) in (h_{j−1}, c_{j−1})."""
    factors = []
    for j in range(t, t - k, -1):
        rows = [c for b in bases for c in components(graph, b, j)]
        cols = [c for b in bases for c in components(graph, b, j - 1)]
        pairs = [one_step(graph, r, c, j) for r in rows for c in cols]
        forms = sympy.Matrix(len(rows), len(cols), [_written(f) for f, _ in pairs])
        exprs = sympy.Matrix(len(rows), len(cols), [e for _, e in pairs])
        factors.append(Factor(j, _named(bases, j, j - 1), forms, exprs, (), graph, tuple(rows)))
    total_ = factors[0].expr
    for f in factors[1:]:
        total_ = total_ * f.expr
    return JacobianChain(graph, t, k, bases[0], tuple(factors), total_, bases)
