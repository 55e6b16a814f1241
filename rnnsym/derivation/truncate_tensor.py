"""Truncated backpropagation through time of a whole vector or matrix, entry by entry.

Every entry of ∂L/∂W_h (a vector model) is truncated by the same rule
(:mod:`~rnnsym.derivation.truncate`, docs/truncation.md); the lines set the kept and the
dropped contributions of each loss term side by side as matrices.
"""

from __future__ import annotations

from typing import Mapping

import sympy
from sympy import Add, Expr, S, Symbol

from ..errors import InputError
from ..evaluation import Evaluation
from ..forms import Partial, total
from ..graph import Graph
from ..printing import Line, Printer, RenderOptions
from .tensor import TensorDerivation, _bmatrix, _numbers
from .truncate import Dropped, Kept, Truncation, TruncatedDerivation, _contributions, _symbols, _uses, truncated, truncation

__all__ = ["TruncatedTensorDerivation", "truncated_tensor"]


def truncated_tensor(graph: Graph, of: str, wrt: str, k: object, convention: str = "per-loss",
                     split: str = "loss") -> "TruncatedTensorDerivation":
    """Truncated BPTT of ∂of/∂wrt where ``of`` or ``wrt`` names a whole vector or matrix
    (``k`` and ``convention`` as for :func:`~rnnsym.derivation.truncate.truncated`)."""
    rule = truncation(k, convention)
    if split != "loss":
        raise InputError("split", split, "'loss' with truncate (truncated BPTT is written per loss term)")
    return TruncatedTensorDerivation(graph, of, wrt, rule)


class TruncatedTensorDerivation(TensorDerivation):
    """Truncated BPTT of a derivative of or with respect to a whole vector or matrix
    (``"W_h"`` of a vector model): every entry is truncated by the same rule
    (:func:`truncated` on the entry), and the lines set, per loss term, the kept and
    the dropped contributions side by side as matrices, then the truncated, dropped
    and full gradient.

    ``evaluate(values)`` gives the truncated matrix, ``values(values)`` the
    (truncated, dropped, full) matrices, ``entry(i, j)`` the entry's
    :class:`TruncatedDerivation`.

    >>> from rnnsym.models import elman
    >>> values = {"h_0": [1, 0], "x": [1, 2], "y": [0, 1], "W_h": [[1, 0], [0, 1]],
    ...           "W_x": [[1], [0]], "W_y": [[1, 1]]}
    >>> d = truncated_tensor(elman(2, hidden=2), "L", "W_h", 1)
    >>> d
    TruncatedTensorDerivation(dL/dW_h, truncated per-loss k=1, shape=(2, 2))
    >>> d.values(values)
    (Matrix([
    [16, 0],
    [16, 0]]), Matrix([
    [6, 0],
    [6, 0]]), Matrix([
    [22, 0],
    [22, 0]]))
    """

    def __init__(self, graph: Graph, of: str, wrt: str, rule: Truncation) -> None:
        super().__init__(graph, of, wrt, "loss")
        self.truncation = rule
        for i in range(1, self.shape[0] + 1):  # every entry's names are checked at once (a leaf wrt, a quantity of)
            for j in range(1, self.shape[1] + 1):
                try:
                    _symbols(graph, *map(str, self.pair(i, j)))
                except InputError as error:  # named as given: the whole vector or matrix
                    raise InputError(error.field, of if error.field == "of" else wrt, error.expected) from None

    def __repr__(self) -> str:
        return (f"TruncatedTensorDerivation(d{self.of_name}/d{self.wrt_name}, truncated {self.truncation.convention} "
                f"{self.truncation.label()}, shape={self.shape})")

    @property
    def title(self) -> str:
        return f"d{self.of_name}/d{self.wrt_name}"

    def entry(self, i: int, j: int = 1) -> TruncatedDerivation:
        """The truncated derivation of the entry at 1-based row ``i``, column ``j``."""
        key = (i - 1, j - 1)
        if key not in self._entries:
            of, wrt = self._pair(*key)
            rule = self.truncation
            k = rule.k2 if rule.convention == "per-loss" else (rule.k1, rule.k2)
            self._entries[key] = truncated(self.graph, str(of), str(wrt), k, rule.convention)
        return self._entries[key]

    def evaluate_with(self, evaluator: Evaluation) -> sympy.Matrix:
        """The truncated matrix at a point already evaluated."""
        rows, cols = self.shape
        return sympy.Matrix(rows, cols, lambda i, j: self.entry(i + 1, j + 1).value_at(evaluator))

    def values(self, values: Mapping) -> tuple[sympy.Matrix, sympy.Matrix, sympy.Matrix]:
        """Exact (truncated, dropped, full) matrices at ``values`` (names as in exercise files)."""
        ev = self.evaluation(values)
        parts = [self._parts(ev, which) for which in (True, False, None)]
        return tuple(sympy.Matrix(rows) for rows in parts)

    def matrix_steps(self, options: RenderOptions | None = None) -> list:
        return []

    def _parts(self, evaluator: Evaluation, kept: bool | None, term: int | None = None) -> list[list[Expr]]:
        """Per entry, the sum of the kept (``kept=True``), dropped (False) or all (None)
        contributions, of the loss term at step ``term`` only when given."""
        rows, cols = self.shape
        rule, steps = self.truncation, self.graph.steps
        zero = S.Zero if evaluator.exact else 0

        def value(i: int, j: int) -> Expr:
            of, wrt = self.pair(i, j)
            parts = _contributions(evaluator, of, wrt)
            chosen = [v for (t, s), v in parts.items()
                      if (term is None or t == term) and (kept is None or rule.keeps(t, s, steps) == kept)]
            return evaluator.number(sum(chosen, zero))

        return [[value(i, j) for j in range(1, cols + 1)] for i in range(1, rows + 1)]

    def _rnnsym_lines(self, values: Mapping | None, options: RenderOptions) -> list[Line]:
        """Per loss term the kept and dropped contributions as matrices (each entry's
        chain-rule products without values), then the truncated, dropped and full matrix."""
        printer = Printer(options)
        name = sympy.Symbol(self.wrt_name.replace(" ", ""))
        A = self.of[0, 0] if self.of.rows == 1 else sympy.Symbol(self.of_name.replace(" ", ""))
        rule = self.truncation
        terms = [(term, t) for term, t, _ in _uses(self.graph, self.entry(1, 1).of, self.entry(1, 1).wrt)]
        if values is None:
            out = []
            for term, _ in terms:
                for mark in (Kept, Dropped):
                    out.append(Line((printer.doprint(mark(term, name, rule)), _bmatrix(self._written(term, mark), printer.doprint))))
            whole = Add(Kept(A, name, rule), Dropped(A, name, rule), evaluate=False)
            out.append(Line((printer.doprint(Partial(A, name)), printer.doprint(whole))))
            return out
        exact = self.evaluation(values)
        approx = exact.decimal(max(options.approx_digits, 3))

        def shown(kept: bool | None, term: int | None = None) -> str:
            return _numbers(sympy.Matrix(self._parts(exact, kept, term)), sympy.Matrix(self._parts(approx, kept, term)), options)

        out = []
        for term, t in terms:
            out.append(Line((printer.doprint(Kept(term, name, rule)), shown(True, t))))
            out.append(Line((printer.doprint(Dropped(term, name, rule)), shown(False, t))))
        several = len(terms) > 1
        if several:
            for mark, kept in ((Kept, True), (Dropped, False)):
                out.append(Line((printer.doprint(mark(A, name, rule)), printer.doprint(total([mark(term, name, rule) for term, _ in terms])), shown(kept))))
        whole = Add(Kept(A, name, rule), Dropped(A, name, rule), evaluate=False)
        kept, dropped = (sympy.Matrix(self._parts(exact, which)) for which in (True, False))
        if all(isinstance(v, sympy.Rational) for v in (*kept, *dropped)):
            added = shown(True) + " + " + shown(False)
        else:  # each matrix in decimals: the approximation is stated once, before the sum
            added = r"\approx " + shown(True).removeprefix(r"\approx ") + " + " + shown(False).removeprefix(r"\approx ")
        out.append(Line((printer.doprint(Partial(A, name)), printer.doprint(whole), added, shown(None))))
        return out

    def _written(self, term: Symbol, mark: type) -> sympy.Matrix:
        """Per entry, the chain-rule products of ``term``'s kept or dropped contributions."""
        rows, cols = self.shape

        def form(i: int, j: int) -> Expr:
            for step in self.entry(i, j).steps:
                if isinstance(step.lhs, mark) and step.lhs.of == term:
                    return step.forms[-1]
            return S.Zero

        return sympy.Matrix(rows, cols, lambda i, j: form(i + 1, j + 1))
