"""A derivation's steps written with numbers: ``lhs = named = symbolic = numbers = value``.

Each :class:`~rnnsym.derivation.core.Step` becomes one chain; at given values
the symbolic form is repeated with every symbol and named partial replaced by
its number (exact where it is, decimals where it is not), then the value.

>>> from rnnsym.models import elman
>>> from rnnsym.derivation import derive
>>> values = {"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": "0.1", "W_y": 2}
>>> print(derive(elman(2), "L", "h_1").latex(values)[-1])
\\frac{\\partial L}{\\partial h_{1}} = -4 + 4 = 0
"""

from __future__ import annotations

from typing import Any, Mapping

import mpmath
import sympy
from sympy import Add, Expr, Symbol

from ..cells import now
from ..evaluation import GUARD
from ..exact import mp_value
from ..forms import Partial, Times, plain, substitute, total
from ..numbers import format_exact
from ..printing import Line, Printer, RenderOptions, decimal, format_value
from ..printing.printer import TIMES
from ..rules import relu
from .step import Step


class Dots(sympy.Expr):
    """⋯ in a written sum: terms left out."""

    is_commutative = True

    def _rnnsym_latex(self, printer) -> str:
        return r"\cdots"

    _latex = _rnnsym_latex

    def _sympystr(self, printer) -> str:
        return "…"

class Where(sympy.Expr):
    """``expr`` under a stated ``condition``, as written: ŷ_t − y_t if Σ_k y_{t,k} = 1."""

    is_commutative = True

    def __new__(cls, expr: Expr, condition: Expr) -> "Where":
        return sympy.Expr.__new__(cls, expr, condition)

    def _rnnsym_latex(self, printer) -> str:
        return rf"{printer._print(self.args[0])} \quad \text{{if }} {printer._print(self.args[1])}"

    _latex = _rnnsym_latex

    def _sympystr(self, printer) -> str:
        return f"{printer._print(self.args[0])} if {printer._print(self.args[1])}"


__all__ = ["derivation_lines", "derivation_tables", "plan", "kink_notes", "Dots", "Where", "EXACT_STEPS"]

#: A model whose values are irrational is written with exact values up to this many steps, in decimals beyond.
EXACT_STEPS = 50


class _Context:
    def __init__(self, derivation: Any, values: Mapping | None, options: RenderOptions) -> None:
        self.options = options
        self.printer = Printer(options)
        self.evaluate = None
        if values is not None:
            graph = derivation.graph
            evaluation = derivation.evaluation(values)
            # guard digits: a value is rounded once, when it is written
            self.approx = evaluation.decimal(max(options.approx_digits, 1) + GUARD)
            # a long model of irrational values is written in decimals: its exact values are towers
            exact = graph.rational or graph.steps <= EXACT_STEPS
            self.evaluate = evaluation if exact else self.approx
            env = self.evaluate.env if exact else {}
            self.spelled = {s: n.latex for s, n in evaluation.spelling.items()}
            for q in graph.quantities:
                if isinstance(env.get(q), sympy.Rational):
                    text = format_exact(env[q], options.max_decimals)
                    if not text.startswith(r"\approx"):  # too long to write exactly: a decimal below
                        self.spelled[q] = text

    def numbers(self, form: Expr) -> tuple[tuple[str, tuple[str, ...]], bool] | None:
        """``form`` with every symbol and named partial replaced by its number,
        and whether all of them were exact; irrational ones are written as
        decimals (``None`` when a value is missing or decimals are disabled)."""
        table = dict(self.spelled)
        decimals: dict[Any, Any] = {}  # what is written as a decimal: its value
        for s in form.free_symbols:
            if s not in table and s in self.approx.env:
                decimals[s] = self.approx.env[s]
        for p in form.atoms(Partial):
            value = self.evaluate.partial(p)
            text = format_exact(value, self.options.max_decimals) if isinstance(value, sympy.Rational) else r"\approx"
            if not text.startswith(r"\approx"):
                table[p] = text
            else:
                decimals[p] = self.approx.partial(p)
        exact, digits = not decimals, self._digits(form, decimals)
        if digits is None:  # the decimals as written hide a cancellation (1/(1 − 1.0)): no number line
            return None
        table.update({key: decimal(value, digits) for key, value in decimals.items()})
        if any(t is None for t in table.values()) or any(s not in table for s in form.free_symbols):
            return None
        printer = Printer(self.options, table)
        return (printer.doprint(form), printer.pieces(form)), exact

    def _digits(self, form: Expr, decimals: dict) -> int | None:
        """The digits with which ``decimals`` are written in ``form``'s number line:
        ``approx_digits``, or up to 6 more when the numbers as written (rounded) give
        a value more than 100 units in the last place from the line's (1 − 1.0 for
        1 − σ(40)); ``None`` when even those are not enough or decimals are disabled."""
        digits = self.options.approx_digits
        if not digits or not decimals:
            return digits or None if decimals else digits
        names = {key: sympy.Dummy() for key in decimals}
        plain_form = plain(form.xreplace(names))
        plain_form = plain_form.xreplace({p: names[p] for p in names if isinstance(p, Partial)})
        env = {**self.approx.env, **{p: self.approx.partial(p) for p in form.atoms(Partial) if p not in names}}
        target = self.approx(form)
        for shown in range(digits, digits + 7, 3):
            values = {names[k]: mpmath.mpf(mpmath.libmp.to_str(v._mpf_, shown)) for k, v in decimals.items()
                      if isinstance(v, mpmath.mpf)}
            if len(values) < len(decimals):
                return digits
            with mpmath.workprec(self.approx.prec):
                try:
                    value = mp_value(plain_form, {**env, **values}, self.approx.prec)
                except (ZeroDivisionError, ValueError):
                    continue
                if mpmath.isfinite(value) and abs(value - target) <= abs(target) * mpmath.mpf(10) ** (2 - digits):
                    return shown
        return None

    def decimal(self, value: Expr) -> str | None:
        if not self.options.approx_digits:
            return None
        return decimal(value, self.options.approx_digits)

    def line(self, step: Any) -> Line | None:
        if step is _ELLIPSIS:
            return Line((r"\vdots",))
        print_ = self.printer.doprint
        parts = [print_(step.lhs)] + [print_(f) for f in step.forms]
        pieces = [None] + [self.printer.pieces(f) for f in step.forms]
        if step.kind in ("split", "recall", "local") or self.evaluate is None:
            return None if step.kind == "sum" else Line(tuple(parts), tuple(pieces))
        if step.kind == "sum":
            return self._sum(step, parts[0])
        if step.kind == "value":  # a definition written with ⋯: the quantity's value
            value = self.evaluate.env[step.lhs]
            return Line(tuple(parts) + (self._value(step.lhs, value),), tuple(pieces))
        if step.kind == "total":  # a sum written with Σ or ⋯: its value, computed directly
            value = self.evaluate.derivative(step.lhs.of, step.lhs.wrt)
            approx = self.approx.derivative(step.lhs.of, step.lhs.wrt)
            return Line(tuple(parts) + (format_value(value, self.options, approx, exact=False),), tuple(pieces))
        last = step.forms[-1] if step.forms else step.lhs
        value = self.evaluate(last)
        numbers = self.numbers(last) if step.forms and self.options.numbers else None
        if numbers is not None and numbers[0][0] == parts[-1]:
            numbers = None
        shown = self._value(last, value, exact=numbers is None)
        if numbers is not None and numbers[0][0] != shown:
            (text, text_pieces), exact = numbers
            if not exact:
                text, text_pieces = rf"\approx {text}", (rf"\approx {text_pieces[0]}", *text_pieces[1:])
            parts.append(text)
            pieces.append(text_pieces)
        if shown != parts[-1]:
            parts.append(shown)
            pieces.append(None)
        return Line(tuple(parts), tuple(pieces))

    def _value(self, form: Expr, value: Expr, exact: bool = True) -> str:
        if isinstance(value, sympy.Rational):
            return format_exact(value, self.options.max_decimals)
        if not self.evaluate.exact:
            return format_value(value, self.options, value, exact=False)
        return format_value(value, self.options, self.approx(form), exact)

    def _sum(self, step: Any, lhs: str) -> Line:
        form = step.forms[-1]
        weight = None
        if isinstance(form, Times) and len(form.args) == 2 and form.args[0].is_Rational:
            weight, inner = form.args  # a mean over time: 1/T × (the sum of the terms)
        else:
            inner = form
        terms = inner.args if isinstance(inner, Add) else (inner,)
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
        if weight is not None:
            text = rf"{self.printer.doprint(weight)} {TIMES[self.options.times]} \left({text}\right)"
        return Line((lhs, text, shown))




_ELLIPSIS = object()  # stands for the time steps a long recursion leaves out


def _long(derivation: Any, options: RenderOptions) -> list[int] | None:
    """The time steps of a recursion's lines, when there are more than ``2 × window + 1``."""
    if getattr(derivation, "split", None) != "step" or derivation.wrt is None:
        return None
    graph = derivation.graph
    times = sorted({graph.assignment(s.lhs.wrt).step for s in derivation.steps
                    if isinstance(s.lhs, Partial) and not graph.is_leaf(s.lhs.wrt)} - {None})
    return times if len(times) > 2 * options.window + 1 else None


def _generic_sum(derivation: Any, step: Any) -> Any:
    """The last line of a long recursion, ∂A/∂B = Σ_v …, written as one Σ over t when its
    terms are one term at every step, else its first and last terms around ⋯."""
    graph = derivation.graph
    A, B = derivation.of, derivation.wrt
    upstream = set(graph.upstream(A))
    consumers = [v for v in graph.consumers(B) if v in upstream]
    times = [graph.assignment(v).step for v in consumers]
    # one term a step, each from the same template equation: the terms differ only in t
    uniform = (None not in times and times == list(range(times[0], times[0] + len(times)))
               and len({id(graph.assignment(v).template) for v in consumers}) == 1)
    forms = []
    for form in step.forms:
        terms = list(form.args) if isinstance(form, Add) else [form]
        sample = sorted({0, min(1, len(terms) - 1), len(terms) - 1}) if uniform and len(terms) == len(times) else []
        generic = {substitute(terms[i], graph.generic(times[i])) for i in sample}
        if sample and len(generic) == 1:
            index = Symbol("t", integer=True)
            forms.append(sympy.Sum(generic.pop(), (index, times[0], times[-1])))
        else:
            forms.append(total(terms[:2] + [Dots()] + terms[-2:]))
    return Step(step.lhs, tuple(dict.fromkeys(forms)), "total")


def _computation(derivation: Any, options: RenderOptions) -> list[Any] | None:
    """A forward computation over more than ``2 × window + 1`` steps: its definitions of
    the first and last ``window`` steps around ⋯ (None when it is short)."""
    graph = derivation.graph
    timed = [(graph.assignment(s.lhs).step if not graph.is_leaf(s.lhs) else None, s) for s in derivation.steps]
    times = sorted({t for t, _ in timed} - {None})
    if len(times) <= 2 * options.window + 1:
        return None
    late, early = set(times[-options.window:]), set(times[: options.window])
    out: list[Any] = []
    skipped = False  # steps were left out since the last line written: ⋮ goes before the next
    for t, s in timed:
        if t is not None and t not in early and t not in late:
            skipped = True
            continue
        if skipped:
            out.append(_ELLIPSIS)
            skipped = False
        form = s.forms[0] if t is None and s.forms else None
        weight, inner = (form.args if isinstance(form, Times) and len(form.args) == 2 and form.args[0].is_Rational
                         else (None, form))  # a mean over time: 1/T × (the sum)
        if t is None and graph.assignment(s.lhs).role == "total" and len(inner.args) > 2 * options.window + 1:
            terms = list(inner.args)
            short = total(terms[: options.window] + [Dots()] + terms[-options.window:])
            out.append(Step(s.lhs, (short if weight is None else Times(weight, short),), "value"))
        else:
            out.append(s)
    return out


def plan(derivation: Any, options: RenderOptions) -> list[Any]:
    """The steps to write, in order: the context, the legend of named local partials,
    the lines; for a long recursion, the cell's equations at a generic step, the
    lines of the last and first ``options.window`` time steps around ⋯, and the
    last line as a sum over t; for a long forward computation, its first and last
    ``options.window`` steps around ⋯."""
    if derivation.wrt is None:
        return _computation(derivation, options) or list(derivation.steps)
    times = _long(derivation, options)
    legend = list(getattr(derivation, "legend", ()))
    if times is None:
        context = list(derivation.context) if options.recall else []
        return context + legend + list(derivation.steps)
    graph = derivation.graph
    kept_late, kept_early = set(times[-options.window:]), set(times[: options.window])
    out: list[Any] = []
    if options.recall:
        out += [Step(now(e.base), (e.form,), "recall") for e in graph.cell.equations if e.role != "loss"]
    out += legend
    gap = False
    for s in derivation.steps:
        if isinstance(s.lhs, Partial) and not graph.is_leaf(s.lhs.wrt):
            t = graph.assignment(s.lhs.wrt).step
            if t in kept_late or t in kept_early:
                if t in kept_early and not gap:
                    out.append(_ELLIPSIS)
                    gap = True
                out.append(s)
        elif s.kind != "sum":
            out.append(_generic_sum(derivation, s))
    return out


def derivation_lines(
    derivation: Any, values: Mapping | None = None, options: RenderOptions | None = None
) -> list[Line]:
    """The derivation's lines as :class:`Line` objects (parts kept apart for layout)."""
    options = options or RenderOptions()
    context = _Context(derivation, values, options)
    return [line for line in (context.line(s) for s in plan(derivation, options)) if line is not None]


def derivation_tables(derivation: Any, values: Mapping, options: RenderOptions | None = None) -> list[str]:
    """For a long recursion at ``values``: a table of ∂A/∂h_t and of each step's
    contribution to ∂A/∂B, for every step when there are few, else for a selection
    (the first and last five and ten between); none otherwise."""
    options = options or RenderOptions()
    times = _long(derivation, options)
    graph = derivation.graph
    base = graph.cell.state[0]
    if times is None or graph.cell.size(base) != 1:
        return []
    A, B = derivation.of, derivation.wrt
    evaluation = derivation.evaluation(values).decimal(max(options.approx_digits, 3))
    upstream = set(graph.upstream(A))
    contribution: dict[int, Any] = {}
    for v in graph.consumers(B):
        if v in upstream:
            t = graph.assignment(v).step
            term = evaluation.derivative(A, v) * evaluation.partial(Partial(v, B, True))
            contribution[t] = contribution.get(t, 0) + term
    chosen = times if len(times) <= 20 else sorted(
        set(times[:5]) | set(times[-5:]) | {times[round(i * (len(times) - 1) / 11)] for i in range(1, 11)})
    printer = Printer(options)
    digits = max(options.approx_digits, 3)
    state = lambda t: Symbol(f"{base}_{t}", real=True)  # noqa: E731
    head = (rf"$t$ & ${printer.doprint(Partial(A, state('t')))}$ & "
            rf"contribution to ${printer.doprint(Partial(A, B))}$ \\")
    rows = []
    for i, t in enumerate(chosen):
        if i and t != chosen[i - 1] + 1:
            rows.append(r"$\vdots$ & & \\")
        adjoint = evaluation.derivative(A, state(t)) if state(t) in upstream or state(t) in graph.leaves else 0
        rows.append(rf"{t} & ${decimal(adjoint, digits)}$ & ${decimal(contribution.get(t, 0), digits)}$ \\")
    return ["\n".join([r"\begin{tabular}{rrr}", r"\toprule", head, r"\midrule", *rows, r"\bottomrule",
                       r"\end{tabular}"])]


def kink_notes(graph: Any, env: Mapping[Symbol, Expr], within, options: RenderOptions | None = None) -> list[str]:
    """A sentence for the relu kinks among ``within`` at ``env`` (none when there are none)."""
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
