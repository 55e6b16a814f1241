r"""The unrolled network as a TikZ figure: states along a line, inputs below, outputs and losses above.

:func:`network_tikz` draws a :class:`~rnnsym.graph.Graph` as a ``tikzpicture``
in the style of the reference exercise's Figure 1 ("The structure of a very
simple RNN network"): h_0 → h_1 → … → h_T in the middle, each x_t below its
step, ŷ_t above it and L_t above ŷ_t at the steps that carry a loss.  An
Elman cell is drawn with circles, its edges labelled with the weights shared
by every step (W_h on h_{t−1} → h_t, W_x on x_t → h_t, W_y on h_t → ŷ_t).
Any other cell (GRU, LSTM, one from :func:`~rnnsym.cells.define_cell`) is
drawn as one box per step that lists the step's gates and holds its states
(the LSTM's c_t is a second recurrent line), with the weights listed under
the figure.  Biases are not drawn.  What is drawn is read from the cell's
template equations (:func:`rnnsym.cells.wiring.wiring`): its states, inputs,
outputs, the intermediate quantities the states are computed from, and the
parameters that multiply each source.
Every name is spelled by :class:`~rnnsym.printing.Printer`.

A model of more than ``max_steps`` steps is drawn with its first and last
steps around a ⋯ column.  :func:`network_figure` centres the picture for a
sheet, shrunk to the line's width when wider, with an optional caption line;
it needs ``\usepackage{tikz}`` (in :mod:`rnnsym.sheet`'s preamble).

>>> import rnnsym
>>> tikz = network_tikz(rnnsym.elman(2))
>>> tikz.startswith(r"\begin{tikzpicture}"), tikz.rstrip().endswith(r"\end{tikzpicture}")
(True, True)
>>> [line.strip() for line in tikz.splitlines() if "(s-h-1)" in line][0]
'\\node[state] (s-h-1) at (2.2,0) {$h_{1}$};'
>>> print([line.strip() for line in tikz.splitlines() if "(s-h-0) --" in line][0])
\draw[edge] (s-h-0) -- node[weight, above] {$W_{h}$} (s-h-1);
"""

from __future__ import annotations

from typing import Sequence

from sympy import Symbol

from .cells import now, prev
from .cells.wiring import wiring
from .errors import InputError, InputTypeError
from .graph import Graph
from .notation import name_at, symbol
from .printing import Printer, RenderOptions
from .tex import escape

__all__ = ["network_tikz", "network_figure", "columns", "MAX_COLUMNS"]

#: The largest ``max_steps`` accepted: more columns do not fit a page readably.
MAX_COLUMNS = 20

# Lengths in cm.  Circle layout (Elman): one column per step.
_PITCH = 2.2
_INPUT_Y, _OUTPUT_Y, _LOSS_Y = -1.8, 1.8, 3.3
# Box layout: each step's box holds its gates (left) and its states (right).
_ROW = 1.25          # between state rows (h, then c)
_CIRCLE = 0.8        # state circles in boxes
_GATES = 0.8         # the width of the gate column
_PAD = 0.15          # inside a box, around its contents
_LINE = 0.5          # the height of one listed gate
_GAP = 0.75          # an arrow between boxes
_NOTE_WIDTH = 9.0    # the narrowest a note under a figure is set
_BOX_PITCH = _CIRCLE + _GATES + 4 * _PAD + _GAP


def columns(steps: int, max_steps: int = 5) -> list[int | None]:
    """The steps a figure shows, ``None`` standing for the elided ones (⋯): every
    step when ``steps <= max_steps``, else the first ``(max_steps − 1) // 2`` and
    the last ``max_steps // 2`` around one ``None``, so that with the column of
    h_0 there are never more than ``max_steps + 1`` columns.

    >>> columns(3), columns(50)
    ([1, 2, 3], [1, 2, None, 49, 50])
    """
    if steps <= max_steps:
        return list(range(1, steps + 1))
    head, tail = (max_steps - 1) // 2, max_steps // 2
    return [*range(1, head + 1), None, *range(steps - tail + 1, steps + 1)]


def _check(graph: object, max_steps: object, options: object) -> RenderOptions:
    if not isinstance(graph, Graph):
        raise InputTypeError("graph", graph, "a rnnsym.Graph (rnnsym.elman, gru, lstm, unroll …)")
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or not 3 <= max_steps <= MAX_COLUMNS:
        raise InputError("max_steps", max_steps, f"an integer from 3 to {MAX_COLUMNS}")
    if options is None:
        return RenderOptions()
    if not isinstance(options, RenderOptions):
        raise InputTypeError("options", options, "a rnnsym.RenderOptions")
    return options


def _n(v: float) -> str:
    text = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


class _Picture:
    """The commands of one ``tikzpicture``, with the names it spells."""

    def __init__(self, graph: Graph, options: RenderOptions, max_steps: int) -> None:
        self.graph = graph
        self.printer = Printer(options)
        self.wiring = wiring(graph.cell)
        self.columns = columns(graph.steps, max_steps)
        self.lines: list[str] = []
        self.left = self.right = 0.0
        self.bottom = 0.0

    def math(self, name: str) -> str:
        return f"${self.printer.doprint(symbol(name))}$"

    def placeholder(self, s: Symbol) -> str:
        """A cell's placeholder as math: ``h_{t-1}`` for ``prev("h")``."""
        return f"${self.printer.doprint(s)}$"

    def names(self, names: Sequence[str]) -> str:
        return "$" + ", ".join(self.printer.doprint(symbol(n)) for n in names) + "$"

    def node(self, style: str, name: str | None, x: float, y: float, text: str) -> None:
        label = f" ({name})" if name else ""
        self.lines.append(rf"\node[{style}]{label} at ({_n(x)},{_n(y)}) {{{text}}};")
        self.left, self.right = min(self.left, x), max(self.right, x)

    def edge(self, start: str, end: str, label: Sequence[str] = (), side: str = "above", pos: float = 0.5) -> None:
        at = "" if pos == 0.5 else f", pos={_n(pos)}"
        text = f" node[weight, {side}{at}] {{{self.names(label)}}}" if label else ""
        self.lines.append(rf"\draw[edge] {start} --{text} {end};")

    def elided(self, x: float, y: float) -> None:
        """The label under the ⋯ column: the steps it stands for."""
        gap = self.columns.index(None)
        hidden = list(range(self.columns[gap - 1] + 1, self.columns[gap + 1]))
        shown = ", ".join(map(str, hidden)) if len(hidden) <= 2 else rf"{hidden[0]}, \ldots, {hidden[-1]}"
        self.node("note", None, x, y, f"${self.printer.doprint(symbol('t'))} = {shown}$")

    def sizes(self) -> str | None:
        """A note giving the size of each vector drawn (None when all are scalars)."""
        w, parts, vector = self.wiring, [], False
        for head in (*w.states, *w.inputs, *w.outputs):
            entries = self.graph.tensors.get(name_at(head, 1), {})
            if any(index for index in entries):
                vector = True
            parts.append(f"{self.placeholder(now(head))}: {len(entries)}")
        if not vector:
            return None
        return "Vector sizes: " + ", ".join(parts) + "."

    def picture(self) -> str:
        head = [r"\begin{tikzpicture}[>=stealth, line cap=round,",
                r"  state/.style={circle, draw, thick, minimum size=9mm, inner sep=1pt},",
                r"  value/.style={circle, draw, minimum size=8mm, inner sep=1pt},",
                r"  loss/.style={rectangle, draw, rounded corners=2pt, minimum size=7mm, inner sep=2pt},",
                r"  cell/.style={rectangle, draw, thick, rounded corners=3pt, fill=black!4},",
                r"  gates/.style={align=center, font=\small, inner sep=0pt},",
                r"  dots/.style={inner sep=1pt},",
                r"  note/.style={font=\small, inner sep=1pt},",
                r"  edge/.style={->, thick},",
                r"  weight/.style={font=\small, inner sep=2pt}]"]
        return "\n".join(head + [f"  {line}" for line in self.lines] + [r"\end{tikzpicture}"])

    def notes(self, legend: str | None) -> None:
        """The legend and the vector sizes, in one node centred under the picture, as
        wide as it (at least ``_NOTE_WIDTH``)."""
        text = r" \\[2pt] ".join(t for t in (legend, self.sizes()) if t)
        if text:
            middle, width = (self.left + self.right) / 2, max(self.right - self.left, _NOTE_WIDTH)
            self.lines.append(rf"\node[note, anchor=north, text width={_n(width)}cm, align=center] "
                              rf"at ({_n(middle)},{_n(self.bottom - 0.3)}) {{{text}}};")


def _circles(p: _Picture) -> None:
    """The Elman layout: a circle per quantity, weights on the edges."""
    w = p.wiring
    rows = {s: -_PITCH * k for k, s in enumerate(w.states)}
    input_y = min(rows.values()) + _INPUT_Y
    for s, y in rows.items():
        p.node("state", f"s-{s}-0", 0, y, p.math(name_at(s, 0)))
    previous: int | None = 0
    for i, t in enumerate(p.columns, start=1):
        x = i * _PITCH
        if t is None:
            for s, y in rows.items():
                p.node("dots", f"dots-{s}", x, y, r"$\cdots$")
                p.edge(f"(s-{s}-{previous})", f"(dots-{s})", w.recurrent[s])
            p.elided(x, input_y)
            previous = None
            continue
        for s, y in rows.items():
            p.node("state", f"s-{s}-{t}", x, y, p.math(name_at(s, t)))
            start = f"(dots-{s})" if previous is None else f"(s-{s}-{previous})"
            p.edge(start, f"(s-{s}-{t})", w.recurrent[s])
        _inputs_and_outputs(p, t, x, x, input_y, _OUTPUT_Y, lambda name: f"(s-{w.states[0]}-{t})")
        previous = t
    p.left, p.right = -0.45, len(p.columns) * _PITCH + 0.45
    p.bottom = input_y - 0.4


def _inputs_and_outputs(p: _Picture, t: int, x: float, input_x: float, input_y: float, output_y: float, target,
                        entering: bool = True, pos: float = 0.5) -> None:
    """Step ``t``'s inputs below at ``input_x`` (arrows to ``target(input node)``,
    labelled with their weights if ``entering``), outputs above the states at ``x``
    (weights at ``pos`` along the edge), its loss above the outputs."""
    w, g = p.wiring, p.graph
    k = len(w.inputs)
    for j, head in enumerate(w.inputs):
        name = f"in-{head}-{t}"
        p.node("value, fill=black!5", name, input_x + (j - (k - 1) / 2), input_y, p.math(name_at(head, t)))
        p.edge(f"({name})", target(name), w.entering[head] if entering else (), "right")
    sources = [s for s in w.states if s in w.leaving] or list(w.states[:1])
    k = len(w.outputs)
    for j, head in enumerate(w.outputs):
        name = f"out-{head}-{t}"
        p.node("value", name, x + (j - (k - 1) / 2), output_y, p.math(name_at(head, t)))
        for s in sources:
            p.edge(f"(s-{s}-{t})", f"({name})", w.leaving.get(s, ()), "right", pos)
    if t in g.loss_steps:
        p.node("loss", f"loss-{t}", x, output_y + _LOSS_Y - _OUTPUT_Y, p.math(name_at("L", t)))
        for head in w.outputs:
            p.edge(f"(out-{head}-{t})", f"(loss-{t})")


def _boxes(p: _Picture) -> None:
    """Any other cell: a box per step holding its gates (left) and its state circles (right)."""
    w = p.wiring
    rows = {s: -_ROW * k for k, s in enumerate(w.states)}
    low, high = min(rows.values()), max(rows.values())
    height = max(high - low + _CIRCLE + 2 * _PAD, len(w.gates) * _LINE + 2 * _PAD)
    middle = (high + low) / 2
    input_y = middle - height / 2 - 1.0
    output_y = middle + height / 2 + 1.3
    # the output edges' weights: halfway along the part outside the box
    bottom, top = high + _CIRCLE / 2, output_y - _CIRCLE / 2
    label_at = ((middle + height / 2 + top) / 2 - bottom) / (top - bottom)
    # x offsets from a step's state circles
    gate_x = -(_CIRCLE / 2 + _PAD + _GATES / 2)
    box_left, box_right = gate_x - _GATES / 2 - _PAD, _CIRCLE / 2 + _PAD
    for s, y in rows.items():
        p.node("state, minimum size=8mm", f"s-{s}-0", 0, y, p.math(name_at(s, 0)))
    previous: int | None = 0
    x = _CIRCLE / 2 + _GAP - box_left       # the states of step 1
    for t in p.columns:
        if t is None:
            dots = x - _BOX_PITCH + box_right + _GAP
            for s, y in rows.items():
                p.node("dots", f"dots-{s}", dots, y, r"$\cdots$")
                p.lines.append(rf"\draw[edge] (s-{s}-{previous}) -- (dots-{s});")
            p.elided(dots, input_y)
            previous = None
            x = dots + 0.3 + _GAP - box_left
            continue
        centre = x + (box_left + box_right) / 2
        p.lines.append(rf"\node[cell, minimum width={_n(box_right - box_left)}cm, minimum height={_n(height)}cm] "
                       rf"(cell-{t}) at ({_n(centre)},{_n(middle)}) {{}};")
        listed = r" \\ ".join(p.math(name_at(gate, t)) for gate in w.gates) if w.gates else r"\textit{cell}"
        p.node("gates", f"gates-{t}", x + gate_x, middle, listed)
        for s, y in rows.items():
            p.node("state, minimum size=8mm", f"s-{s}-{t}", x, y, p.math(name_at(s, t)))
            start = f"dots-{s}" if previous is None else f"s-{s}-{previous}"
            p.lines.append(rf"\draw[edge] ({start}) -- ({start} -| cell-{t}.west);")
        _inputs_and_outputs(p, t, x, centre, input_y, output_y, lambda name: f"({name} |- cell-{t}.south)",
                            entering=False, pos=label_at)
        previous = t
        x += _BOX_PITCH
    p.left, p.right = -_CIRCLE / 2, x - _BOX_PITCH + box_right
    p.bottom = input_y - 0.4


def _legend(p: _Picture) -> str | None:
    """The weights a box figure does not draw on its edges, one line per source:
    the parameters acting on each previous state and on each input."""
    w = p.wiring
    parts = [f"{p.placeholder(prev(s))} into the cell: {p.names(w.recurrent[s])}" for s in w.states if w.recurrent[s]]
    parts += [f"{p.placeholder(now(x))} into the cell: {p.names(w.entering[x])}" for x in w.inputs if w.entering[x]]
    if not parts:
        return None
    return r"Weights shared by every step: \\ " + r" \\ ".join(parts)


def network_tikz(graph: Graph, *, max_steps: int = 5, options: RenderOptions | None = None) -> str:
    r"""``graph`` unrolled as a ``tikzpicture`` (see the module docstring).

    Node names say what each node is: ``s-h-2`` (state h_2), ``in-x-2``,
    ``out-yhat-2``, ``loss-2``, ``cell-2`` (the box of step 2), ``dots-h``.
    A model of more than ``max_steps`` steps shows its first
    ``(max_steps − 1) // 2`` and last ``max_steps // 2`` steps around ⋯
    (:func:`columns`).  Names are spelled with ``options.notation``.

    Raises :class:`~rnnsym.errors.InputTypeError` for a ``graph`` that is not a
    :class:`~rnnsym.graph.Graph` and :class:`~rnnsym.errors.InputError` for a
    ``max_steps`` outside 3 … :data:`MAX_COLUMNS`.

    >>> import rnnsym
    >>> import re
    >>> tikz = network_tikz(rnnsym.elman(50))
    >>> re.findall(r"\(s-h-(\d+)\) at", tikz), "$\\cdots$" in tikz
    (['0', '1', '2', '49', '50'], True)
    >>> network_tikz(rnnsym.elman(2), max_steps=2)
    Traceback (most recent call last):
    ...
    rnnsym.errors.InputError: max_steps: got 2, expected an integer from 3 to 20
    """
    options = _check(graph, max_steps, options)
    p = _Picture(graph, options, max_steps)
    if graph.cell.name == "elman":
        _circles(p)
        p.notes(None)
    else:
        _boxes(p)
        p.notes(_legend(p))
    return p.picture() + "\n"


def network_figure(graph: Graph, caption: str | None = None, *, max_steps: int = 5,
                   options: RenderOptions | None = None) -> str:
    r"""The figure of :func:`network_tikz` for a sheet: centred where it stands
    (no float), shrunk to ``\linewidth`` only if wider, and followed by
    ``caption`` (plain text, escaped) on a line of its own.

    >>> import rnnsym
    >>> figure = network_figure(rnnsym.elman(2), caption="The structure of a very simple RNN network")
    >>> figure.splitlines()[0], figure.splitlines()[-2]
    ('\\begin{center}', '{\\small The structure of a very simple RNN network}')
    """
    if caption is not None and not isinstance(caption, str):
        raise InputTypeError("caption", caption, "text or None")
    tikz = network_tikz(graph, max_steps=max_steps, options=options).rstrip("\n")
    lines = [r"\begin{center}", r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{%", tikz + "%", "}"]
    if caption:
        lines += [r"\par\smallskip", rf"{{\small {escape(caption)}}}"]
    lines.append(r"\end{center}")
    return "\n".join(lines)
