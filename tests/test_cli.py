"""The ``rnnsym`` command: in-process through ``rnnsym.cli.main`` and as real processes."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

import rnnsym
from rnnsym.cli import main
from rnnsym.exercise import REFERENCE
from rnnsym.printing import RenderOptions
from rnnsym.templates import template

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


# --- derive: the reference exercise by default, truncated BPTT, digits ------------------

PACKAGED = str(resources.files("rnnsym.exercises").joinpath(REFERENCE))


def derivation_output(exercise, find: str, options: RenderOptions | None = None, **truncation) -> list[str]:
    """What ``rnnsym derive`` prints for ``find``, computed through the Python API."""
    of, wrt = find[1:].split("/d")
    d = rnnsym.derive(exercise.graph, of, wrt, **truncation)
    return d.latex(exercise.evaluation, options) + [f"% {note}" for note in d.notes(exercise.evaluation, options)]


@pytest.mark.parametrize("argv", [["dL/dW_h"], ["dL/dh_1", "--split", "step"], ["yhat_2", "--times", "cdot"],
                                  ["dL/dW_h", "--truncate", "1"]])
def test_derive_defaults_to_the_reference_exercise(argv, capsys, work):
    default = run(capsys, "derive", *argv)
    assert default[0] == 0 and default[1]
    assert default == run(capsys, "derive", PACKAGED, *argv)
    work.untouched()


def test_derive_takes_options_anywhere(capsys, work):
    path = work.write(TEXT)
    runs = [run(capsys, "derive", *argv) for argv in (
        [path, "dL/dW_h", "--split", "step", "--format", "latex"],
        [path, "--split", "step", "--format", "latex", "dL/dW_h"],
        ["--split", "step", path, "--format", "latex", "dL/dW_h"],
    )]
    assert runs[0][0] == 0 and runs[0][1].splitlines()[-1] == r"\frac{\partial L}{\partial W_{h}} = 0 + 8 = 8"
    assert runs[1] == runs[0] and runs[2] == runs[0]


@pytest.mark.parametrize("truncate, convention", [("1", None), ("2", None), ("3", None), ("2", "per-loss"),
                                                  ("1,2", "k1-k2"), ("2,3", "k1-k2")])
def test_derive_truncate_is_the_api_s_truncation(truncate, convention, capsys, work):
    path = work.write(template("elman"))  # three steps: k = 1, 2 drop terms, k = 3 keeps all
    argv = ["derive", path, "dL/dW_h", "--format", "latex", "--truncate", truncate, *(["--truncation", convention] if convention else [])]
    code, out, err = run(capsys, *argv)
    assert (code, err) == (0, "")
    k = tuple(int(n) for n in truncate.split(","))
    exercise = rnnsym.load(path)
    expected = derivation_output(exercise, "dL/dW_h", truncate=k[0] if len(k) == 1 else k, truncation=convention or "per-loss")
    assert out.splitlines() == expected
    full = derivation_output(exercise, "dL/dW_h")
    assert out.splitlines() != full
    # the last line sets kept and dropped beside the full gradient, which ends the untruncated derivation
    assert out.splitlines()[-1].rpartition(" = ")[2] == full[-1].rpartition(" = ")[2]


@pytest.mark.parametrize("digits", [1, 3, 12])
def test_derive_digits_are_the_decimals_shown(digits, capsys, work):
    path = work.write(template("elman", activation="tanh"))
    code, out, err = run(capsys, "derive", path, "dL/dW_h", "--format", "latex", "--digits", str(digits))
    assert (code, err) == (0, "")
    exercise = rnnsym.load(path)
    assert out.splitlines() == derivation_output(exercise, "dL/dW_h", RenderOptions(approx_digits=digits))
    shown = re.findall(r"\\approx (-?[0-9.]+)", out)
    # significant digits: leading zeros and mpmath's ".0" after a whole number do not count
    assert shown and all(len(n.removesuffix(".0").lstrip("-0.").replace(".", "")) <= digits for n in shown)
    assert any(len(n.lstrip("-0.").replace(".", "")) == digits for n in shown)
    assert out != run(capsys, "derive", path, "dL/dW_h", "--format", "latex")[1]


@settings(max_examples=40)
@given(flag=st.sampled_from(["--truncate", "--digits"]), text=st.text(max_size=8))
def test_derive_flag_values_run_or_give_one_line(flag, text):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(["derive", "dL/dW_h", f"{flag}={text}"])
        except SystemExit as exit_:
            code = exit_.code
    if code == 0:
        assert err.getvalue() == "" and out.getvalue().splitlines()[-1].endswith(" = 8")
    else:
        assert code == 2 and out.getvalue() == ""
        one_error_line(err.getvalue(), flag)


@pytest.mark.parametrize(
    "argv, words",
    [
        (["dL/dW_h", "--truncate", "0"], ["--truncate: got 0", "k >= 1"]),
        (["dL/dW_h", "--truncate", "-1"], ["--truncate", "'-1'"]),
        (["dL/dW_h", "--truncate", "two"], ["--truncate", "'two'"]),
        (["dL/dW_h", "--truncate", "1,2"], ["--truncate: got (1, 2)", "--truncation"]),
        (["dL/dW_h", "--truncate", "3,2", "--truncation", "k1-k2"], ["--truncate: got (3, 2)", "k1 <= k2"]),
        (["dL/dW_h", "--truncation", "k1-k2"], ["--truncate", "--truncation 'k1-k2'"]),
        (["dL/dW_h", "--truncation", "weekly"], ["--truncation", "'weekly'"]),
        (["yhat_2", "--truncate", "1"], ["--truncate: got 1", "quantity"]),
        (["dL/dW_h", "--digits", "0"], ["--digits", "'0'", "1 to 50"]),
        (["dL/dW_h", "--digits", "51"], ["--digits", "'51'", "1 to 50"]),
        (["dL/dW_h", "--digits", "2.5"], ["--digits", "'2.5'"]),
        (["dL/dW_h", "--digits", "many"], ["--digits", "'many'"]),
        (["nope.toml", "dL/dW_h"], ["exercise: got 'nope.toml'", "No such file"]),
        (["nope.toml"], ["required: find", "nope.toml"]),
        ([], ["required: find"]),
    ],
)
def test_derive_bad_flags(argv, words, capsys, work):
    code, out, err = run(capsys, "derive", *argv)
    assert (code, out) == (2, "")
    one_error_line(err, *words)
    work.untouched()


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
