r"""Immediate partials ∂⁺A/∂B, one assignment's own, and their products along a state.

∂⁺A/∂B is the partial derivative of A's own definition with respect to B, its
other arguments held fixed (docs/architecture.md, "What ∂A/∂B means"): for the
LSTM's c_3 := f_3 c_2 + i_3 g_3, ∂⁺c_3/∂c_2 = f_3, while ∂c_3/∂c_2 also
follows c_2 → h_2 → gates of step 3 and is another number.

For the same state at two steps (c_T and c_t, T > t) the immediate partial is
the product of the one-step immediate partials along the state itself:

    ∂⁺c_T/∂c_t = ∂⁺c_T/∂c_{T−1} ⋯ ∂⁺c_{t+1}/∂c_t = f_T ⋯ f_{t+1},

the path that stays in c — the LSTM's *constant error carousel* (Hochreiter &
Schmidhuber 1997): it neither passes through a weight matrix nor through the
derivative of a squashing function, only through the forget gates.  The total
∂c_T/∂c_t adds the paths that leave c through h and come back through the
gates; :class:`ImmediateDerivation` writes it beside, with its value.

>>> from rnnsym.models import lstm
>>> d = derive_immediate(lstm(3), "c_3", "c_1")
>>> d
ImmediateDerivation(d+c_3/dc_1, 2 factors)
>>> d.expr
f_2*f_3
"""

from __future__ import annotations

import re
from typing import Mapping

import sympy
from sympy import Expr, S, Symbol

from ..errors import InputError, InputTypeError
from ..evaluation import Evaluation
from ..forms import Diag, Hadamard, Juxt, Partial, product
from ..graph import Graph
from ..printing import RenderOptions
from .core import ChainDerivation, Derivation
from .lines import Dots
from .step import Step

__all__ = ["ImmediateDerivation", "VectorImmediateDerivation", "derive_immediate", "immediate_path", "IMMEDIATE",
           "ACROSS_STEPS", "across_steps"]

#: How an exercise file asks for an immediate partial: ``find = "d+c_3/dc_1"``.
IMMEDIATE = re.compile(r"d\s*\+\s*([^/\s\[]+(?:\[[\d,\s]*\])?)\s*/\s*d\s*([^/\s\[]+(?:\[[\d,\s]*\])?)")

#: What a sheet's notation paragraph adds when it writes ∂⁺ of one state across several steps.
ACROSS_STEPS = (r" For one state at two steps, $\frac{\partial^{+} c_T}{\partial c_t}$ is the product of the one-step "
                r"immediate partials along that state, the path that stays in it.")

_ACROSS = re.compile(r"\\partial\^\{\+\} ([A-Za-z]+)_\{(\d+)(,\d+)?\}\}\{\\partial \1_\{(\d+)\3?\}")


def across_steps(tex: str) -> bool:
    r"""Whether LaTeX ``tex`` writes an immediate partial of one state across more than one step.

    >>> across_steps(r"\frac{\partial^{+} c_{3}}{\partial c_{1}}"), across_steps(r"\frac{\partial^{+} c_{3}}{\partial c_{2}}")
    (True, False)
    """
    return any(int(top) - int(low) > 1 for _, top, _, low in _ACROSS.findall(tex))


_STEPPED = re.compile(r"(?P<base>[A-Za-z]+)_(?P<t>\d+)(?P<index>\[[\d,]+\])?")


def _stepped(s: Symbol) -> tuple[str, int, str] | None:
    """``c_3[1]`` → ``("c", 3, "[1]")``; None for a name without a step."""
    match = _STEPPED.fullmatch(str(s))
    return (match["base"], int(match["t"]), match["index"] or "") if match else None


def immediate_path(graph: Graph, of: Symbol, wrt: Symbol) -> list[tuple[Symbol, Symbol]]:
    """The one-step links (target, dependency) whose immediate partials multiply to ∂⁺of/∂wrt,
    latest first: ``[(of, wrt)]`` when ``wrt`` appears in ``of``'s definition, else the
    chain ``of`` = s_T → s_{T−1} → … → s_t = ``wrt`` of one state, each s_k in s_{k+1}'s
    definition.

    Raises :class:`~rnnsym.errors.InputError` (field ``wrt``) when there is neither.

    >>> from rnnsym.models import lstm
    >>> g = lstm(3)
    >>> immediate_path(g, g.symbol("c_3"), g.symbol("c_1"))
    [(c_3, c_2), (c_2, c_1)]
    """
    a = graph.assignment(of)
    if wrt in a.dependencies:
        return [(of, wrt)]
    top, bottom = _stepped(of), _stepped(wrt)
    links: list[tuple[Symbol, Symbol]] = []
    if top and bottom and top[0] == bottom[0] and top[2] == bottom[2] and top[1] > bottom[1]:
        current = of
        while current != wrt and not graph.is_leaf(current):
            here = _stepped(current)
            below = [d for d in graph.assignment(current).dependencies
                     if _stepped(d) == (here[0], here[1] - 1, here[2])]
            if not below:
                break
            links.append((current, below[0]))
            current = below[0]
        if current == wrt:
            return links
    args = ", ".join(map(str, a.dependencies))
    raise InputError(
        "wrt", str(wrt),
        f"an argument of {of}'s own definition ({args}), or the same state at an earlier step reached "
        f"through its own definitions (∂⁺c_3/∂c_1 = ∂⁺c_3/∂c_2 ∂⁺c_2/∂c_1): ∂⁺{of}/∂{wrt} is not defined",
    )


class ImmediateDerivation(ChainDerivation):
    """∂⁺of/∂wrt: the immediate partial, or the product of immediate partials along a state.

    ``links`` are the (target, dependency) pairs multiplied, latest first.  Its
    lines are ``∂⁺c_3/∂c_1 = ∂⁺c_3/∂c_2 ∂⁺c_2/∂c_1 = f_3 f_2 = numbers = value``
    (beyond ``2 × window + 1`` factors the middle ones are written ⋯), then,
    for a product over several steps, the total ∂c_3/∂c_1 with its value; its
    ``notes`` say what separates the two.  The value is a number (exact, or
    decimals with ``digits``).

    >>> from rnnsym.models import lstm
    >>> values = {"h_0": 0, "c_0": 1, "x": [0, 0, 0], "W_xi": 0, "W_hi": 0, "W_xf": 0, "W_hf": 0,
    ...           "W_xg": 0, "W_hg": 0, "W_xo": 0, "W_ho": 0, "b_i": 0, "b_f": 0, "b_g": 0, "b_o": 0,
    ...           "W_y": 1, "b_y": 0, "y": [0, 0, 0]}
    >>> d = derive_immediate(lstm(3), "c_3", "c_0")
    >>> d.evaluate(values)
    1/8
    >>> print(d.latex(values)[-2])
    \\frac{\\partial^{+} c_{3}}{\\partial c_{0}} = \\frac{\\partial^{+} c_{3}}{\\partial c_{2}} \\, \\frac{\\partial^{+} c_{2}}{\\partial c_{1}} \\, \\frac{\\partial^{+} c_{1}}{\\partial c_{0}} = f_{3} \\, f_{2} \\, f_{1} = 0.5 \\times 0.5 \\times 0.5 = 0.125
    """

    def __init__(self, graph: Graph, of: Symbol, wrt: Symbol, links: list[tuple[Symbol, Symbol]]) -> None:
        self.links = tuple(links)
        local = [graph.local_partial(t, d) for t, d in links]
        expr = sympy.Mul(*[graph.assignment(t).partial_exprs[d] for t, d in links])
        super().__init__(graph, of, wrt, lambda: (self._steps(), (), None), expr, None, self._context)
        self._local = local

    @property
    def title(self) -> str:
        return f"d+{self.of}/d{self.wrt}"

    def __repr__(self) -> str:
        n = len(self.links)
        return f"ImmediateDerivation({self.title}, {n} factor{'s' if n != 1 else ''})"

    @property
    def lhs(self) -> Partial:
        """∂⁺of/∂wrt, named."""
        return Partial(self.of, self.wrt, True)

    @property
    def carousel(self) -> bool:
        """Whether this is a product over several steps of one state (∂⁺c_T/∂c_t, T − t ≥ 2)."""
        return len(self.links) > 1

    def _steps(self, window: int | None = None) -> tuple[Step, ...]:
        named = [Partial(t, d, True) for t, d in self.links]
        forms = list(self._local)
        if window is not None and len(named) > 2 * window + 1:
            named = named[:window] + [Dots()] + named[-window:]
            forms = forms[:window] + [Dots()] + forms[-window:]
        if len(named) == 1:
            steps = [Step(self.lhs, tuple(dict.fromkeys([forms[0]])))]
        else:
            steps = [Step(self.lhs, (product(named, Juxt), product(forms, Juxt)))]
        if self.carousel:
            steps.append(Step(Partial(self.of, self.wrt), (), "total"))
        return tuple(steps)

    def _context(self) -> tuple[Step, ...]:
        return tuple(Step(t, (self.graph.assignment(t).form,), "recall") for t, _ in reversed(self.links))

    def value_at(self, evaluation: Evaluation) -> Expr:
        return evaluation.number(self._raw(evaluation))

    def _raw(self, evaluation: Evaluation):
        value = S.One if evaluation.exact else 1
        for t, d in self.links:
            value = value * evaluation.partial(Partial(t, d, True))
        return value

    def _rnnsym_lines(self, values: Mapping | None, options: RenderOptions):
        from .lines import derivation_lines

        if len(self.links) <= 2 * options.window + 1:
            return derivation_lines(self, values, options)
        # a long product: its first and last ``window`` factors around ⋯, then its value
        from ..printing import Line, Printer, format_value

        printer = Printer(options)
        head, total_ = self._steps(options.window)
        parts = [printer.doprint(head.lhs), *[printer.doprint(f) for f in head.forms]]
        lines = [Line(tuple(parts))]
        if values is not None:
            evaluation = self.evaluation(values)
            approx = evaluation.decimal(max(options.approx_digits, 1) + 5)
            exact = self.graph.rational or self.graph.steps <= 50
            value = self.value_at(evaluation) if exact else self.value_at(approx)
            lines[0] = Line((*parts, format_value(value, options, self.value_at(approx), exact=exact)))
            whole = evaluation.derivative(self.of, self.wrt) if exact else approx.derivative(self.of, self.wrt)
            shown = format_value(whole, options, approx.derivative(self.of, self.wrt), exact=False)
            lines.append(Line((printer.doprint(total_.lhs), shown)))
        return lines

    def notes(self, values: Mapping, options: RenderOptions | None = None) -> list[str]:
        """For a product over several steps: what the total ∂of/∂wrt adds, with both values."""
        if not self.carousel:
            return []
        from ..printing import Printer, decimal

        options = options or RenderOptions()
        printer = Printer(options)
        evaluation = self.evaluation(values).decimal(max(options.approx_digits, 3) + 5)
        here = self.value_at(evaluation)
        whole = evaluation.derivative(self.of, self.wrt)
        digits = max(options.approx_digits, 3)
        state = _stepped(self.of)[0]
        here_, whole_ = printer.doprint(self.lhs), printer.doprint(Partial(self.of, self.wrt))
        head = (rf"${here_} \approx {decimal(here, digits)}$ is the product of the immediate partials along ${state}$: "
                rf"the path that stays in ${state}$. ")
        if abs(whole - here) <= sympy.Float(10) ** -(digits + 2) * max(1, abs(whole)):
            return [head + rf"The total ${whole_}$ follows every path; here none leaves ${state}$, so the two agree."]
        return [head + rf"The total ${whole_} \approx {decimal(whole, digits)}$ also follows the paths that leave "
                rf"${state}$ and come back into it through the other quantities; they add ${decimal(whole - here, digits)}$."]


class VectorImmediateDerivation(Derivation):
    """∂⁺c_T/∂c_t for a vector state: diag(f_T ⊙ ⋯ ⊙ f_{t+1}), entry by entry an :class:`ImmediateDerivation`.

    Each component of c_T depends on the same component of c_{T−1} alone, so the
    Jacobian of the path along c is diagonal; ``entries`` are the derivations of
    its diagonal, ``of`` and ``wrt`` the column vectors of components.  The value
    is the n×n matrix; the lines are ``∂⁺c_T/∂c_t = diag(f_T ⊙ ⋯ ⊙ f_{t+1}) =
    diag(values)``, then the total ∂c_T/∂c_t beside it.
    """

    def __init__(self, graph: Graph, of: str, wrt: str, entries: list[ImmediateDerivation]) -> None:
        self.graph = graph
        self.names = (of, wrt)
        self.entries = tuple(entries)
        self.of = sympy.Matrix([e.of for e in entries])
        self.wrt = sympy.Matrix([e.wrt for e in entries])

    @property
    def title(self) -> str:
        return f"d+{self.names[0]}/d{self.names[1]}"

    def __repr__(self) -> str:
        return f"VectorImmediateDerivation({self.title}, {len(self.entries)} entries)"

    @property
    def lhs(self) -> Partial:
        return Partial(_symbol(self.names[0]), _symbol(self.names[1]), True)

    @property
    def form(self) -> Expr:
        """``diag(f_T ⊙ ⋯ ⊙ f_{t+1})``, from the factors' names (the first entry's, without its index)."""
        factors = [_symbol(_vector_name(f)) for f in self.entries[0]._local]
        return Diag(product(factors, Hadamard) if len(factors) > 1 else factors[0])

    def value_at(self, evaluation: Evaluation) -> sympy.Matrix:
        return sympy.diag(*[e.value_at(evaluation) for e in self.entries])

    def total_at(self, evaluation: Evaluation) -> sympy.Matrix:
        """The total ∂of/∂wrt (every path, wrt free) at ``evaluation``: a full n×n matrix."""
        return sympy.Matrix(len(self.entries), len(self.entries),
                            lambda i, j: evaluation.derivative(self.entries[i].of, self.entries[j].wrt))

    def _rnnsym_lines(self, values: Mapping | None, options: RenderOptions):
        from ..printing import Line, Printer

        printer = Printer(options)
        parts = [printer.doprint(self.lhs), printer.doprint(self.form)]
        if values is None:
            return [Line(tuple(parts))]
        evaluation = self.evaluation(values)
        exact = all(isinstance(v, sympy.Rational) for v in self.value_at(evaluation))
        shown = max(options.approx_digits, 1)
        point = evaluation if exact else evaluation.decimal(shown + 5)

        def written(m: sympy.Matrix) -> sympy.Matrix:
            return m if exact else m.applyfunc(lambda v: S.Zero if v == 0 else sympy.Float(v, shown))

        mark = "" if exact else r"\approx "
        diagonal = sympy.Matrix([v for v in written(self.value_at(point)).diagonal()])
        parts.append(mark + printer.doprint(Diag(diagonal)))
        total = written(self.total_at(point))
        return [Line(tuple(parts)), Line((printer.doprint(Partial(self.lhs.of, self.lhs.wrt)), mark + printer.doprint(total)))]

    def notes(self, values: Mapping, options: RenderOptions | None = None) -> list[str]:
        """What the total adds to the immediate partial (the two are written above, with their values)."""
        state = _stepped(self.entries[0].of)[0]
        return [rf"The immediate partial follows ${state}$ alone, component by component; the total also follows "
                rf"the paths that leave ${state}$ and come back into it through the other quantities, which mix the "
                r"components."]


def _symbol(name: str) -> Symbol:
    from ..notation import symbol

    return symbol(name)


def _vector_name(form: Expr) -> str:
    """``f_3[1]`` → ``f_3``: the vector a component belongs to."""
    return str(form).partition("[")[0]


def derive_immediate(graph: Graph, of: str, wrt: str) -> ImmediateDerivation | VectorImmediateDerivation:
    """∂⁺of/∂wrt on ``graph``: the partial of ``of``'s own definition, other arguments fixed,
    or the product of those along one state (:func:`immediate_path`).

    ``of`` is a computed quantity, ``wrt`` an argument of its definition or the
    same state at an earlier step (``"c_3"``, ``"c_1"``; components such as
    ``"c_3[1]"`` of a vector state).  Raises
    :class:`~rnnsym.errors.InputError` naming ``of`` or ``wrt`` otherwise.

    >>> from rnnsym.models import elman
    >>> derive_immediate(elman(2), "h_2", "W_h").expr
    h_1
    >>> derive_immediate(elman(2, "tanh"), "h_2", "h_1")
    Traceback (most recent call last):
    ...
    rnnsym.errors.InputError: wrt: got 'h_1', expected an argument of h_2's own definition (z_2), or the same state at an earlier step reached through its own definitions (∂⁺c_3/∂c_1 = ∂⁺c_3/∂c_2 ∂⁺c_2/∂c_1): ∂⁺h_2/∂h_1 is not defined
    """
    if not isinstance(graph, Graph):
        raise InputTypeError("graph", graph, "an unrolled rnnsym Graph")
    for field, name in (("of", of), ("wrt", wrt)):
        if not isinstance(name, str):
            raise InputTypeError(field, name, "a name as exercise files write it (\"c_3\")")
    names = [n.replace(" ", "") for n in (of, wrt)]
    if any(n not in graph.names and n in graph.tensors for n in names):
        return _vector(graph, *names)
    A = graph.symbol(of, "of")
    B = graph.symbol(wrt, "wrt")
    if graph.is_leaf(A):
        raise InputError("of", of, "a computed quantity (∂⁺A/∂B differentiates A's own definition), not a leaf")
    return ImmediateDerivation(graph, A, B, immediate_path(graph, A, B))


def _vector(graph: Graph, of: str, wrt: str) -> VectorImmediateDerivation:
    """∂⁺ of one vector state with respect to the same state at an earlier step, entry by entry."""
    tensors = [graph.tensors.get(n) for n in (of, wrt)]
    keys = [sorted(t) if t is not None else None for t in tensors]
    if None in keys or keys[0] != keys[1] or any(len(k) != 1 for k in keys[0]):
        field, name = ("of", of) if tensors[0] is None or len(next(iter(keys[0] or [()]))) != 1 else ("wrt", wrt)
        raise InputError(field, name, "for a whole vector, the same vector state at two steps (\"c_3\" and "
                         "\"c_1\"), or one entry of each (\"c_3[1]\", \"c_1[1]\")")
    entries = []
    for key in keys[0]:
        A, B = tensors[0][key], tensors[1][key]
        if graph.is_leaf(A):
            raise InputError("of", of, "a computed quantity (∂⁺A/∂B differentiates A's own definition), not a leaf")
        try:
            entries.append(ImmediateDerivation(graph, A, B, immediate_path(graph, A, B)))
        except InputError:
            raise InputError("wrt", wrt, f"the same vector state as {of} at an earlier step, reached through its own "
                             f"definitions entry by entry (∂⁺c_3/∂c_1 = diag(f_3 ⊙ f_2))") from None
    return VectorImmediateDerivation(graph, of, wrt, entries)
