"""Answers to conceptual questions, derived rather than asserted.

A question in an exercise file may ask for a *topic* (``show = "vanishing"``)
instead of one quantity.  Each topic is a function returning a list of
items — a LaTeX paragraph (``str``) or a block of relation chains (a list of
:class:`~rnnsym.printing.Line`) — built from what rnnsym derives:

- ``recurrence``: the general recurrence h_t = f_W(h_{t−1}, x_t) and how the
  Elman, tanh and GRU cells instantiate it;
- ``vanishing``: ∂h_t/∂h_{t−1} of a tanh cell, the product of such factors
  over k steps, the per-step bound, and a table and figure of |∂h_T/∂h_t|;
- ``gated``: the GRU's ∂h_t/∂h_{t−1}, with its additive path z_t, compared in
  numbers with the tanh cell;
- ``truncation``: truncated BPTT against the full gradient, in numbers.

>>> items = TOPICS["recurrence"](RenderOptions())
>>> str(items[0][0])
'h_{t} = f_{W}\\\\left(h_{t-1}, x_{t}\\\\right)'
"""

from __future__ import annotations

from typing import Callable

import sympy

from ..cells import elman_cell, gru_cell, now, prev
from ..derivation import ChainDerivation, derive
from ..derivation.lines import derivation_lines
from ..evaluation import Evaluation, bind
from ..graph import Graph, elman, gru
from ..forms import substitute
from ..printing import Line, RenderOptions, cell_lines
from ..numbers import format_exact

__all__ = ["TOPICS", "Item", "recurrence", "vanishing", "gated", "truncation", "template_lines"]

Item = str | list[Line]


def _cell_lines(cell, options: RenderOptions) -> list[Line]:
    return [Line(tuple(line.split(" = ", 1))) for line in cell_lines(cell, options)]


def template_lines(graph: Graph, derivation: ChainDerivation, step: int, options: RenderOptions, inline: bool = False) -> list[Line]:
    """``derivation`` (between steps ``step − 1`` and ``step``) written at a generic step t.

    Symbols of step ``step`` become their t-placeholders and those of step
    ``step − 1`` the (t−1)-placeholders, so ∂h_2/∂h_1 reads ∂h_t/∂h_{t−1}.
    With ``inline``, the last form is repeated with each quantity of step t
    replaced by its definition.
    """
    mapping = {}
    for name, s in zip(graph.names, [graph.symbol(n) for n in graph.names]):
        head, _, index = name.partition("[")
        base, _, t = head.partition("_")
        if t == str(step):
            mapping[s] = now(base + (f"[{index}" if index else ""))
        elif t == str(step - 1):
            mapping[s] = prev(base + (f"[{index}" if index else ""))
    definitions = {
        mapping[a.target]: substitute(a.form, mapping)
        for a in graph.assignments
        if a.step == step and a.target in mapping
    }
    steps = []
    for s in derivation.steps:
        forms = tuple(substitute(f, mapping) for f in s.forms)
        if inline and forms:
            expanded = forms[-1]
            for _ in range(len(definitions)):
                expanded = substitute(expanded, definitions)
            if expanded != forms[-1]:
                forms = forms + (expanded,)
        steps.append(type(s)(substitute(s.lhs, mapping), forms, s.kind))
    generic = ChainDerivation(graph, derivation.of, derivation.wrt, tuple(steps), derivation.expr)
    return derivation_lines(generic, None, RenderOptions(**{**options.__dict__, "recall": False}))


def recurrence(options: RenderOptions) -> list[Item]:
    """The general recurrence and three cells written as instances of it."""
    general = Line((r"h_{t}", r"f_{W}\left(h_{t-1}, x_{t}\right)"))
    return [
        [general],
        r"The Elman cell of Task~1 (identity activation):",
        _cell_lines(elman_cell(), options),
        r"With a tanh activation and biases the same recurrence reads:",
        _cell_lines(elman_cell("tanh", bias=True), options)[:2],
        r"A GRU is another choice of $f_W$, with gates:",
        _cell_lines(gru_cell(), options)[:4],
    ]


def _table(configs, steps: int) -> tuple:
    from .table import flow_table

    return flow_table(configs, steps=steps)


def vanishing(options: RenderOptions, steps: int = 12) -> list[Item]:
    """∂h_t/∂h_{t−1} for tanh, its product over time, the bound, and the flow table and figure."""
    from .figure import figure, table_latex
    from .bound import bound
    from .flow import jacobian_chain
    from .table import demo_configs

    graph = elman(2, activation="tanh", bias=True)
    one = template_lines(graph, derive(graph, "h_2", "h_1"), 2, options, inline=True)
    chain = jacobian_chain(elman(4, activation="tanh"), t=4, k=3)
    below, above = bound(elman(1, "tanh"), {"W_h": "0.5"}), bound(elman(1, "tanh"), {"W_h": "1.5"})
    table = _table(demo_configs(steps), steps)
    return [
        r"For the scalar tanh cell $z_t = h_{t-1} W_h + x_t W_x + b_h$, $h_t = \tanh(z_t)$, one step back:",
        one,
        r"Back-propagating over $k$ steps multiplies $k$ such factors, one per step:",
        chain.lines(options=options),
        r"Since $0 < 1 - \tanh^2(z) \le 1$, each factor is at most $|W_h|$ in size:",
        below.lines(options=options),
        (
            rf"so with $W_h = 0.5$ the gradient from $T - t$ steps back is at most ${format_exact(below.value)}^{{T-t}}$: "
            r"it vanishes exponentially. With $|W_h| > 1$ the bound "
            rf"(${format_exact(above.value)}^{{T-t}}$ for $W_h = 1.5$) allows it to explode, which happens while the "
            r"pre-activations stay near 0, where $\tanh' \approx 1$. The table and the figure show "
            r"$|\partial h_T / \partial h_t|$ computed by rnnsym for four cells:"
        ),
        r"\begin{center}" + "\n" + table_latex(table) + "\n" + r"\end{center}",
        figure(table, caption=r"$|\partial h_T/\partial h_t|$ against $T - t$ (log scale)."),
    ]


def gated(options: RenderOptions, steps: int = 12) -> list[Item]:
    """The GRU's one-step derivative and its additive path, in numbers against the tanh cell."""
    from .table import demo_configs

    graph = gru(2)
    lines = template_lines(graph, derive(graph, "h_2", "h_1"), 2, options)
    configs = demo_configs(steps)
    tanh_cfg, gru_cfg = configs[0], configs[-1]
    numbers = []
    for label, g, values in (tanh_cfg, gru_cfg):
        filled = _filled(g, values)
        evaluator = Evaluation(g, filled, 30)
        last = g.steps
        one = evaluator.number(evaluator.derivative(g.symbol(f"h_{last}"), g.symbol(f"h_{last - 1}")))
        far = evaluator.number(evaluator.derivative(g.symbol(f"h_{last}"), g.symbol("h_1")))
        numbers.append((label, one, far, last))
    rows = "\n".join(
        rf"{label} & {sympy.N(one, 4)} & {sympy.N(far, 4)} \\" for label, one, far, _ in numbers
    )
    last = numbers[0][3]
    return [
        r"For the GRU, $h_t = z_t h_{t-1} + (1 - z_t)\tilde{h}_t$; rnnsym derives one step back:",
        lines,
        (
            r"The term $\frac{\partial^{+} h_t}{\partial h_{t-1}} = z_t$ is the additive path: the old state is "
            r"copied forward, scaled by the update gate, without passing through $W_{hh}$ or a tanh. When the gate is "
            r"near open ($z_t \approx 1$), each step keeps the gradient close to 1, while a tanh cell multiplies it by "
            r"$(1 - h_t^2) W_h$ every step. In numbers, for the cells of the figure above:"
        ),
        r"\begin{center}\begin{tabular}{lcc}" + "\n" + r"\hline cell & $|\partial h_{T}/\partial h_{T-1}|$ & "
        + rf"$|\partial h_{{T}}/\partial h_{{T-{last - 1}}}|$ \\ \hline" + "\n" + rows + "\n" + r"\hline\end{tabular}\end{center}",
    ]


def _filled(graph: Graph, values: dict) -> dict:
    """``values`` with 0 for every leaf it leaves out."""
    from .flow import filled as fill

    return fill(graph, values, [graph.symbol(f"h_{graph.steps}")])


#: The model of the truncation topic: a scalar tanh RNN over six steps.
TRUNCATION_EXAMPLE = {
    "h_0": 0, "x": ["0.5", 1, "-0.5", 1, "0.5", -1], "y": ["0.2", "0.5", 0, "0.5", "0.3", -1],
    "W_h": "0.9", "W_x": 1, "W_y": 1,
}


def truncation(options: RenderOptions, steps: int = 6) -> list[Item]:
    """Truncated BPTT of ∂L/∂W_h against the full gradient, in numbers, for a
    range of truncation lengths and one (k1, k2) schedule."""
    from ..derivation.truncate import contributions, truncated
    from ..derivation.truncate import truncation as rule_for

    graph = elman(steps, activation="tanh")
    values = TRUNCATION_EXAMPLE
    lines = truncated(graph, "L", "W_h", 2).lines(values, options)
    env = {s: sympy.Float(n.exact, 30) for s, n in bind(graph, values).items()}
    parts = contributions(graph, "L", "W_h", env)
    full = sum(parts.values())

    def row(label: str, rule, stored: int, updates: int) -> str:
        kept = sum(v for (t, s), v in parts.items() if rule.keeps(t, s, steps))
        dropped = full - kept
        share = abs(dropped / full) * 100 if full else 0
        numbers = " & ".join(str(sympy.N(x, 5)) for x in (kept, dropped, full))
        return rf"{label} & {stored} & {updates} & {numbers} & {sympy.N(share, 3)}\,\% \\"

    rows = [row(str(k), rule_for(k), k, 1) for k in range(1, steps + 1)]
    rows += [row(f"$({k1}, {k2})$", rule_for((k1, k2), "k1-k2"), k2, -(-steps // k1)) for k1, k2 in ((1, 2), (2, 3), (3, 3))]
    table = "\n".join(
        [r"\begin{center}\begin{tabular}{ccccccc}", r"\hline",
         r"$k$ or $(k_1, k_2)$ & states kept & updates & truncated & dropped & full & dropped \\", r"\hline",
         *rows, r"\hline", r"\end{tabular}\end{center}"]
    )
    return [
        (
            rf"Take a scalar tanh RNN over $T = {steps}$ steps ($W_h = 0.9$, $W_x = W_y = 1$, $h_0 = 0$, "
            r"$x = (0.5, 1, -0.5, 1, 0.5, -1)$, $y = (0.2, 0.5, 0, 0.5, 0.3, -1)$). Every step $s$ uses $W_h$, so "
            r"$\partial L_t/\partial W_h$ is a sum of contributions "
            r"$\frac{\partial L_t}{\partial z_s} \times \frac{\partial^{+} z_s}{\partial W_h}$, $s \le t$. "
            r"Truncating to $k = 2$ keeps, for each $L_t$, the contributions of steps $t$ and $t - 1$:"
        ),
        lines[-3:],
        (
            r"For every truncation length, with each loss term back-propagated $k$ steps (one update per "
            r"sequence, $k$ states kept for the backward pass), and for three $(k_1, k_2)$ schedules "
            r"(an update every $k_1$ steps, back-propagating $k_2$ steps):"
        ),
        table,
    ]


TOPICS: dict[str, Callable[[RenderOptions], list[Item]]] = {
    "recurrence": recurrence,
    "vanishing": vanishing,
    "gated": gated,
    "truncation": truncation,
}
