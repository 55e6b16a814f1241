r"""LaTeX as Unicode text for a terminal: ∂L/∂W_h, ŷ₂, ×, −, fractions as a/b.

:func:`to_text` reads the LaTeX rnnsym writes — the :class:`~rnnsym.printing.Printer`'s
math, and the sentences of notes and topics (text with ``$…$`` math) — with
pylatexenc's parser (:mod:`pylatexenc.latexwalker`) and writes each node as
text: a control word by the table :data:`SYMBOLS` (``\times`` → ×), a
fraction as ``a/b`` (brackets around a side that is not one term),
subscripts and superscripts of digits and signs in Unicode (``h_{2}`` → h₂,
``x^{2}`` → x², ``10^{-5}`` → 10⁻⁵) and others after ``_`` or ``^`` (W_h,
h_(t−1)), accents combined with their letter (``\hat{y}`` → ŷ).  A command
outside the table is written by pylatexenc's own ``latex2text``.

>>> to_text(r"\frac{\partial L}{\partial \hat{y}_{2}} = 2 \times \left(\hat{y}_{2} - y_{2}\right)")
'∂L/∂ŷ₂ = 2 × (ŷ₂ − y₂)'
>>> to_text(r"\frac{\partial^{+} h_{t}}{\partial h_{t-1}} = W_{h} \, \left(1 - h_{t}^{2}\right)")
'∂⁺h_t/∂h_(t−1) = W_h (1 − h_t²)'
>>> to_text(r"Truncated BPTT (Williams \& Peng, 1990) keeps $t - s < k$.", math=False)
'Truncated BPTT (Williams & Peng, 1990) keeps t − s < k.'
"""

from __future__ import annotations

import re
import unicodedata

from pylatexenc.latex2text import LatexNodes2Text
from pylatexenc.latexwalker import (
    LatexCharsNode,
    LatexCommentNode,
    LatexEnvironmentNode,
    LatexGroupNode,
    LatexMacroNode,
    LatexMathNode,
    LatexSpecialsNode,
    LatexWalker,
    get_default_latex_context_db,
)
from pylatexenc.macrospec import MacroSpec

__all__ = ["to_text", "SYMBOLS", "ACCENTS", "PLAIN", "subscript", "superscript", "parse", "cells"]

#: Control words and the text they stand for.
SYMBOLS = {
    "times": "×", "cdot": "·", "approx": "≈", "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "ne": "≠",
    "neq": "≠", "partial": "∂", "odot": "⊙", "cdots": "⋯", "ldots": "…", "dots": "…", "vdots": "⋮",
    "top": "ᵀ", "sum": "∑", "prod": "∏", "nabla": "∇", "infty": "∞", "in": "∈", "to": "→",
    "rightarrow": "→", "mapsto": "↦", "pm": "±", "lVert": "‖", "rVert": "‖", "Vert": "‖", "|": "‖",
    "vert": "|", "lvert": "|", "rvert": "|", "{": "{", "}": "}", "&": "&", "%": "%", "$": "$", "#": "#",
    "_": "_", ",": " ", ";": " ", ":": " ", "!": "", " ": " ", "quad": "  ", "qquad": "    ",
    "tanh": "tanh", "sigma": "σ", "delta": "δ", "log": "log", "exp": "exp", "max": "max", "min": "min",
    "sin": "sin", "cos": "cos", "alpha": "α", "beta": "β", "gamma": "γ", "eta": "η", "lambda": "λ",
    "theta": "θ", "mu": "μ", "epsilon": "ε", "varepsilon": "ε", "tau": "τ", "phi": "φ", "Delta": "Δ",
    "Sigma": "Σ", "prime": "′", "textbackslash": "\\", "ell": "ℓ", "sim": "∼", "propto": "∝",
    "left": "", "right": "", "bigl": "", "bigr": "", "Bigl": "", "Bigr": "", "displaystyle": "",
    "toprule": "", "midrule": "", "bottomrule": "", "hline": "", "centering": "", "noindent": "",
    "nonumber": "", "allowbreak": "", "newline": "\n", "\\": "\n", "par": "\n\n",
}
#: Accents, as combining characters.
ACCENTS = {"hat": "\u0302", "tilde": "\u0303", "bar": "\u0304", "dot": "\u0307", "ddot": "\u0308", "vec": "\u20d7"}
#: Commands whose one argument is written as it is (fonts and names).
PLAIN = frozenset({"mathrm", "operatorname", "text", "textrm", "mathit", "mathbf", "boldsymbol", "mathsf", "textsf",
                   "texttt", "emph", "textit", "textbf", "mbox", "paragraph", "section", "subsection", "subsection*",
                   "section*", "underline"})

_SUB = str.maketrans("0123456789+-−=()", "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎")
_SUP = str.maketrans("0123456789+-−=()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾")
_FALLBACK = LatexNodes2Text(math_mode="text")
_OPERATOR = re.compile(r"[\s+−=×·⊙<>≤≥≈,/]")


def subscript(text: str) -> str:
    """``text`` as a subscript: in Unicode when it is digits and signs, else after ``_``.

    >>> subscript("2"), subscript("h"), subscript("t−1")
    ('₂', '_h', '_(t−1)')
    """
    return _script(text, "_", _SUB)


def superscript(text: str) -> str:
    """``text`` as a superscript: in Unicode when it is digits and signs (or ᵀ, ⁺), else after ``^``.

    >>> superscript("2"), superscript("−5"), superscript("ᵀ"), superscript("k")
    ('²', '⁻⁵', 'ᵀ', '^k')
    """
    if text in ("ᵀ", "′"):
        return text
    return _script(text, "^", _SUP)


def _script(text: str, mark: str, table: dict) -> str:
    text = text.strip()
    if text and all(c in "0123456789+-−=()" for c in text):
        return text.translate(table)
    if re.fullmatch(r"[A-Za-z0-9]+|[^\s()]", text):
        return mark + text
    return f"{mark}({text})"


def _accent(text: str, mark: str) -> str:
    if not text:
        return mark
    return unicodedata.normalize("NFC", text[0] + mark) + text[1:]


def _simple(text: str) -> bool:
    """Whether ``text`` is one term: no space or operator outside brackets."""
    depth = 0
    for c in text:
        depth += c in "([" and 1 or -(c in ")]")
        if depth == 0 and _OPERATOR.match(c):
            return False
    return bool(text)


def _fraction(numerator: str, denominator: str) -> str:
    sides = [side if _simple(side) else f"({side})" for side in (numerator.strip(), denominator.strip())]
    return "/".join(sides)


class _Writer:
    """Walks a pylatexenc node list and writes it as text."""

    def __init__(self, math: bool) -> None:
        self.math = math

    def nodes(self, nodes, math: bool | None = None) -> str:
        math = self.math if math is None else math
        items: list = []
        for node in nodes or ():
            if isinstance(node, LatexCharsNode):
                items.extend(node.chars)
            elif node is not None and not isinstance(node, LatexCommentNode):
                items.append(node)
        out: list[str] = []
        i = 0
        while i < len(items):
            item = items[i]
            if math and isinstance(item, str) and item in ("_", "^") and i + 1 < len(items):
                argument = self.item(items[i + 1], math)
                out.append(subscript(argument) if item == "_" else superscript(argument))
                i += 2
                continue
            if isinstance(item, LatexMacroNode) and item.macroname in ("left", "right", "bigl", "bigr"):
                following = items[i + 1] if i + 1 < len(items) else None
                if isinstance(following, str) and following == ".":  # \left. and \right. stand for no bracket
                    i += 2
                    continue
            out.append(self.item(item, math))
            i += 1
        text = "".join(out)
        if math:
            text = re.sub(r"(∂⁺?) +", r"\1", text)
        return text

    def item(self, item, math: bool) -> str:
        if isinstance(item, str):
            if math and item == "-":
                return "−"
            return " " if item in "\n\t" else item
        if isinstance(item, LatexGroupNode):
            return self.nodes(item.nodelist, math)
        if isinstance(item, LatexMathNode):
            return self.nodes(item.nodelist, True)
        if isinstance(item, LatexSpecialsNode):
            return {"--": "–", "---": "—", "~": " ", "&": " ", "``": "“", "''": "”"}.get(item.specials_chars,
                                                                                          item.specials_chars)
        if isinstance(item, LatexMacroNode):
            return self.macro(item, math)
        if isinstance(item, LatexEnvironmentNode):
            return self.environment(item, math)
        return _FALLBACK.nodelist_to_text([item])

    def arguments(self, node, math: bool) -> list[str]:
        args = node.nodeargd.argnlist if node.nodeargd is not None else []
        return [self.item(a, math) for a in args if a is not None]

    def macro(self, node: LatexMacroNode, math: bool) -> str:
        name = node.macroname
        if name == "frac":
            numerator, denominator = self.arguments(node, math)[-2:]
            return _fraction(numerator, denominator)
        if name in ACCENTS:
            return _accent(self.arguments(node, math)[-1], ACCENTS[name])
        if name in PLAIN:
            args = self.arguments(node, math and name not in ("text", "textrm", "mbox", "texttt", "emph"))
            return args[-1] if args else ""
        if name == "sqrt":
            root = self.arguments(node, math)[-1]
            return "√" + (root if _simple(root) else f"({root})")
        if name in SYMBOLS:
            text = SYMBOLS[name]
            return text + (node.macro_post_space if text else "")
        return _FALLBACK.nodelist_to_text([node])

    def environment(self, node: LatexEnvironmentNode, math: bool) -> str:
        name = node.environmentname
        if name in ("bmatrix", "pmatrix", "matrix", "array", "aligned", "tabular", "align", "align*"):
            rows = [[self.nodes(cell, math or "matrix" in name or name.startswith("align")).strip()
                     for cell in row] for row in cells(node)]
            if name.endswith("matrix"):
                return "[" + "; ".join(", ".join(row) for row in rows) + "]"
            return "\n".join("  ".join(row) for row in rows)
        return self.nodes(node.nodelist, math)


def cells(node: LatexEnvironmentNode) -> list[list[list]]:
    """The rows of a tabular-like environment, each a list of cells, each a node list
    (rules such as ``\\toprule`` and empty rows left out)."""
    rows: list[list[list]] = [[[]]]
    for child in node.nodelist:
        if isinstance(child, LatexSpecialsNode) and child.specials_chars == "&":
            rows[-1].append([])
        elif isinstance(child, LatexMacroNode) and child.macroname == "\\":
            rows.append([[]])
        elif isinstance(child, LatexMacroNode) and child.macroname in ("toprule", "midrule", "bottomrule", "hline"):
            continue
        else:
            rows[-1][-1].append(child)
    blank = lambda cell: all(isinstance(n, LatexCharsNode) and not n.chars.strip() for n in cell)  # noqa: E731
    return [row for row in rows if not all(blank(c) for c in row)]


#: pylatexenc's macros, and the sectioning ones that rnnsym's sheets write (``\paragraph{Given}``)
#: read with their title as an argument.
_CONTEXT = get_default_latex_context_db()
_CONTEXT.add_context_category("rnnsym", prepend=True, macros=[MacroSpec(name, "*[{") for name in ("paragraph", "subsection", "section")])


def parse(latex: str, math: bool = False) -> list:
    """``latex`` as pylatexenc nodes (``math``: as the inside of a formula)."""
    walker = LatexWalker(latex, tolerant_parsing=True, latex_context=_CONTEXT)
    if math:
        nodes, _, _ = walker.get_latex_nodes(parsing_state=walker.make_parsing_state(in_math_mode=True))
    else:
        nodes, _, _ = walker.get_latex_nodes()
    return nodes


def to_text(latex: str, math: bool = True) -> str:
    """``latex`` as Unicode text: a formula (``math``, the default: the inside of
    ``$…$``, as :func:`rnnsym.latex` writes lines) or text with ``$…$`` math
    (notes, topics' paragraphs).  Runs of spaces become one."""
    text = _Writer(math).nodes(parse(latex, math), math)
    text = re.sub(r"[ \t]+", " ", text)
    if math:
        text = re.sub(r"([(\[]) | ([)\]])", r"\1\2", text)
        text = re.sub(r"‖ ([^‖]*?) ‖", r"‖\1‖", text)
    return "\n".join(line.strip() for line in text.split("\n")).strip()
