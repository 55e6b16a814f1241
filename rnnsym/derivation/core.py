"""What a derivation is: its steps, its value and how it is written.

:class:`Derivation` is the interface every answer to "∂A/∂B" shares — the
graph, ``of`` and ``wrt``, :meth:`~Derivation.evaluate` (exact, or in decimals),
:meth:`~Derivation.value_at` a point already evaluated, :meth:`~Derivation.lines`
and :meth:`~Derivation.latex` (through :func:`rnnsym.printing.latex`),
:meth:`~Derivation.notes` and notebook display.  :class:`ChainDerivation` is a
scalar derivative written as chain-rule :class:`Step` lines;
:class:`~rnnsym.derivation.tensor.TensorDerivation` and
:class:`~rnnsym.derivation.truncate.TruncatedDerivation` are the others.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Callable, Mapping

import sympy

from sympy import Expr, Symbol

from ..binding import fill_unused
from ..evaluation import Evaluation, evaluate
from ..graph import Graph
from ..printing import Display, Line, RenderOptions
from ..rules import relu
from ..printing import latex as _latex
from ..printing import lines as _lines
from .lines import derivation_lines, derivation_tables, kink_notes
from .step import Step

__all__ = ["Step", "Derivation", "ChainDerivation", "SPLITS"]

#: How a total derivative of the loss is broken into a visible sum: chosen by size,
#: per loss term (the textbook), or per time step (the reverse-mode recursion).
SPLITS = ("auto", "loss", "step")


class Derivation:
    """An answer to ∂``of``/∂``wrt`` (or to ``of`` itself when ``wrt`` is None) on ``graph``.

    Subclasses give :meth:`value_at` and ``_rnnsym_lines``; everything else is
    shared: ``evaluate(values, digits=None)``, ``latex(values, options)``,
    ``lines(values, options)``, ``notes(values)`` and notebook display.
    """

    graph: Graph
    of: Any
    wrt: Any

    @property
    def title(self) -> str:
        return f"d{self.of}/d{self.wrt}" if self.wrt is not None else str(self.of)

    def _repr_latex_(self) -> str:
        return Display(self)._repr_latex_()

    def show(self, values: Mapping | None = None, options: RenderOptions | None = None) -> Display:
        """The derivation written at ``values`` for display: a notebook shows its lines,
        tables and notes as math (``_repr_markdown_``, ``_repr_latex_``), ``print``
        as text (:class:`~rnnsym.printing.Display`, docs/formats.md).

        >>> import rnnsym
        >>> ex = rnnsym.reference()
        >>> print(rnnsym.compute(ex.graph, "yhat_2").show(ex.values))
        h₁ = h₀ × W_h + x₁ × W_x = 1 × 1 + 10 × 0.1 = 2
        h₂ = h₁ × W_h + x₂ × W_x = 2 × 1 + 10 × 0.1 = 3
        ŷ₂ = h₂ × W_y = 3 × 2 = 6
        """
        return Display(self, values, options)

    def evaluation(self, values: Mapping, digits: int | None = None) -> Evaluation:
        """The graph evaluated at ``values`` (:class:`rnnsym.evaluation.Evaluation`).

        Only the leaves ``of`` depends on must be given: the others, when left out,
        are taken as 0, as nothing this derivation computes depends on them
        (:func:`rnnsym.binding.fill_unused`).

        >>> import rnnsym
        >>> d = rnnsym.derive(rnnsym.elman(6), "h_6", "h_0")
        >>> d.evaluate({"h_0": 1, "x": [1] * 6, "W_h": "0.5", "W_x": 1})
        1/64
        """
        return evaluate(self.graph, fill_unused(self.graph, values, self._targets()), digits)

    def _targets(self) -> list[Symbol]:
        """The quantities (or leaves) whose values this derivation is about."""
        of = self.of
        items = list(of) if isinstance(of, sympy.MatrixBase) else [of]
        return [s for s in items if isinstance(s, Symbol)]

    def environment(self, values: Mapping) -> dict[Symbol, Expr]:
        """Exact values of every leaf and quantity, from exercise-file names."""
        return self.evaluation(values).env

    def evaluate(self, values: Mapping, digits: int | None = None) -> Any:
        """The value at ``values`` (names as in exercise files, lists for x and y):
        exact, or :class:`sympy.Float` of ``digits`` digits."""
        return self.value_at(self.evaluation(values, digits))

    def value_at(self, evaluation: Evaluation) -> Any:
        """The value at a point already evaluated (derivatives of one quantity share its reverse pass)."""
        raise NotImplementedError

    def lines(self, values: Mapping | None = None, options: RenderOptions | None = None) -> list[Line]:
        """The derivation as :class:`~rnnsym.printing.Line` objects (parts kept apart for layout)."""
        return _lines(self, values, options)

    def latex(self, values: Mapping | None = None, options: RenderOptions | None = None) -> list[str]:
        """The derivation as LaTeX relation chains, one string a line (no math delimiters)."""
        return _latex(self, values, options)

    def tables(self, values: Mapping, options: RenderOptions | None = None) -> list[str]:
        """Tables that go with the lines at ``values`` (LaTeX ``tabular`` code; none by default)."""
        return []

    def notes(self, values: Mapping, options: RenderOptions | None = None) -> list[str]:
        """Remarks a reader needs beside the lines at ``values``, as LaTeX sentences:
        a relu evaluated exactly at its kink, where it has no derivative."""
        if self.wrt is None or not any(e.form.has(relu) for e in self.graph.cell.equations):
            return []
        return kink_notes(self.graph, self.environment(values), self._quantities(), options)

    def _quantities(self) -> set:
        """The quantities the derivation runs through (for notes)."""
        return set(self.graph.upstream(self.of))


class ChainDerivation(Derivation):
    """A scalar derivative written as chain-rule steps, and its value.

    ``steps`` are the lines; ``legend`` defines, at a generic step t, the local
    partials the lines write by name; ``context`` restates the definitions they
    run through; ``expr`` is the compact derivative in the graph's symbols and
    ``expanded()`` gives it in leaves only.  Each is built when first asked for
    (``steps``, ``expr`` and ``context`` may be given as functions that build them).
    """

    def __init__(
        self,
        graph: Graph,
        of: Symbol,
        wrt: Symbol | None,
        steps: tuple[Step, ...] | Callable[[], tuple[tuple[Step, ...], tuple[Step, ...]]],
        expr: Expr | Callable[[], Expr],
        split: str | None = None,
        context: tuple[Step, ...] | Callable[[], tuple[Step, ...]] = (),
    ) -> None:
        self.graph = graph
        self.of = of
        self.wrt = wrt
        self._split = split
        self._sources = {"written": steps, "expr": expr, "context": context}

    @cached_property
    def _written(self) -> tuple[tuple[Step, ...], tuple[Step, ...], str | None]:
        source = self._sources["written"]
        return source() if callable(source) else (tuple(source), (), self._split)

    @property
    def split(self) -> str | None:
        """How the lines are written: ``"loss"`` (per loss term) or ``"step"`` (the recursion)."""
        return self._written[2] if self._split == "auto" else self._split

    @property
    def steps(self) -> tuple[Step, ...]:
        """The lines, in order."""
        return self._written[0]

    @steps.setter
    def steps(self, steps: tuple[Step, ...]) -> None:
        self._written = (tuple(steps), self.legend, self.split)

    @property
    def legend(self) -> tuple[Step, ...]:
        """The local partials the lines write by name, each defined at a generic step t."""
        return self._written[1]

    @cached_property
    def expr(self) -> Expr:
        """The compact derivative in the graph's symbols (its size grows with the steps it spans)."""
        source = self._sources["expr"]
        return source() if callable(source) and not isinstance(source, Expr) else source

    @cached_property
    def context(self) -> tuple[Step, ...]:
        """The definitions the lines run through."""
        source = self._sources["context"]
        return source() if callable(source) else tuple(source)

    def __repr__(self) -> str:
        split = f", split={self.split!r}" if self.split else ""
        return f"Derivation({self.title}{split}, {len(self.steps)} lines)"

    def expanded(self) -> Expr:
        """The derivative with every quantity replaced by its definition (leaves only)."""
        return self.graph.expand(self.expr)

    def value_at(self, evaluation: Evaluation) -> Expr:
        if self.wrt is None and isinstance(self.expr, sympy.MatrixBase):  # a whole vector or matrix computed
            return self.expr.applyfunc(lambda c: evaluation.number(evaluation.env[c]))
        if self.wrt is None:
            return evaluation.number(evaluation.env[self.of])
        return evaluation.derivative(self.of, self.wrt)

    def _rnnsym_lines(self, values: Mapping | None, options: RenderOptions) -> list[Line]:
        return derivation_lines(self, values, options)

    def tables(self, values: Mapping, options: RenderOptions | None = None) -> list[str]:
        """For a recursion over many time steps: its values, step by step (:func:`derivation_tables`)."""
        return derivation_tables(self, values, options)
