"""Question sheets, "both" sheets, headers, variants, free-text questions and selections."""

from __future__ import annotations

import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

import rnnsym
import rnnsym.strategies
from rnnsym import InputError, InputTypeError, RenderOptions, Sheet, loads
from rnnsym.binding import bind
from rnnsym.diagram import network_figure
from rnnsym.errors import LimitError
from rnnsym.grading import check_exercise, loads_key
from rnnsym.notation import spell
from rnnsym.sheet import KINDS, Header
from rnnsym.tex import compile_pdf, escape, vet
from rnnsym.variants import Variant

from support import SEED_ANSWERS, chains, has_chain, needs_tex, run, variant  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FREE_TEXT = ROOT / "examples" / "free_text.toml"
VECTOR = ROOT / "examples" / "vector_elman.toml"
END = "\\end{document}\n"


def body(tex: str) -> str:
    """What follows ``\\maketitle`` in a document."""
    return tex.split("\\maketitle\n\n", 1)[1]


def stated(values: dict) -> list[str]:
    """How each scalar value of an exercise file should be stated, spelled from the file itself:
    a per-step list ``x = [10, 10]`` as ``$x_{1} = 10$``, ``$x_{2} = 10$``."""
    out = []
    for name, value in values.items():
        if isinstance(value, list):
            out += [f"${spell(f'{name}_{t}')} = {v}$" for t, v in enumerate(value, start=1)]
        else:
            out.append(f"${spell(name)} = {value}$")
    return out


# --- kinds ---------------------------------------------------------------------------------------------

def test_the_default_kind_is_solutions_and_an_empty_header_changes_nothing():
    ex = rnnsym.reference()
    tex = Sheet([ex]).tex()
    assert Sheet([ex], kind="solutions").tex() == tex
    assert Sheet([ex], header=Header()).tex() == tex
    assert Sheet([ex], figure=network_figure).tex() == tex  # the network figure by default
    without = Sheet([ex], figure=None).tex()
    assert r"\begin{tikzpicture}" in tex and r"\begin{tikzpicture}" not in without


@pytest.mark.parametrize("kind", ["answers", "Questions", "", None, 1])
def test_an_unknown_kind_is_an_input_error(kind):
    with pytest.raises(InputError) as caught:
        Sheet([rnnsym.reference()], kind=kind)
    message = str(caught.value)
    assert message.startswith("sheet.kind: got ")
    assert all(repr(k) in message for k in KINDS)


def test_a_bad_header_figure_or_exercise_is_refused():
    ex = rnnsym.reference()
    with pytest.raises(InputTypeError, match=r"^sheet\.header: got .*expected a rnnsym\.sheet\.Header or None"):
        Sheet([ex], header={"course": "IN5400"})
    with pytest.raises(InputTypeError, match=r"^sheet\.figure: got 'tikz'"):
        Sheet([ex], figure="tikz")
    with pytest.raises(InputTypeError, match=r"^sheet\.exercises: got 'ex\.toml'"):
        Sheet(["ex.toml"])
    with pytest.raises(InputTypeError, match=r"^sheet\.variants: got Exercise\("):
        Sheet.from_variants([ex])
    with pytest.raises(InputError, match=r"^sheet\.variant_numbers: got \[1, 2\], expected one integer per exercise \(1\)"):
        Sheet([ex], variant_numbers=[1, 2])
    with pytest.raises(InputError, match=r"^sheet\.variant_numbers: got \['1'\]"):
        Sheet([ex], variant_numbers=["1"])


# --- question sheets -------------------------------------------------------------------------------------

def test_the_reference_question_sheet_states_the_questions_and_values_but_no_answer():
    ex = rnnsym.reference()
    tex = Sheet([ex], kind="questions").tex()
    solutions = Sheet([ex]).tex()
    assert chains(tex) == [] and r"\begin{align}" not in tex
    for lhs, tail in SEED_ANSWERS:
        assert has_chain(solutions, lhs, tail) and not has_chain(tex, lhs, tail)
    assert "-4 + 12 = 8" not in tex and r"\paragraph{Answer}" not in tex
    for q in ex.questions:
        assert rf"\subsection*{{{q.label}}}" in tex and q.text in tex
        if q.answer_text:  # the author's answers stay on the solution sheet
            assert q.answer_text not in tex and q.answer_text in solutions
    assert sum(bool(q.answer_text) for q in ex.questions) == 4
    for value in stated(ex.values):
        assert value in tex, value
    # intro, values, then the questions in the file's order
    positions = [tex.index(ex.intro), tex.index(r"\paragraph{Given}")]
    positions += [tex.index(rf"\subsection*{{{q.label}}}") for q in ex.questions]
    assert positions == sorted(positions)


def test_vectors_and_matrices_are_given_as_matrices():
    ex = rnnsym.load(VECTOR)
    tex = Sheet([ex], kind="questions").tex()

    def matrix(rows):
        return r"\begin{bmatrix} " + r" \\ ".join(" & ".join(str(v) for v in row) for row in rows) + r" \end{bmatrix}"

    for name, value in ex.values.items():
        if name in ("x", "y"):
            continue
        rows = value if isinstance(value[0], list) else [[v] for v in value]  # a vector is a column
        assert f"${spell(name)} = {matrix(rows)}$" in tex, name
    assert all(s in tex for s in stated({"x": ex.values["x"], "y": ex.values["y"]}))
    assert "= \\begin{bmatrix}" not in "\n".join(chains(tex))


@given(rnnsym.strategies.exercises(graphs=rnnsym.strategies.graphs(max_steps=2)))
def test_any_question_sheet_states_every_value_and_derives_nothing(ex):
    tex = Sheet([ex], kind="questions").tex()
    assert chains(tex) == [] and r"\paragraph{Answer}" not in tex
    (given_line,) = [line for line in tex.splitlines() if line.startswith(r"\paragraph{Given}")]
    numbers = bind(ex.graph, ex.values)
    groups = {str(leaf).partition("[")[0] for leaf in ex.graph.leaves}
    assert given_line.count("$") == 2 * len(groups)  # one formula per scalar, vector or matrix
    for leaf in ex.graph.leaves:
        name = str(leaf)
        if "[" not in name:
            assert f"${spell(name)} = {numbers[leaf].latex}$" in given_line
        else:
            assert numbers[leaf].latex in given_line
    for q in ex.questions:  # no text: the sheet says what to find
        assert "Compute $" + (rf"\frac{{\partial L}}{{\partial {spell(q.wrt)}}}" if q.wrt else spell(q.of)) + "$." in tex


def _without_text(*finds: str) -> str:
    """A two-step Elman exercise whose questions name only what to find."""
    questions = "".join(f'\n[[questions]]\nlabel = "{i + 1}"\nfind = "{f}"\n' for i, f in enumerate(finds))
    values = 'h_0 = 1\nx = [10, 10]\ny = [5, 5]\nW_h = 1\nW_x = "0.1"\nW_y = 2\n'
    return f'title = "T"\n[model]\nsteps = 2\n[values]\n{values}{questions}'


@pytest.mark.parametrize("options", [RenderOptions(), RenderOptions(partial="d")])
def test_a_question_without_text_says_what_to_find_in_the_printers_notation(options):
    ex = loads(_without_text("dL/dW_h", "yhat_2", "dL/dh_1"))
    tex = Sheet([ex], options, kind="questions").tex()
    for q in ex.questions:
        # the left-hand side rnnsym writes for the answer is what the question asks for
        lhs = ex.answer(q).latex(ex.values, options)[-1].split(" = ")[0]
        assert f"Compute ${lhs}$." in tex, lhs
    assert (r"\frac{d L}{d W_{h}}" in tex) == (options.partial == "d")


def test_a_truncated_question_without_text_names_its_truncation():
    ex = loads(_without_text("dL/dW_h").replace('find = "dL/dW_h"', 'find = "dL/dW_h"\ntruncate = 1'))
    tex = Sheet([ex], kind="questions").tex()
    assert r"Compute $\frac{\partial L}{\partial W_{h}}$ by backpropagation through time truncated at $k=1$." in tex


def test_the_question_sheet_names_the_key_behind_each_line():
    document = Sheet([rnnsym.reference()], kind="questions").document()
    lines = document.text.splitlines()
    given = next(i for i, line in enumerate(lines) if line.startswith(r"\paragraph{Given}")) + 1
    assert document.origin(given) == "the exercise's values (written by rnnsym)"
    text = next(i for i, line in enumerate(lines) if "Compute the predicted value" in line) + 1
    assert document.origin(text) == "questions[0].text"


def test_question_text_is_vetted_on_a_question_sheet():
    ex = loads(variant(('text = "Compute the predicted value', 'text = "\\\\input{x} Compute the predicted value')))
    for kind in KINDS:
        with pytest.raises(InputError, match=r"^questions\[0\]\.text: got '\\\\input'"):
            Sheet([ex], kind=kind).tex()
    assert r"\input{x}" in Sheet([ex], kind="questions", trust_latex=True).tex()


# --- both ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("source", ["reference", "free_text"])
def test_both_is_the_question_sheet_then_the_solution_sheet_from_a_new_page(source):
    ex = rnnsym.reference() if source == "reference" else rnnsym.load(FREE_TEXT)
    header = Header("IN5400", "1 December 2026", "Answer every question.")
    questions = Sheet([ex], kind="questions", header=header).tex()
    solutions = Sheet([ex], header=header).tex()
    both = Sheet([ex], kind="both", header=header).tex()
    answers = body(solutions).removeprefix("Answer every question.\n\n")  # the instructions come once, at the top
    assert both == questions.removesuffix(END) + "\\newpage\n\n\\part*{Solutions}\n\n" + answers
    page = both.index(r"\newpage")
    assert both.index(r"\paragraph{Given}") < page < both.index(r"\paragraph{Answer}")
    if source == "reference":
        assert page < both.index("-4 + 12 = 8")


# --- free-text questions ---------------------------------------------------------------------------------

def _forward_free_text() -> tuple[Fraction, Fraction]:
    """ŷ_2 and ∂L/∂W_x of examples/free_text.toml, by hand in Fractions."""
    h0, x1, x2, y1, y2, wh, wx, wy = 0, 1, 2, 1, 1, Fraction(1, 2), 1, 2
    h1 = wh * h0 + wx * x1
    h2 = wh * h1 + wx * x2
    yh1, yh2 = wy * h1, wy * h2
    # W_x enters h_1 (through x_1) and h_2 (through x_2, and through h_1 again)
    dh1, dh2 = x1, wh * x1 + x2
    return yh2, 2 * (yh1 - y1) * wy * dh1 + 2 * (yh2 - y2) * wy * dh2


def test_the_free_text_example_round_trip():
    ex = rnnsym.load(FREE_TEXT)
    computed, free = [q for q in ex.questions if not q.free_text], [q for q in ex.questions if q.free_text]
    assert [q.label for q in computed] == ["a", "b"] and [q.label for q in free] == ["c"]
    (q,) = free
    assert (q.find, q.show, q.wrt) == ("", None, None) and q.text and q.answer_text
    assert ex.answer(q) is None and dict(ex.answers())[q] is None
    assert [ex.answer(c).evaluate(ex.values) for c in computed] == list(_forward_free_text())

    solutions = Sheet([ex]).tex()
    start = solutions.index(r"\subsection*{c}")
    section = solutions[start:]
    assert section.index(q.text) < section.index(r"\paragraph{Answer}") < section.index(q.answer_text)
    assert r"\begin{align}" not in section  # nothing derived for it
    questions = Sheet([ex], kind="questions").tex()
    assert q.text in questions and q.answer_text not in questions

    markdown = ex._repr_markdown_()
    assert q.text in markdown and q.answer_text in markdown


def test_check_skips_free_text_and_says_so(capsys):
    ex = rnnsym.load(FREE_TEXT)
    result = check_exercise(ex)
    assert [r.question.label for r in result.results] == ["a", "b"] and result.ok
    assert [r.value for r in result.results] == list(_forward_free_text())
    assert [q.label for q in result.free_text] == ["c"]
    lines = str(result).splitlines()
    assert lines[-2:] == ["not checked: c (free text: the author's answer, nothing to compute)", "2 questions: all agree"]
    assert "not checked: c" in result._repr_markdown_()
    assert "not checked" not in str(check_exercise(rnnsym.reference()))
    code, out, err = run(capsys, "check", str(FREE_TEXT))
    assert (code, err) == (0, "") and "not checked: c" in out
    with pytest.raises(InputError, match=r"^answers: got 'c', expected a question label of the exercise \(one of a, b\)"):
        loads_key('[answers]\nc = 1', ex)


FREE = 'title = "T"\n[model]\nsteps = 1\n[values]\nh_0 = 0\nx = [1]\ny = [1]\nW_h = 1\nW_x = 1\nW_y = 1\n[[questions]]\n'


@pytest.mark.parametrize("question, field, words", [
    ('text = "Why?"', "questions[0].find", ["got None", "a find", "a show", "free-text", "required"]),
    ('label = "q"', "questions[0].find", ["got None", "free-text"]),
    ('answer = "Because."', "questions[0].text", ["got ''", "the question's text"]),
    ('text = "  "\nanswer = "Because."', "questions[0].text", ["got '  '", "the question's text"]),
    ('text = "Why?"\nanswer = "Because."\nsplit = "step"', "questions[0].split", ["'step'", "no split without find"]),
    ('text = "Why?"\nanswer = "Because."\ntruncate = 1', "questions[0].truncate", ["no truncate without find"]),
    ('text = "Why?"\nanswer = 3', "questions[0].answer", ["got 3", "a string"]),
])
def test_a_question_with_nothing_to_answer_is_an_input_error(question, field, words):
    with pytest.raises(InputError) as caught:
        loads(FREE + question)
    message = str(caught.value)
    assert message.startswith(f"{field}: got "), message
    assert all(w in message for w in words), message


def test_an_exercise_of_free_text_only():
    ex = loads(FREE + 'text = "Why?"\nanswer = "Because $W_h$ is shared."\n')
    assert "Because $W_h$ is shared." in Sheet([ex]).tex()
    result = check_exercise(ex)
    assert result.results == [] and result.ok
    assert str(result).splitlines()[0] == "not checked: 1 (free text: the author's answer, nothing to compute)"


# --- selecting questions -----------------------------------------------------------------------------------

@given(st.lists(st.sampled_from(["1.a", "1.b", "1.c", "1.d", "2.a", "2.b", "2.c", "2.d"]), min_size=1))
def test_select_keeps_the_files_order(labels):
    ex = rnnsym.reference()
    chosen = ex.select(labels)
    assert [q.label for q in chosen.questions] == [q.label for q in ex.questions if q.label in labels]
    assert all(q in ex.questions for q in chosen.questions)
    assert (chosen.title, chosen.values, chosen.intro) == (ex.title, ex.values, ex.intro)


def test_a_selection_makes_a_sheet_of_those_questions():
    ex = rnnsym.reference()
    tex = Sheet([ex.select(["1.d", "2.a"])]).tex()
    assert re.findall(r"\\subsection\*\{([^}]*)\}", tex) == ["1.d", "2.a"]
    assert has_chain(tex, r"\frac{\partial L}{\partial W_{h}}", "-4 + 12 = 8")
    assert ex.select(["1.a"]).evaluation.value("yhat_2") == 6


@pytest.mark.parametrize("labels, field, error, words", [
    (["1.a", "3.x"], "questions", InputError, ["got '3.x'", "a question label", "1.a, 1.b, 1.c, 1.d, 2.a"]),
    (["nope"], "--questions", InputError, ["got 'nope'", "2.d"]),
    ([], "--questions", InputError, ["got []", "at least one question label"]),
    ("1.a", "questions", InputTypeError, ["got '1.a'", "a list of question labels"]),
    ([1], "questions", InputError, ["got 1,", "a question label"]),
])
def test_select_names_the_field_the_value_and_the_labels(labels, field, error, words):
    with pytest.raises(error) as caught:
        rnnsym.reference().select(labels, field=field) if field != "questions" else rnnsym.reference().select(labels)
    message = str(caught.value)
    assert message.startswith(f"{field}: "), message
    assert all(w in message for w in words), message


# --- variants ----------------------------------------------------------------------------------------------

def _variants() -> list[Variant]:
    """Three variants of the reference exercise: W_h = 1, 2, 3 (the intro does not say W_h)."""
    out = []
    for k in (1, 2, 3):
        text = variant(("\nW_h = 1\n", f"\nW_h = {k}\n"), ("initial weights $W_h = 1$, ", "initial weights "))
        out.append(Variant(k, 100 + k, loads(text).select(["1.a", "1.d"])))
    return out


def test_each_variant_has_a_section_and_a_page_of_its_own():
    variants = _variants()
    title = variants[0].exercise.title
    questions = Sheet.from_variants(variants, kind="questions").tex()
    headings = re.findall(r"\\section\*\{([^}]*)\}", questions)
    assert headings == [f"Variant {v.index}: {title}" for v in variants]
    assert questions.count(r"\newpage") == 2
    sections = re.split(r"\\newpage", body(questions))
    for v, section in zip(variants, sections):
        assert f"$W_{{h}} = {v.exercise.values['W_h']}$" in section
        assert all(f"$W_{{h}} = {k}$" not in section for k in (1, 2, 3) if k != v.exercise.values["W_h"])

    both = Sheet.from_variants(variants, kind="both").tex()
    assert both.count(r"\newpage") == 5 and both.count(r"\part*{Solutions}") == 1
    solutions = both.split(r"\part*{Solutions}")[1]
    for v, section in zip(variants, re.split(r"\\newpage", solutions)):
        assert section.count(r"\section*{Variant") == 1 and f"Variant {v.index}:" in section
        value = rnnsym.derive(v.exercise.graph, "L", "W_h").evaluate(v.exercise.values)
        assert any(c.startswith(r"\frac{\partial L}{\partial W_{h}} = ") and c.endswith(f" = {value}")
                   for c in chains(section)), (v, value)


def test_from_variants_is_the_sheet_of_their_exercises_and_numbers():
    variants = _variants()
    for kind in KINDS:
        numbered = Sheet([v.exercise for v in variants], kind=kind, variant_numbers=[v.index for v in variants])
        assert Sheet.from_variants(variants, kind=kind).tex() == numbered.tex()


def test_variant_keys_name_the_variant():
    document = Sheet.from_variants(_variants(), kind="questions").document()
    lines = document.text.splitlines()
    texts = [i + 1 for i, line in enumerate(lines) if "Compute the predicted value" in line]
    assert [document.origin(i) for i in texts] == [f"variant {k}: questions[0].text" for k in (1, 2, 3)]


def test_a_sheet_is_the_same_every_time():
    variants = _variants()
    one = Sheet.from_variants(variants, kind="both", header=Header("IN5400")).tex()
    assert one == Sheet.from_variants(_variants(), kind="both", header=Header("IN5400")).tex()
    assert r"\date{}" in one and r"\today" not in one
    assert r"\date{1 Dec}" in Sheet.from_variants(variants, header=Header(date="1 Dec")).tex()


@pytest.mark.slow
def test_a_sheet_is_the_same_in_another_process():
    script = (
        "import sys; sys.path[:0] = [{root!r}, {tests!r}]\n"
        "from test_sheets_kinds import _variants\n"
        "from rnnsym.sheet import Sheet, Header\n"
        "sys.stdout.write(Sheet.from_variants(_variants(), kind='both', header=Header('C', 'D', 'I')).tex())\n"
    ).format(root=str(ROOT), tests=str(ROOT / "tests"))
    outputs = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                              env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"}).stdout for seed in ("1", "2")}
    assert len(outputs) == 1 and next(iter(outputs)).startswith(r"\documentclass")


# --- the header --------------------------------------------------------------------------------------------

HOSTILE = r"\input{/etc/passwd} \def\x{1} $x$ 100% & #1 ^^5c ~ _ {"


def test_a_hostile_header_is_printed_literally():
    header = Header(course=HOSTILE, date=HOSTILE, instructions=HOSTILE + "\n\n" + "second")
    for kind in KINDS:
        tex = Sheet([rnnsym.reference()], kind=kind, header=header).tex()
        assert r"\input{/etc/passwd}" not in tex and r"\def\x" not in tex
        assert f"\\author{{{escape(HOSTILE)}}}" in tex and f"\\date{{{escape(HOSTILE)}}}" in tex
        assert f"\\maketitle\n\n{escape(HOSTILE)}\n\nsecond\n\n" in tex


@given(st.text(max_size=60), st.text(max_size=60), st.text(max_size=200))
def test_any_header_text_is_escaped(course, date, instructions):
    header = Header(course, date, instructions)
    front = Sheet([rnnsym.reference()], kind="questions", header=header)._front()
    shown = "\n\n".join(text for text, key in front if key and key.startswith("header."))
    vet(shown, "header")  # nothing a TeX run would obey: no command from the header, braces balanced
    for paragraph in header.paragraphs():
        assert escape(paragraph) in shown


def test_the_header_is_validated():
    with pytest.raises(InputTypeError, match=r"^header\.date: got 2026 of type int, expected a string"):
        Header(date=2026)
    with pytest.raises(InputTypeError, match=r"^header\.instructions: got None"):
        Header(instructions=None)
    with pytest.raises(LimitError, match=r"^header\.course: got 'a text of 20001 characters'"):
        Header(course="x" * 20_001)
    assert Header(instructions="One\nline.\n \nTwo.\n\n\n").paragraphs() == ["One line.", "Two."]


# --- the figure's place ------------------------------------------------------------------------------------

def test_the_figure_follows_each_intro_on_every_kind():
    calls = []

    def figure(graph):
        calls.append(graph)
        return f"% the network unrolled over {graph.steps} steps"

    ex = rnnsym.reference()
    mark = "% the network unrolled over 2 steps"
    for kind, count in (("questions", 1), ("solutions", 1), ("both", 2)):
        calls.clear()
        document = Sheet([ex], kind=kind, figure=figure).document()
        tex = document.text
        assert tex.count(mark) == count and calls == [ex.graph] * count
        for part in tex.split(r"\part*{Solutions}"):
            assert part.index(ex.intro) < part.index(mark) < part.index(r"\subsection*{1.a}")
        line = tex.splitlines().index(mark) + 1
        assert document.origin(line) == "the network figure (written by rnnsym)"
    assert r"\paragraph{Given}" in Sheet([ex], kind="questions", figure=figure).tex().split(mark)[1]


# --- PDF builds ----------------------------------------------------------------------------------------------

def _pages(pdf: bytes, tmp_path: Path) -> int:
    path = tmp_path / "x.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))



@pytest.mark.slow
@needs_tex
def test_a_question_sheet_builds(tmp_path, private_tmp):
    header = Header("IN5400 Machine learning for image analysis", "1 December 2026", HOSTILE)
    pdf = Sheet([rnnsym.reference(), rnnsym.load(VECTOR)], kind="questions", header=header).pdf()
    assert pdf.startswith(b"%PDF") and _pages(pdf, tmp_path) >= 1
    assert list(private_tmp.iterdir()) == []


@pytest.mark.slow
@needs_tex
def test_a_both_sheet_of_variants_builds_with_a_page_per_variant(tmp_path, private_tmp):
    variants = [Variant(k, k, rnnsym.load(FREE_TEXT)) for k in (1, 2)]
    document = Sheet.from_variants(variants, kind="both", header=Header("IN5400", "1 December 2026")).document()
    pdf = compile_pdf(document)
    assert pdf.startswith(b"%PDF")
    assert _pages(pdf, tmp_path) >= 4  # two question pages, then two solution pages at least
    assert list(private_tmp.iterdir()) == []


@pytest.mark.slow
@needs_tex
def test_a_both_sheet_with_the_network_figure_builds(tmp_path, private_tmp):
    from rnnsym.diagram import network_figure

    sheet = Sheet([rnnsym.reference().select(["1.a", "1.d"])], kind="both", figure=network_figure)
    assert sheet.tex().count(r"\begin{tikzpicture}") == 2  # once on the question sheet, once on the solutions
    pdf = sheet.pdf()
    assert pdf.startswith(b"%PDF") and _pages(pdf, tmp_path) >= 2
    assert list(private_tmp.iterdir()) == []
