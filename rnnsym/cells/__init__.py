"""Recurrent cells: the recurrence h_t = f_W(h_{t−1}, x_t), its output and loss.

:mod:`rnnsym.cells.cell` holds what a cell is (template equations over
placeholders); :mod:`rnnsym.cells.build` the built-in Elman, GRU and LSTM
cells and :func:`define_cell` for your own.
"""

from .build import CELLS, define_cell, elman_cell, gru_cell, lstm_cell
from .cell import ROLES, Cell, Equation, at_step, now, placeholder, prev

__all__ = ["Cell", "Equation", "prev", "now", "placeholder", "at_step", "ROLES",
           "define_cell", "elman_cell", "gru_cell", "lstm_cell", "CELLS"]
