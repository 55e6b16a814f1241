"""Answers to conceptual questions, computed on the exercise's own model and values.

A question may ask for a *topic* (``show = "vanishing"``) instead of one
quantity.  A topic is a function of a :class:`Topic` — the exercise's graph,
its evaluation and the rendering options — returning a list of items: a LaTeX
paragraph (``str``) or a block of relation chains (a list of
:class:`~rnnsym.printing.Line`).  Every number in it is the exercise's own;
a demonstration on other cells is added only when the question asks for one
(``demo = true``), with every value it uses printed.

- ``recurrence``: h_t = f_W(h_{t−1}, x_t) and the exercise's cell as that f_W;
- ``vanishing``: the cell's one-step Jacobian, its value at every step, the
  product over the horizon and, for an Elman cell, the per-step bound with the
  model's own weights (σ_max and ρ of a matrix W_h), for a gated cell its
  factors at the model's values (:mod:`rnnsym.analysis.conditions`):
  vanishing or exploding as the numbers say;
- ``gated``: the additive path of a gated cell (the GRU's update gate, the
  LSTM's forget gate) against the product of an ungated one;
- ``truncation``: truncated BPTT (Williams & Peng's BPTT(h; h′)) against the
  full gradient, on the exercise's own loss, for every truncation length.

>>> from rnnsym.exercise import reference
>>> ex = reference()
>>> items = TOPICS["recurrence"](Topic(ex.graph, ex.evaluation))
>>> str(items[0][0])
'h_{t} = f_{W}\\\\left(h_{t-1}, x_{t}\\\\right)'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import sympy
from sympy import Symbol

from ..cells import gru_cell
from ..derivation import ChainDerivation, derive
from ..derivation.lines import derivation_lines
from ..derivation.truncate import Dropped, Kept, contributions, truncation
from ..errors import InputError
from ..evaluation import Evaluation
from ..forms import Partial, substitute
from ..graph import Graph
from ..models import unroll
from ..printing import Line, Printer, RenderOptions, cell_lines, decimal
from ..notation import symbol
from ..numbers import format_exact
from .conditions import bound_text, gated_text, vector_bound

__all__ = ["TOPICS", "Topic", "Item", "recurrence", "vanishing", "gated", "truncation_topic", "template_lines"]

Item = str | list[Line]

#: Rows of a per-step table before it shows a selection of steps.
_ROWS = 12


@dataclass(frozen=True)
class Topic:
    """What a topic is computed on: the exercise's ``graph`` and its ``evaluation``,
    the rendering ``options``, and whether a demonstration on other cells is asked for."""

    graph: Graph
    evaluation: Evaluation
    options: RenderOptions = field(default_factory=RenderOptions)
    demo: bool = False

    @property
    def base(self) -> str:
        """The recurrent state (``h``)."""
        return self.graph.cell.state[0]

    def state(self, t: int) -> Symbol:
        return self.graph.symbol(f"{self.base}_{t}")

    @property
    def scalar(self) -> bool:
        return self.graph.cell.size(self.base) == 1 and f"{self.base}_0" in self.graph.names

    @property
    def values(self) -> Evaluation:
        """Exact values for a model that keeps them rational, else decimals (a few digits more than shown)."""
        if self.graph.rational:
            return self.evaluation
        return self.evaluation.decimal(max(self.options.approx_digits, 3) + 4)

    def math(self, expr: object) -> str:
        return Printer(self.options).doprint(expr)

    def number(self, value: object) -> str:
        """A value as written in text: exact when it is a short rational, else a decimal."""
        if isinstance(value, sympy.Rational):
            text = format_exact(value, self.options.max_decimals)
            if not text.startswith(r"\approx"):
                return text
        return decimal(value, max(self.options.approx_digits, 3))


def _cell_lines(cell, options: RenderOptions, roles: tuple[str, ...]) -> list[Line]:
    texts = cell_lines(cell, options)
    return [Line(tuple(text.split(" = ", 1))) for text, e in zip(texts, cell.equations) if e.role in roles]


def template_lines(graph: Graph, derivation: ChainDerivation, step: int, options: RenderOptions,
                   inline: bool = False) -> list[Line]:
    """``derivation`` (between steps ``step − 1`` and ``step``) written at a generic step t.

    Symbols of step ``step`` become their t-placeholders and those of step
    ``step − 1`` the (t−1)-placeholders, so ∂h_2/∂h_1 reads ∂h_t/∂h_{t−1}.
    With ``inline``, the last form is repeated with each quantity of step t
    replaced by its definition.
    """
    mapping = graph.generic(step)
    definitions = {mapping[a.target]: substitute(a.form, mapping)
                   for a in graph.assignments if a.step == step and a.target in mapping}
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


def _one_step(topic: Topic, graph: Graph | None = None) -> list[Line]:
    """∂h_t/∂h_{t−1} of a cell at a generic step t (scalar state)."""
    graph = graph or topic.graph
    step = 2 if graph.steps >= 2 else 1
    return template_lines(graph, derive(graph, f"{topic.base}_{step}", f"{topic.base}_{step - 1}", split="loss"),
                          step, topic.options)


def _selection(steps: int) -> list[int]:
    if steps <= _ROWS:
        return list(range(1, steps + 1))
    return sorted(set(range(1, 4)) | set(range(steps - 2, steps + 1))
                  | {round(1 + i * (steps - 1) / (_ROWS - 5)) for i in range(1, _ROWS - 6)})


def _table(header: list[str], rows: list[list[str]]) -> str:
    body = [" & ".join(row) + r" \\" for row in rows]
    return "\n".join([r"\begin{center}", r"\begin{tabular}{" + "r" * len(header) + "}", r"\toprule",
                      " & ".join(header) + r" \\", r"\midrule", *body, r"\bottomrule", r"\end{tabular}",
                      r"\end{center}"])


# --- recurrence ---------------------------------------------------------------------------------


def recurrence(topic: Topic) -> list[Item]:
    """The general recurrence and the exercise's cell as an instance of it."""
    cell, graph = topic.graph.cell, topic.graph
    states = [f"{b}_{{t}}" for b in cell.state]
    before = [f"{b}_{{t-1}}" for b in cell.state]
    lhs = states[0] if len(states) == 1 else r"\left(" + ", ".join(states) + r"\right)"
    general = Line((lhs, rf"f_{{W}}\left({', '.join(before)}, x_{{t}}\right)"))
    shown = ", ".join(f"${topic.math(symbol(p))}$" for p in cell.parameter_tensors)
    return [
        [general],
        rf"In this exercise $f_W$ is the {_describe(cell)}; at every step $t$:",
        _cell_lines(cell, topic.options, ("intermediate", "state")),
        r"and each step's output and loss are:",
        _cell_lines(cell, topic.options, ("output", "loss")),
        (rf"The same function, with the same parameters ({shown}), is applied at every step "
         rf"$t = {_steps(graph.steps)}$: unrolled, the network is one cell repeated through time, "
         r"so the gradient of a parameter is a sum of contributions, one from every step that uses it."),
    ]


def _steps(steps: int) -> str:
    return ", ".join(map(str, range(1, steps + 1))) if steps <= 3 else rf"1, \dots, {steps}"


def _describe(cell) -> str:
    options = cell.options
    if cell.name == "elman":
        size = "" if options.get("hidden", 1) == 1 else f" with {options['hidden']} hidden units"
        return f"Elman cell with the {options.get('activation', 'identity')} activation{size}"
    if cell.name == "gru":
        return "gated recurrent unit (GRU)"
    if cell.name == "lstm":
        return "long short-term memory (LSTM) cell"
    return f"cell {cell.name}"


# --- vanishing and exploding gradients ---------------------------------------------------------


def _factors(topic: Topic) -> list[tuple[int, object, object]]:
    """(t, ∂h_t/∂h_{t−1}, ∂h_T/∂h_t) at the exercise's values, for a scalar state."""
    T = topic.graph.steps
    ev = topic.values
    last = topic.state(T)
    return [(t, ev.derivative(topic.state(t), topic.state(t - 1)), ev.derivative(last, topic.state(t)))
            for t in range(1, T + 1)]


def _verdict(first: object, steps: int) -> str:
    """What the product |∂h_T/∂h_0| over ``steps`` steps says, in words."""
    size = abs(sympy.Float(first, 30))
    if steps < 1:
        return ""
    rate = size ** sympy.Rational(1, steps) if size else 0
    if size == 0:
        return "the gradient does not reach the first state at all"
    if abs(rate - 1) < sympy.Float(1e-12):
        return "every factor has size 1: over this horizon the gradient neither vanishes nor explodes"
    trend = "shrinks" if rate < 1 else "grows"
    kind = "vanishes" if rate < 1 else "explodes"
    return (rf"on average each step multiplies its size by about ${decimal(rate, 3)}$: the gradient {trend} "
            rf"exponentially with the distance $T - t$, it {kind}")


def vanishing(topic: Topic) -> list[Item]:
    """The cell's one-step Jacobian, its value at every step, their product, and the per-step bound."""
    from .bound import bound

    graph, T, base = topic.graph, topic.graph.steps, topic.base
    items: list[Item] = [
        rf"The error signal from step $T$ reaches the state of step $t$ through "
        rf"$\frac{{\partial {base}_T}}{{\partial {base}_t}} = \prod_{{j=t+1}}^{{T}} "
        rf"\frac{{\partial {base}_j}}{{\partial {base}_{{j-1}}}}$, a product of $T - t$ one-step Jacobians. "
        r"For this exercise's cell one step back is:",
    ]
    if not topic.scalar:
        items.append(r"(for a vector state, component by component, the Jacobian matrix of these derivatives.)")
        return items + vector_bound(topic) + _demo(topic)
    items.append(_one_step(topic))
    rows, factors = [], _factors(topic)
    for t, one, far in factors:
        if t in _selection(T):
            rows.append([str(t), f"${topic.number(one)}$", f"${topic.number(far)}$"])
    lhs = rf"$\frac{{\partial {base}_t}}{{\partial {base}_{{t-1}}}}$"
    far = rf"$\frac{{\partial {base}_{{{T}}}}}{{\partial {base}_t}}$"
    items += [rf"With the exercise's values, over its ${T}$ steps:", _table(["$t$", lhs, far], rows)]
    first = factors[0][2] * factors[0][1] if factors else 0
    relation = "=" if isinstance(first, sympy.Rational) else r"\approx"
    items.append(rf"Over the whole horizon $\frac{{\partial {base}_{{{T}}}}}{{\partial {base}_0}} "
                 rf"{relation} {topic.number(first)}$: {_verdict(first, T)}.")
    if graph.cell.name == "elman":
        try:
            b = bound(graph, topic.evaluation.spelling)
        except InputError:  # an activation without a known bound on f': the numbers above stand alone
            return items + _demo(topic)
        items.append(r"Every factor is at most the same size, whatever the state:")
        items.append(b.lines(options=topic.options))
        items.append(bound_text(b, topic))
    elif graph.cell.name in ("gru", "lstm"):
        items += gated_text(topic)
    return items + _demo(topic)


# --- gated cells --------------------------------------------------------------------------------


def gated(topic: Topic) -> list[Item]:
    """The additive path of a gated cell, in the exercise's own numbers when its cell has gates."""
    cell, _T = topic.graph.cell, topic.graph.steps
    if cell.name == "gru" and topic.scalar:
        return _gru(topic, topic.graph) + _gate_table(topic, "z", "the update gate $z_t$")
    if cell.name == "lstm" and topic.scalar:
        return _lstm(topic) + _gate_table(topic, "f", "the forget gate $f_t$")
    own = _one_step(topic) if topic.scalar else []
    items: list[Item] = [r"This exercise's cell has no gates: one step back, its state passes through"]
    items += [own] if own else []
    items.append(r"so the gradient is multiplied by these factors at every step, and nothing lets it pass unchanged.")
    items += _gru(topic, unroll(gru_cell(bias=False), 2))
    return items + _demo(topic)


def _gru(topic: Topic, graph: Graph) -> list[Item]:
    reset = graph.cell.options.get("reset", "before")
    where = r"to $h_{t-1}$ before $W_{hh}$" if reset == "before" else r"after $W_{hh}$, to $W_{hh} h_{t-1}$"
    return [
        (r"A GRU (Cho et al., 2014) computes $h_t = z_t \odot h_{t-1} + (1 - z_t) \odot \tilde{h}_t$ with an "
         r"update gate $z_t = \sigma(\cdot)$ and a reset gate $r_t$ applied " + where + r". In this convention "
         r"$z_t \approx 1$ keeps the old state (no update) and $z_t \approx 0$ replaces it (as in PyTorch's "
         r"\texttt{GRUCell}). One step back:"),
        _one_step(topic, graph),
        (r"The term $\frac{\partial^{+} h_t}{\partial h_{t-1}} = z_t$ is an additive path: the old state is copied "
         r"forward, scaled by the gate, without a weight matrix or a squashing function. When the gate is near 1 "
         r"this factor keeps the gradient close to its size over many steps, where an ungated cell multiplies it "
         r"by $f'(z_t)\,W_h$ at every step."),
    ]


def _lstm(topic: Topic) -> list[Item]:
    graph = topic.graph
    step = 2 if graph.steps >= 2 else 1
    lines = template_lines(graph, derive(graph, f"c_{step}", f"c_{step - 1}", split="loss"), step, topic.options)
    return [
        (r"An LSTM keeps a second state, the cell state $c_t = f_t \odot c_{t-1} + i_t \odot g_t$, with a forget "
         r"gate $f_t$. One step back along the cell state:"),
        lines,
        (r"Its immediate part $\frac{\partial^{+} c_t}{\partial c_{t-1}} = f_t$ is an additive path: with the "
         r"forget gate near 1 the cell state carries the gradient back over many steps."),
    ]


def _gate_table(topic: Topic, gate: str, name: str) -> list[Item]:
    T = topic.graph.steps
    ev = topic.values
    rows = [[str(t), f"${topic.number(ev.value(f'{gate}_{t}'))}$",
             f"${topic.number(ev.derivative(topic.state(t), topic.state(t - 1)))}$"] for t in _selection(T)]
    lhs = r"$\frac{\partial h_t}{\partial h_{t-1}}$"
    return [rf"With the exercise's values, {name} and the whole one-step factor at every step:",
            _table(["$t$", f"${gate}_t$", lhs], rows)]


# --- truncated BPTT -----------------------------------------------------------------------------


def _recurrent_weight(graph: Graph) -> str | None:
    names = [n for n in graph.cell.parameters if n.startswith("W_h")]
    return names[0] if names else None


def truncation_topic(topic: Topic) -> list[Item]:
    """Truncated BPTT of the exercise's loss against the full gradient, for every truncation length."""
    from ..derivation.truncate import truncated

    graph, T = topic.graph, topic.graph.steps
    weight = _recurrent_weight(graph)
    items: list[Item] = [
        (r"Backpropagation through time truncated to $k$ steps (Williams \& Peng, 1990, write BPTT$(h; h')$ for "
         r"an update every $h$ steps that goes back $h'$ steps) keeps, for each loss term $L_t$, only the "
         r"contributions of the steps $s$ with $t - s < k$. The weights are held fixed while the backward pass "
         r"runs: every kept contribution uses the same $W$ the forward pass used.")
    ]
    if weight is None:
        return items
    W = graph.symbol(weight)
    parts = contributions(graph, "L", weight, topic.evaluation, None if graph.rational else 30)
    full = sum(parts.values(), sympy.S.Zero)
    k_shown = max(1, T - 1)
    derivation = truncated(graph, "L", weight, k_shown)
    last_term = graph.assignment(graph.loss).dependencies[-1]
    chosen = tuple(s for s in derivation.steps if isinstance(s.lhs, Kept | Dropped) and s.lhs.of == last_term)
    chosen += derivation.steps[-1:]
    shown = ChainDerivation(graph, derivation.of, derivation.wrt, chosen, derivation.expr)
    options = RenderOptions(**{**topic.options.__dict__, "recall": False})
    items += [rf"For $k = {k_shown}$ the last loss term keeps some contributions and drops the others, and the "
              r"whole gradient is the truncated part plus the dropped part:",
              derivation_lines(shown, topic.evaluation, options)]
    rows, flipped = [], []
    for k in _selection(T):
        rule = truncation(k)
        kept = sum((v for (t, s), v in parts.items() if rule.keeps(t, s, T)), sympy.S.Zero)
        dropped = full - kept
        if kept != 0 and full != 0 and (kept > 0) != (full > 0):
            flipped.append(k)
        rows.append([str(k), f"${topic.number(kept)}$", f"${topic.number(dropped)}$", f"${topic.number(full)}$"])
    name = topic.math(Partial(graph.loss, W))
    items += [rf"For every truncation length $k$, the truncated and the dropped parts of ${name}$:",
              _table(["$k$", "truncated", "dropped", "full"], rows)]
    bias = (r"The truncated gradient is biased: it is the full gradient minus the dropped terms, which do not "
            r"average out")
    if flipped:
        ks = ", ".join(map(str, flipped))
        bias += rf"; here, for $k = {ks}$, it even points the other way (its sign differs from the full gradient's)."
    else:
        bias += r"; it can even point the other way, when the dropped terms outweigh the kept ones."
    return items + [bias]


# --- demonstrations -----------------------------------------------------------------------------


def _demo(topic: Topic) -> list[Item]:
    """Other cells over a longer horizon, when the question asks for a demonstration, every value printed."""
    if not topic.demo:
        return []
    from .figure import figure, table_latex
    from .table import demo_configs, flow_table

    steps = 12
    configs = demo_configs(steps)
    table = flow_table(configs, steps=steps)
    described = []
    for label, graph, values in configs:
        shown = ", ".join(f"${topic.math(graph.symbol(k))} = {v}$" if k in graph.names else f"${k}$ = {v}"
                          for k, v in values.items() if not isinstance(v, list))
        inputs = values.get("x", [])
        shown += rf", $x_t = {inputs[0]}$ at every step" if inputs else ""
        described.append(rf"{label}: {shown}")
    return [
        rf"A demonstration over $T = {steps}$ steps on four other models (all other weights 0):",
        r"\begin{itemize}" + "".join(rf"\item {d}" for d in described) + r"\end{itemize}",
        table_latex(table).join([r"\begin{center}" + "\n", "\n" + r"\end{center}"]),
        figure(table, caption=r"$|\partial h_T/\partial h_t|$ against $T - t$ (log scale)."),
    ]


TOPICS: dict[str, Callable[[Topic], list[Item]]] = {
    "recurrence": recurrence,
    "vanishing": vanishing,
    "gated": gated,
    "truncation": truncation_topic,
}
