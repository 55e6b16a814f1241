"""Sheets of gated cells, long recursions and vector states build to PDFs that fit the page.

:func:`rnnsym.tex.compile_pdf` refuses a line that overflows the page by more
than ``MAX_OVERFULL`` points, so a PDF built here is also one with no line off
the page.  Values are drawn from a seeded generator: small fractions, the kind
an exercise uses.
"""

from __future__ import annotations

import random
import re

import pytest
import sympy

import rnnsym
from rnnsym import Exercise, Question, Sheet

from support import needs_tex  # noqa: E402

pytestmark = [pytest.mark.slow, needs_tex]


def _exercise(graph: rnnsym.Graph, finds: list[str], seed: int = 0) -> Exercise:
    draw = random.Random(seed)
    values = {str(s): sympy.Rational(draw.randint(-3, 3), draw.randint(1, 5)) for s in graph.leaves}
    questions = []
    for i, find in enumerate(finds, start=1):
        of, _, wrt = find[1:].partition("/d") if find.startswith("d") else (find, "", "")
        questions.append(Question(label=str(i), text="", find=find, of=of, wrt=wrt or None))
    return Exercise(title=f"{graph!r}", graph=graph, values=values, questions=tuple(questions), source="test")


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


def _build(exercise: Exercise) -> tuple[str, int]:
    sheet = Sheet([exercise])
    pdf = sheet.pdf()
    assert pdf.startswith(b"%PDF")
    return sheet.tex(), _pages(pdf)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("steps", [2, 3, 4, 5, 6])
def test_gated_sheets_build_and_fit(cell, steps):
    graph = rnnsym.build(cell, steps)
    weight = "W_hh" if cell == "gru" else "W_hf"
    tex, pages = _build(_exercise(graph, [f"yhat_{steps}", f"dL/d{weight}", "dL/dh_0"], seed=steps))
    assert pages <= 6, pages
    assert r"\frac{\partial L}{\partial h_{0}}" in tex


@pytest.mark.parametrize("steps, most_pages", [(50, 6), (1000, 8)])
def test_long_tanh_recursions_are_abbreviated(steps, most_pages):
    graph = rnnsym.elman(steps, activation="tanh", bias=True)
    tex, pages = _build(_exercise(graph, [f"yhat_{steps}", "dL/dW_h", "dL/dh_0"]))
    assert pages <= most_pages, pages
    assert r"\vdots" in tex  # the middle of the recursion is left out
    assert len(tex) < 200_000


def test_an_identity_recursion_of_300_steps_builds():
    graph = rnnsym.elman(300)
    tex, pages = _build(_exercise(graph, ["L", "dL/dW_h"]))
    assert pages <= 8, pages
    assert r"\cdots" in tex  # L = L_1 + L_2 + ⋯ + L_300


@pytest.mark.parametrize("cell", ["elman", "gru"])
def test_vector_state_sheets_build(cell):
    graph = rnnsym.build(cell, 2, hidden=2)
    finds = ["dL/dh_0[1]", "dL/dW_h[1,2]" if cell == "elman" else "dL/dW_hh[1,2]"]
    tex, pages = _build(_exercise(graph, finds))
    assert pages <= 8, pages
