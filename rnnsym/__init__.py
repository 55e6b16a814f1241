"""rnnsym: derive, explain and check gradients of recurrent neural networks.

The pipeline, stage by stage::

    elman / unroll (graph) ─▶ derive / compute (derive) ─▶ render (render) ─▶ Sheet (sheet)

>>> import rnnsym
>>> graph = rnnsym.elman(2)
>>> d = rnnsym.derive(graph, of="L", wrt="W_h")
>>> d.evaluate({"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": "0.1", "W_y": 2})
8
>>> print(d.latex({"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": "0.1", "W_y": 2})[-1])
\\frac{\\partial L}{\\partial W_{h}} = -4 + 12 = 8
"""

__version__ = "0.1.0"

from .errors import InputError, InputTypeError, LimitError, RnnsymError, TeXError
from .numbers import Number, parse_number
from .notation import Notation
from .rules import ACTIVATIONS, LOSSES
from .cells import Cell, Equation, define_cell, elman_cell, gru_cell, lstm_cell, now, prev
from .graph import Graph, build, elman, gru, lstm, unroll
from .derive import Derivation, Step, compute, derive
from .render import RenderOptions, render
from .exercise import Exercise, Question, load, loads, reference
from .sheet import Sheet

__all__ = [
    "ACTIVATIONS",
    "Cell",
    "Derivation",
    "Equation",
    "Exercise",
    "Graph",
    "InputError",
    "InputTypeError",
    "LOSSES",
    "LimitError",
    "Notation",
    "Number",
    "Question",
    "RenderOptions",
    "RnnsymError",
    "Sheet",
    "Step",
    "TeXError",
    "build",
    "compute",
    "define_cell",
    "gru",
    "gru_cell",
    "lstm",
    "lstm_cell",
    "derive",
    "elman",
    "elman_cell",
    "load",
    "loads",
    "now",
    "parse_number",
    "prev",
    "reference",
    "render",
    "unroll",
]
