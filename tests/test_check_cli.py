"""``rnnsym check``: every answer of an exercise checked, and an answer key compared."""

from __future__ import annotations

import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from rnnsym.cli import main
from rnnsym.exercise import REFERENCE

TEXT = resources.files("rnnsym.exercises").joinpath(REFERENCE).read_text(encoding="utf-8")
PACKAGED = str(resources.files("rnnsym.exercises").joinpath(REFERENCE))
HEADER = ["question", "find", "value", "symbolic = numeric?", "status"]

RIGHT_KEY = """
[answers]
"1.a" = 6
"1.b" = "2"
"1.c" = "2*(yhat_1 - y_1)*W_y + 2*(yhat_2 - y_2)*W_h*W_y"
"1.d" = "8"
"""

TANH_EXERCISE = """
title = "A tanh RNN"
[model]
activation = "tanh"
steps = 2
[values]
h_0 = 0
x = [1, "0.5"]
y = [1, 1]
W_h = 1
W_x = 1
W_y = 1
[[questions]]
label = "a"
find = "h_1"
[[questions]]
label = "b"
find = "dL/dW_y"
"""


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def rows(out: str) -> dict[str, list[str]]:
    """The table's rows by question label, cells split on runs of 2+ spaces."""
    import re

    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("question"))
    table = {}
    for line in lines[start + 1 :]:
        cells = re.split(r"\s{2,}", line.strip())
        if len(cells) < 4:
            break
        table[cells[0]] = cells
    return table


def key(tmp_path: Path, text: str) -> str:
    path = tmp_path / "key.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def one_error_line(err: str, *words: str) -> None:
    assert err.count("\n") == 1 and err.startswith("rnnsym: error: "), err
    for word in words:
        assert word in err


@pytest.mark.parametrize("argv", [["check"], ["check", PACKAGED]])
def test_the_reference_exercise_agrees(argv, capsys):
    code, out, err = run(capsys, *argv)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "Recurrent neural networks: backpropagation through time (" + (argv[1] if len(argv) > 1 else REFERENCE) + ")"
    import re

    assert re.split(r"\s{2,}", lines[1]) == HEADER
    table = rows(out)
    assert table == {
        "1.a": ["1.a", "yhat_2", "6", "yes", "ok"],
        "1.b": ["1.b", "L", "2", "yes", "ok"],
        "1.c": ["1.c", "dL/dh_1", "0", "yes", "ok"],
        "1.d": ["1.d", "dL/dW_h", "8", "yes", "ok"],
    }
    assert lines[-1] == "4 questions: all agree"


def test_a_right_key_agrees(capsys, tmp_path):
    code, out, err = run(capsys, "check", "--expect", key(tmp_path, RIGHT_KEY))
    assert (code, err) == (0, "")
    table = rows(out)
    assert [table[q][-2:] for q in ("1.a", "1.b", "1.c", "1.d")] == [["6", "ok"], ["2", "ok"], ["formula", "ok"], ["8", "ok"]]
    assert out.splitlines()[-1] == "4 questions: all agree"


def test_one_wrong_number_exits_1_naming_the_question(capsys, tmp_path):
    code, out, err = run(capsys, "check", PACKAGED, "--expect", key(tmp_path, RIGHT_KEY.replace('"1.d" = "8"', '"1.d" = 9')))
    assert (code, err) == (1, "")
    table = rows(out)
    assert table["1.d"][-2:] == ["9", "wrong"]
    assert all(table[q][-1] == "ok" for q in ("1.a", "1.b", "1.c"))
    assert "1.d: expected 9, but dL/dW_h = 8 at the exercise's values" in out
    assert out.splitlines()[-1] == "4 questions: 1 wrong (1.d)"


def test_a_wrong_formula_exits_1(capsys, tmp_path):
    wrong = RIGHT_KEY.replace(" + 2*(yhat_2 - y_2)*W_h*W_y", "")
    code, out, err = run(capsys, "check", "--expect", key(tmp_path, wrong))
    assert code == 1
    assert rows(out)["1.c"][-1] == "wrong"
    assert "1.c: the formula '2*(yhat_1 - y_1)*W_y' gives -4, but dL/dh_1 = 0 at the exercise's values" in out


def test_a_formula_right_only_at_the_exercise_values_exits_1_with_a_counterexample(capsys, tmp_path):
    # W_h = 1 in the exercise hides a missing factor W_h on the path h_0 -> h_1 -> h_2.
    lucky = '[answers]\n"1.d" = "2*(yhat_1 - y_1)*W_y*h_0 + 2*(yhat_2 - y_2)*W_y*(h_1 + h_0)"\n'
    code, out, err = run(capsys, "check", "--expect", key(tmp_path, lucky))
    assert code == 1, out
    assert rows(out)["1.d"][-1] == "wrong"
    assert "is right at the exercise's values but not in general" in out
    assert "the candidate differs from the derivative at" in out and "h_0 = " in out


def test_decimals_in_the_key_match_a_value_rounded_to_them(capsys, tmp_path):
    exercise = tmp_path / "tanh.toml"
    exercise.write_text(TANH_EXERCISE, encoding="utf-8")
    # h_1 = tanh(1) = 0.76159...; dL/dW_y = 2(yhat_1 - y_1) h_1 + 2(yhat_2 - y_2) h_2
    code, out, err = run(capsys, "check", str(exercise), "--expect", key(tmp_path, '[answers]\na = "0.7616"\nb = "2*(yhat_1 - y_1)*h_1 + 2*(yhat_2 - y_2)*h_2"\n'))
    assert (code, err) == (0, ""), out
    assert rows(out)["a"][2].startswith("≈0.76159")
    code, out, err = run(capsys, "check", str(exercise), "--expect", key(tmp_path, "[answers]\na = 0.7615\n"))
    assert code == 1
    assert "a: expected 0.7615, but h_1 = ≈0.761594155955765 at the exercise's values" in out


@pytest.mark.parametrize(
    "text, words",
    [
        ('[answers]\n"1.e" = 3\n', ["answers: got '1.e'", "1.a, 1.b, 1.c, 1.d"]),
        ('[answers]\n"1.c" = "2*W_z"\n', ['answers."1.c": got \'W_z\'']),
        ('[answers]\n"1.c" = "2*cos(h_1)"\n', ['answers."1.c": got \'cos\'']),
        ('[answers]\n"1.c" = true\n', ['answers."1.c": got True']),
        ('[answers]\n"1.c" = [1, 2]\n', ['answers."1.c": got [1, 2]']),
        ('"1.c" = 1\n', ["key: got '1.c'", "answers"]),
        ("[answers\n", ["malformed TOML"]),
        ("", ["answers: got None", "[answers]"]),
    ],
)
def test_a_bad_key_exits_2_with_one_line(text, words, capsys, tmp_path):
    code, out, err = run(capsys, "check", "--expect", key(tmp_path, text))
    assert (code, out) == (2, "")
    one_error_line(err, *words)


def test_a_missing_key_or_exercise_exits_2(capsys, tmp_path):
    code, out, err = run(capsys, "check", "--expect", str(tmp_path / "nope.toml"))
    assert (code, out) == (2, "")
    one_error_line(err, "key: got", "nope.toml")
    code, out, err = run(capsys, "check", str(tmp_path / "nope.toml"))
    assert (code, out) == (2, "")
    one_error_line(err, "exercise: got")


@pytest.mark.slow
def test_as_a_real_process(tmp_path):
    wrong = key(tmp_path, RIGHT_KEY.replace('"1.d" = "8"', '"1.d" = "-4 + 12 + 1"'))
    result = subprocess.run(
        [sys.executable, "-m", "rnnsym", "check", "--expect", wrong], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 1, result.stderr
    assert "1.d: the formula '-4 + 12 + 1' gives 9, but dL/dW_h = 8" in result.stdout
    result = subprocess.run([sys.executable, "-m", "rnnsym", "check"], capture_output=True, text=True, timeout=300)
    assert (result.returncode, result.stderr) == (0, "")


def test_a_truncated_question_is_shown_but_not_checked_against_the_gradient(capsys, tmp_path):
    exercise = tmp_path / "truncated.toml"
    exercise.write_text(
        TEXT.replace('find = "dL/dW_h"', 'find = "dL/dW_h"\ntruncate = 1'), encoding="utf-8"
    )
    code, out, err = run(capsys, "check", str(exercise))
    assert (code, err) == (0, ""), out
    assert rows(out)["1.d"][3:] == ["not checked", "ok"]
    assert "1.d: truncated BPTT is not the gradient" in out
