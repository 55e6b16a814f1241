"""rnnsym: derive, explain and check gradients of recurrent neural networks.

The pipeline, stage by stage (docs/architecture.md)::

    cell ─unroll─▶ Graph ─evaluate─▶ Evaluation
                     └──derive──▶ Derivation ─latex─▶ lines ─Sheet─▶ .tex ─▶ PDF

>>> import rnnsym
>>> graph = rnnsym.elman(2)
>>> d = rnnsym.derive(graph, of="L", wrt="W_h")
>>> d.evaluate({"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": "0.1", "W_y": 2})
8
>>> print(d.latex({"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": "0.1", "W_y": 2})[-1])
\\frac{\\partial L}{\\partial W_{h}} = -4 + 12 = 8
"""

__version__ = "0.1.0"

from .errors import InputError, InputTypeError, LimitError, NoVariantError, RnnsymError, TeXError
from .numbers import Number, parse_number
from .notation import Notation
from .rules import ACTIVATIONS, LOSSES, register_activation, register_loss
from .printing import RenderOptions, latex
from .cells import Cell, Equation, define_cell, elman_cell, gru_cell, lstm_cell, now, prev
from .graph import Graph
from .models import build, elman, gru, lstm, unroll
from .evaluation import Evaluation, evaluate, gradients
from .compiled import compile
from .derivation import ChainDerivation, Derivation, Step, TensorDerivation, TruncatedDerivation, compute, derive
from .exercise import Exercise, Question, load, loads, reference
from .sheet import Sheet

__all__ = [
    "ACTIVATIONS",
    "Cell",
    "ChainDerivation",
    "Derivation",
    "Equation",
    "Evaluation",
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
    "NoVariantError",
    "TensorDerivation",
    "TruncatedDerivation",
    "build",
    "compile",
    "compute",
    "define_cell",
    "derive",
    "elman",
    "elman_cell",
    "evaluate",
    "gradients",
    "gru",
    "gru_cell",
    "latex",
    "load",
    "loads",
    "lstm",
    "lstm_cell",
    "now",
    "parse_number",
    "prev",
    "reference",
    "register_activation",
    "register_loss",
    "unroll",
]
