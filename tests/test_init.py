"""``rnnsym init`` and the exercise files it writes (``rnnsym.templates``)."""

from __future__ import annotations

import difflib
import os
import re
from importlib import resources

import pytest

import rnnsym
from rnnsym.exercise import REFERENCE, load, loads, parse_toml, reference
from rnnsym.rules import ACTIVATIONS
from rnnsym.sheet import Sheet
from rnnsym.templates import COMMENTED_REFERENCE, TEMPLATES, template

from support import TEXT, needs_tex, one_error_line, run

# every template init can write: (--cell, --activation), None for a flag not given
CHOICES = [(None, None), *((cell, None) for cell in TEMPLATES), *(("elman", a) for a in ACTIVATIONS)]


def flags(cell: str | None, activation: str | None) -> list[str]:
    return [*(["--cell", cell] if cell else []), *(["--activation", activation] if activation else [])]


def _id(choice: tuple[str | None, str | None]) -> str:
    return "-".join(c for c in choice if c) or "reference"


# --- the files written ------------------------------------------------------------------------


def test_init_writes_the_commented_reference(capsys, work):
    code, out, err = run(capsys, "init")
    assert (code, err) == (0, "")
    assert out == "wrote exercise.toml (the reference exercise, every key explained)\nnext: rnnsym sheet exercise.toml --pdf\n"
    assert sorted(p.name for p in work.cwd.iterdir()) == ["exercise.toml"]
    assert list(work.tmp.iterdir()) == []
    text = (work.cwd / "exercise.toml").read_text(encoding="utf-8")
    assert text == template()
    assert load(work.cwd / "exercise.toml").title == reference().title


def test_the_commented_reference_is_the_reference_exercise():
    commented = template()
    assert commented != TEXT  # the comments are the difference
    assert parse_toml(commented, COMMENTED_REFERENCE) == parse_toml(TEXT, REFERENCE)
    ours, theirs = loads(commented), reference()
    assert (ours.title, ours.intro, ours.values, ours.questions) == (theirs.title, theirs.intro, theirs.values, theirs.questions)
    assert repr(ours.graph) == repr(theirs.graph)
    assert [str(a) for a in ours.graph.assignments] == [str(a) for a in theirs.graph.assignments]
    assert ours.graph.leaves == theirs.graph.leaves


def test_the_commented_reference_explains_every_key():
    from rnnsym.exercise import _MODEL_KEYS, _QUESTION_KEYS, _TOP_KEYS

    comments = "\n".join(line for line in template().splitlines() if line.startswith("#"))
    # a comment line explaining keys starts with them: "# key: ...", "#   key, other (elman only): ..."
    explained = {key for head in re.findall(r"^#\s+([a-z_]+(?:, [a-z_]+)*)(?: \([^)]*\))?:", comments, flags=re.M)
                 for key in head.split(", ")}
    keys = {*_TOP_KEYS, *(k for keys in _MODEL_KEYS.values() for k in keys), *_QUESTION_KEYS} - {"questions", "model", "values"}
    assert keys - explained == set()
    for latex_key in ("intro", "text", "answer"):
        assert latex_key in comments.split("Which keys are LaTeX:", 1)[1].split("\n#\n", 1)[0]


@pytest.mark.parametrize("choice", CHOICES, ids=_id)
def test_init_writes_each_template(choice, capsys, work):
    cell, activation = choice
    name = f"{_id(choice)}.toml"
    code, out, err = run(capsys, "init", name, *flags(cell, activation))
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == f"next: rnnsym sheet {name} --pdf"
    path = work.cwd / name
    assert path.read_text(encoding="utf-8") == template(cell, activation)
    exercise = load(path)
    if cell is not None:
        assert exercise.graph.cell.name == cell
    if activation is not None:
        assert f"activation={activation}," in repr(exercise.graph)


def test_init_to_stdout_writes_no_file(capsys, work):
    code, out, err = run(capsys, "init", "-", "--cell", "gru")
    assert (code, out, err) == (0, template("gru"), "")
    work.untouched()


def test_an_activation_changes_one_line_of_the_elman_template():
    base = template("elman").splitlines()
    for activation in ACTIVATIONS:
        changed = [line for line in difflib.unified_diff(base, template(activation=activation).splitlines(), lineterm="", n=0)
                   if line[:1] in "+-" and not line.startswith(("+++", "---"))]
        expected = [] if f'activation = "{activation}"' in template("elman") else [f'activation = "{activation}"']
        assert [line[1:].split("#")[0].strip() for line in changed if line.startswith("+")] == expected


def test_the_package_holds_exactly_the_known_exercise_files():
    files = {p.name for p in resources.files("rnnsym.exercises").iterdir() if p.name.endswith(".toml")}
    assert files == {REFERENCE, COMMENTED_REFERENCE, *TEMPLATES.values()}


# --- every template makes a sheet and passes its check -------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("choice", CHOICES, ids=_id)
def test_every_template_builds_a_sheet_and_checks(choice, capsys, work):
    cell, activation = choice
    assert run(capsys, "init", "ex.toml", *flags(cell, activation))[0] == 0
    exercise = load(work.cwd / "ex.toml")
    tex = Sheet([exercise]).tex()
    assert tex.startswith(r"\documentclass") and tex.rstrip().endswith(r"\end{document}")
    for question in exercise.questions:
        assert rf"\subsection*{{{question.label}}}" in tex
    code, out, err = run(capsys, "check", "ex.toml")
    assert (code, err) == (0, ""), out
    assert out.splitlines()[-1].endswith("all agree")


@pytest.mark.slow
@needs_tex
@pytest.mark.parametrize("cell", [None, *TEMPLATES], ids=lambda c: c or "reference")
def test_the_next_command_builds_the_pdf(cell, capsys, work):
    code, out, _ = run(capsys, "init", *(["--cell", cell] if cell else []))
    assert code == 0
    command = out.splitlines()[-1].removeprefix("next: rnnsym ").split()
    code, out, err = run(capsys, *command)
    assert (code, err) == (0, ""), err
    assert (work.cwd / "exercise.pdf").read_bytes().startswith(b"%PDF")


# --- refusals: exit 2, one line, nothing written or changed ---------------------------------------


@pytest.mark.parametrize("name", ["exercise.toml", "mine.toml"])
def test_init_never_overwrites(name, capsys, work):
    path = work.cwd / name
    path.write_text("# my own exercise\n", encoding="utf-8")
    os.chmod(path, 0o600)
    argv = ["init"] if name == "exercise.toml" else ["init", name, "--cell", "lstm"]
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    one_error_line(err, name, "exists", "never overwrites")
    assert path.read_text(encoding="utf-8") == "# my own exercise\n"
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert sorted(p.name for p in work.cwd.iterdir()) == [name]
    assert list(work.tmp.iterdir()) == []


def test_init_does_not_write_through_a_link(capsys, work):
    target = work.out / "elsewhere.toml"
    (work.cwd / "exercise.toml").symlink_to(target)  # dangling: writing would create the target
    code, out, err = run(capsys, "init")
    assert (code, out) == (2, "")
    one_error_line(err, "exercise.toml", "exists")
    assert not target.exists() and list(work.out.iterdir()) == []


@pytest.mark.parametrize(
    "argv, words",
    [
        (["init", "gru"], ["NAME", "'gru'", ".toml"]),
        (["init", "--cell", "rnn"], ["--cell", "'rnn'"]),
        (["init", "--activation", "swish"], ["--activation", "'swish'"]),
        (["init", "--cell", "gru", "--activation", "tanh"], ["--activation", "'tanh'", "gru"]),
        (["init", "--cell", "lstm", "--activation", "identity"], ["--activation", "lstm"]),
        (["init", "missing/ex.toml"], ["missing/ex.toml", "directory"]),
        (["init", "a.toml", "b.toml"], ["unrecognized arguments: b.toml"]),
        (["init", "x" * 300 + ".toml"], ["NAME", "at most", "bytes"]),
    ],
)
def test_init_bad_input(argv, words, capsys, work):
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    one_error_line(err, *words)
    work.untouched()


def test_template_errors_name_the_argument():
    with pytest.raises(rnnsym.InputError, match=r"^cell: got 'rnn', expected one of 'elman', 'gru', 'lstm'$"):
        template("rnn")
    with pytest.raises(rnnsym.InputError, match=r"^activation: got 'swish', expected one of 'identity'"):
        template(activation="swish")
