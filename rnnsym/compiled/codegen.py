"""The structure of a compiled gradient, shared by every backend.

:func:`plan` reads a graph's cell once and returns a :class:`Plan`: the
quantities, the forward assignments at step t, the loss at the steps with a
loss, the adjoint seeds ∂L/∂q_t there, the backward accumulations at step t
(into ``delta_q[t]`` and ``delta_q[t-1]``) and each parameter's gradient as a
sum over t.  Expressions use the symbols ``q[t]`` and ``q[t-1]`` for a
quantity's row, so a backend spells rows as it likes.  :func:`assign` prints a
group of assignments after :func:`sympy.cse`; :func:`row_loops` writes the
loops over t on arrays of rows t = 0..T (the numpy and PyTorch code).

A softmax output is computed from its logits shifted by their maximum, the
log of a softmax in the loss as the logits minus their log-sum-exp, and the log
of a sigmoid σ(a) (or of 1 − σ(a)) as log σ(±a) (:class:`LogSigmoid`); when
only the loss uses such an output, its adjoint is taken to the logits in one
product (for cross-entropy ∂L/∂o_t = ŷ_t Σ_k y_{t,k} − y_t, for binary
cross-entropy ŷ_t − y_t), so large logits give finite, exact values where
exp(o) overflows or ŷ rounds to 0 or 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy
from sympy import Expr, Symbol

from ..cells import now, placeholder
from ..forms import plain
from ..rules import sigmoid
from .layout import python_name

__all__ = ["Plan", "plan", "assign", "row_loops", "Max", "LogSigmoid", "Functions", "loss_lines"]


class Max(sympy.Function):
    """The elementwise maximum of its arguments, left unevaluated for the printers.

    >>> from rnnsym.compiled.numpy_backend import NumpyCode
    >>> NumpyCode().doprint(Max(*sympy.symbols("a b c")))
    'numpy.maximum(a, numpy.maximum(b, c))'
    """


class LogSigmoid(sympy.Function):
    """log σ(a) = −log(1 + e^(−a)), printed as each library's stable function.

    >>> from rnnsym.compiled.numpy_backend import NumpyCode
    >>> NumpyCode().doprint(LogSigmoid(Symbol("o")))
    '(-numpy.logaddexp(0.0, -(o)))'
    """


class Functions:
    """rnnsym's functions for a sympy code printer, each library spelling them by
    :attr:`SPELLING`: templates for ``sigmoid``, ``relu``, ``log_sigmoid`` (of
    ``{x}``), ``heaviside`` (of ``{x}`` and its value ``{at_zero}`` at 0) and
    ``maximum`` (of ``{a}`` and ``{b}``, nested for more arguments).

    >>> from sympy.printing.numpy import NumPyPrinter
    >>> class Code(Functions, NumPyPrinter):
    ...     SPELLING = {"maximum": "max({a}, {b})"}
    >>> Code().doprint(Max(*sympy.symbols("a b c")))
    'max(a, max(b, c))'
    """

    SPELLING: dict[str, str] = {}

    def _function(self, name: str, e: Expr) -> str:
        return self.SPELLING[name].format(x=self._print(e.args[0]))

    def _print_sigmoid(self, e: Expr) -> str:
        return self._function("sigmoid", e)

    def _print_relu(self, e: Expr) -> str:
        return self._function("relu", e)

    def _print_LogSigmoid(self, e: Expr) -> str:
        return self._function("log_sigmoid", e)

    def _print_Heaviside(self, e: Expr) -> str:  # Heaviside(z, 0): 0 at 0, as relu's written derivative
        at_zero = float(e.args[1]) if len(e.args) > 1 else 0.5
        return self.SPELLING["heaviside"].format(x=self._print(e.args[0]), at_zero=repr(at_zero))

    def _print_Max(self, e: Expr) -> str:
        out = self._print(e.args[-1])
        for a in reversed(e.args[:-1]):
            out = self.SPELLING["maximum"].format(a=self._print(a), b=out)
        return out


@dataclass
class Plan:
    """A compiled gradient's computation, as expressions in the rows ``q[t]``, ``q[t-1]``.

    ``quantities`` are the computed bases' Python names and ``state0`` maps each
    state to its initial-state argument; ``forward`` holds groups of ``(q,
    expression)`` assigned together at step t, ``losses`` the loss at step t and
    ``seeds`` each loss's ``(q, ∂L/∂q_t)`` there (``weight`` included);
    ``backward`` holds, per equation in reverse order, ``(q, offset, term)`` added
    to ``delta_q`` at row t + offset; ``gradients`` each ``dL_dw`` as the term to
    sum over t; ``results`` each component of ``wrt`` with its gradient's name
    (None for an initial state: row 0 of its adjoint); ``deltas`` the quantities
    with an adjoint array.  See :func:`plan` for an example.
    """

    T: int
    wrt: tuple[str, ...]
    header: str
    quantities: list[str]
    state0: dict[str, str]
    sequences: list[str]
    forward: list[list[tuple[str, Expr]]]
    every_step: bool
    loss_steps: list[int]
    weight: Expr
    losses: list[tuple[str, Expr]]
    seeds: list[tuple[str, list[tuple[str, Expr]]]]
    backward: list[list[tuple[str, int, Expr]]]
    gradients: list[tuple[str, Expr]]
    results: list[tuple[str, str | None]]
    deltas: list[str]
    idents: set[str]

    def recurrent(self) -> set[str]:
        """The quantities the loop over t must compute step by step: each one read at step
        t − 1 by a later step, and each one those read at the same step (the rest can be
        computed for every step at once, after the loop)."""
        def read(e: Expr, suffix: str) -> set[str]:
            return {q for q in self.quantities if Symbol(f"{q}{suffix}") in e.free_symbols}

        loop = {q for group in self.forward for _, e in group for q in read(e, "[t-1]")}
        grown = True
        while grown:
            grown = False
            for group in self.forward:
                if {q for q, _ in group} & loop:
                    needed = {q for _, e in group for q in read(e, "[t]")} | {q for q, _ in group}
                    if not needed <= loop:
                        loop |= needed
                        grown = True
        return loop

    def state_of(self, ident: str) -> str | None:
        """The state base whose initial value is the argument ``ident`` (None for a parameter)."""
        return next((b for b, s in self.state0.items() if s == ident), None)


def _row(base: str, offset: int = 0) -> Symbol:
    return Symbol(f"{python_name(base)}[t{'-1' if offset == -1 else ''}]")


def _softmax(form: Expr) -> tuple[Expr, list[Expr]] | None:
    """``(a_j, [a_1, …, a_k])`` when ``form`` is exp(a_j) / Σ_i exp(a_i), else None."""
    n, d = form.as_numer_denom()
    if isinstance(n, sympy.exp) and isinstance(d, sympy.Add) and all(isinstance(a, sympy.exp) for a in d.args) and n in d.args:
        return n.args[0], [a.args[0] for a in d.args]
    return None


def plan(graph, wrt: tuple[str, ...], names: dict, header: str) -> Plan:
    """The :class:`Plan` of ``graph``'s loss and its gradients with respect to ``wrt``
    (``names`` from :func:`~rnnsym.compiled.layout.layout_of`, ``header`` the signature).

    >>> import rnnsym
    >>> from rnnsym.compiled.layout import layout_of
    >>> graph = rnnsym.elman(3, activation="tanh")
    >>> p = plan(graph, ("W_h",), layout_of(graph), "")
    >>> p.forward
    [[('z', W_h*h[t-1] + W_x*x[t])], [('h', tanh(z[t]))], [('yhat', W_y*h[t])]]
    >>> p.backward[-1], p.gradients
    ([('h', -1, W_h*delta_z[t])], [('dL_dW_h', delta_z[t]*h[t-1])])
    """
    cell = graph.cell
    per_step = [e for e in cell.equations if e.role != "loss"]
    losses = [e for e in cell.equations if e.role == "loss"]
    computed = [e.base for e in cell.equations]
    loss_bases = {e.base for e in losses}
    quantities = [b for b in computed if b not in loss_bases]
    params = set(cell.parameters)
    wanted = {ident for w in wrt for _, ident in names["components"][w]}
    state0 = {python_name(b): python_name(s0) for b, s0 in names["state_bases"].items()}
    weight = graph.assignments[-1].weight

    def code(s: Symbol) -> Symbol:
        ph = placeholder(s)
        return Symbol(python_name(s.name)) if ph is None else _row(*ph)

    def mapping(e) -> dict:
        syms = set(e.form.free_symbols) | {now(e.base)}
        for f in e.partials.values():
            syms |= plain(f).free_symbols
        return {s: code(s) for s in syms}

    def partials(e):
        m = mapping(e)
        return [(s, placeholder(s), plain(f).xreplace(m)) for s, f in e.partials.items()]

    # an output whose log the loss takes: a softmax (computed from shifted logits) or a sigmoid;
    # logs maps log(q_t) (and log(1 - q_t)) to a stable form, logits maps q to what it is computed from
    softmax: dict[str, list[Expr]] = {}
    logs: dict[Expr, Expr] = {}
    logits: dict[str, list[Expr]] = {}
    forward: list[list[tuple[str, Expr]]] = []
    for e in per_step:
        q = python_name(e.base)
        form = plain(e.form).xreplace(mapping(e))
        found = _softmax(form) if e.role == "output" else None
        if e.role == "output" and isinstance(form, sigmoid):
            a = form.args[0]
            logs |= {sympy.log(_row(e.base)): LogSigmoid(a), sympy.log(1 - _row(e.base)): LogSigmoid(-a)}
            logits[q] = [a]
        if found is None:
            forward.append([(q, form)])
            continue
        a, args = found
        top = Max(*args)
        shifted = sympy.exp(a - top) / sympy.Add(*[sympy.exp(b - top) for b in args])
        if forward and softmax.get(forward[-1][0][0]) == args:
            forward[-1].append((q, shifted))
        else:
            forward.append([(q, shifted)])
        softmax[q] = logits[q] = args
        logs[sympy.log(_row(e.base))] = a - top - sympy.log(sympy.Add(*[sympy.exp(b - top) for b in args]))

    users = {python_name(placeholder(s)[0]) for e in per_step for s in e.partials if placeholder(s)}
    rows_t = {_row(b) for b in quantities}
    loss_forms = [(python_name(e.base), plain(e.form).xreplace(mapping(e))) for e in losses]
    logged = {q for q in logits if any(form.has(sympy.log(Symbol(f"{q}[t]"))) for _, form in loss_forms)}
    fused = {q for q in logged if q not in users and set(logits[q]) <= rows_t}
    fused_eqs = {python_name(e.base): e for e in per_step if python_name(e.base) in fused}
    loss_code = [(q, form.xreplace(logs)) for q, form in loss_forms]

    seeds = []
    for e in reversed(losses):
        contributions: dict[str, Expr] = {}
        for s, ph, f in partials(e):
            if ph is None or ph[0] not in computed:
                continue  # targets
            q = python_name(ph[0])
            if q in fused:
                for s2, ph2, f2 in partials(fused_eqs[q]):
                    target = python_name(ph2[0])
                    contributions[target] = contributions.get(target, 0) + sympy.expand(sympy.cancel(weight * f * f2))
            else:
                contributions[q] = contributions.get(q, 0) + weight * f
        seeds.append((e.base, list(contributions.items())))

    backward = []
    gradient_terms: dict[str, Expr] = {}
    for e in reversed(per_step):
        if python_name(e.base) in fused:
            continue
        d = _row(e.base)
        group = []
        for s, ph, f in partials(e):
            if ph is None:
                ident = python_name(s.name)
                if s.name in params and ident in wanted:
                    key = f"dL_d{ident}"
                    gradient_terms[key] = gradient_terms.get(key, 0) + f * Symbol("delta_" + d.name)
                continue
            base, offset = ph
            if base not in computed:
                continue  # an input
            group.append((python_name(base), offset, f * Symbol("delta_" + d.name)))
        if group:
            backward.append(group)
    results = []
    for w in wrt:
        for _, ident in names["components"][w]:
            results.append((ident, None if ident in state0.values() else f"dL_d{ident}"))
    return Plan(
        T=graph.steps, wrt=wrt, header=header, quantities=[python_name(q) for q in quantities], state0=state0,
        sequences=[ident for comps in names["sequences_components"].values() for _, ident in comps],
        forward=forward, every_step=list(graph.loss_steps) == list(range(1, graph.steps + 1)),
        loss_steps=list(graph.loss_steps), weight=weight, losses=loss_code, seeds=seeds, backward=backward,
        gradients=list(gradient_terms.items()), results=results,
        deltas=[python_name(q) for q in quantities if python_name(q) not in fused], idents=set(names["idents"]))


def _split(e: Expr, loop: set[str]) -> tuple[list[Expr], list[Expr]]:
    """The terms of a sum ``e`` that read no quantity of ``loop`` (inputs, parameters), and the others."""
    rows = {Symbol(f"{q}{r}") for q in loop for r in ("[t]", "[t-1]")}
    terms = list(e.args) if isinstance(e, sympy.Add) else [e]
    free = [a for a in terms if not a.free_symbols & rows]
    return free, [a for a in terms if a.free_symbols & rows]


def _adjoint_of(group: list[tuple[str, int, Expr]]) -> str:
    """The quantity q whose adjoint ``delta_q[t]`` a backward group's terms carry back."""
    name = next(s.name for s in group[0][2].free_symbols if s.name.startswith("delta_"))
    return name[len("delta_"):].partition("[")[0]


def assign(printer, lines: list[str], targets: list[str], exprs: list[Expr], op: str, indent: str,
           rows: dict[str, str] | None = None, total: str | list[str] | None = None) -> None:
    """``target op expr`` lines after the common subexpressions; ``rows`` respells the rows
    ``[t]`` and ``[t-1]`` (in order), ``total`` (``"numpy.sum({}, axis=0)"``, or one per
    target) wraps each result.

    >>> from rnnsym.compiled.numpy_backend import NumpyCode
    >>> a, b = sympy.symbols("a b")
    >>> lines = []
    >>> assign(NumpyCode(), lines, ["u", "v"], [sympy.exp(a + b), 2 * sympy.exp(a + b)], "=", "")
    >>> lines
    ['tmp0 = numpy.exp(a + b)', 'u = tmp0', 'v = 2*tmp0']
    """
    temps, reduced = sympy.cse(exprs, symbols=sympy.numbered_symbols("tmp"), optimizations=None)

    def spell(e: Expr) -> str:
        text = printer.doprint(e)
        for row, spelled in (rows or {}).items():
            text = text.replace(row, spelled)
        return text

    for sym, v in temps:
        lines.append(f"{indent}{sym} = {spell(v)}")
    wraps = total if isinstance(total, list) else [total or "{}"] * len(targets)
    for target, v, wrap in zip(targets, reduced, wraps):
        lines.append(f"{indent}{target} {op} " + wrap.format(spell(v)))


def loss_lines(printer, lines: list[str], p: Plan, steps: str, total: str) -> None:
    """The lines of the loss, every step with a loss (``S``, spelled ``steps``) at once, summed by ``total``."""
    lines.append(f"    S = {steps}  # the steps with a loss")
    scale = "" if p.weight == 1 else f"{printer.doprint(p.weight)} * "
    for q, e in p.losses:
        assign(printer, lines, [f"{q}_t"], [e], "=", " " * 4, {"[t]": "[S]"})
        lines.append(f"    L = {scale}{total.format(q + '_t')}")


def row_loops(p: Plan, printer, zeros: str, total: str) -> str:
    """The code on arrays of rows t = 0..T with Python loops over t: ``zeros`` creates a
    (T + 1, B) array of zeros, ``total`` sums over axis 0.

    >>> import rnnsym
    >>> from rnnsym.compiled.layout import layout_of
    >>> from rnnsym.compiled.numpy_backend import NumpyCode
    >>> graph = rnnsym.elman(2)
    >>> source = row_loops(plan(graph, ("W_h",), layout_of(graph), "W_h, W_x, W_y, h_0, x, y"), NumpyCode(),
    ...                    "numpy.zeros((T + 1, B))", "numpy.sum({}, axis=0)")
    >>> print(source.splitlines()[-1])
        return L, {'W_h': dL_dW_h}
    """
    L = [f"def loss_and_gradients({p.header}):",
         f'    """L and ∂L/∂w for w in {", ".join(p.wrt)}; every array has the batch as its last axis."""',
         f"    T = {p.T}", f"    B = {p.sequences[0]}.shape[1]",
         "    # the value of each quantity at each step (row t; row 0 holds the initial state)"]
    L += [f"    {q} = {zeros}" for q in p.quantities]
    L += [f"    {b}[0] = {s0}" for b, s0 in p.state0.items()]
    loop = p.recurrent()
    rows = {"[t-1]": "[:-1]", "[t]": "[1:]"}
    inside, before = [], []
    for group in p.forward:
        if not {q for q, _ in group} & loop:
            continue
        q, e = group[0]
        free, bound = _split(e, loop) if len(group) == 1 else ([], [e])
        if free and not bound:  # read by the loop, computed from inputs and parameters alone
            before.append((q, e))
        elif free and bound:
            before.append((q, sympy.Add(*free)))
            inside.append((group, "+=", [sympy.Add(*bound)]))
        else:
            inside.append((group, "=", [e for _, e in group]))
    L += ["", "    # forward pass"]
    if before:
        L.append("    # (the terms that do not depend on the previous step's state: every step at once)")
        assign(printer, L, [f"{q}[1:]" for q, _ in before], [e for _, e in before], "=", " " * 4, rows)
    L.append("    for t in range(1, T + 1):")
    for group, op, exprs in inside:
        assign(printer, L, [f"{q}[t]" for q, _ in group], exprs, op, " " * 8)
    after = [group for group in p.forward if not {q for q, _ in group} & loop]
    if after:
        L.append("    # the quantities no later step needs: every step at once")
        for group in after:
            assign(printer, L, [f"{q}[1:]" for q, _ in group], [e for _, e in group], "=", " " * 4, rows)
    loss_lines(printer, L, p, "slice(1, T + 1)" if p.every_step else repr(p.loss_steps), total)
    L += ["", "    # backward pass: delta_q[t] is ∂L/∂q_t (q_t free), accumulated from the quantities that use q_t"]
    L += [f"    delta_{q} = {zeros}" for q in p.deltas]
    for base, contributions in p.seeds:
        L.append(f"    # ∂L/∂{base}_t = {printer.doprint(p.weight)} at the steps with a loss")
        assign(printer, L, [f"delta_{q}[S]" for q, _ in contributions], [e for _, e in contributions], "+=", " " * 4,
               {"[t]": "[S]"})
    outside = [group for group in p.backward if _adjoint_of(group) not in loop]
    if outside:
        L.append("    # from the quantities no later step needs, every step at once")
        for group in outside:
            assign(printer, L, [f"delta_{q}[{'1:' if o == 0 else ':-1'}]" for q, o, _ in group],
                   [e for *_, e in group], "+=", " " * 4, rows)
    L.append("    for t in range(T, 0, -1):")
    for group in p.backward:
        if _adjoint_of(group) in loop:
            assign(printer, L, [f"delta_{q}[t{'-1' if o == -1 else ''}]" for q, o, _ in group],
                   [e for *_, e in group], "+=", " " * 8)
    if len(L[-1]) - len(L[-1].lstrip()) < 8:
        L.append("        pass")
    L.append("")
    if p.gradients:
        L.append("    # each parameter's gradient: the sum over t of ∂⁺q_t/∂w × delta_q[t], every step at once")
        L.append("    # (row slice 1: is step t, :-1 is step t - 1)")
        assign(printer, L, [g for g, _ in p.gradients], [e for _, e in p.gradients], "=", " " * 4,
               {"[t-1]": "[:-1]", "[t]": "[1:]"}, total=total)
        L.append("")
    grads = [f"{ident!r}: " + (f"delta_{p.state_of(ident)}[0]" if g is None else g) for ident, g in p.results]
    L.append("    return L, {" + ", ".join(grads) + "}")
    return "\n".join(L) + "\n"
