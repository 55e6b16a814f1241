"""Checking derivatives: rnnsym's own, and ones derived by hand (public, like numpy.testing).

- :func:`check_gradients` answers "can I trust what rnnsym derived?": it compares
  each derivation with sympy's ``diff`` of the expanded loss, central finite
  differences in 50-digit arithmetic, and every side of every line
  (:mod:`~rnnsym.testing.gradients`);
- :func:`assert_derivative` answers "is this hand-derived formula right?" by
  searching for a point where it differs from the true derivative
  (:mod:`~rnnsym.testing.candidates`);
- :func:`check_bptt` and :func:`assert_bptt` answer "is my own numpy BPTT
  right?" by comparing it with :func:`rnnsym.compile` on sequences hypothesis
  draws, the first mismatch shrunk to a small example (:mod:`~rnnsym.testing.bptt`);
- :mod:`~rnnsym.testing.mp` is the independent mpmath arithmetic they use, and
  :mod:`~rnnsym.testing.report` the tables they print.

>>> import rnnsym
>>> from rnnsym.testing import check_gradients
>>> values = {"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": "0.1", "W_y": 2}
>>> check_gradients(rnnsym.elman(2), values, wrt=["W_h", "W_x"])
GradientReport(elman, steps=2, dL/dW_h, dL/dW_x: 10 checks agree)
"""


from .candidates import DerivativeMismatch, assert_derivative
from .bptt import BPTTMismatch, BPTTReport, assert_bptt, check_bptt
from .gradients import DIGITS, STEP, check_gradients, default_wrt, entries
from .mp import at_kink, close, evaluate_formula, forward, numeric, random_point
from .report import Comparison, GradientReport, markdown_table, show, table

__all__ = [
    "Comparison",
    "GradientReport",
    "DerivativeMismatch",
    "check_gradients",
    "assert_derivative",
    "BPTTMismatch",
    "BPTTReport",
    "check_bptt",
    "assert_bptt",
    "numeric",
    "forward",
    "close",
    "evaluate_formula",
    "at_kink",
    "default_wrt",
    "entries",
    "random_point",
    "show",
    "table",
    "markdown_table",
    "DIGITS",
    "STEP",
]
