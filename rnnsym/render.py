"""Derivations as LaTeX relation chains.

Each :class:`~rnnsym.derive.Step` becomes one chain
``lhs = named partials = symbolic form = substituted numbers = value``.
Printing goes through :class:`Printer`, a sympy ``LatexPrinter`` subclass
with ``_print_<Node>`` methods for rnnsym's forms, configured by one
validated :class:`RenderOptions`.

>>> from rnnsym.graph import elman
>>> from rnnsym.derive import derive
>>> values = {"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": "0.1", "W_y": 2}
>>> print(derive(elman(2), "L", "h_1").latex(values)[-1])
\\frac{\\partial L}{\\partial h_{1}} = -4 + 4 = 0
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping

import sympy
from sympy import Add, Expr, Symbol
from sympy.printing.latex import LatexPrinter

from .errors import InputError, InputTypeError
from .notation import DEFAULT, Notation
from .forms import Juxt, Partial, Times
from .evaluate import Evaluation, Exact, bind
from .numbers import decimal_latex, format_exact

if TYPE_CHECKING:
    from .derive import Derivation, Step
    from .graph import Graph

__all__ = ["RenderOptions", "Printer", "Line", "render", "render_lines", "render_assignments", "format_value"]

_TIMES = {"times": r"\times", "cdot": r"\cdot"}
_PARTIAL = {"partial": r"\partial", "d": "d"}


@dataclass(frozen=True)
class RenderOptions:
    """How derivations are written.

    - ``times``: ``"times"`` (×, as in the reference exercise) or ``"cdot"``;
    - ``partial``: ``"partial"`` (∂) or ``"d"``;
    - ``notation``: how names are spelled (:class:`~rnnsym.notation.Notation`);
    - ``numbers``: show the line once more with numbers substituted;
    - ``recall``: restate the definitions a derivative runs through;
    - ``approx_digits``: significant digits of the ``\\approx`` shown after an
      irrational value (0 for none);
    - ``max_decimals``: a fraction whose decimal expansion ends within this
      many digits is written as a decimal.

    >>> RenderOptions(times="star")
    Traceback (most recent call last):
    ...
    rnnsym.errors.InputError: options.times: got 'star', expected one of 'times', 'cdot'
    """

    times: str = "times"
    partial: str = "partial"
    notation: Notation = field(default=DEFAULT)
    numbers: bool = True
    recall: bool = True
    approx_digits: int = 6
    max_decimals: int = 6

    def __post_init__(self) -> None:
        for name, table in (("times", _TIMES), ("partial", _PARTIAL)):
            value = getattr(self, name)
            if value not in table:
                raise InputError(f"options.{name}", value, "one of " + ", ".join(repr(k) for k in table))
        for name in ("numbers", "recall"):
            if not isinstance(getattr(self, name), bool):
                raise InputTypeError(f"options.{name}", getattr(self, name), "true or false")
        for name in ("approx_digits", "max_decimals"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 50:
                raise InputError(f"options.{name}", value, "an integer from 0 to 50")
        if not isinstance(self.notation, Notation):
            raise InputTypeError("options.notation", self.notation, "a rnnsym.notation.Notation")


class Printer(LatexPrinter):
    """LaTeX for rnnsym's forms, in written order.

    ``numbers`` maps symbols and named partials to the LaTeX of the number
    that replaces them; ``None`` prints names.
    """

    printmethod = "_rnnsym_latex"

    def __init__(self, options: RenderOptions, numbers: Mapping[Expr, str] | None = None) -> None:
        super().__init__({"order": "none", "mul_symbol": options.times if options.times == "times" else "dot"})
        self.options = options
        self.numbers = numbers

    def _number(self, expr: Expr) -> str | None:
        if self.numbers is None or expr not in self.numbers:
            return None
        text = self.numbers[expr]
        # a negative number, or one in scientific form, is bracketed where it stands in a formula
        return rf"\left({text}\right)" if text.startswith("-") or r"\times 10^" in text else text

    def _print_Symbol(self, expr: Symbol, style: str = "plain") -> str:
        number = self._number(expr)
        return number if number is not None else self.options.notation.spell(expr.name)

    def _print_Partial(self, expr: Partial) -> str:
        number = self._number(expr)
        if number is not None:
            return number
        d = _PARTIAL[self.options.partial]
        mark = "^{+}" if expr.local else ""
        return rf"\frac{{{d}{mark} {self._print(expr.of)}}}{{{d} {self._print(expr.wrt)}}}"

    def _factors(self, expr: Expr, joiner: str) -> str:
        parts = []
        for i, factor in enumerate(expr.args):
            text = self._print(factor)
            bracket = isinstance(factor, (Add, Times)) or (i > 0 and text.lstrip().startswith("-"))
            parts.append(rf"\left({text}\right)" if bracket else text)
        return joiner.join(parts)

    def _print_Times(self, expr: Times) -> str:
        return self._factors(expr, f" {_TIMES[self.options.times]} ")

    def _print_Juxt(self, expr: Juxt) -> str:
        if self.numbers is not None:
            return self._factors(expr, f" {_TIMES[self.options.times]} ")
        return self._factors(expr, r" \, ")

    def _print_Heaviside(self, expr: Expr) -> str:
        return rf"\mathbf{{1}}\left[{self._print(expr.args[0])} > 0\right]"

    def _print_sigmoid(self, expr: Expr, exp: str | None = None) -> str:
        return self._function(r"\sigma", expr, exp)

    def _print_relu(self, expr: Expr, exp: str | None = None) -> str:
        return self._function(r"\operatorname{relu}", expr, exp)

    def _function(self, name: str, expr: Expr, exp: str | None) -> str:
        head = f"{name}^{{{exp}}}" if exp else name
        return rf"{head}\left({self._print(expr.args[0])}\right)"


@dataclass(frozen=True)
class Line:
    """One rendered relation chain: ``parts`` joined by ``=``."""

    parts: tuple[str, ...]

    def __str__(self) -> str:
        return join_parts(self.parts)


def join_parts(parts: tuple[str, ...] | list[str]) -> str:
    """Parts of a chain joined by ``=`` (a part that is an approximation, by itself)."""
    text = parts[0] if parts else ""
    for part in parts[1:]:
        text += " " + part if part.startswith(r"\approx") else " = " + part
    return text


def format_value(value: Expr, options: RenderOptions, approx: Expr | None = None, exact: bool = True) -> str:
    """LaTeX for a value: integer, decimal or fraction when rational; else its
    exact form when short (and ``exact``), followed by ``\\approx`` a decimal.

    ``approx`` is the value already computed in floating point, if known.
    """
    if isinstance(value, sympy.Rational):
        return format_exact(value, options.max_decimals)
    unfolded = value.expr if isinstance(value, Exact) else value
    short = exact and not unfolded.has(Exact) and sympy.count_ops(unfolded) <= 4
    text = Printer(options).doprint(value) if short or not options.approx_digits else None
    if not options.approx_digits:
        return text
    decimal = _decimal(approx if approx is not None else value, options.approx_digits)
    return rf"{text} \approx {decimal}" if short else rf"\approx {decimal}"


def _decimal(value: Expr, digits: int) -> str:
    return decimal_latex(value, digits)


class _Context:
    def __init__(self, derivation: "Derivation", values: Mapping | None, options: RenderOptions) -> None:
        self.options = options
        self.printer = Printer(options)
        self.evaluate = None
        if values is not None:
            graph = derivation.graph
            bound = bind(graph, values)
            self.evaluate = Evaluation(graph, {s: n.exact for s, n in bound.items()})
            env = self.evaluate.env
            self.approx = self.evaluate.decimal(max(options.approx_digits, 1))
            self.spelled = {s: n.latex for s, n in bound.items()}
            for q in graph.quantities:
                if isinstance(env[q], sympy.Rational):
                    text = format_exact(env[q], options.max_decimals)
                    if not text.startswith(r"\approx"):  # too long to write exactly: a decimal below
                        self.spelled[q] = text

    def numbers(self, form: Expr) -> tuple[str, bool] | None:
        """``form`` with every symbol and named partial replaced by its number,
        and whether all of them were exact; irrational ones are written as
        decimals (``None`` when a value is missing or decimals are disabled)."""
        table = dict(self.spelled)
        exact = True
        for s in form.free_symbols:
            if s not in table and s in self.approx.env:
                table[s] = self._decimal(self.approx.env[s])
                exact = False
        for p in form.atoms(Partial):
            value = self.evaluate.partial(p)
            text = format_exact(value, self.options.max_decimals) if isinstance(value, sympy.Rational) else r"\approx"
            if not text.startswith(r"\approx"):
                table[p] = text
            else:
                table[p] = self._decimal(self.approx.partial(p))
                exact = False
        if any(t is None for t in table.values()) or any(s not in table for s in form.free_symbols):
            return None
        return Printer(self.options, table).doprint(form), exact

    def _decimal(self, value: Expr) -> str | None:
        if not self.options.approx_digits:
            return None
        return _decimal(value, self.options.approx_digits)

    def line(self, step: "Step") -> Line | None:
        print_ = self.printer.doprint
        parts = [print_(step.lhs)] + [print_(f) for f in step.forms]
        if step.kind in ("split", "recall") or self.evaluate is None:
            return None if step.kind == "sum" else Line(tuple(parts))
        if step.kind == "sum":
            return self._sum(step, parts[0])
        last = step.forms[-1] if step.forms else step.lhs
        value = self.evaluate(last)
        numbers = self.numbers(last) if step.forms and self.options.numbers else None
        if numbers is not None and numbers[0] == parts[-1]:
            numbers = None
        shown = self._value(last, value, exact=numbers is None)
        if numbers is not None and numbers[0] != shown:
            parts.append(numbers[0] if numbers[1] else rf"\approx {numbers[0]}")
        if shown != parts[-1]:
            parts.append(shown)
        return Line(tuple(parts))

    def _value(self, form: Expr, value: Expr, exact: bool = True) -> str:
        if isinstance(value, sympy.Rational):
            return format_exact(value, self.options.max_decimals)
        return format_value(value, self.options, self.approx(form), exact)

    def _sum(self, step: "Step", lhs: str) -> Line:
        form = step.forms[-1]
        terms = form.args if isinstance(form, Add) else (form,)
        values = [self.evaluate(t) for t in terms]
        value = self.evaluate(form)
        shown = self._value(form, value)
        if len(values) < 2 or not all(isinstance(v, sympy.Rational) for v in values):
            return Line((lhs, shown))
        terms = [format_exact(abs(v), self.options.max_decimals) for v in values]
        if any(t.startswith(r"\approx") for t in terms):
            return Line((lhs, shown))
        text = ("-" if values[0] < 0 else "") + terms[0]
        for v, term in zip(values[1:], terms[1:]):
            text += f" {'-' if v < 0 else '+'} {term}"
        return Line((lhs, text, shown))


def render_lines(
    derivation: "Derivation", values: Mapping | None = None, options: RenderOptions | None = None
) -> list[Line]:
    """The derivation's lines as :class:`Line` objects (parts kept apart for layout)."""
    options = options or RenderOptions()
    context = _Context(derivation, values, options)
    steps = (derivation.context if options.recall else ()) + derivation.steps
    return [line for line in (context.line(s) for s in steps) if line is not None]


def render(derivation: "Derivation", values: Mapping | None = None, options: RenderOptions | None = None) -> list[str]:
    """The derivation as LaTeX relation chains, one string a line (no math delimiters)."""
    return [str(line) for line in render_lines(derivation, values, options)]


def kink_notes(graph: "Graph", env: Mapping[Symbol, Expr], within, options: RenderOptions | None = None) -> list[str]:
    """A sentence for the relu kinks among ``within`` at ``env`` (none when there are none)."""
    from .rules import relu

    printer = Printer(options or RenderOptions())
    zeros = [f.args[0] for q in graph.kinks(env, within) for f in graph.assignment(q).form.atoms(relu)
             if f.args[0].xreplace(env) == 0]
    if not zeros:
        return []
    where = ", ".join(f"${printer.doprint(z)} = 0$" for z in dict.fromkeys(zeros))
    return [
        rf"Note: at these values {where}: relu has no derivative at 0 (its kink). The lines above take "
        r"$\operatorname{relu}'(0) = 0$, one of its subgradients; a finite-difference check is not meaningful there."
    ]


def render_assignments(graph: "Graph", options: RenderOptions | None = None) -> list[str]:
    """``quantity = definition`` for every assignment of ``graph``."""
    printer = Printer(options or RenderOptions())
    return [f"{printer.doprint(a.target)} = {printer.doprint(a.form)}" for a in graph.assignments]


def render_cell(cell, options: RenderOptions | None = None) -> list[str]:
    """The template equations of a cell, written at a generic step t.

    >>> from rnnsym.cells import elman_cell
    >>> render_cell(elman_cell("tanh"))[:2]
    ['z_{t} = h_{t-1} \\\\times W_{h} + x_{t} \\\\times W_{x}', 'h_{t} = \\\\tanh{\\\\left(z_{t} \\\\right)}']
    """
    from .cells import now

    printer = Printer(options or RenderOptions())
    return [f"{printer.doprint(now(e.base))} = {printer.doprint(e.form)}" for e in cell.equations]
