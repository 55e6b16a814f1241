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

from ..errors import InputError
from ..evaluation import Evaluation, evaluate
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
        """The matrix from an :class:`~rnnsym.evaluate.Evaluation`'s reverse passes."""
        rows, cols = self.shape

        def entry(i: int, j: int) -> Expr:
            of, wrt = self._pair(i, j)
            return evaluator.number(evaluator.adjoints(of).get(wrt, sympy.S.Zero))

        return Matrix(rows, cols, entry)

    def matrix_steps(self) -> list[MatrixStep]:
        """The matrix-form lines (Elman cells with the loss as ``of``), else ``[]``."""
        return _elman_steps(self) if _has_matrix_form(self) else []

    def _rnnsym_lines(self, values: Mapping | None, options: RenderOptions) -> list[Line]:
        """Matrix-form lines when available, then the result as a matrix."""
        printer = Printer(options)
        lhs = _frac(printer, self.of_name, self.wrt_name, options)
        if values is None:
            return [Line((s.lhs, s.formula_latex)) for s in self.matrix_steps()] or [
                Line((lhs, _bmatrix(self.expr, printer.doprint)))
            ]
        exact = evaluate(self.graph, values)
        approx = exact.decimal(max(options.approx_digits, 3))
        env, approx_env = exact.env, {s: approx.number(v) for s, v in approx.env.items()}
        out = []
        for step in self.matrix_steps():
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


def _frac(printer: Printer, of: str, wrt: str, options: RenderOptions) -> str:
    d = r"\partial" if options.partial == "partial" else "d"
    return rf"\frac{{{d} {options.notation.spell(of)}}}{{{d} {options.notation.spell(wrt)}}}"


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


def _elman_steps(d: TensorDerivation) -> list[MatrixStep]:
    g = d.graph
    o = g.cell.options
    n, k, T = o["hidden"], o["output"], g.steps
    act, loss = o["activation"], o["loss"]
    spell = RenderOptions().notation.spell
    logits = loss == "cross_entropy"
    out_base = "o" if logits else "yhat"

    def column(values) -> Matrix:
        return Matrix(len(values), 1, values)

    def grad(base: str, t: int, size: int) -> Callable:
        syms = _vec(g, base, t, size)
        return lambda ev, env: column([ev.number(ev.adjoints(g.loss).get(s, 0)) for s in syms])

    def vec_value(base: str, t: int, size: int) -> Callable:
        syms = _vec(g, base, t, size)
        return lambda ev, env: column([env[s] for s in syms])

    def fprime(t: int) -> Callable:
        if act == "identity":
            return lambda ev, env: sympy.eye(n)
        h = vec_value("h", t, n)
        z = vec_value("z", t, n)
        if act == "tanh":
            return lambda ev, env: sympy.diag(*[1 - v**2 for v in h(ev, env)])
        if act == "sigmoid":
            return lambda ev, env: sympy.diag(*[v * (1 - v) for v in h(ev, env)])
        return lambda ev, env: sympy.diag(*[1 if v > 0 else 0 for v in z(ev, env)])

    fprime_tex = {"identity": "", "tanh": r"\operatorname{{diag}}\left(1 - h_{{{t}}}^{{2}}\right) ",
                  "sigmoid": r"\operatorname{{diag}}\left(h_{{{t}}} \odot \left(1 - h_{{{t}}}\right)\right) ",
                  "relu": r"\operatorname{{diag}}\left(\mathbf{{1}}\left[z_{{{t}}} > 0\right]\right) "}[act]
    W = {name: (lambda name: (lambda env: _mat(g, name).xreplace(env)))(name) for name in ("W_h", "W_x", "W_y")}
    steps: list[MatrixStep] = []
    nabla = lambda name: rf"\nabla_{{{spell(name)}}} L"  # noqa: E731

    for t in g.loss_steps:
        target = vec_value("y", t, k)
        pred = vec_value("yhat", t, k)
        if loss == "squared":
            tex, f = rf"2 \left({spell(f'yhat_{t}')} - {spell(f'y_{t}')}\right)", lambda ev, env, p=pred, y=target: 2 * (p(ev, env) - y(ev, env))
        elif loss == "half_squared":
            tex, f = rf"{spell(f'yhat_{t}')} - {spell(f'y_{t}')}", lambda ev, env, p=pred, y=target: p(ev, env) - y(ev, env)
        else:
            tex = rf"\left(\mathbf{{1}}^{{\top}} {spell(f'y_{t}')}\right) {spell(f'yhat_{t}')} - {spell(f'y_{t}')}"
            f = lambda ev, env, p=pred, y=target: sum(y(ev, env)) * p(ev, env) - y(ev, env)  # noqa: E731
        steps.append(MatrixStep(nabla(f"{out_base}_{t}"), tex, grad(out_base, t, k), f))
    for t in range(T, 0, -1):
        parts, fs = [], []
        if t in g.loss_steps:
            parts.append(rf"W_{{y}}^{{\top}} {nabla(f'{out_base}_{t}')}")
            fs.append(lambda ev, env, t=t: W["W_y"](env).T * grad(out_base, t, k)(ev, env))
        if t < T:
            parts.append(rf"W_{{h}}^{{\top}} {fprime_tex.format(t=t + 1)}{nabla(f'h_{t + 1}')}")
            fs.append(lambda ev, env, t=t: W["W_h"](env).T * fprime(t + 1)(ev, env) * grad("h", t + 1, n)(ev, env))
        if not parts:
            continue
        formula = lambda ev, env, fs=tuple(fs): sum((f(ev, env) for f in fs), sympy.zeros(n, 1))  # noqa: E731
        steps.append(MatrixStep(nabla(f"h_{t}"), " + ".join(parts), grad("h", t, n), formula))

    wrt = _base(d.wrt_name)
    delta = lambda t: rf"{fprime_tex.format(t=t)}{nabla(f'h_{t}')}"  # noqa: E731
    local = lambda ev, env, t: fprime(t)(ev, env) * grad("h", t, n)(ev, env)  # noqa: E731
    final_value = lambda ev, env: d.evaluate_with(ev)  # noqa: E731
    if wrt == "W_h":
        tex = rf"\sum_{{t=1}}^{{{T}}} {delta('t')} \, h_{{t-1}}^{{\top}}"
        f = lambda ev, env: sum((local(ev, env, t) * vec_value("h", t - 1, n)(ev, env).T for t in range(1, T + 1)), sympy.zeros(n, n))  # noqa: E731
    elif wrt == "W_x":
        m = o["input"]
        tex = rf"\sum_{{t=1}}^{{{T}}} {delta('t')} \, x_{{t}}^{{\top}}"
        f = lambda ev, env: sum((local(ev, env, t) * vec_value("x", t, m)(ev, env).T for t in range(1, T + 1)), sympy.zeros(n, m))  # noqa: E731
    elif wrt == "b_h":
        tex = rf"\sum_{{t=1}}^{{{T}}} {delta('t')}"
        f = lambda ev, env: sum((local(ev, env, t) for t in range(1, T + 1)), sympy.zeros(n, 1))  # noqa: E731
    elif wrt == "W_y":
        tex = rf"\sum_{{t \in \{{{', '.join(map(str, g.loss_steps))}\}}}} {nabla(out_base + '_t')} \, h_{{t}}^{{\top}}"
        f = lambda ev, env: sum((grad(out_base, t, k)(ev, env) * vec_value("h", t, n)(ev, env).T for t in g.loss_steps), sympy.zeros(k, n))  # noqa: E731
    elif wrt == "b_y":
        tex = rf"\sum_{{t \in \{{{', '.join(map(str, g.loss_steps))}\}}}} {nabla(out_base + '_t')}"
        f = lambda ev, env: sum((grad(out_base, t, k)(ev, env) for t in g.loss_steps), sympy.zeros(k, 1))  # noqa: E731
    elif wrt == "h_0":
        tex = rf"W_{{h}}^{{\top}} {delta(1)}"
        f = lambda ev, env: W["W_h"](env).T * local(ev, env, 1)  # noqa: E731
    else:
        return steps
    steps.append(MatrixStep(nabla(d.wrt_name), tex, final_value, f))
    return steps
