"""Figures and tables of gradient flow, in LaTeX's own ``picture`` environment.

:func:`figure` plots log10 |∂h_T/∂h_t| against T − t for each series of a
:class:`~rnnsym.analysis.table.FlowTable` using only ``\\put``, ``\\line``, ``\\circle``,
``\\framebox``, ``\\vector`` and ``\\qbezier`` (no TikZ needed);
:func:`table_latex` prints the numbers as a booktabs ``tabular``.

>>> from rnnsym.analysis.table import demo_configs, flow_table
>>> table = flow_table(demo_configs(4)[:2], steps=4)
>>> "begin{picture}" in figure(table), "toprule" in table_latex(table)
(True, True)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import mpmath
import sympy
from sympy import Expr

from ..errors import InputError, InputTypeError
from .table import FlowTable

__all__ = ["FigureOptions", "figure", "table_latex"]



@dataclass(frozen=True)
class FigureOptions:
    """How :func:`figure` draws (lengths in mm).

    - ``width``, ``height``: the plot area;
    - ``ylim``: the decades shown, ``(low, high)`` for 10^low … 10^high, or
      None to fit the data (at most ``max_decades`` decades, keeping the top);
    - ``legend_columns``: entries per legend row.
    """

    width: float = 100.0
    height: float = 60.0
    ylim: tuple[int, int] | None = None
    max_decades: int = 8
    legend_columns: int = 2

    def __post_init__(self) -> None:
        for name, low, high in (("width", 30, 400), ("height", 20, 400)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
                raise InputError(f"figure.{name}", value, f"a length in mm from {low} to {high}")
        if self.ylim is not None:
            ok = isinstance(self.ylim, tuple) and len(self.ylim) == 2 and all(
                isinstance(v, int) and not isinstance(v, bool) for v in self.ylim)
            if not ok or not self.ylim[0] < self.ylim[1]:
                raise InputError("figure.ylim", self.ylim, "None or (low, high), integers with low < high")
        for name in ("max_decades", "legend_columns"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 40:
                raise InputError(f"figure.{name}", value, "an integer from 1 to 40")


_MARKERS = (
    lambda x, y: rf"\put({_n(x)},{_n(y)}){{\circle*{{1.6}}}}",
    lambda x, y: rf"\put({_n(x)},{_n(y)}){{\circle{{1.8}}}}",
    lambda x, y: rf"\put({_n(x - 0.8)},{_n(y - 0.8)}){{\framebox(1.6,1.6){{}}}}",
    lambda x, y: rf"\put({_n(x)},{_n(y)}){{\makebox(0,0){{$\times$}}}}",
    lambda x, y: rf"\put({_n(x)},{_n(y)}){{\makebox(0,0){{$\scriptstyle\triangle$}}}}",
    lambda x, y: rf"\put({_n(x)},{_n(y)}){{\makebox(0,0){{$+$}}}}",
)
_STYLES = ("solid", "dashed", "solid", "dashed", "dotted", "dotted")


def _n(v: float) -> str:
    text = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _segment(x1: float, y1: float, x2: float, y2: float, style: str) -> list[str]:
    """A straight segment as ``\\qbezier`` (control point at the midpoint)."""
    length = math.hypot(x2 - x1, y2 - y1)
    if style == "dashed":
        pieces, out = max(1, int(length / 2.4)), []
        for i in range(pieces):
            a, b = i / pieces, (i + 0.55) / pieces
            out += _segment(x1 + a * (x2 - x1), y1 + a * (y2 - y1), x1 + b * (x2 - x1), y1 + b * (y2 - y1), "solid")
        return out
    mx, my = (x1 + x2) / 2, (y1 + y2) / 2
    count = f"[{max(2, int(length / 1.0))}]" if style == "dotted" else ""
    return [rf"\qbezier{count}({_n(x1)},{_n(y1)})({_n(mx)},{_n(my)})({_n(x2)},{_n(y2)})"]


def _ylim(table: FlowTable, options: FigureOptions) -> tuple[int, int]:
    if options.ylim is not None:
        return options.ylim
    finite = [v for s in table.series for v in s.log10() if math.isfinite(v)]
    if not finite:
        return (-1, 1)
    high = max(1, math.ceil(max(finite) - 1e-9))
    low = min(-1, math.floor(min(finite) + 1e-9))
    return (max(low, high - options.max_decades), high)


def figure(table: FlowTable, options: FigureOptions | None = None, caption: str | None = None) -> str:
    """log10 |∂h_T/∂h_t| against T − t, one polyline per series, as LaTeX2e
    ``picture`` code (``\\put``, ``\\line``, ``\\circle``, ``\\qbezier``: no packages).

    Values outside the plotted decades are clipped: the line stops at the
    frame, an arrow marks where it leaves and a note under the legend says so.
    With ``caption`` the picture is wrapped in a ``figure`` float.

    >>> from rnnsym.models import elman
    >>> from rnnsym.analysis.table import flow_table
    >>> t = flow_table([("id", elman(3), {"h_0": 1, "W_h": 2, "W_x": 1, "x": [0, 0, 0]})], steps=4)
    >>> code = figure(t)
    >>> r"\\begin{picture}" in code, code.count(r"\\circle*"), "tikz" in code
    (True, 5, False)
    """
    if not isinstance(table, FlowTable):
        raise InputTypeError("table", table, "a FlowTable from flow_table")
    options = options or FigureOptions()
    W, H = float(options.width), float(options.height)
    low, high = _ylim(table, options)
    steps = table.steps
    sx = W / max(steps - 1, 1)
    sy = H / (high - low)

    def X(d: float) -> float:
        return d * sx

    def Y(v: float) -> float:
        return (v - low) * sy

    out = [r"\thinlines", rf"\put(0,0){{\line(1,0){{{_n(W)}}}}}", rf"\put(0,0){{\line(0,1){{{_n(H)}}}}}",
           rf"\put(0,{_n(H)}){{\line(1,0){{{_n(W)}}}}}", rf"\put({_n(W)},0){{\line(0,1){{{_n(H)}}}}}"]
    for k in range(low, high + 1):
        y = Y(k)
        out.append(rf"\put(0,{_n(y)}){{\line(1,0){{1.5}}}}")
        out.append(rf"\put({_n(W)},{_n(y)}){{\line(-1,0){{1.5}}}}")
        out.append(rf"\put(-1.5,{_n(y)}){{\makebox(0,0)[r]{{\footnotesize $10^{{{k}}}$}}}}")
    if low < 0 < high:
        out.append(rf"\qbezier[{int(W / 2.5)}](0,{_n(Y(0))})({_n(W / 2)},{_n(Y(0))})({_n(W)},{_n(Y(0))})")
    every = 1 if steps <= 16 else 2 if steps <= 32 else 5 if steps <= 80 else 10
    for d in range(steps):
        out.append(rf"\put({_n(X(d))},0){{\line(0,1){{1.5}}}}")
        if d % every == 0 or d == steps - 1:
            out.append(rf"\put({_n(X(d))},-2){{\makebox(0,0)[t]{{\footnotesize {d}}}}}")
    base = "h"
    out.append(rf"\put({_n(W / 2)},-7){{\makebox(0,0)[t]{{\small $T - t$}}}}")
    out.append(rf"\put(0,{_n(H + 3)}){{\makebox(0,0)[l]{{\small $\left|\partial {base}_T / \partial {base}_t\right|$"
               + (" (norm: " + ", ".join(sorted({s.norm for s in table.series if s.norm})) + ")" if any(s.norm for s in table.series) else "")
               + r", log scale}}")
    out.append(r"\thicklines")
    notes = []
    for i, s in enumerate(table.series):
        marker, style = _MARKERS[i % len(_MARKERS)], _STYLES[i % len(_STYLES)]
        logs = s.log10()
        for d in range(steps - 1):
            clipped = _clip(logs[d], logs[d + 1], low, high)
            if clipped is None:
                continue
            (a, ya), (b, yb) = clipped
            out += _segment(X(d + a), Y(ya), X(d + b), Y(yb), style)
        above = [d for d, v in enumerate(logs) if v > high + 1e-9]
        below = [d for d, v in enumerate(logs) if v < low - 1e-9]
        for d, v in enumerate(logs):
            if low - 1e-9 <= v <= high + 1e-9:
                out.append(marker(X(d), Y(v)))
        for run, edge, arrow in ((above, H, 1), (below, 0, -1)):
            starts = [d for d in run if d - 1 not in run]
            for d in starts:
                out.append(rf"\put({_n(X(d))},{_n(edge - 3 * arrow)}){{\vector(0,{arrow}){{3}}}}")
        clauses = []
        if above:
            clauses.append(rf"above $10^{{{high}}}$ for $T - t \in \{{{_runs(above)}\}}$")
        zeros = [d for d, v in enumerate(logs) if v == -math.inf]
        small = [d for d in below if d not in zeros]
        if small:
            clauses.append(rf"below $10^{{{low}}}$ for $T - t \in \{{{_runs(small)}\}}$")
        if zeros:
            clauses.append(rf"$0$ for $T - t \in \{{{_runs(zeros)}\}}$")
        if clauses:
            notes.append(f"{s.label}: " + ", ".join(clauses))
    # legend
    columns = min(options.legend_columns, len(table.series))
    col_width = W / columns
    top = -13.0
    for i, s in enumerate(table.series):
        row, col = divmod(i, columns)
        x0, y0 = col * col_width, top - 5 * row
        out += _segment(x0, y0, x0 + 8, y0, _STYLES[i % len(_STYLES)])
        out.append(_MARKERS[i % len(_MARKERS)](x0 + 4, y0))
        out.append(rf"\put({_n(x0 + 10)},{_n(y0)}){{\makebox(0,0)[l]{{\footnotesize {s.label}}}}}")
    bottom = top - 5 * ((len(table.series) - 1) // columns) - 5
    if notes:
        text = "Clipped (arrows): " + "; ".join(notes) + "."
        out.append(rf"\put(0,{_n(bottom)}){{\parbox[t]{{{_n(W)}mm}}{{\footnotesize {text}}}}}")
        bottom -= 3.6 * math.ceil(_visible_length(text) * 1.6 / W) + 1
    else:
        bottom += 2
    left, right = 14.0, 3.0
    body = "\n".join(out)
    code = (
        "\\begingroup\n\\setlength{\\unitlength}{1mm}\n"
        rf"\begin{{picture}}({_n(W + left + right)},{_n(H + 6 - bottom)})({_n(-left)},{_n(bottom)})" "\n"
        f"{body}\n\\end{{picture}}\n\\endgroup"
    )
    if caption is None:
        return code
    return f"\\begin{{figure}}[htbp]\n\\centering\n{code}\n\\caption{{{caption}}}\n\\end{{figure}}"


def _visible_length(latex: str) -> int:
    """A rough count of the characters ``latex`` typesets."""
    text = re.sub(r"\\[A-Za-z]+", "x", latex)
    return len(re.sub(r"[{}$^_ \\]", "", text)) + latex.count(" ")


def _clip(y1: float, y2: float, low: float, high: float) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """The part of the segment from (0, y1) to (1, y2) inside low ≤ y ≤ high, or None."""
    if not (math.isfinite(y1) and math.isfinite(y2)):
        return None  # a drop to 0: marked by the arrow and the note, not by a vertical line
    if (y1 > high and y2 > high) or (y1 < low and y2 < low):
        return None
    a, b = 0.0, 1.0
    if y1 != y2:
        for edge in (low, high):
            f = (edge - y1) / (y2 - y1)
            if 0 < f < 1:
                if (y1 < low and edge == low) or (y1 > high and edge == high):
                    a = max(a, f)
                else:
                    b = min(b, f)
    return (a, y1 + a * (y2 - y1)), (b, y1 + b * (y2 - y1))


def _runs(ds: list[int]) -> str:
    parts, start = [], None
    for i, d in enumerate(ds):
        if start is None:
            start = d
        if i + 1 == len(ds) or ds[i + 1] != d + 1:
            parts.append(str(start) if start == d else f"{start}, \\dots, {d}" if d > start + 1 else f"{start}, {d}")
            start = None
    return ", ".join(parts)


def _number(value: Expr, digits: int) -> str:
    v = sympy.N(value, 30)
    if v == 0:
        return "$0$"
    if isinstance(value, sympy.Integer):
        return f"${value}$"
    exponent = math.floor(float(sympy.N(sympy.log(abs(v)) / sympy.log(10), 15)))
    if -2 <= exponent < 4:
        return "$" + mpmath.nstr(mpmath.mpf(str(v)), digits, min_fixed=-3, max_fixed=5, strip_zeros=False) + "$"
    mantissa = mpmath.mpf(str(v)) / mpmath.mpf(10) ** exponent
    text = mpmath.nstr(mantissa, digits, strip_zeros=False)
    if text.startswith("10"):
        exponent, text = exponent + 1, mpmath.nstr(mantissa / 10, digits, strip_zeros=False)
    return rf"${text} \times 10^{{{exponent}}}$"


def _header(label: str) -> str:
    """``label`` stacked at its commas outside math (``tanh, $W_h = 1/2$`` on two lines)."""
    pieces, current, math_mode = [], "", False
    i = 0
    while i < len(label):
        c = label[i]
        if c == "$" and (i == 0 or label[i - 1] != "\\"):
            math_mode = not math_mode
        if c == "," and not math_mode and label[i + 1 : i + 2] == " ":
            pieces.append(current + ",")
            current, i = "", i + 2
            continue
        current += c
        i += 1
    pieces.append(current)
    if len(pieces) == 1:
        return label
    return r"\begin{tabular}[b]{@{}r@{}}" + r" \\ ".join(pieces) + r"\end{tabular}"


def table_latex(table: FlowTable, digits: int = 3) -> str:
    """The numbers of ``table`` as a booktabs ``tabular``: one row per T − t.

    >>> from rnnsym.models import elman
    >>> from rnnsym.analysis.table import flow_table
    >>> t = flow_table([("id", elman(2), {"h_0": 1, "W_h": 2, "W_x": 1, "x": [0, 0]})], steps=2)
    >>> print(table_latex(t))
    \\begin{tabular}{rr}
    \\toprule
     & \\multicolumn{1}{c}{$\\left|\\partial h_T / \\partial h_t\\right|$} \\\\
    \\cmidrule(l){2-2}
    $T - t$ & id \\\\
    \\midrule
    0 & $1.00$ \\\\
    1 & $2.00$ \\\\
    \\bottomrule
    \\end{tabular}
    """
    if not isinstance(table, FlowTable):
        raise InputTypeError("table", table, "a FlowTable from flow_table")
    if isinstance(digits, bool) or not isinstance(digits, int) or not 1 <= digits <= 20:
        raise InputError("digits", digits, "an integer from 1 to 20")
    n = len(table.series)
    lines = [
        rf"\begin{{tabular}}{{r{'r' * n}}}",
        r"\toprule",
        rf" & \multicolumn{{{n}}}{{c}}{{$\left|\partial h_T / \partial h_t\right|$}} \\",
        rf"\cmidrule(l){{2-{n + 1}}}",
        "$T - t$ & " + " & ".join(_header(s.label) for s in table.series) + r" \\",
        r"\midrule",
    ]
    for d, *values in table.rows():
        lines.append(f"{d} & " + " & ".join(_number(v, digits) for v in values) + r" \\")
    lines.append(r"\bottomrule")
    norms = sorted({s.norm for s in table.series if s.norm})
    if norms:
        lines.append(rf"\multicolumn{{{n + 1}}}{{l}}{{\footnotesize Vector states: {', '.join(norms)} norm of the Jacobian.}} \\")
    lines.append(r"\end{tabular}")
    return "\n".join(lines)
