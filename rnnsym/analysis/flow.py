"""Gradient flow: how ∂h_t/∂h_{t−k} behaves as k grows.

Long-range dependencies are hard to learn because ∂h_T/∂h_t is a product of
T − t one-step Jacobians.  This module shows it three ways:

- :func:`jacobian_chain` writes ∂h_t/∂h_{t−k} = Π_j ∂h_j/∂h_{j−1}, each factor
  derived by :func:`rnnsym.derivation.derive` (a matrix of component derivatives
  for a vector state);
- :func:`bound` gives the per-step bound |∂h_t/∂h_{t−1}| ≤ |W_h|·max|f′| of an
  Elman cell (σ_max(W_h)·max|f′| for a matrix W_h), so that
  |∂h_T/∂h_t| ≤ bound^(T−t);
- :func:`flow_table` computes |∂h_T/∂h_t| for T − t = 0, 1, … for several
  configurations, :func:`figure` plots log10 of it with LaTeX's own
  ``picture`` environment and :func:`table_latex` prints the numbers.

>>> from rnnsym.graph import elman
>>> chain = jacobian_chain(elman(3, activation="tanh"), t=3, k=2)
>>> chain.product
W_h**2*(1 - h_2**2)*(1 - h_3**2)
>>> b = bound(elman(1, activation="tanh"), {"W_h": "0.5"})
>>> b.value, b.regime
(1/2, 'vanishing')
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import mpmath
import sympy
from sympy import Expr, Rational, S, Symbol

from ..cells import Cell, at_step
from ..derivation import Derivation, derive
from ..evaluation import Evaluation, bind
from ..errors import InputError, InputTypeError
from ..graph import Graph, elman, gru, unroll
from ..forms import Juxt, Partial, Times, product
from ..printing import Printer, RenderOptions, format_value, join_parts

__all__ = [
    "Factor",
    "JacobianChain",
    "jacobian_chain",
    "Bound",
    "bound",
    "MAX_DERIVATIVE",
    "NORMS",
    "FlowSeries",
    "FlowTable",
    "flow_table",
    "demo_configs",
]

#: max over z of |f′(z)| for each activation (tanh′(0) = 1, σ′(0) = 1/4, relu′ ∈ {0, 1}).
MAX_DERIVATIVE: dict[str, Rational] = {
    "identity": S.One,
    "tanh": S.One,
    "sigmoid": Rational(1, 4),
    "relu": S.One,
}

#: Matrix norms for vector states: the spectral norm (largest singular value,
#: the one the bound uses) or the Frobenius norm.
NORMS = ("spectral", "frobenius")

_DERIVATIVE_NOTE = {
    "identity": "the identity has f′ = 1",
    "tanh": "tanh′(z) = 1 − tanh(z)² ≤ 1, with equality only at z = 0",
    "sigmoid": "σ′(z) = σ(z)(1 − σ(z)) ≤ 1/4, with equality only at z = 0",
    "relu": "relu′(z) is 1 for z > 0 and 0 otherwise",
}


# --- values --------------------------------------------------------------------------------------


def _needed(graph: Graph, targets: Sequence[Symbol]) -> set[Symbol]:
    """The leaves the quantities ``targets`` depend on (leaf targets included)."""
    out = {s for s in targets if graph.is_leaf(s)}
    for target in targets:
        if graph.is_leaf(target):
            continue
        for q in graph.upstream(target):
            out.update(d for d in graph.assignment(q).dependencies if graph.is_leaf(d))
    return out


def _filled(graph: Graph, values: Mapping, targets: Sequence[Symbol]) -> dict:
    """``values`` with 0 for every leaf ``targets`` do not depend on and that is not given
    (W_y, b_y, y_t: the flow of h does not need them)."""
    if not isinstance(values, Mapping):
        raise InputTypeError("values", values, "a table of names and numbers")
    covered: set[Symbol] = set()
    leaves = {str(s): s for s in graph.leaves}
    for key in values:
        name = str(key).replace(" ", "")
        if name in leaves:
            covered.add(leaves[name])
        covered.update(graph.tensors.get(name, {}).values())
    needed = _needed(graph, targets)
    out = dict(values)
    for name, leaf in leaves.items():
        if leaf not in covered and leaf not in needed:
            out[name] = 0
    return out


def _leaf_values(graph: Graph, values: Mapping, targets: Sequence[Symbol]) -> dict[Symbol, Expr]:
    return {s: n.exact for s, n in bind(graph, _filled(graph, values, targets)).items()}


def _evaluation(graph: Graph, values: Mapping, targets: Sequence[Symbol], precision: int | None) -> Evaluation:
    return Evaluation(graph, _leaf_values(graph, values, targets), precision)


def _check_precision(precision: object) -> int | None:
    if precision is None:
        return None
    if isinstance(precision, bool) or not isinstance(precision, int) or not 15 <= precision <= 1000:
        raise InputError("precision", precision, "None (exact) or a number of digits from 15 to 1000")
    return precision


def _state_base(graph: Graph) -> str:
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


def _components(graph: Graph, base: str, t: int) -> list[Symbol]:
    return [graph.symbol(at_step(c, t)) for c in graph.cell.components(base)]


def _is_vector(graph: Graph, base: str) -> bool:
    return graph.cell.components(base) != [base]


# --- the chain of one-step Jacobians -------------------------------------------------------------


@dataclass(frozen=True)
class Factor:
    """One factor ∂h_j/∂h_{j−1} of a chain.

    ``form`` is the written form (a sympy Matrix of forms for a vector
    state, entry [i, l] = ∂h_j[i]/∂h_{j−1}[l]), ``expr`` the plain sympy
    derivative, ``derivations`` the derivation of each entry (row-major).
    """

    step: int
    named: Partial
    form: object
    expr: object
    derivations: tuple[Derivation, ...]

    def lines(self, values: Mapping | None = None, options: RenderOptions | None = None) -> list[str]:
        """The derivation of each entry as LaTeX relation chains (numbers when ``values``)."""
        out: list[str] = []
        for d in self.derivations:
            filled = None if values is None else _filled(d.graph, values, [d.of])
            out += d.latex(filled, options)
        return out


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

    >>> from rnnsym.graph import elman
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

    @property
    def vector(self) -> bool:
        """Whether the state is a vector (factors and product are matrices)."""
        return isinstance(self.product, sympy.MatrixBase)

    @property
    def lhs(self) -> Partial:
        return Partial(sympy.Symbol(f"{self.base}_{self.t}", real=True), sympy.Symbol(f"{self.base}_{self.t - self.k}", real=True))

    @property
    def named(self) -> Expr:
        """The product of named one-step partials."""
        return self.factors[0].named if self.k == 1 else Juxt(*[f.named for f in self.factors])

    @property
    def form(self) -> Expr:
        """The written product (scalar state): every factor's form, juxtaposed."""
        if self.vector:
            raise InputError("chain.form", "vector state", "a scalar state: use .factors[i].form, one matrix per step")
        return product([p for f in self.factors for p in _flatten_product(f.form)], Juxt)

    def latex(self, values: Mapping | None = None, options: RenderOptions | None = None, compact: bool = False) -> str:
        """``∂h_t/∂h_{t−k} = named partials = written product [= compact] [= value]``.

        ``compact`` adds the product as sympy collects it (``W_{h}^{3}`` for
        the identity); ``values`` adds its value there.
        """
        options = options or RenderOptions()
        printer = Printer(options)
        parts = [printer.doprint(self.lhs)]
        if self.k > 1:
            parts.append(printer.doprint(self.named))
        if self.vector:
            parts.append(" ".join(printer.doprint(sympy.ImmutableMatrix(f.form)) for f in self.factors))
        else:
            parts.append(printer.doprint(self.form))
        if compact:
            text = printer.doprint(self.product)
            if text != parts[-1]:
                parts.append(text)
        if values is not None:
            parts.append(self._value_latex(values, options, printer))
        return join_parts(parts)

    def _value_latex(self, values: Mapping, options: RenderOptions, printer: Printer) -> str:
        if not self.vector:
            digits = max(options.approx_digits, 1) + 15
            return format_value(self.evaluate(values), options, self.evaluate(values, precision=max(digits, 15)))
        exact = self.evaluate(values)
        if all(isinstance(v, sympy.Rational) for v in exact):
            return printer.doprint(exact)
        approx = self.evaluate(values, precision=30).applyfunc(
            lambda v: S.Zero if v == 0 else sympy.Float(v, max(options.approx_digits, 1)))
        return r"\approx " + printer.doprint(approx)

    def evaluate(self, values: Mapping, precision: int | None = None) -> object:
        """The product at ``values`` (exercise-file names; leaves h_t does not need may
        be left out): exact, or a ``precision``-digit Float."""
        precision = _check_precision(precision)
        top = _components(self.graph, self.base, self.t)
        evaluation = _evaluation(self.graph, values, top, precision)
        env = {s: evaluation.number(v) for s, v in evaluation.env.items()}
        return self.product.xreplace(env)


def jacobian_chain(graph: Graph, t: int, k: int) -> JacobianChain:
    """∂h_t/∂h_{t−k} = Π_{j=t−k+1}^{t} ∂h_j/∂h_{j−1}, each factor derived by rnnsym.

    For a scalar state each factor is ``derive(graph, f"h_{j}", f"h_{j-1}")``;
    for a vector state (components ``h_2[1]``) it is the Jacobian matrix of
    the component derivatives, and the product is the matrix product
    J_t J_{t−1} ⋯ J_{t−k+1}.  Cells carrying a second state (the LSTM's c)
    are refused: their h-to-h factors do not multiply to ∂h_t/∂h_{t−k}.

    >>> from rnnsym.graph import elman
    >>> print(jacobian_chain(elman(3), t=3, k=2).latex(compact=True))
    \\frac{\\partial h_{3}}{\\partial h_{1}} = \\frac{\\partial h_{3}}{\\partial h_{2}} \\, \\frac{\\partial h_{2}}{\\partial h_{1}} = W_{h} \\, W_{h} = W_{h}^{2}
    """
    if not isinstance(graph, Graph):
        raise InputTypeError("graph", graph, "an unrolled rnnsym Graph")
    base = _state_base(graph)
    for name, value, low in (("t", t, 1), ("k", k, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= graph.steps:
            raise InputError(name, value, f"an integer from {low} to {graph.steps} (the graph's steps)")
    if k > t:
        raise InputError("k", k, f"at most t = {t} (h_0 is the first state)")
    vector = _is_vector(graph, base)
    factors = []
    for j in range(t, t - k, -1):
        named = Partial(sympy.Symbol(f"{base}_{j}", real=True), sympy.Symbol(f"{base}_{j - 1}", real=True))
        if not vector:
            d = derive(graph, of=at_step(base, j), wrt=at_step(base, j - 1))
            factors.append(Factor(j, named, _written(d.steps[-1].forms[-1]), d.expr, (d,)))
            continue
        rows, cols = _components(graph, base, j), _components(graph, base, j - 1)
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


# --- the per-step bound --------------------------------------------------------------------------


@dataclass(frozen=True)
class Bound:
    """The per-step bound of an Elman cell: |∂h_t/∂h_{t−1}| ≤ ``value`` = ``weight``·``max_derivative``.

    ``weight`` is |W_h| (scalar) or σ_max(W_h) (matrix); ``regime`` is
    ``"vanishing"`` (value < 1), ``"exploding"`` (identity, scalar, value > 1:
    exact), ``"possibly exploding"`` (value > 1 otherwise) or ``"neutral"``.
    """

    value: Expr
    weight: Expr
    max_derivative: Expr
    activation: str
    matrix: bool
    regime: str
    explanation: str

    def at(self, steps: int) -> Expr:
        """The bound on |∂h_T/∂h_t| for T − t = ``steps``: value^steps."""
        return self.value**steps

    def latex(self, options: RenderOptions | None = None) -> str:
        """The bound as one LaTeX relation."""
        options = options or RenderOptions()
        printer = Printer(options)
        norm = (r"\left\lVert", r"\right\rVert") if self.matrix else (r"\left|", r"\right|")
        weight = r"\sigma_{\max}\left(W_{h}\right)" if self.matrix else r"\left|W_{h}\right|"
        d = r"\partial" if options.partial == "partial" else "d"
        times = r"\times" if options.times == "times" else r"\cdot"
        return (
            rf"{norm[0]}\frac{{{d} h_{{t}}}}{{{d} h_{{t-1}}}}{norm[1]} \le {weight} \max_{{z}} \left|f'(z)\right| = "
            rf"{printer.doprint(self.weight)} {times} {printer.doprint(self.max_derivative)} = {printer.doprint(self.value)}"
        )


def _show(value: Expr) -> str:
    if isinstance(value, sympy.Rational):
        return str(value)
    return f"({sympy.sstr(value)} ≈ {sympy.N(value, 4)})"


def bound(cell_or_graph: Cell | Graph, values: Mapping) -> Bound:
    """The per-step bound of an Elman cell at the weights in ``values``.

    ∂h_t/∂h_{t−1} = f′(z_t) W_h (diag(f′(z_t)) W_h for a vector state), so
    |∂h_t/∂h_{t−1}| ≤ |W_h|·max|f′|, with the spectral norm and σ_max(W_h)
    for a matrix, and |∂h_T/∂h_t| ≤ bound^(T−t).  Only W_h needs a value.

    >>> from rnnsym.graph import elman
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
    activation = cell.options.get("activation")
    if cell.name != "elman" or activation not in MAX_DERIVATIVE:
        raise InputError("cell", cell.name, "an Elman cell, h_t = f(W_h h_(t−1) + W_x x_t + b): use flow_table for other cells")
    W = graph.tensor("W_h")
    env = _leaf_values(graph, values, list(W))
    W = W.xreplace(env)
    matrix = W.shape != (1, 1)
    if matrix:
        eigen = list((W.T * W).eigenvals())
        weight = sympy.sqrt(max(eigen, key=lambda e: sympy.N(e, 30)))
    else:
        weight = abs(W[0, 0])
    weight = sympy.sqrtdenest(sympy.simplify(weight))
    fmax = MAX_DERIVATIVE[activation]
    value = sympy.simplify(weight * fmax)
    regime = _regime(value, activation, matrix)
    return Bound(value, weight, fmax, activation, matrix, regime, _explain(value, weight, fmax, activation, matrix, regime))


def _regime(value: Expr, activation: str, matrix: bool) -> str:
    if value < 1:
        return "vanishing"
    if value == 1:
        return "neutral"
    return "exploding" if activation == "identity" and not matrix else "possibly exploding"


def _explain(value, weight, fmax, activation, matrix, regime) -> str:
    product_ = f"{_show(fmax)} · {_show(weight)}" + (f" = {_show(value)}" if fmax != 1 else "")
    if matrix:
        head = (f"∂h_t/∂h_(t−1) = diag(f′(z_t)) W_h, so in the spectral norm ‖∂h_t/∂h_(t−1)‖ ≤ max|f′| σ_max(W_h)"
                f" = {product_} ({_DERIVATIVE_NOTE[activation]}).")
    else:
        head = f"∂h_t/∂h_(t−1) = f′(z_t) W_h, so |∂h_t/∂h_(t−1)| ≤ max|f′| |W_h| = {product_} ({_DERIVATIVE_NOTE[activation]})."
    power = f"({_show(value)})^(T−t)" if isinstance(value, sympy.Rational) else "bound^(T−t)"
    if regime == "vanishing":
        return head + f" Below 1: |∂h_T/∂h_t| ≤ {power}, so the gradient vanishes exponentially in T − t."
    if regime == "neutral":
        return head + " Equal to 1: the bound rules out exponential growth but not slow decay; it does not vanish exponentially by this bound."
    if regime == "exploding":
        return head + f" For the identity every factor is exactly W_h: |∂h_T/∂h_t| = {power}, so the gradient explodes."
    tail = f" Above 1: the bound allows |∂h_T/∂h_t| to grow like {power}, so the gradient may explode. It is only an upper bound"
    if activation in ("tanh", "sigmoid"):
        return head + tail + (
            ": each factor carries f′(z_t), which is largest at z_t = 0, so the gradient explodes only while the"
            " pre-activations z_t stay near 0 (small states and inputs); once the state saturates the factors f′(z_t)"
            " shrink it again (tanh bounds the values, not the gradients)."
        )
    if activation == "relu":
        return head + tail + ": relu′ is 0 or 1, so it explodes while the pre-activations stay positive."
    return head + tail + ": for a matrix it grows when an eigenvalue of W_h exceeds 1 in modulus."


# --- the flow table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlowSeries:
    """|∂h_T/∂h_t| of one configuration for T − t = 0, 1, …; ``norm`` names the
    matrix norm for a vector state (None for a scalar), ``bound`` the per-step
    bound of an Elman cell (None otherwise)."""

    label: str
    values: tuple[Expr, ...]
    norm: str | None = None
    bound: Bound | None = None

    def log10(self) -> list[float]:
        """log10 of each value (−inf for 0)."""
        out = []
        for v in self.values:
            v = sympy.N(v, 30)
            out.append(-math.inf if v == 0 else float(sympy.N(sympy.log(v) / sympy.log(10), 15)))
        return out


@dataclass(frozen=True)
class FlowTable:
    """The series of :func:`flow_table`: row ``d`` holds |∂h_T/∂h_{T−d}| of each series."""

    series: tuple[FlowSeries, ...]
    steps: int
    precision: int | None

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


def _plain(value: Expr, digits: int = 4) -> str:
    v = sympy.N(value, 30)
    if v == 0:
        return "0"
    return mpmath.nstr(mpmath.mpf(str(v)), digits, min_fixed=-3, max_fixed=5)


def _norm(matrix: sympy.Matrix, norm: str, precision: int | None) -> Expr:
    if norm == "frobenius":
        return sympy.sqrt(sum(e**2 for e in matrix))
    if precision is None:
        eigen = list((matrix.T * matrix).eigenvals())
        return sympy.sqrt(max(eigen, key=lambda e: sympy.N(e, 30)))
    with mpmath.workdps(precision):
        values = mpmath.svd_r(mpmath.matrix([[mpmath.mpf(str(e)) for e in row] for row in matrix.tolist()]), compute_uv=False)
        return sympy.Float(str(max(values)), precision)


def _series(label: str, graph: Graph, values: Mapping, steps: int, precision: int | None, norm: str) -> FlowSeries:
    base = graph.cell.state[0]
    T = graph.steps
    top = _components(graph, base, T)
    evaluator = _evaluation(graph, values, top, precision)
    out = []
    for d in range(steps):
        sources = _components(graph, base, T - d)
        J = sympy.Matrix(len(top), len(sources),
                         lambda i, l: evaluator.number(evaluator.tangents(sources[l]).get(top[i], S.Zero)))
        value = abs(J[0, 0]) if J.shape == (1, 1) else _norm(J, norm, precision)
        out.append(sympy.N(value, precision) if precision is not None else value)
    vector = _is_vector(graph, base)
    try:
        per_step = bound(graph, values) if graph.cell.name == "elman" else None
    except InputError:
        per_step = None
    return FlowSeries(label, tuple(out), norm if vector else None, per_step)


def flow_table(
    configs: Sequence[tuple[str, Graph, Mapping]], steps: int = 12, precision: int | None = 30, norm: str = "spectral"
) -> FlowTable:
    """|∂h_T/∂h_t| for T − t = 0 … ``steps`` − 1 (T = each graph's steps) per config.

    Each config is ``(label, graph, values)``: ``label`` is LaTeX text (legend and
    table header), ``values`` exercise-file names (leaves h_T does not depend on,
    such as W_y and y_t, may be left out).  Values are computed one assignment
    at a time from ``precision``-digit Floats (``None``: exact, slow for long
    non-linear sequences); derivatives by forward accumulation of local
    partials, h_t free (every path, so also for the GRU and LSTM).  A vector
    state gives the ``norm`` of the Jacobian matrix: ``"spectral"`` (largest
    singular value) or ``"frobenius"``.

    >>> from rnnsym.graph import elman
    >>> table = flow_table([("id", elman(3), {"h_0": 1, "W_h": 2, "W_x": 1, "x": [0, 0, 0]})], steps=4, precision=None)
    >>> [row[1] for row in table.rows()]
    [1, 2, 4, 8]
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise InputError("steps", steps, "an integer >= 1")
    precision = _check_precision(precision)
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
        series.append(_series(label, graph, values, steps, precision, norm))
    return FlowTable(tuple(series), steps, precision)


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
