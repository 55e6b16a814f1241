"""Exercise files to start from, as ``rnnsym init`` writes them.

With no cell, the reference exercise (IN5400, week 10, Task 1) with a comment
on every key: what it means, its default, its limits and whether it is LaTeX
(``exercises/in5400_rnn_commented.toml``, the same exercise as
:data:`rnnsym.exercise.REFERENCE`).  With a cell (:data:`TEMPLATES`), a short
exercise on that cell with scalar values and a few questions; the Elman
template's ``activation`` may be chosen.  Every template is a valid exercise
file as it stands.

>>> from rnnsym.exercise import loads
>>> loads(template()).title
'Recurrent neural networks: backpropagation through time'
>>> loads(template("gru")).graph
Graph(gru, steps=2, loss=squared)
>>> loads(template("elman", activation="relu")).graph
Graph(elman, steps=3, activation=relu, loss=squared)
>>> template("lstm", activation="tanh")
Traceback (most recent call last):
...
rnnsym.errors.InputError: activation: got 'tanh', expected no activation for the lstm cell (only the elman cell takes one)
"""

from __future__ import annotations

import re
from importlib import resources

from .errors import InputError
from .rules import ACTIVATIONS

__all__ = ["COMMENTED_REFERENCE", "TEMPLATES", "template"]

#: The reference exercise with every key explained (a file of the package ``rnnsym.exercises``).
COMMENTED_REFERENCE = "in5400_rnn_commented.toml"

#: The template of each built-in cell, by cell name (files of the package ``rnnsym.exercises``).
TEMPLATES = {"elman": "elman.toml", "gru": "gru.toml", "lstm": "lstm.toml"}

# the one line of the Elman template that sets its activation
_ACTIVATION = re.compile(r'^activation = "[a-z]+"', re.M)


def template(cell: str | None = None, activation: str | None = None) -> str:
    """The text of an exercise file to start from.

    ``cell`` ``None`` (and no ``activation``) gives the commented reference
    exercise; ``"elman"``, ``"gru"`` or ``"lstm"`` that cell's template.  An
    ``activation`` (one of :data:`rnnsym.rules.ACTIVATIONS`) sets the Elman
    template's activation (``cell`` ``None`` then means ``"elman"``).

    Raises :class:`~rnnsym.errors.InputError` naming ``cell`` or
    ``activation`` for an unknown name, or an activation for a gated cell.
    """
    if cell is not None and cell not in TEMPLATES:
        raise InputError("cell", cell, "one of " + ", ".join(repr(c) for c in TEMPLATES))
    if activation is not None:
        if activation not in ACTIVATIONS:
            raise InputError("activation", activation, "one of " + ", ".join(repr(a) for a in ACTIVATIONS))
        if cell not in (None, "elman"):
            raise InputError("activation", activation, f"no activation for the {cell} cell (only the elman cell takes one)")
        cell = "elman"
    name = COMMENTED_REFERENCE if cell is None else TEMPLATES[cell]
    text = resources.files("rnnsym.exercises").joinpath(name).read_text(encoding="utf-8")
    if activation is not None:
        text, count = _ACTIVATION.subn(f'activation = "{activation}"', text, count=1)
        assert count == 1, "the elman template sets its activation on one line"
    return text
