"""Output formats: Markdown and plain text hold the same relations as the LaTeX; Display; reproducible PDFs.

The relations are compared, not the markup: for each derivation, the number of
lines, each line's left-hand side (its letters and digits) and each line's
final value are read back from the LaTeX lines, from the Markdown and from the
text, each with a reader of its own format, and must agree.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from fractions import Fraction

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnsym
from rnnsym.exercise import Exercise, Question
from rnnsym.numbers import format_exact
from rnnsym.printing import Display, markdown, text
from rnnsym.printing.unicode import to_text

from support import TEXT, needs_tex, one_error_line, run, variant

REFERENCE_VALUES = {"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": "0.1", "W_y": 2}
TANH = {"h_0": 0, "x": ["0.5", 1, "0.25"], "y": [0, 1, 0], "W_h": "0.5", "W_x": 1, "W_y": 2}
LONG = {"h_0": 0, "x": ["0.5"] * 8, "y": [0] * 8, "W_h": "0.5", "W_x": 1, "W_y": 2}
VECTOR = {"h_0": [1, 0], "x": [1, 2], "y": [0, 1], "W_h": [[1, 0], [0, 1]], "W_x": [[1], [0]], "W_y": [[1, 1]]}
GRU = {"h_0": 0, "x": [1, "0.5"], "y": [0, 1], "W_xr": "0.1", "W_hr": "0.2", "W_xz": "0.3", "W_hz": "0.4",
       "W_xh": "0.5", "W_hh": "0.6", "b_r": 0, "b_z": 0, "b_h": 0, "W_y": 1, "b_y": 0}
GATED = """
title = "A GRU"
[model]
cell = "gru"
steps = 3
[values]
h_0 = 0
x = [1, "0.5", 2]
y = [0, 1, 0]
W_xr = "0.1"
W_hr = "0.2"
W_xz = "0.3"
W_hz = "0.4"
W_xh = "0.5"
W_hh = "0.6"
b_r = 0
b_z = 0
b_h = 0
W_y = 1
b_y = 0
[[questions]]
find = "dL/dW_hh"
[[questions]]
find = "dL/dh_0"
split = "step"
[[questions]]
show = "vanishing"
[[questions]]
show = "gated"
"""
RELU = {"h_0": -1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": "0.1", "W_y": 2}  # z_1 = 0: relu's kink


def derivations():
    """(name, derivation, values): the reference questions, tanh, a long recursion, vectors, GRU, truncation, relu."""
    ex = rnnsym.reference()
    out = [(f"reference {q.label}", a, ex.values) for q, a in ex.answers() if q.show is None]
    tanh = rnnsym.elman(3, "tanh")
    out += [
        ("reference dL/dW_h per step", rnnsym.derive(ex.graph, "L", "W_h", split="step"), ex.values),
        ("tanh dL/dW_h", rnnsym.derive(tanh, "L", "W_h", split="loss"), TANH),
        ("tanh dL/dW_x recursion", rnnsym.derive(tanh, "L", "W_x", split="step"), TANH),
        ("tanh dL/dh_0", rnnsym.derive(tanh, "L", "h_0"), TANH),
        ("tanh T=8 abbreviated", rnnsym.derive(rnnsym.elman(8, "tanh"), "L", "W_h", split="step"), LONG),
        ("vector dL/dW_h", rnnsym.derive(rnnsym.elman(2, hidden=2), "L", "W_h"), VECTOR),
        ("vector dL/dh_0", rnnsym.derive(rnnsym.elman(2, hidden=2), "L", "h_0"), VECTOR),
        ("vector h_2", rnnsym.compute(rnnsym.elman(2, hidden=2), "h_2"), VECTOR),
        ("GRU dL/dW_hh", rnnsym.derive(rnnsym.gru(2), "L", "W_hh"), GRU),
        ("GRU dL/dh_0", rnnsym.derive(rnnsym.gru(2), "L", "h_0"), GRU),
        ("truncated k=1", rnnsym.derive(rnnsym.elman(3), "L", "W_h", truncate=1),
         {**REFERENCE_VALUES, "x": [10, 10, 10], "y": [5, 5, 5]}),
        ("relu at its kink", rnnsym.derive(rnnsym.elman(2, "relu"), "L", "W_h"), RELU),
    ]
    return out


CASES = derivations()


# --- readers: each format read back on its own terms ---------------------------------------------

_SUB = str.maketrans("₀₁₂₃₄₅₆₇₈₉⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻₋", "0123456789" "0123456789" "+--")


def latex_key(latex: str) -> str:
    """The letters and digits of a LaTeX formula, its commands left out."""
    return re.sub(r"[^A-Za-z0-9]", "", re.sub(r"\\[A-Za-z]+", "", latex))


def text_key(written: str) -> str:
    """The letters and digits of a text formula, accents and the transpose mark left out."""
    plain = unicodedata.normalize("NFKD", written.replace("ᵀ", "")).translate(_SUB)
    return re.sub(r"[^A-Za-z0-9]", "", plain)


def latex_value(latex: str):
    """A LaTeX number, ``\\approx`` number or bmatrix of numbers, as sympy; None for anything else."""
    latex = latex.strip().removeprefix(r"\approx").strip()
    matrix = re.fullmatch(r"\\begin\{bmatrix\}(.*)\\end\{bmatrix\}", latex)
    if matrix:
        rows = [[latex_value(c) for c in row.split("&")] for row in matrix.group(1).split(r"\\")]
        return None if any(v is None for r in rows for v in r) else sympy.Matrix(rows)
    match = re.fullmatch(r"(-?)\\frac\{(\d+)\}\{(\d+)\}", latex)
    if match:
        return sympy.Rational(int(match.group(2)), int(match.group(3))) * (-1 if match.group(1) else 1)
    match = re.fullmatch(r"(-?[\d.]+) \\times 10\^\{(-?\d+)\}", latex)
    if match:
        return sympy.Rational(match.group(1)) * sympy.Rational(10) ** int(match.group(2))
    return sympy.Rational(latex) if re.fullmatch(r"-?\d+(\.\d+)?", latex) else None


def text_value(written: str):
    """A text number (−, a/b, × 10⁻⁵, [a, b; c, d]), as sympy; None for anything else."""
    written = written.strip().removeprefix("≈").strip().replace("−", "-")
    if written.startswith("[") and written.endswith("]"):
        rows = [[text_value(c) for c in row.split(",")] for row in written[1:-1].split(";")]
        return None if any(v is None for r in rows for v in r) else sympy.Matrix(rows)
    match = re.fullmatch(r"(-?)\(?(\d+)\)?/(\d+)", written)
    if match:
        return sympy.Rational(int(match.group(2)), int(match.group(3))) * (-1 if match.group(1) else 1)
    match = re.fullmatch(r"(-?[\d.]+) × 10([⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+)", written)
    if match:
        return sympy.Rational(match.group(1)) * sympy.Rational(10) ** int(match.group(2).translate(_SUB))
    return sympy.Rational(written) if re.fullmatch(r"-?\d+(\.\d+)?", written) else None


def last(chain: str, relation: str, approx: str) -> str:
    """The last part of a written chain: after its last relation or approximation sign."""
    tail = chain.rsplit(relation, 1)[-1]
    return tail.rsplit(approx, 1)[-1] if approx in tail else tail


def markdown_rows(md: str) -> list[str]:
    """The rows of the first aligned block of Markdown."""
    body = re.search(r"\$\$\n\\begin\{aligned\}\n(.*?)\n\\end\{aligned\}\n\$\$", md, re.S).group(1)
    return body.split(" \\\\\n")


def text_lines(written: str) -> list[str]:
    """The lines of the first block of a text output (its relation chains)."""
    return written.split("\n\n")[0].splitlines()


# --- the same relations in every format ---------------------------------------------------------


@pytest.mark.parametrize("name, derivation, values", CASES, ids=[c[0] for c in CASES])
def test_markdown_and_text_hold_the_relations_of_the_latex(name, derivation, values):
    lines = derivation.lines(values)
    rows = markdown_rows(markdown(derivation, values))
    chains = text_lines(text(derivation, values))
    assert len(lines) == len(rows) == len(chains), name
    for line, row, chain in zip(lines, rows, chains):
        lhs_md, _, rest_md = row.partition(" &")
        lhs_text = re.split(r" = | ≈ ", chain.strip(), maxsplit=1)[0] if len(line.parts) > 1 else chain.strip()
        assert latex_key(line.parts[0]) == latex_key(lhs_md) == text_key(lhs_text), (line.parts[0], lhs_text)
        final = latex_value(line.parts[-1]) if len(line.parts) > 1 else None
        assert final == (latex_value(last(" " + rest_md, " = ", r"\approx")) if len(line.parts) > 1 else None), row
        assert final == (text_value(last(chain, " = ", "≈")) if len(line.parts) > 1 else None), chain
    exact = derivation.evaluate(values)
    shown = [latex_value(line.parts[-1]) for line in lines]
    if isinstance(exact, sympy.MatrixBase) and derivation.wrt is None:  # a whole vector computed: each entry's line
        assert all(v in shown for v in exact if v.is_Rational), name
    elif exact.is_Rational if isinstance(exact, sympy.Expr) else all(v.is_Rational for v in exact):
        assert exact in shown, name


@pytest.mark.parametrize("name, derivation, values", CASES, ids=[c[0] for c in CASES])
def test_tables_and_notes_appear_in_every_format(name, derivation, values):
    md, written = markdown(derivation, values), text(derivation, values)
    tables = derivation.tables(values)
    latex_rows = [re.findall(r"^(\d+) & \$(.*?)\$ & \$(.*?)\$ \\\\$", t, re.M) for t in tables]
    md_rows = re.findall(r"^\| (\d+) \| \$(.*?)\$ \| \$(.*?)\$ \|$", md, re.M)
    text_rows = re.findall(r"^ *(\d+) +(\S+) +(\S+)$", written, re.M)
    assert [r for rows in latex_rows for r in rows] == md_rows
    assert [(t, text_value(a), text_value(b)) for t, a, b in text_rows] == [
        (t, latex_value(a), latex_value(b)) for t, a, b in md_rows]
    notes = derivation.notes(values)
    assert md.count("Note:") == written.count("Note:") == len(notes)
    if name == "relu at its kink":
        assert notes and "relu′(0) = 0" in written.replace("'", "′")


def test_the_long_recursion_writes_its_table_in_every_format():
    _, derivation, values = next(c for c in CASES if c[0] == "tanh T=8 abbreviated")
    assert len(derivation.tables(values)) == 1
    assert "⋮" in text(derivation, values) and r"\vdots &" in markdown(derivation, values)
    assert len(re.findall(r"^\| \d+ \|", markdown(derivation, values), re.M)) == 8


# --- Markdown renders in MathJax and KaTeX -------------------------------------------------------

#: Commands rnnsym may write in Markdown math; each is in KaTeX's list of supported
#: functions (katex.org/docs/supported) and in MathJax's TeX input.
SUPPORTED = {
    "frac", "partial", "times", "cdot", "left", "right", "hat", "tilde", "bar", "approx", "leq", "geq", "le", "ge",
    "sum", "prod", "nabla", "top", "operatorname", "mathrm", "mathbf", "text", "lVert", "rVert", "vdots", "cdots",
    "ldots", "odot", "tanh", "sigma", "delta", "log", "exp", "max", "min", "in", "begin", "end", "quad", "qquad",
    "sqrt", "infty", "prime", "hline", "lvert", "rvert", "mid",
}
ENVIRONMENTS = {"aligned", "bmatrix", "array", "gathered"}


def _math(md: str) -> list[str]:
    return re.findall(r"\$\$(.*?)\$\$|\$(.*?)\$", md, re.S)


def test_markdown_math_uses_only_what_mathjax_and_katex_render():
    ex = rnnsym.reference()
    gated = rnnsym.loads(GATED)
    outputs = [markdown(d, v) for _, d, v in CASES] + [markdown(ex), markdown(gated)]
    used, environments = set(), set()
    for md in outputs:
        for display, inline in _math(md):
            math = display or inline
            used |= set(re.findall(r"\\([A-Za-z]+)", math))
            environments |= set(re.findall(r"\\begin\{([^}]*)\}", math))
    assert used <= SUPPORTED, sorted(used - SUPPORTED)
    assert environments <= ENVIRONMENTS, environments
    assert "aligned" in environments and "bmatrix" in environments
    assert all(r"\nonumber" not in md and r"\begin{align}" not in md for md in outputs)


# --- whole exercises -----------------------------------------------------------------------------


def test_an_exercise_is_written_whole_in_both_formats():
    ex = rnnsym.reference()
    md, written = markdown(ex), text(ex)
    assert md.startswith(f"# {ex.title}\n") and written.startswith(f"{ex.title}\n===")
    assert "$h_0 = 1$" in md and "h₀ = 1" in written  # the intro
    for q in ex.questions:
        assert f"## {q.label}" in md and f"\n{q.label}\n---" in written
        words = re.search(r"(?:[A-Za-z,.']+ ){4}[A-Za-z,.']+", q.answer_text.replace("\n", " "))
        if q.answer_text:  # the author's own answer text
            assert words.group() in md.replace("\n", " ") and words.group() in written.replace("\n", " ")
    # topics are written out: the truncation topic's table of every k, with numbers
    assert "| $k$ | truncated | dropped | full |" in md
    assert re.search(r"^k +truncated +dropped +full$", written, re.M)
    assert "topic" not in md  # no pointer in place of a topic
    assert ex._repr_markdown_() == md


def test_a_free_text_question_without_a_derivation_is_written(monkeypatch):
    ex = rnnsym.reference()
    free = Question("3", "Explain, in your own words, why BPTT needs the stored states.", "", "",
                    answer_text="Every local partial is evaluated at the states of the forward pass.")
    exercise = dataclasses.replace(ex, questions=(*ex.questions[:1], free), _answers={})
    original = Exercise.answer
    monkeypatch.setattr(Exercise, "answer",
                        lambda self, q, options=None: None if q is free else original(self, q, options))
    md, written = markdown(exercise), text(exercise)
    for out in (md, written):
        assert "Explain, in your own words" in out and "states of the forward pass" in out
    assert md.rstrip().endswith("Every local partial is evaluated at the states of the forward pass.")


def test_values_with_an_exercise_are_refused():
    with pytest.raises(rnnsym.InputError, match="values: .* None for an exercise"):
        markdown(rnnsym.reference(), REFERENCE_VALUES)
    with pytest.raises(rnnsym.InputTypeError, match="options"):
        text(rnnsym.reference(), options="cdot")


def test_author_latex_becomes_markdown_and_text():
    ex = dataclasses.replace(rnnsym.reference(), intro=r"Use \emph{only} $W_h$ \& 100\% of \texttt{x\_1}; see *this*.")
    md, written = markdown(ex), text(ex)
    assert r"Use *only* $W_h$ & 100% of `x_1`; see \*this\*." in md
    assert "Use only W_h & 100% of x_1; see *this*." in written


# --- numbers read back --------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.fractions(max_denominator=10**6).filter(lambda f: abs(f.numerator) < 10**40))
def test_every_exact_number_reads_back_from_its_text(value: Fraction):
    number = sympy.Rational(value.numerator, value.denominator)
    latex = format_exact(number)
    if latex.startswith(r"\approx"):
        return
    assert text_value(to_text(latex)) == latex_value(latex) == number


# --- Display ------------------------------------------------------------------------------------


def test_display_of_a_derivation_shows_its_numbers_everywhere():
    _, derivation, values = next(c for c in CASES if c[0] == "vector dL/dW_h")
    shown = derivation.show(values)
    assert isinstance(shown, Display)
    assert repr(shown).startswith("Display(TensorDerivation(dL/dW_h, shape=(2, 2)): 6 lines")
    assert str(shown).splitlines()[-1].endswith("∂L/∂W_h = [22, 0; 22, 0]")
    assert shown._repr_markdown_() == markdown(derivation, values)
    latex = shown._repr_latex_()
    assert latex.startswith("$$\n\\begin{aligned}") and r"\begin{bmatrix} 22 & 0 \\ 22 & 0 \end{bmatrix}" in latex


def test_display_of_a_long_recursion_holds_its_table():
    _, derivation, values = next(c for c in CASES if c[0] == "tanh T=8 abbreviated")
    shown = derivation.show(values)
    assert "1 table" in repr(shown)
    latex = shown._repr_latex_()
    assert r"\begin{gathered}" in latex and r"\begin{array}{rrr}" in latex
    assert r"\text{contribution to }\frac{\partial L}{\partial W_{h}}" in latex


def test_analysis_results_show_their_numbers():
    from rnnsym.analysis.bound import bound
    from rnnsym.analysis.flow import jacobian_chain
    from rnnsym.analysis.table import flow_table

    chain = jacobian_chain(rnnsym.elman(3, "tanh"), t=3, k=2)
    values = {"h_0": 0, "W_h": "0.5", "W_x": 1, "x": [0, 0, 0]}
    assert str(chain.show(values)).endswith("= (1 − h₃²) W_h (1 − h₂²) W_h = 0.25")
    assert chain.show(values)._repr_markdown_().rstrip().endswith("= 0.25\n\\end{aligned}\n$$")
    assert r"\begin{aligned}" in chain._repr_markdown_()
    b = bound(rnnsym.elman(1, "tanh"), {"W_h": 3})
    assert r"&= 3 \times 1 = 3" in b._repr_markdown_() and text(b).endswith("≤ |W_h| max_z |1 − tanh²(z)| = 3 × 1 = 3")
    table = flow_table([("$W_h = 2$", rnnsym.elman(3), {"h_0": 1, "W_h": 2, "W_x": 1, "x": [0, 0, 0]})], 3)
    assert text(table).splitlines()[-1].split() == ["2", "4.0"]
    assert markdown(table).splitlines()[0] == "| $T - t$ | $W_h = 2$ |"
    assert "T - t & W_h = 2" in table._repr_latex_()
    with pytest.raises(rnnsym.InputError, match="FlowTable holds its values"):
        markdown(table, values)


# --- the command line ---------------------------------------------------------------------------


def test_derive_prints_text_by_default_and_markdown_or_latex_when_asked(capsys, work):
    path = work.write(TEXT)
    code, out, err = run(capsys, "derive", path, "dL/dW_h")
    assert (code, err) == (0, "")
    assert out.splitlines()[-1].strip() == "∂L/∂W_h = −4 + 12 = 8" and "\\" not in out
    code, out, err = run(capsys, "derive", path, "dL/dW_h", "--format", "markdown")
    assert (code, err) == (0, "")
    assert markdown_rows(out)[-1] == r"\frac{\partial L}{\partial W_{h}} &= -4 + 12 = 8"
    code, out, _ = run(capsys, "derive", path, "dL/dW_h", "--format", "latex")
    assert out.splitlines()[-1] == r"\frac{\partial L}{\partial W_{h}} = -4 + 12 = 8"
    code, out, err = run(capsys, "derive", path, "dL/dW_h", "--format", "html")
    assert code == 2 and out == ""
    one_error_line(err, "--format", "'html'")
    work.untouched()


def test_derive_as_text_carries_the_notes(capsys, work):
    path = work.write(variant(('activation = "identity"', 'activation = "relu"'), ("\nh_0 = 1\n", "\nh_0 = -1\n")))
    code, out, err = run(capsys, "derive", path, "dL/dW_h")
    assert (code, err) == (0, "")
    assert "Note: at these values z₁ = 0: relu has no derivative at 0" in out


def test_sheet_writes_markdown(capsys, work):
    path = work.write(TEXT, "week10.toml")
    target = work.out / "week10.md"
    code, out, err = run(capsys, "sheet", path, "-o", str(target))
    assert (code, out, err) == (0, f"wrote {target}\n", "")
    assert target.read_text(encoding="utf-8") == markdown(rnnsym.loads(TEXT))
    code, out, err = run(capsys, "sheet", path, "-o", str(work.out / "x.md"), "--pdf")
    assert code == 2 and out == ""
    assert sorted(p.name for p in work.out.iterdir()) == ["week10.md"]


# --- reproducible PDFs --------------------------------------------------------------------------


def test_source_date_epoch_is_read_or_refused():
    from rnnsym.tex import DEFAULT_EPOCH, source_date_epoch

    assert source_date_epoch({}) == source_date_epoch({"SOURCE_DATE_EPOCH": " "}) == str(DEFAULT_EPOCH)
    assert source_date_epoch({"SOURCE_DATE_EPOCH": "1700000000"}) == "1700000000"
    for bad in ("yesterday", "-1", "1.5"):
        with pytest.raises(rnnsym.InputError, match="SOURCE_DATE_EPOCH: got"):
            source_date_epoch({"SOURCE_DATE_EPOCH": bad})


@pytest.mark.slow
@needs_tex
def test_the_reference_sheet_builds_to_the_same_bytes_twice(monkeypatch):
    sheet = rnnsym.Sheet([rnnsym.reference()])
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    first, second = sheet.pdf(), sheet.pdf()
    assert first == second
    assert b"/CreationDate (D:19700101000000Z)" in first
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    dated = sheet.pdf()
    assert dated == sheet.pdf() and dated != first
    assert b"/CreationDate (D:20231114221320Z)" in dated


def test_notebook_latex_aligns_at_the_relation_not_inside_a_subscript():
    _, derivation, _ = next(c for c in CASES if c[0] == "truncated k=1")
    latex = derivation._repr_latex_()
    assert r"\right|_{k=1} &= \left." in latex and "k&=" not in latex
    rows = latex.split("\\begin{aligned}\n")[1].split("\n\\end{aligned}")[0].split(" \\\\\n")
    assert len(rows) == len(derivation.latex()) and all(row.count("&") == 1 for row in rows)


def test_a_paragraph_heading_is_strong_in_markdown_and_plain_in_text():
    from rnnsym.printing.as_markdown import text_to_markdown
    from rnnsym.printing.unicode import to_text

    assert text_to_markdown(r"\paragraph{Given} $h_0 = 1$.") == "**Given** $h_0 = 1$."
    assert to_text(r"\paragraph{Given} $h_0 = 1$.", math=False) == "Given h₀ = 1."
