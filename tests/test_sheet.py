"""Solution sheets: the LaTeX document, its PDF build, and failures that leave nothing behind."""

from __future__ import annotations

import os
import re
from fractions import Fraction

import pytest

import rnnsym
from rnnsym import InputError, Sheet, TeXError, loads
from rnnsym.outputs import write_file
from rnnsym.tex import compile_pdf

from support import SEED_ANSWERS, chains, has_chain, needs_tex, run, variant  # noqa: E402

BROKEN = r"\\badcommand"



# --- the document -----------------------------------------------------------------

def test_chains_helper_reads_continued_rows():
    tex = "\\begin{align}\n  a &= b \\nonumber \\\\\n  &= c \\\\\n  d &= 1\n\\end{align}"
    assert chains(tex) == ["a = b = c", "d = 1"]
    assert chains("$a = 1$") == []


def test_reference_tex_holds_the_seed_answers_in_display_math():
    tex = Sheet([rnnsym.reference()]).tex()
    for lhs, tail in SEED_ANSWERS:
        assert has_chain(tex, lhs, tail), (lhs, tail)
    assert tex.startswith(r"\documentclass")
    assert tex.count(r"\begin{document}") == 1 and tex.rstrip().endswith(r"\end{document}")
    task1 = tex[: tex.index(r"\subsection*{2.a}")]
    assert task1.count(r"\begin{align}") == task1.count(r"\end{align}") == 4
    assert tex.count(r"\begin{align}") == tex.count(r"\end{align}")
    assert r"\title{Recurrent neural networks: backpropagation through time}" in tex


def test_questions_and_intro_appear_in_order():
    ex = rnnsym.reference()
    tex = Sheet([ex]).tex()
    positions = [tex.index(ex.intro)]
    for q in ex.questions:
        positions.append(tex.index(rf"\subsection*{{{q.label}}}"))
        positions.append(tex.index(q.text))
    assert positions == sorted(positions)


def test_sheet_options_reach_the_document():
    tex = Sheet([rnnsym.reference()], rnnsym.RenderOptions(times="cdot", partial="d")).tex()
    body = "\n".join(chains(tex))
    assert r"\times" not in body and r"\partial" not in body
    assert has_chain(tex, r"\frac{d L}{d W_{h}}", "-4 + 12 = 8")


def test_several_exercises_get_sections():
    other = loads(variant(('title = "Recurrent neural networks: backpropagation through time"', 'title = "Second"')))
    tex = Sheet([rnnsym.reference(), other], title="Both").tex()
    assert r"\title{Both}" in tex
    assert r"\section*{Recurrent neural networks: backpropagation through time}" in tex
    assert r"\section*{Second}" in tex
    assert tex.count(r"\begin{align}") == 2 * Sheet([rnnsym.reference()]).tex().count(r"\begin{align}")


def test_empty_sheet_is_an_input_error():
    with pytest.raises(InputError) as caught:
        Sheet([])
    assert str(caught.value).startswith("sheet.exercises: got []")


# --- atomic writes ------------------------------------------------------------------

def test_write_file_writes(tmp_path):
    target = tmp_path / "x.tex"
    write_file(target, "hello")
    assert target.read_text(encoding="utf-8") == "hello"
    assert [p.name for p in tmp_path.iterdir()] == ["x.tex"]


def test_write_file_leaves_no_temp_file_when_the_rename_fails(tmp_path, monkeypatch):
    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(InputError) as caught:
        write_file(tmp_path / "x.tex", "hello")
    assert "output: got" in str(caught.value) and "Permission denied" in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_compile_pdf_without_latexmk(tmp_path, private_tmp):
    with pytest.raises(TeXError) as caught:
        compile_pdf(Sheet([rnnsym.reference()]).document(), latexmk="no-such-latexmk-here")
    assert "no-such-latexmk-here: not found" in str(caught.value)
    assert "apt-get install texlive-latex-base" in str(caught.value)
    assert list(private_tmp.iterdir()) == []


# --- PDF builds -----------------------------------------------------------------------

@pytest.mark.slow
@needs_tex
def test_reference_sheet_compiles(capsys, tmp_path, private_tmp):
    out = tmp_path / "out"
    out.mkdir()
    code, stdout, err = run(capsys, "sheet", "--pdf", "-o", str(out / "x.tex"))
    assert (code, err) == (0, ""), err
    assert stdout == f"wrote {out / 'x.tex'} and {out / 'x.pdf'}\n"
    assert sorted(p.name for p in out.iterdir()) == ["x.pdf", "x.tex"]
    assert (out / "x.pdf").read_bytes().startswith(b"%PDF")
    assert (out / "x.pdf").stat().st_size > 1000
    tex = (out / "x.tex").read_text(encoding="utf-8")
    for lhs, tail in SEED_ANSWERS:
        assert has_chain(tex, lhs, tail), (lhs, tail)
    assert list(private_tmp.iterdir()) == []


def _broken_exercise() -> str:
    return variant(('text = "Compute the predicted value', f'text = "{BROKEN} Compute the predicted value'))


@pytest.mark.slow
@needs_tex
def test_broken_latex_raises_tex_error_naming_line_and_key(tmp_path, private_tmp):
    document = Sheet([loads(_broken_exercise())]).document()
    (bad_line,) = [i + 1 for i, line in enumerate(document.text.splitlines()) if r"\badcommand" in line]
    with pytest.raises(TeXError) as caught:
        compile_pdf(document)
    message = str(caught.value)
    assert "\n" not in message
    assert message == (f"TeX failed at line {bad_line} of the LaTeX (from questions[0].text): "
                       "Undefined control sequence. (at \\badcommand)")
    assert (caught.value.line, caught.value.origin) == (bad_line, "questions[0].text")
    assert list(private_tmp.iterdir()) == []


@pytest.mark.slow
@needs_tex
def test_broken_latex_on_the_command_line_keeps_the_tex_and_names_the_key(capsys, tmp_path, private_tmp):
    source = tmp_path / "broken.toml"
    source.write_text(_broken_exercise(), encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    code, stdout, err = run(capsys, "sheet", str(source), "--pdf", "-o", str(out / "answers.tex"))
    assert (code, stdout) == (2, "")
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert re.fullmatch(
        r"rnnsym: error: TeX failed at line (\d+) of the LaTeX \(from questions\[0\]\.text\): "
        r"Undefined control sequence\. \(at \\badcommand\); no PDF was written, the LaTeX is kept in .*answers\.tex \(line \1\)",
        lines[0]), err
    assert [p.name for p in out.iterdir()] == ["answers.tex"]  # the .tex is kept, no PDF
    line = int(re.search(r"line (\d+) of", lines[0]).group(1))
    assert r"\badcommand" in (out / "answers.tex").read_text(encoding="utf-8").splitlines()[line - 1]
    assert list(private_tmp.iterdir()) == []


def _forward(h0, xs, ys, Wh, Wx, Wy):
    """An independent forward pass and the seed's chain-rule formulas, in Fractions."""
    h1 = h0 * Wh + xs[0] * Wx
    h2 = h1 * Wh + xs[1] * Wx
    yh1, yh2 = h1 * Wy, h2 * Wy
    L1, L2 = (yh1 - ys[0]) ** 2, (yh2 - ys[1]) ** 2
    dL1 = 2 * (yh1 - ys[0]) * h0 * Wy
    dL2 = 2 * (yh2 - ys[1]) * (h0 * Wh * Wy + h1 * Wy)
    return {"h1": h1, "h2": h2, "yh1": yh1, "yh2": yh2, "L1": L1, "L2": L2, "dL1": dL1, "dL2": dL2}


def _num(q: Fraction) -> str:
    assert q.denominator == 1, q  # the chosen values give integers
    return str(q.numerator)


@pytest.mark.slow
@needs_tex
def test_changed_values_still_compile(capsys, tmp_path, private_tmp):
    source = tmp_path / "changed.toml"
    source.write_text(variant(("\nW_h = 1\n", "\nW_h = 2\n"), ('W_x = "0.1"', 'W_x = "1/2"')), encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    code, _, err = run(capsys, "sheet", str(source), "--pdf", "-o", str(out / "changed.tex"))
    assert (code, err) == (0, ""), err
    assert (out / "changed.pdf").read_bytes().startswith(b"%PDF")
    tex = (out / "changed.tex").read_text(encoding="utf-8")

    v = _forward(Fraction(1), [Fraction(10)] * 2, [Fraction(5)] * 2, Fraction(2), Fraction(1, 2), Fraction(2))
    assert has_chain(tex, "h_{1}", _num(v["h1"]))
    assert has_chain(tex, r"\hat{y}_{2}", _num(v["yh2"]))
    assert has_chain(tex, "L", f"{_num(v['L1'])} + {_num(v['L2'])} = {_num(v['L1'] + v['L2'])}")
    assert has_chain(
        tex, r"\frac{\partial L}{\partial W_{h}}", f"{_num(v['dL1'])} + {_num(v['dL2'])} = {_num(v['dL1'] + v['dL2'])}"
    )
    assert r"10 \times \frac{1}{2}" in tex  # the author's spelling of W_x
