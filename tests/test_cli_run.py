"""``rnnsym sheet`` and ``rnnsym export`` over a run: several exercises, drawn
variants, selected questions, question sheets, answer keys and LMS files."""

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import sympy
from hypothesis import given, settings, strategies as st

import rnnsym
from rnnsym.cli import main
from rnnsym.runs import prepare
from support import needs_tex

EXAMPLES = Path(__file__).parent.parent / "examples"
VARIANTS = str(EXAMPLES / "variants_tanh.toml")


def _outputs(tmp_path, name, *argv):
    out = tmp_path / name
    out.mkdir()
    assert main(["sheet", VARIANTS, "-o", str(out / "v.tex"), *argv]) == 0
    assert main(["export", VARIANTS, "-o", str(out / "v.xml"), *argv]) == 0
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def test_the_same_seed_gives_the_same_files_and_another_seed_other_values(tmp_path, capsys):
    first = _outputs(tmp_path, "a", "--variants", "3", "--seed", "7")
    again = _outputs(tmp_path, "b", "--variants", "3", "--seed", "7")
    other = _outputs(tmp_path, "c", "--variants", "3", "--seed", "8")
    assert set(first) == {"v.tex", "v-key.csv", "v-key.json", "v.xml"}
    assert first == again
    for name in first:
        assert first[name] != other[name]
    out = capsys.readouterr().out
    assert "3 variants from" in out and "wrote" in out


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_every_key_value_is_the_derivation_of_its_variant(seed):
    run = prepare([VARIANTS], count=2, seed=seed)
    rows = run.key().rows
    assert rows
    for row in rows:
        [variant] = [v for v in run.variants if v.index == row.variant]
        exercise = variant.exercise
        [question] = [q for q in exercise.questions if q.label == row.label]
        if question.wrt is None:
            value = rnnsym.compute(exercise.graph, question.of).evaluate(exercise.values)
        else:
            value = rnnsym.derive(exercise.graph, question.of, question.wrt).evaluate(exercise.values)
        assert abs(sympy.N(value, 30) - sympy.Float(row.decimal, 30)) <= sympy.Float(10) ** -12 * max(1, abs(sympy.N(value)))


def test_an_unsatisfiable_constraint_exits_1_with_a_clear_message(tmp_path, capsys):
    text = (EXAMPLES / "variants_tanh.toml").read_text().replace('within = { "c" = [-10, 10] }', 'within = { "c" = [100, 200] }')
    path = tmp_path / "hard.toml"
    path.write_text(text)
    assert main(["sheet", str(path), "--variants", "2", "-o", str(tmp_path / "x.tex")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("rnnsym: no variants:") and "within \"c\" = [100, 200]" in err and "\n" not in err
    assert not (tmp_path / "x.tex").exists()


@pytest.mark.parametrize("argv, field", [
    (["--seed", "3"], "--seed needs --variants"),
    (["--variants", "0"], "--variants"),
    (["--variants", "2", "-o", "-"], "answer key"),
    (["--questions", "9.z"], "--questions"),
    (["--kind", "everything"], "--kind"),
])
def test_bad_run_flags_exit_2_with_one_line(argv, field, tmp_path, capsys):
    assert main(["sheet", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and field in err


def test_selected_questions_only(capsys):
    assert main(["sheet", "-o", "-", "--questions", "1.a,1.d", "--no-figure"]) == 0
    tex = capsys.readouterr().out
    assert tex.count(r"\subsection*") == 2 and "-4 + 12 = 8" in tex and r"\frac{\partial L}{\partial h_{1}}" not in tex


def test_question_sheet_with_header_and_figure(capsys):
    assert main(["sheet", "-o", "-", "--kind", "questions", "--course", "IN5400 & friends", "--date", "1 Dec 2026",
                 "--instructions", "Show every step."]) == 0
    tex = capsys.readouterr().out
    assert "-4 + 12 = 8" not in tex and r"W_{x} = 0.1" in tex
    assert r"IN5400 \& friends" in tex and "1 Dec 2026" in tex and "Show every step." in tex
    assert r"\begin{tikzpicture}" in tex


def test_several_exercises_in_one_sheet(capsys):
    paths = [str(EXAMPLES / "relu.toml"), str(EXAMPLES / "gru.toml")]
    assert main(["sheet", *paths, "-o", "-"]) == 0
    tex = capsys.readouterr().out
    assert rnnsym.load(paths[0]).title in tex and rnnsym.load(paths[1]).title in tex


def test_export_formats(tmp_path):
    for fmt, name in [("moodle", "q.xml"), ("csv", "q.csv"), ("key-csv", "k.csv"), ("key-json", "k.json")]:
        assert main(["export", "-o", str(tmp_path / name), "--format", fmt]) == 0
    quiz = ET.parse(tmp_path / "q.xml").getroot()
    answers = [q.findtext("answer/text") for q in quiz.iter("question") if q.get("type") == "numerical"]
    key = json.loads((tmp_path / "k.json").read_text())["rows"]
    assert answers == [row["decimal"] for row in key] == ["6", "2", "0", "8"]
    assert [r["answer"] for r in csv.DictReader(io.StringIO((tmp_path / "q.csv").read_text()))] == answers
    assert [r["decimal"] for r in csv.DictReader(io.StringIO((tmp_path / "k.csv").read_text()))] == answers


def test_export_never_overwrites_its_exercise(tmp_path, capsys):
    path = tmp_path / "ex.toml"
    path.write_text((EXAMPLES / "relu.toml").read_text())
    before = path.read_bytes()
    assert main(["export", str(path), "-o", str(path), "--format", "key-csv"]) == 2
    assert path.read_bytes() == before


@pytest.mark.slow
@needs_tex
def test_a_run_of_variants_builds_one_combined_pdf(tmp_path):
    assert main(["sheet", VARIANTS, "--variants", "2", "--seed", "3", "-o", str(tmp_path / "v.pdf"), "--pdf"]) == 0
    assert (tmp_path / "v.pdf").read_bytes().startswith(b"%PDF")
    assert {p.name for p in tmp_path.iterdir()} == {"v.pdf", "v.tex", "v-key.csv", "v-key.json"}


def test_each_variant_states_its_values_on_both_sheets(tmp_path, capsys):
    run = prepare([VARIANTS], count=2, seed=11)
    tex = run.sheet(kind="both").tex()
    questions, solutions = tex.split(r"\part*{Solutions}")
    for part in (questions, solutions):
        assert part.count(r"\paragraph{Given}") == 2
    from rnnsym.sheet import given_values
    for v in run.variants:
        assert given_values(v.exercise) in solutions


def test_exercises_of_one_run_need_titles_of_their_own(tmp_path, capsys):
    for name in ("a.toml", "b.toml"):
        (tmp_path / name).write_text((EXAMPLES / "relu.toml").read_text())
    assert main(["export", str(tmp_path / "a.toml"), str(tmp_path / "b.toml"), "-o", str(tmp_path / "q.xml")]) == 2
    err = capsys.readouterr().err
    assert "exercises: got" in err and "titled" in err and not (tmp_path / "q.xml").exists()


@pytest.mark.parametrize("argv, expected", [
    (["-o", "q.txt"], "output: got 'q.txt'"),
    (["--format", "csv", "-o", "q.xml"], "ending in .csv for --format csv"),
    (["--rtol", "abc", "-o", "q.xml"], "--rtol: got 'abc'"),
    (["--variants", "1", "--seed", "-1", "-o", "q.xml"], "--seed: got -1"),
])
def test_export_flags_are_named_in_errors(argv, expected, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["export", VARIANTS if "--variants" in argv else str(EXAMPLES / "relu.toml"), *argv]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1 and not list(tmp_path.iterdir())


def test_a_markdown_sheet_of_variants_heads_and_states_each(tmp_path, capsys):
    assert main(["sheet", VARIANTS, "--variants", "2", "--seed", "3", "-o", str(tmp_path / "v.md")]) == 0
    md = (tmp_path / "v.md").read_text()
    assert md.count("# Variant ") == 2 and md.count("**Given**") == 2
    run = prepare([VARIANTS], count=2, seed=3)
    assert run.variants[0].exercise.values != run.variants[1].exercise.values


def test_moodle_by_question_puts_each_question_in_a_subcategory(tmp_path):
    assert main(["export", VARIANTS, "--variants", "2", "--by-question", "-o", str(tmp_path / "q.xml")]) == 0
    quiz = ET.parse(tmp_path / "q.xml").getroot()
    categories = [q.findtext("category/text") for q in quiz.iter("question") if q.get("type") == "category"]
    # one subcategory per question of the exercise (a, b, c, d), each holding both variants
    assert sorted(c.rsplit("/", 1)[1] for c in categories) == ["a", "b", "c", "d"]


def test_check_draws_and_checks_variants(capsys):
    assert main(["check", VARIANTS, "--variants", "2", "--seed", "4"]) == 0
    out = capsys.readouterr().out
    assert "variant 1)" in out and "variant 2)" in out and out.count("all agree") == 2
    assert main(["check", VARIANTS]) == 2  # draw specs need --variants
    assert "--variants N" in capsys.readouterr().err
