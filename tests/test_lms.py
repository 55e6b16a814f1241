"""The LMS export: Moodle XML read back with ElementTree, and the plain CSV."""

from __future__ import annotations

import csv
import dataclasses
import io
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from rnnsym import InputError
from rnnsym.exercise import Question, load, loads, reference
from rnnsym.key import AnswerKey
from rnnsym.lms import CSV_COLUMNS, given_values, lms_csv, moodle_xml, to_mathjax
from rnnsym.variants import Variant, single

from support import variant  # noqa: E402

VECTOR = Path(__file__).resolve().parent.parent / "examples" / "vector_elman.toml"
OTHER = variant(("x = [10, 10]", "x = [1, 2]"), ("\nW_h = 1\n", "\nW_h = 2\n"), ('W_x = "0.1"', 'W_x = "1/3"'))
TANH = variant(('activation = "identity"', 'activation = "tanh"'))
HOSTILE = '</text><script>alert(1)</script> ]]> & <![CDATA[ x ]]> $a < b$'


def run_variants() -> list[Variant]:
    return [Variant(1, 5, reference()), Variant(2, 6, loads(OTHER)), Variant(3, 7, loads(TANH))]


def questions(quiz: ET.Element, kind: str) -> list[ET.Element]:
    return [q for q in quiz if q.get("type") == kind]


def html_text(question: ET.Element, tag: str = "questiontext") -> str:
    """The text a browser shows for an HTML field: the fragment parsed again, its text joined."""
    fragment = question.findtext(f"{tag}/text")
    return " ".join("".join(ET.fromstring(fragment).itertext()).split()) if fragment else ""


def test_structure_moodle_requires():
    text = moodle_xml(run_variants())
    assert text.startswith("<?xml version='1.0' encoding='utf-8'?>\n<quiz>")
    quiz = ET.fromstring(text)
    assert quiz.tag == "quiz"
    assert all(q.tag == "question" for q in quiz)
    categories = questions(quiz, "category")
    assert [c.findtext("category/text") for c in categories] == [f"$course$/top/{reference().title}"]
    assert quiz[0] is categories[0]  # the category comes before its questions
    numerical = questions(quiz, "numerical")
    assert len(numerical) == 12 and len(quiz) == 13
    for q in numerical:
        assert q.findtext("name/text")
        assert q.find("questiontext").get("format") == "html"
        assert q.findtext("questiontext/text")
        assert q.findtext("defaultgrade") == "1" and q.findtext("penalty") == "0.3333333"
        [answer] = q.findall("answer")
        assert answer.get("fraction") == "100"
        float(answer.findtext("text")), float(answer.findtext("tolerance"))


def test_every_answer_is_the_key_row():
    variants = run_variants() + [Variant(4, None, load(VECTOR))]
    key = AnswerKey.from_variants(variants, rtol="0.01", atol="0.001")
    quiz = ET.fromstring(moodle_xml(variants, rtol="0.01", atol="0.001"))
    numerical = questions(quiz, "numerical")
    assert len(numerical) == len(key)
    for q, row in zip(numerical, key):
        name = f"{row.exercise} — variant {row.variant} — {row.label}" + (f" {row.entry}" if row.entry else "")
        assert q.findtext("name/text") == name
        assert q.findtext("answer/text") == row.decimal
        assert q.findtext("answer/tolerance") == row.tolerance


def test_each_question_is_self_contained():
    quiz = ET.fromstring(moodle_xml(run_variants()))
    texts = {q.findtext("name/text"): html_text(q) for q in questions(quiz, "numerical")}
    first = texts[f"{reference().title} — variant 1 — 1.d"]
    other = texts[f"{reference().title} — variant 2 — 1.d"]
    assert r"\(\frac{\partial L}{\partial W_h}\)" in first and "$" not in first
    assert r"\(W_{h} = 1\)" in first and r"\(W_{x} = 0.1\)" in first and r"\(x_{2} = 10\)" in first
    assert r"\(W_{h} = 2\)" in other and r"\(W_{x} = \frac{1}{3}\)" in other and r"\(x_{1} = 1\)" in other
    assert "A very simple RNN" in first  # the introduction
    without = ET.fromstring(moodle_xml(run_variants(), intro=False))
    assert "A very simple RNN" not in html_text(questions(without, "numerical")[0])


def test_vector_answers_are_one_question_per_entry():
    quiz = ET.fromstring(moodle_xml(single(load(VECTOR))))
    names = [q.findtext("name/text").rsplit(" — ", 1)[1] for q in questions(quiz, "numerical")]
    assert names == ["a [1]", "a [2]", "b [1,1]", "b [1,2]", "b [2,1]", "b [2,2]", "c"]
    entry = html_text(questions(quiz, "numerical")[3])
    assert "row 1, column 2" in entry
    assert r"\(W_{h} = \begin{bmatrix} 0.5 & 0 \\ 0.25 & 0.5 \end{bmatrix}\)" in entry


def test_hostile_text_stays_text():
    ex = reference()
    hostile = dataclasses.replace(ex.questions[0], text=HOSTILE, answer_text=HOSTILE)
    ex = dataclasses.replace(ex, title="T ]]></name><x>", intro=HOSTILE, questions=(hostile,) + ex.questions[1:])
    text = moodle_xml(single(ex))
    quiz = ET.fromstring(text)
    assert {e.tag for e in quiz.iter()} <= {"quiz", "question", "category", "info", "text", "name", "questiontext",
                                            "generalfeedback", "defaultgrade", "penalty", "hidden", "answer",
                                            "feedback", "tolerance", "unitgradingtype", "unitpenalty", "showunits",
                                            "unitsleft"}
    first = questions(quiz, "numerical")[0]
    assert first.findtext("name/text") == "T ]]></name><x> — variant 1 — 1.a"
    assert questions(quiz, "category")[0].findtext("category/text") == "$course$/top/T ]]><//name><x>"  # "/" doubled
    fragment = first.findtext("questiontext/text")
    assert "<script>" not in fragment and "&lt;script&gt;" in fragment  # escaped for HTML too
    assert {e.tag for e in ET.fromstring(fragment).iter()} == {"div", "p"}
    shown = html_text(first)
    assert "</text><script>alert(1)</script> ]]> & <![CDATA[ x ]]> \\(a < b\\)" in shown
    assert "</text><script>" in html_text(first, "generalfeedback")
    row = next(csv.DictReader(io.StringIO(lms_csv(single(ex)))))
    assert "</text><script>alert(1)</script>" in row["question"] and row["title"].startswith("T ]]></name><x>")


def test_refused_latex_names_the_variant_and_key():
    ex = reference()
    bad = dataclasses.replace(ex.questions[2], text=r"\input{/etc/passwd}")
    ex = dataclasses.replace(ex, questions=ex.questions[:2] + (bad,) + ex.questions[3:])
    with pytest.raises(InputError) as error:
        moodle_xml([Variant(4, None, ex)])
    assert error.value.field == "variant 4: questions[2].text"
    with pytest.raises(InputError):
        lms_csv([Variant(4, None, ex)])
    trusted = ET.fromstring(moodle_xml([Variant(4, None, ex)], trust_latex=True))
    assert r"\input{/etc/passwd}" in html_text(questions(trusted, "numerical")[2])


def test_free_text_questions_are_essays():
    ex = reference()
    free = Question("3", "Explain $L$ in words.", "", "", None, answer_text="The sum of the squared errors.")
    ex = dataclasses.replace(ex, questions=ex.questions + (free,))
    variants = [Variant(1, None, ex), Variant(2, None, dataclasses.replace(ex, values=loads(OTHER).values))]
    quiz = ET.fromstring(moodle_xml(variants))
    [essay] = questions(quiz, "essay")  # once, not once per variant
    assert essay.findtext("name/text") == f"{ex.title} — 3"
    assert r"Explain \(L\) in words." in html_text(essay)
    assert html_text(essay, "graderinfo") == "The sum of the squared errors."
    assert essay.findtext("responseformat") == "editor"
    assert len(questions(quiz, "numerical")) == 8
    assert all(row["label"] != "3" for row in csv.DictReader(io.StringIO(lms_csv(variants))))


def test_by_question_puts_variants_in_subcategories():
    quiz = ET.fromstring(moodle_xml(run_variants(), by_question=True))
    path = f"$course$/top/{reference().title}"
    current, seen = None, {}
    for q in quiz:
        if q.get("type") == "category":
            current = q.findtext("category/text")
            continue
        seen.setdefault(current, []).append(q.findtext("name/text"))
    assert list(seen) == [f"{path}/1.a", f"{path}/1.b", f"{path}/1.c", f"{path}/1.d"]
    assert all(len(names) == 3 and all(n.endswith(label.rsplit("/", 1)[1]) for n in names)
               for label, names in seen.items())


def test_slash_in_a_title_is_doubled_in_the_category_path():
    ex = dataclasses.replace(reference(), title="RNN 1/2")
    quiz = ET.fromstring(moodle_xml(single(ex)))
    assert questions(quiz, "category")[0].findtext("category/text") == "$course$/top/RNN 1//2"


@pytest.mark.parametrize("latex, mathjax", [
    (r"Find $\hat{y}_2$.", r"Find \(\hat{y}_2\)."),
    (r"$$L = \sum_t L_t$$", r"\[L = \sum_t L_t\]"),
    (r"already \(x\) and \[y\]", r"already \(x\) and \[y\]"),
    (r"costs \$5 and $x$", r"costs $5 and \(x\)"),
    (r"$a \$ b$", r"\(a \$ b\)"),
    ("a lone $ sign", "a lone $ sign"),
    (r"100\% \& co~x", "100% & co\u00a0x"),
    (r"two $x$ and $y$", r"two \(x\) and \(y\)"),
    (r"\emph{kept} $\\$", r"\emph{kept} \(\\\)"),
])
def test_to_mathjax(latex, mathjax):
    assert to_mathjax(latex) == mathjax


def test_given_values_of_vectors_and_matrices():
    given = given_values(load(VECTOR))
    assert given[0] == r"h_{0} = \begin{bmatrix} 0 \\ 0 \end{bmatrix}"
    assert r"W_{y} = \begin{bmatrix} 1 & 2 \end{bmatrix}" in given
    assert r"x_{2} = 0.5" in given


def test_lms_csv_rows_are_the_key():
    variants = run_variants() + [Variant(4, None, load(VECTOR))]
    key = AnswerKey.from_variants(variants)
    text = lms_csv(variants)
    assert text.splitlines()[0] == ",".join(CSV_COLUMNS) and "\r" not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(key)
    for got, row in zip(rows, key):
        assert (got["answer"], got["tolerance"], got["variant"], got["label"], got["entry"], got["exercise"]) == (
            row.decimal, row.tolerance, str(row.variant), row.label, row.entry, row.exercise)
        assert got["seed"] == ("" if row.seed is None else str(row.seed))
        assert "\\(" in got["question"] and "<p>" not in got["question"]


def test_exports_are_deterministic():
    assert moodle_xml(run_variants()) == moodle_xml(run_variants())
    assert lms_csv(run_variants()) == lms_csv(run_variants())


def test_bad_options():
    with pytest.raises(InputError) as error:
        moodle_xml(single(reference()), rtol="-0.1")
    assert error.value.field == "rtol"
    with pytest.raises(InputError) as error:
        moodle_xml(single(reference()), trust_latex="yes")
    assert error.value.field == "trust_latex"
    with pytest.raises(InputError):
        lms_csv([])


def test_a_truncated_question_says_where_it_is_truncated():
    ex = load(Path(__file__).resolve().parent.parent / "examples" / "truncated_bptt.toml")
    question = next(q for q in ex.questions if q.truncate is not None)
    ex = dataclasses.replace(ex, questions=(dataclasses.replace(question, text=""),))
    quiz = ET.fromstring(moodle_xml(single(ex)))
    text = html_text(questions(quiz, "numerical")[0])
    assert "truncated at" in text and r"\(k=" in text
