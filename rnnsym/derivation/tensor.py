"""Derivatives of and with respect to whole vectors and matrices.

A vector state is a list of scalar components (``h_2[1]``, ``h_2[2]``) and a
weight matrix a table of named entries (``W_h[1,2]`` multiplies h_{t−1}[2]
into h_t[1]).  :class:`TensorDerivation` collects the component derivatives:
the gradient of a scalar with respect to a matrix has the matrix's shape
(∂L/∂W[i,j] at row i, column j); vectors are columns; the derivative of a
vector with respect to a vector is the Jacobian, row i for the i-th output.

For the Elman cell it also writes the matrix form of backpropagation through
time (Goodfellow, Bengio & Courville, *Deep Learning*, §10.2.2):

∇_{h_t}L = W_yᵀ ∇_{ŷ_t}L + W_hᵀ diag(f′(z_{t+1})) ∇_{h_{t+1}}L,
∇_{W_h}L = Σ_t diag(f′(z_t)) ∇_{h_t}L h_{t−1}ᵀ.

>>> import rnnsym
>>> g = rnnsym.elman(2, hidden=2)
>>> d = rnnsym.derive(g, "L", "W_h")
>>> d
TensorDerivation(dL/dW_h, shape=(2, 2))
>>> values = {"h_0": [1, 0], "x": [1, 2], "y": [0, 1], "W_h": [[1, 0], [0, 1]],
...           "W_x": [[1], [0]], "W_y": [[1, 1]]}
>>> d.evaluate(values)
Matrix([
[22, 0],
[22, 0]])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import sympy
from sympy import Expr, Matrix, Symbol

from ..cells import prev
from ..errors import InputError
from ..forms import Diag, Gradient, Hadamard, Juxt, MatrixProduct, Partial, Transposed, plain, substitute, total
from ..notation import symbol
from ..partials import partial_form
from ..rules import ACTIVATIONS, LOSSES
from ..evaluation import Evaluation
from ..numbers import format_exact
from ..printing import Line, Printer, RenderOptions, decimal
from .core import Derivation
from .scalar import derive_scalar

__all__ = ["TensorDerivation", "MatrixStep"]


@dataclass(frozen=True)
class MatrixStep:
    """One line of the matrix form: ``lhs = formula = numbers``.

    ``value(adjoints, env)`` gives the matrix from the component derivatives;
    ``formula(adjoints, env)`` recomputes it from the formula's own right-hand
    side (matrix products of values), so that tests can check one against the other.
    """

    lhs: str
    formula_latex: str
    value: Callable[[Mapping, Mapping], Matrix]
    formula: Callable[[Mapping, Mapping], Matrix]


class TensorDerivation(Derivation):
    """The derivative of ``of`` with respect to ``wrt`` where either names a vector or matrix."""

    def __init__(self, graph, of: str, wrt: str, split: str = "loss") -> None:
        self.graph = graph
        self.of_name, self.wrt_name, self.split = of, wrt, split
        self.of = _lookup(graph, of, "of")
        self.wrt = _lookup(graph, wrt, "wrt")
        if self.of.cols > 1 or (self.of.rows > 1 and self.wrt.cols > 1):
            raise InputError("of", of, "a scalar or a vector quantity (a matrix only as wrt of a scalar)")
        self._entries: dict[tuple[int, int], object] = {}

    @property
    def shape(self) -> tuple[int, int]:
        if self.of.rows == 1:
            return self.wrt.shape
        return (self.of.rows, self.wrt.rows if self.wrt.cols == 1 else 1)

    def pair(self, i: int, j: int = 1) -> tuple[Symbol, Symbol]:
        """The scalar (of, wrt) whose derivative sits at 1-based row ``i``, column ``j``.

        >>> import rnnsym
        >>> rnnsym.derive(rnnsym.elman(2, hidden=2), "L", "W_h").pair(1, 2)
        (L, W_h[1,2])
        """
        return self._pair(i - 1, j - 1)

    def _pair(self, i: int, j: int) -> tuple[Symbol, Symbol]:
        if self.of.rows == 1:
            return self.of[0, 0], self.wrt[i, j]
        return self.of[i, 0], self.wrt[j, 0] if self.wrt.cols == 1 else self.wrt[0, 0]

    def __repr__(self) -> str:
        return f"TensorDerivation(d{self.of_name}/d{self.wrt_name}, shape={self.shape})"

    def entry(self, i: int, j: int = 1):
        """The component derivation at 1-based row ``i``, column ``j``."""
        key = (i - 1, j - 1)
        if key not in self._entries:
            of, wrt = self._pair(*key)
            self._entries[key] = derive_scalar(self.graph, str(of), str(wrt), split=self.split)
        return self._entries[key]

    @property
    def expr(self) -> Matrix:
        """The compact derivatives in the graph's symbols, as a matrix."""
        rows, cols = self.shape
        return Matrix(rows, cols, lambda i, j: self.entry(i + 1, j + 1).expr)

    def expanded(self) -> Matrix:
        """The derivatives in leaves only."""
        return self.expr.applyfunc(self.graph.expand)

    def value_at(self, evaluation: Evaluation) -> Matrix:
        """The matrix at a point already evaluated."""
        return self.evaluate_with(evaluation)

    def evaluate_with(self, evaluator: Evaluation) -> Matrix:
        """The matrix from an :class:`~rnnsym.evaluation.Evaluation`'s reverse passes."""
        rows, cols = self.shape

        def entry(i: int, j: int) -> Expr:
            of, wrt = self._pair(i, j)
            return evaluator.derivative(of, wrt)

        return Matrix(rows, cols, entry)

    def matrix_steps(self, options: RenderOptions | None = None) -> list[MatrixStep]:
        """The matrix-form lines (Elman cells with the loss as ``of``), else ``[]``."""
        return _elman_steps(self, options or RenderOptions()) if _has_matrix_form(self) else []

    def _rnnsym_lines(self, values: Mapping | None, options: RenderOptions) -> list[Line]:
        """Matrix-form lines when available, then the result as a matrix."""
        printer = Printer(options)
        lhs = printer.doprint(Partial(symbol(self.of_name), symbol(self.wrt_name)))
        if values is None:
            return [Line((s.lhs, s.formula_latex)) for s in self.matrix_steps(options)] or [
                Line((lhs, _bmatrix(self.expr, printer.doprint)))
            ]
        exact = self.evaluation(values)
        approx = exact.decimal(max(options.approx_digits, 3))
        env, approx_env = exact.env, {s: approx.number(v) for s, v in approx.env.items()}
        out = []
        for step in self.matrix_steps(options):
            value = step.value(exact, env)
            out.append(Line((step.lhs, step.formula_latex, _numbers(value, step.value(approx, approx_env), options))))
        out.append(Line((lhs, _numbers(self.evaluate_with(exact), self.evaluate_with(approx), options))))
        return out

    def _quantities(self) -> set:
        return {q for s in self.of if not self.graph.is_leaf(s) for q in self.graph.upstream(s)}


def _lookup(graph, name: str, field: str) -> Matrix:
    try:
        return Matrix([[graph.symbol(name, field)]])
    except InputError:
        return graph.tensor(name, field)


def _bmatrix(entries: Matrix, text: Callable[[Expr], str]) -> str:
    rows = [" & ".join(text(entries[i, j]) for j in range(entries.cols)) for i in range(entries.rows)]
    return r"\begin{bmatrix} " + r" \\ ".join(rows) + r" \end{bmatrix}"


def _numbers(value: Matrix, approx: Matrix, options: RenderOptions) -> str:
    if all(isinstance(v, sympy.Rational) for v in value):
        return _bmatrix(value, lambda v: format_exact(v, options.max_decimals))
    return r"\approx " + _bmatrix(approx, lambda v: decimal(v, max(options.approx_digits, 3)))


# --- the matrix form of BPTT for the Elman cell ------------------------------------------------------


def _has_matrix_form(d: TensorDerivation) -> bool:
    g = d.graph
    opts = g.cell.options
    return (
        g.cell.name == "elman"
        and d.of_name == "L"
        and opts.get("output_activation", "identity") == "identity"
        and (opts.get("hidden", 1) > 1 or opts.get("input", 1) > 1 or opts.get("output", 1) > 1)
        and _base(d.wrt_name) in ("W_h", "W_x", "W_y", "b_h", "b_y", "h_0", "x")
    )


def _base(name: str) -> str:
    head, _, sub = name.partition("_")
    return name if head in ("W", "b") or name == "h_0" else head


def _vec(g, base: str, t: int, size: int) -> list[Symbol]:
    name = f"{base}_{t}"
    return [g.symbol(name)] if size == 1 and name in g.names else [g.symbol(f"{name}[{i}]") for i in range(1, size + 1)]


def _mat(g, name: str) -> Matrix:
    return g.tensor(name)


def _elman_steps(d: TensorDerivation, options: RenderOptions) -> list[MatrixStep]:
    g = d.graph
    o = g.cell.options
    n, k, T = o["hidden"], o["output"], g.steps
    loss = LOSSES[o["loss"]]
    rule = ACTIVATIONS[o["activation"]]
    print_ = Printer(options).doprint
    out_base = "o" if loss.output in ("softmax", "sigmoid") else "yhat"
    L = symbol("L")
    weight = g.assignment(g.loss).weight

    def at(base: str, t: object) -> Symbol:
        return symbol(f"{base}_{t}")

    def column(values) -> Matrix:
        return Matrix(len(values), 1, values)

    def grad(base: str, t: int, size: int) -> Callable:
        syms = _vec(g, base, t, size)
        return lambda ev, env: column([ev.number(ev.adjoints(g.loss).get(s, 0)) for s in syms])

    def vec_value(base: str, t: int, size: int) -> Callable:
        syms = _vec(g, base, t, size)
        return lambda ev, env: column([env[s] for s in syms])

    # f′(z_t), written with the rule's own derivative in z_t and h_t, entry-wise for vectors
    slope = rule.derivative(at("z", "t"), at("h", "t"))
    slope = Hadamard(*slope.args) if isinstance(slope, Juxt) else slope

    def fprime_form(t: object) -> Expr | None:
        if slope == 1:
            return None
        return Diag(substitute(slope, {at("z", "t"): at("z", t), at("h", "t"): at("h", t)}))

    def fprime(t: int) -> Callable:
        if slope == 1:
            return lambda ev, env: sympy.eye(n)
        value = plain(rule.derivative(at("z", "t"), at("h", "t")))
        h, z = vec_value("h", t, n), vec_value("z", t, n) if rule.function is not None else None

        def diagonal(ev, env):
            zs = z(ev, env) if z is not None else [0] * n
            return sympy.diag(*[value.xreplace({at("z", "t"): zi, at("h", "t"): hi}) for zi, hi in zip(zs, h(ev, env))])

        return diagonal

    def times(*factors: Expr) -> Expr:
        kept = [f for f in factors if f is not None]
        return kept[0] if len(kept) == 1 else MatrixProduct(*kept)

    W = {name: (lambda name: (lambda env: _mat(g, name).xreplace(env)))(name) for name in ("W_h", "W_x", "W_y")}
    steps: list[MatrixStep] = []

    for t in g.loss_steps:
        target, pred = vec_value("y", t, k), vec_value("yhat", t, k)
        if loss.output == "softmax":
            tex = (rf"\left(\mathbf{{1}}^{{\top}} {print_(at('y', t))}\right) {print_(at('yhat', t))} - "
                   rf"{print_(at('y', t))}")
            f = lambda ev, env, p=pred, y=target: sum(y(ev, env)) * p(ev, env) - y(ev, env)  # noqa: E731
        elif loss.output == "sigmoid":  # binary cross-entropy after a sigmoid: ∇_{o_t} L_t = ŷ_t − y_t
            tex = rf"{print_(at('yhat', t))} - {print_(at('y', t))}"
            f = lambda ev, env, p=pred, y=target: p(ev, env) - y(ev, env)  # noqa: E731
        else:
            form = partial_form(loss.form(at("yhat", t), at("y", t)), at("yhat", t))
            tex = print_(form)
            value = plain(form)
            f = (lambda ev, env, p=pred, y=target, value=value, t=t: column(  # noqa: E731
                [value.xreplace({at("yhat", t): pi, at("y", t): yi}) for pi, yi in zip(p(ev, env), y(ev, env))]))
        if weight != 1:  # a mean over time: ∂L/∂L_t = 1/T scales each term's gradient
            tex = rf"{print_(weight)} \left({tex}\right)"
            f = (lambda ev, env, f=f: weight * f(ev, env))  # noqa: E731
        steps.append(MatrixStep(print_(Gradient(L, at(out_base, t))), tex, grad(out_base, t, k), f))
    for t in range(T, 0, -1):
        parts, fs = [], []
        if t in g.loss_steps:
            parts.append(times(Transposed(symbol("W_y")), Gradient(L, at(out_base, t))))
            fs.append(lambda ev, env, t=t: W["W_y"](env).T * grad(out_base, t, k)(ev, env))
        if t < T:
            parts.append(times(Transposed(symbol("W_h")), fprime_form(t + 1), Gradient(L, at("h", t + 1))))
            fs.append(lambda ev, env, t=t: W["W_h"](env).T * fprime(t + 1)(ev, env) * grad("h", t + 1, n)(ev, env))
        if not parts:
            continue
        formula = lambda ev, env, fs=tuple(fs): sum((f(ev, env) for f in fs), sympy.zeros(n, 1))  # noqa: E731
        steps.append(MatrixStep(print_(Gradient(L, at("h", t))), print_(total(parts)), grad("h", t, n), formula))

    wrt = _base(d.wrt_name)
    index = Symbol("t", integer=True)

    def delta(t: object) -> Expr:
        return times(fprime_form(t), Gradient(L, at("h", t)))

    def over_steps(term: Expr) -> str:
        return print_(sympy.Sum(term, (index, 1, T)))

    def over_losses(term: Expr) -> str:
        if list(g.loss_steps) == list(range(1, T + 1)):
            return over_steps(term)
        steps_ = ", ".join(map(str, g.loss_steps))
        return rf"\sum_{{t \in \{{{steps_}\}}}} {print_(term)}"

    local = lambda ev, env, t: fprime(t)(ev, env) * grad("h", t, n)(ev, env)  # noqa: E731
    final_value = lambda ev, env: d.evaluate_with(ev)  # noqa: E731
    if wrt == "W_h":
        tex = over_steps(times(delta("t"), Transposed(prev("h"))))
        f = lambda ev, env: sum((local(ev, env, t) * vec_value("h", t - 1, n)(ev, env).T for t in range(1, T + 1)), sympy.zeros(n, n))  # noqa: E731
    elif wrt == "W_x":
        m = o["input"]
        tex = over_steps(times(delta("t"), Transposed(at("x", "t"))))
        f = lambda ev, env: sum((local(ev, env, t) * vec_value("x", t, m)(ev, env).T for t in range(1, T + 1)), sympy.zeros(n, m))  # noqa: E731
    elif wrt == "b_h":
        tex = over_steps(delta("t"))
        f = lambda ev, env: sum((local(ev, env, t) for t in range(1, T + 1)), sympy.zeros(n, 1))  # noqa: E731
    elif wrt == "W_y":
        tex = over_losses(times(Gradient(L, at(out_base, "t")), Transposed(at("h", "t"))))
        f = lambda ev, env: sum((grad(out_base, t, k)(ev, env) * vec_value("h", t, n)(ev, env).T for t in g.loss_steps), sympy.zeros(k, n))  # noqa: E731
    elif wrt == "b_y":
        tex = over_losses(Gradient(L, at(out_base, "t")))
        f = lambda ev, env: sum((grad(out_base, t, k)(ev, env) for t in g.loss_steps), sympy.zeros(k, 1))  # noqa: E731
    elif wrt == "h_0":
        tex = print_(times(Transposed(symbol("W_h")), delta(1)))
        f = lambda ev, env: W["W_h"](env).T * local(ev, env, 1)  # noqa: E731
    else:
        return steps
    steps.append(MatrixStep(print_(Gradient(L, symbol(d.wrt_name))), tex, final_value, f))
    return steps
