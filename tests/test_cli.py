"""The ``rnnsym`` command: in-process through ``rnnsym.cli.main`` and as real processes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import rnnsym

from support import SEED_ANSWERS, TEXT, chains, has_chain, needs_tex, one_error_line, run, variant  # noqa: E402



def assert_seed_answers(tex: str) -> None:
    for lhs, tail in SEED_ANSWERS:
        assert has_chain(tex, lhs, tail), (lhs, tail)




# --- working runs ----------------------------------------------------------------

def test_sheet_to_stdout_prints_a_full_document(capsys, work):
    code, out, err = run(capsys, "sheet", "-o", "-")
    assert (code, err) == (0, "")
    assert out.startswith(r"\documentclass")
    assert out.rstrip().endswith(r"\end{document}")
    assert_seed_answers(out)
    for label in ("1.a", "1.b", "1.c", "1.d"):
        assert rf"\subsection*{{{label}}}" in out
    work.untouched()


def test_sheet_to_a_file(capsys, work):
    path = work.write(TEXT)
    target = work.out / "answers.tex"
    code, out, err = run(capsys, "sheet", path, "-o", str(target))
    assert (code, err) == (0, "")
    assert out == f"wrote {target}\n"
    assert sorted(p.name for p in work.out.iterdir()) == ["answers.tex"]
    assert list(work.tmp.iterdir()) == []
    written = target.read_text(encoding="utf-8")
    assert_seed_answers(written)
    code, stdout_doc, _ = run(capsys, "sheet", path, "-o", "-")
    assert written == stdout_doc


def test_sheet_default_output_names(capsys, work):
    code, out, err = run(capsys, "sheet")
    assert (code, out, err) == (0, "wrote in5400_rnn.tex\n", "")
    path = work.write(TEXT, "week10.toml")
    code, out, err = run(capsys, "sheet", path)
    assert (code, out, err) == (0, "wrote week10.tex\n", "")
    assert sorted(p.name for p in work.cwd.iterdir()) == ["in5400_rnn.tex", "week10.tex"]


def test_sheet_overwrites_an_existing_file(capsys, work):
    target = work.out / "x.tex"
    target.write_text("old", encoding="utf-8")
    assert run(capsys, "sheet", "-o", str(target))[0] == 0
    assert target.read_text(encoding="utf-8").startswith(r"\documentclass")
    assert [p.name for p in work.out.iterdir()] == ["x.tex"]


def test_derive(capsys, work):
    path = work.write(TEXT)
    code, out, err = run(capsys, "derive", path, "dL/dW_h", "--format", "latex")
    assert (code, err) == (0, "")
    ex = rnnsym.reference()
    assert out.splitlines() == ex.answer(ex.questions[3]).latex(ex.values)
    assert out.splitlines()[-1] == r"\frac{\partial L}{\partial W_{h}} = -4 + 12 = 8"
    work.untouched()


def test_derive_split_step(capsys, work):
    path = work.write(TEXT)
    code, out, err = run(capsys, "derive", path, "dL/dW_h", "--split", "step", "--format", "latex")
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == r"\frac{\partial L}{\partial W_{h}} = 0 + 8 = 8"
    assert r"\frac{\partial L}{\partial h_{2}} = " in out


def test_derive_a_quantity(capsys, work):
    code, out, err = run(capsys, "derive", work.write(TEXT), "yhat_2", "--format", "latex")
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == r"\hat{y}_{2} = h_{2} \times W_{y} = 3 \times 2 = 6"


def test_render_flags(capsys, work):
    path = work.write(TEXT)
    _, out, _ = run(capsys, "derive", path, "dL/dh_1", "--times", "cdot", "--partial", "d", "--format", "latex")
    assert out.splitlines()[-1] == r"\frac{d L}{d h_{1}} = -4 + 4 = 0"
    assert r"\times" not in out and r"\partial" not in out and r"\cdot" in out
    _, out, _ = run(capsys, "derive", path, "dL/dh_1", "--no-numbers", "--format", "latex")
    assert r"\left(4 - 5\right)" not in out
    assert out.splitlines()[-1] == r"\frac{\partial L}{\partial h_{1}} = -4 + 4 = 0"
    _, out, _ = run(capsys, "sheet", "-o", "-", "--times", "cdot")
    assert r"\times" not in "\n".join(chains(out))


# --- bad input: exit 2, one line naming the key and the value, nothing written ---------

BAD = {
    "unknown activation": ([('activation = "identity"', 'activation = "swish"')], "model.activation", "'swish'"),
    "unknown loss": ([('loss = "squared"', 'loss = "hinge"')], "model.loss", "'hinge'"),
    "steps 0": ([("steps = 2", "steps = 0")], "model.steps", "got 0"),
    "steps string": ([("steps = 2", 'steps = "2"')], "model.steps", "'2'"),
    "steps float": ([("steps = 2", "steps = 2.5")], "model.steps", "2.5"),
    "missing value": ([("W_y = 2\n", "")], "values.W_y", "nothing"),
    "x wrong length": ([("x = [10, 10]", "x = [10]")], "values.x", "[10]"),
    "value abc": ([('W_x = "0.1"', 'W_x = "abc"')], "values.W_x", "'abc'"),
    "value 1e1001": ([('W_x = "0.1"', 'W_x = "1e1001"')], "values.W_x", "'1e1001'"),
    "value import": ([('W_x = "0.1"', "W_x = \"__import__('os')\"")], "values.W_x", "__import__('os')"),
    "find unknown": ([('find = "dL/dW_h"', 'find = "dL/dW_q"')], "questions[3].find", "W_q"),
    "find yhat_9": ([('find = "yhat_2"', 'find = "yhat_9"')], "questions[0].find", "'yhat_9'"),
    "malformed TOML": ([("[values]", "[values")], "ex.toml", "malformed TOML"),
    "unknown key": ([('activation = "identity"', 'activaton = "identity"')], "model", "'activaton'"),
    "loss_at out of range": ([('loss_at = "all"', "loss_at = [3]")], "model.loss_at", "[3]"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_sheet(case, capsys, work):
    replacements, field, value = BAD[case]
    path = work.write(variant(*replacements))
    code, out, err = run(capsys, "sheet", path, "-o", str(work.out / "out.tex"))
    assert code == 2
    assert out == ""
    line = one_error_line(err, value)
    assert re.match(rf"rnnsym: error: (.*/)?{re.escape(field)}: got ", line), line
    work.untouched()


@pytest.mark.parametrize("case", ["value abc", "steps 0", "malformed TOML", "find unknown"])
def test_bad_input_derive(case, capsys, work):
    replacements, field, value = BAD[case]
    code, out, err = run(capsys, "derive", work.write(variant(*replacements)), "dL/dW_h")
    assert (code, out) == (2, "")
    one_error_line(err, field, value)
    work.untouched()


@pytest.mark.parametrize(
    "find, field, value",
    [("dL/dW_q", "find", "W_q"), ("yhat_9", "find", "'yhat_9'"), ("__import__('os')", "find", "__import__")],
)
def test_bad_find_on_the_command_line(find, field, value, capsys, work):
    code, out, err = run(capsys, "derive", work.write(TEXT), find)
    assert (code, out) == (2, "")
    one_error_line(err, f"{field}: got", value)


def test_missing_exercise_file(capsys, work):
    code, out, err = run(capsys, "sheet", "nope.toml", "-o", str(work.out / "x.tex"))
    assert (code, out) == (2, "")
    one_error_line(err, "exercise: got 'nope.toml'", "No such file")
    work.untouched()


# --- unwritable output ----------------------------------------------------------------

def test_output_in_a_missing_directory(capsys, work):
    target = work.out / "missing" / "x.tex"
    code, out, err = run(capsys, "sheet", "-o", os.path.relpath(target))
    assert (code, out) == (2, "")
    one_error_line(err, "output: got", "x.tex", "an existing directory")
    work.untouched()


def test_output_below_a_regular_file(capsys, work):
    blocker = work.out / "file"
    blocker.write_text("", encoding="utf-8")
    code, out, err = run(capsys, "sheet", "-o", os.path.relpath(blocker / "x.tex"))
    assert (code, out) == (2, "")
    one_error_line(err, "output: got", "x.tex", "an existing directory")
    assert [p.name for p in work.out.iterdir()] == ["file"]
    assert list(work.cwd.iterdir()) == [] and list(work.tmp.iterdir()) == []


def test_output_is_a_directory(capsys, work):
    target = work.out / "x.tex"
    target.mkdir()
    code, out, err = run(capsys, "sheet", "-o", os.path.relpath(target))
    assert (code, out) == (2, "")
    one_error_line(err, "output: got", "x.tex", "not a directory")
    assert [p.name for p in work.out.iterdir()] == ["x.tex"]
    assert list(target.iterdir()) == []


@needs_tex
def test_pdf_output_in_a_missing_directory(capsys, work):
    code, out, err = run(capsys, "sheet", "--pdf", "-o", os.path.relpath(work.out / "missing" / "x.tex"))
    assert (code, out) == (2, "")
    one_error_line(err, "output: got", "an existing directory")
    work.untouched()


@needs_tex
def test_pdf_run_that_cannot_write_the_tex_leaves_nothing(capsys, work):
    target = work.out / "dir.tex"
    target.mkdir()  # the .tex cannot be written; the .pdf next to it could
    code, out, err = run(capsys, "sheet", "--pdf", "-o", os.path.relpath(target))
    assert (code, out) == (2, "")
    one_error_line(err, "output: got", "not a directory")
    assert [p.name for p in work.out.iterdir()] == ["dir.tex"]


# --- usage errors ------------------------------------------------------------------------

@pytest.mark.parametrize(
    "argv, words",
    [
        (["frobnicate"], ["invalid choice: 'frobnicate'"]),
        ([], ["required"]),
        (["sheet", "--frobnicate"], ["unrecognized arguments: --frobnicate"]),
        (["--frobnicate", "sheet"], ["unrecognized arguments: --frobnicate"]),
        (["sheet", "-o", "-", "--pdf"], ["--pdf", "'-'"]),
    ],
)
def test_usage_errors(argv, words, capsys, work):
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    one_error_line(err, *words)
    work.untouched()


@pytest.mark.parametrize(
    "argv, words",
    [
        (["derive", "x.toml", "dL/dW_h", "--split", "time"], ["--split", "'time'"]),
        (["derive", "x.toml"], ["find"]),
        (["sheet", "--times", "star"], ["--times", "'star'"]),
    ],
)
def test_subcommand_usage_errors(argv, words, capsys, work):
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    # argparse names the subcommand: "rnnsym derive: error: ..."
    one_error_line(err, *words, prefix="rnnsym")
    assert re.match(r"rnnsym( sheet| derive)?: error: ", err)
    work.untouched()


def test_version_in_process(capsys):
    code, out, err = run(capsys, "--version")
    assert (code, out) == (0, f"rnnsym {rnnsym.__version__}\n")


# --- real processes ---------------------------------------------------------------------

def test_python_dash_m_version():
    result = subprocess.run(
        [sys.executable, "-m", "rnnsym", "--version"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"rnnsym {rnnsym.__version__}\n"


def test_python_dash_m_bad_input(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(variant(('W_x = "0.1"', 'W_x = "abc"')), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "rnnsym", "sheet", str(path), "-o", "out.tex"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    one_error_line(result.stderr, "values.W_x: got 'abc'")
    assert [p.name for p in tmp_path.iterdir()] == ["bad.toml"]


@pytest.mark.slow
def test_console_script(tmp_path):
    script = shutil.which("rnnsym") or str(Path(sys.executable).with_name("rnnsym"))
    assert Path(script).exists(), "the rnnsym console script is not installed"
    path = tmp_path / "ex.toml"
    path.write_text(TEXT, encoding="utf-8")
    result = subprocess.run(
        [script, "sheet", str(path), "-o", "-"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert_seed_answers(result.stdout)
    result = subprocess.run(
        [script, "derive", str(path), "dL/dW_q"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    one_error_line(result.stderr, "find: got 'dL/dW_q'")
