"""The example exercises in ``examples/``: each loads, checks and builds to a PDF
that fits the page; and the layout rule that lets their long lines fit."""

import re
from pathlib import Path

import pytest

from rnnsym.cli import main
from rnnsym.diagram import network_figure
from rnnsym.exercise import load
from rnnsym.runs import prepare
from rnnsym.printing import Line, balance, split_piece, width
from rnnsym.sheet import ROW_WIDTH, Sheet, rows
from support import needs_tex

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.toml"))


def _exercise(path):
    """The example's exercise; one drawn variant of an example with draw specs."""
    if "[variants]" in path.read_text():
        return prepare([path], count=1, seed=1).exercises[0]
    return load(path)


def test_there_are_examples_of_each_kind():
    names = {p.stem for p in EXAMPLES}
    assert {"tanh_three_steps", "sigmoid_last_step", "relu", "vector_elman", "gru", "truncated_bptt", "free_text",
            "variants_tanh"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_loads_and_writes_a_sheet(path):
    exercise = _exercise(path)
    tex = Sheet([exercise]).tex()
    assert tex.count(r"\subsection*") == len(exercise.questions)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_answer_of_an_example_checks(path, capsys):
    drawn = ["--variants", "2"] if "[variants]" in path.read_text() else []  # draw specs: two drawn variants
    assert main(["check", str(path), *drawn]) == 0, capsys.readouterr().out


@pytest.mark.slow
@needs_tex
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_builds_to_a_pdf_that_fits_the_page(path):
    # compile_pdf raises TeXError on an overfull line beyond the tolerance
    assert Sheet([_exercise(path)], figure=network_figure).pdf().startswith(b"%PDF")


def _depth(row: str) -> int:
    tokens = re.findall(r"\\left[(\[|.]|\\right[)\]|.]", row)
    depth = 0
    for token in tokens:
        depth += 1 if token.startswith(r"\left") else -1
        assert depth >= 0, row
    return depth


def test_a_factor_wider_than_a_row_is_broken_inside_its_brackets():
    terms = " + ".join(rf"{k} \times 0.731059 \times \left(1 - 0.731059\right)" for k in range(1, 7))
    part = rf"2 \times \left(0.840549 - 1\right) \times \left({terms}\right)"
    line = Line((r"\frac{\partial L}{\partial W_{x}}", part), (None, ("2", r"\times \left(0.840549 - 1\right)", rf"\times \left({terms}\right)")))
    out = rows(line)
    assert len(out) > 2
    for row in out:
        assert _depth(row) == 0  # every row closes the brackets it opens
        assert width(row.replace(r"\left.", "").replace(r"\right.", "")) <= ROW_WIDTH + width(r"\frac{\partial L}{\partial W_{x}}")
    # the rows, with the row-closing null delimiters removed, are the part again
    joined = " ".join(re.sub(r"^.*?&(= |\\quad )", "", r.removesuffix(r" \nonumber")) for r in out)
    assert re.sub(r"\s*\\right\.|\\left\.\s*", "", joined).split() == part.split()


def test_split_piece_prefers_terms_to_factors_and_keeps_what_fits():
    piece = r"\times \left(a \times b + c \times d\right)"
    assert split_piece(piece, 100) == [piece]
    assert split_piece(piece, 5) == [r"\times \left(a", r"\times b", r"+ c", r"\times d\right)"]
    assert split_piece(piece, 10) == [r"\times \left(a \times b", r"+ c \times d\right)"]
    assert balance(r"\times \left(a \times b") == r"\times \left(a \times b \right."
    assert balance(r"+ c \times d\right)") == r"\left. + c \times d\right)"
