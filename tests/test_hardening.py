"""Exercise files from anyone: hostile LaTeX, outputs that never destroy, bounded work,
numbers as written, no user string evaluated, answer-key formulas that cannot crash.

Each refusal is checked for its message and exit status, and for leaving nothing
behind: no file written, nothing left in the temporary folder, no TeX process left
running.  The hostile-LaTeX tests build real PDFs and read them back with pdftotext.
"""

from __future__ import annotations

import builtins
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sympy

import rnnsym
from rnnsym import InputError, LimitError
from rnnsym.limits import MAX_DIGITS, MAX_QUESTIONS, MAX_SIZE, MAX_STEPS
from rnnsym.tex import DENIED, vet

from support import TEXT, needs_tex, one_error_line, run, variant

HOSTNAME = Path("/etc/hostname").read_text(encoding="utf-8").strip() if Path("/etc/hostname").exists() else socket.gethostname()


def left_running(folder: Path) -> list[str]:
    """Processes whose working directory is inside ``folder`` (a TeX run left behind)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if cwd.startswith(str(folder)):
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{proc.name}: {command}")
    return found


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def with_intro(intro: str) -> str:
    """The reference exercise with ``intro`` (TOML basic string) as its intro."""
    start = TEXT.index('intro = """')
    end = TEXT.index('"""', start + 11) + 3
    return TEXT[:start] + f"intro = {intro}" + TEXT[end:]


# --- 1. untrusted LaTeX -------------------------------------------------------------------------


@needs_tex
def test_a_title_that_inputs_a_file_is_printed_not_run(capsys, work):
    path = work.write(variant(('title = "Recurrent neural networks: backpropagation through time"',
                               'title = "\\\\input{/etc/hostname} and {$x$} 100% #1 & more"')))
    code, out, err = run(capsys, "sheet", path, "--pdf", "-o", str(work.out / "shared.tex"))
    assert (code, err) == (0, ""), err
    text = pdf_text(work.out / "shared.pdf")
    assert r"\input{/etc/hostname} and {$x$} 100% #1 & more" in text  # the title, character for character
    assert HOSTNAME not in text
    assert list(work.tmp.iterdir()) == [] and left_running(work.tmp) == []


@pytest.mark.parametrize("key", ["intro", "text", "answer"])
@pytest.mark.parametrize("command, refused", [
    (r"\input{/etc/passwd}", r"\input"), (r"\include{x}", r"\include"), (r"\openin5=x", r"\openin"),
    (r"\immediate\write18{ls}", r"\immediate"), (r"\catcode`\@=11", r"\catcode"),
    (r"\csname input\endcsname", r"\csname"), (r"\def\x{\x}\x", r"\def"), (r"\let\a\b", r"\let"),
    (r"\usepackage{shellesc}", r"\usepackage"), (r"\special{x}", r"\special"),
    (r"\pdfshellescape", r"\pdfshellescape"), (r"^^5cinput{x}", "^^"),
    (r"\begin{filecontents}{x.tex}y\end{filecontents}", r"\begin{filecontents}"),
    (r"\newcommand\x{\x}", r"\newcommand"), (r"\read16 to \x", r"\read"), (r"\scantokens{x}", r"\scantokens"),
    (r"\makeatletter", r"\makeatletter"),
])
def test_latex_keys_refuse_file_shell_and_definition_commands(key, command, refused, capsys, work):
    escaped = command.replace("\\", "\\\\")
    if key == "intro":
        exercise = with_intro(f'"{escaped}"')
        field = "intro"
    elif key == "text":
        exercise = variant(('text = "Compute the predicted value', f'text = "{escaped} Compute the predicted value'))
        field = "questions[0].text"
    else:
        exercise = variant(('find = "yhat_2"', f'find = "yhat_2"\nanswer = "{escaped}"'))
        field = "questions[0].answer"
    code, out, err = run(capsys, "sheet", work.write(exercise), "--pdf", "-o", str(work.out / "x.tex"))
    assert (code, out) == (2, "")
    one_error_line(err, f"{field}: got {refused!r}", "--trust-latex")
    work.untouched()
    assert left_running(work.tmp) == []


def test_every_denied_command_is_refused_by_vet():
    for name in sorted(DENIED):
        with pytest.raises(InputError) as caught:
            vet(f"before \\{name} after", "intro")
        assert caught.value.field == "intro" and caught.value.value == "\\" + name


@pytest.mark.parametrize("text", [r"$\hat{y}_2 = h_2 W_y$", r"\textbf{bold} and \emph{this}", r"a \% b \$ c",
                                  r"\begin{itemize}\item one\end{itemize}", r"$\frac{\partial L}{\partial W_h}$"])
def test_ordinary_latex_passes(text):
    assert vet(text, "intro") == text


@pytest.mark.parametrize("text, words", [("{a", "never closed"), ("a}", "closes nothing"), ("$x", "math is closed")])
def test_unbalanced_latex_is_refused_before_tex_runs(text, words):
    with pytest.raises(InputError, match=words):
        vet(text, "questions[1].text", trust=True)


@needs_tex
@pytest.mark.parametrize("intro, leaked", [
    (r'"\\input{/etc/hostname}"', HOSTNAME),
    (r'''"\\input{|\"kpsewhich -var-value=PATH\"}"''', os.environ.get("PATH", "/usr/bin")),
])
def test_trusted_latex_still_cannot_read_files_or_run_programs(intro, leaked, capsys, work):
    code, out, err = run(capsys, "sheet", work.write(with_intro(intro)), "--trust-latex", "--pdf",
                         "-o", str(work.out / "x.tex"))
    assert (code, out) == (2, "")
    line = one_error_line(err, "TeX failed at line", "(from intro)", "not found", "the LaTeX is kept in")
    assert leaked not in line
    assert [p.name for p in work.out.iterdir()] == ["x.tex"]  # the .tex is kept, no PDF
    assert list(work.tmp.iterdir()) == [] and left_running(work.tmp) == []


@needs_tex
def test_trusted_latex_cannot_write18(capsys, work):
    marker = work.out / "ran"
    intro = f'"\\\\immediate\\\\write18{{touch {marker}}}written"'
    code, out, err = run(capsys, "sheet", work.write(with_intro(intro)), "--trust-latex", "--pdf",
                         "-o", str(work.out / "x.tex"))
    assert (code, err) == (0, ""), err
    assert not marker.exists()
    assert "written" in pdf_text(work.out / "x.pdf")
    assert list(work.tmp.iterdir()) == [] and left_running(work.tmp) == []


@pytest.mark.slow
@needs_tex
def test_a_loop_is_stopped_by_the_timeout_and_tex_is_killed(capsys, work):
    start = time.monotonic()
    code, out, err = run(capsys, "sheet", work.write(with_intro(r'"\\def\\x{\\x}\\x"')), "--trust-latex", "--pdf",
                         "--tex-timeout", "3", "-o", str(work.out / "x.tex"))
    assert time.monotonic() - start < 60
    assert (code, out) == (2, "")
    one_error_line(err, "did not finish within 3 s", "the LaTeX is kept in")
    assert [p.name for p in work.out.iterdir()] == ["x.tex"]
    assert list(work.tmp.iterdir()) == [] and left_running(work.tmp) == []


@pytest.mark.slow
@needs_tex
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_during_the_build_stops_tex_and_cleans_up(signum, tmp_path):
    tmp, out = tmp_path / "tmp", tmp_path / "out"
    tmp.mkdir()
    out.mkdir()
    source = tmp_path / "loop.toml"
    source.write_text(with_intro(r'"\\def\\x{\\x}\\x"'), encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "rnnsym", "sheet", str(source), "--trust-latex", "--pdf", "-o", str(out / "x.tex")],
        env={**os.environ, "TMPDIR": str(tmp)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # a shell's background job starts with SIGINT ignored, and Python then keeps it ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    while not left_running(tmp) and time.monotonic() < deadline:  # wait for TeX to start
        time.sleep(0.1)
    assert left_running(tmp), "TeX never started"
    time.sleep(0.5)
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signum, err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    time.sleep(0.2)
    assert left_running(tmp) == []
    assert list(tmp.iterdir()) == []
    assert list(out.iterdir()) == []


def test_without_tex_the_tex_is_written_and_the_install_is_named(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    result = subprocess.run([sys.executable, "-m", "rnnsym", "sheet", "--pdf", "-o", str(out / "x.tex")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stdout == f"wrote {out / 'x.tex'}\n"
    assert "latexmk was not found" in result.stderr and "apt-get install texlive-latex-base" in result.stderr
    assert [p.name for p in out.iterdir()] == ["x.tex"]


# --- 2. outputs that never destroy --------------------------------------------------------------


def test_output_onto_the_exercise_is_refused_and_the_exercise_is_intact(capsys, work):
    path = work.write(TEXT)
    code, out, err = run(capsys, "sheet", path, "-o", path)
    assert (code, out) == (2, "")
    one_error_line(err, "output: got", "ex.toml", "ending in .tex or .pdf")
    assert Path(path).read_text(encoding="utf-8") == TEXT
    work.untouched()


def test_output_that_is_the_exercise_under_another_name_is_refused(capsys, work):
    path = work.write(TEXT, "ex.tex")  # an exercise whose file name ends in .tex
    link = work.out / "link.tex"
    link.symlink_to(path)
    for target in (path, str(link)):
        code, out, err = run(capsys, "sheet", path, "-o", target)
        assert (code, out) == (2, "")
        one_error_line(err, "output: got", "a file other than the input it is made from")
    assert Path(path).read_text(encoding="utf-8") == TEXT
    assert list(work.tmp.iterdir()) == [] and list(work.cwd.iterdir()) == []


def test_a_special_file_is_never_replaced(capsys, work):
    fifo = work.out / "pipe.tex"
    os.mkfifo(fifo)
    code, out, err = run(capsys, "sheet", "-o", str(fifo))
    assert (code, out) == (2, "")
    one_error_line(err, "output: got", "a regular file or a new name", "a named pipe")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    if os.path.exists("/dev/null"):
        device = work.out / "null.tex"
        device.symlink_to("/dev/null")
        code, _, err = run(capsys, "sheet", "-o", str(device))
        assert code == 2 and "a character device" in err
        assert stat.S_ISCHR(os.stat("/dev/null").st_mode) and device.is_symlink()
    assert list(work.tmp.iterdir()) == []


@pytest.mark.parametrize("name", ["answers.txt", "answers", "answers.tex.bak", "answers.toml"])
def test_an_output_whose_suffix_is_not_a_format_is_refused(name, capsys, work):
    code, out, err = run(capsys, "sheet", "-o", str(work.out / name))
    assert (code, out) == (2, "")
    one_error_line(err, "output: got", name, ".tex or .pdf")
    work.untouched()


@needs_tex
def test_dash_o_pdf_writes_the_pdf_with_the_tex_beside_it(capsys, work):
    code, out, err = run(capsys, "sheet", "-o", str(work.out / "answers.pdf"))
    assert (code, err) == (0, ""), err
    assert out == f"wrote {work.out / 'answers.tex'} and {work.out / 'answers.pdf'}\n"
    assert (work.out / "answers.pdf").read_bytes().startswith(b"%PDF")
    assert (work.out / "answers.tex").read_text(encoding="utf-8").startswith(r"\documentclass")


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_outputs_get_the_umask_mode(umask, mode, capsys, work):
    old = os.umask(umask)
    try:
        assert run(capsys, "sheet", "-o", str(work.out / "x.tex"))[0] == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(work.out / "x.tex").st_mode) == mode


def test_an_existing_output_keeps_its_mode(capsys, work):
    target = work.out / "x.tex"
    target.write_text("old", encoding="utf-8")
    os.chmod(target, 0o640)
    assert run(capsys, "sheet", "-o", str(target))[0] == 0
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    assert target.read_text(encoding="utf-8").startswith(r"\documentclass")


def test_long_output_names(capsys, work):
    code, out, err = run(capsys, "sheet", "-o", str(work.out / ("a" * 300 + ".tex")))
    assert (code, out) == (2, "")
    one_error_line(err, "output: got", "a file name of at most 255 bytes")
    longest = work.out / ("b" * 251 + ".tex")  # 255 bytes: valid, and the temporary name does not matter
    assert run(capsys, "sheet", "-o", str(longest))[0] == 0
    assert [p.name for p in work.out.iterdir()] == [longest.name]


# --- 3. bounded work ----------------------------------------------------------------------------


@pytest.mark.parametrize("old, new, field, words", [
    ("steps = 2", "steps = 1000000", "model.steps", f"at most {MAX_STEPS} steps"),
    ("steps = 2", "steps = 1000000000000000000000000000000", "model.steps", f"at most {MAX_STEPS} steps"),
    ("bias = false", "bias = false\nhidden = 1000", "model.hidden", f"at most {MAX_SIZE} entries"),
    ("bias = false", "bias = false\ninput = 1000000000", "model.input", f"at most {MAX_SIZE} entries"),
    ('W_x = "0.1"', 'W_x = "0.' + "1" * 2000 + '"', "values.W_x", f"at most {MAX_DIGITS} significant digits"),
    ("W_h = 1\n", "W_h = " + "9" * 1500 + "\n", "values.W_h", f"at most {MAX_DIGITS} digits"),
    ('W_x = "0.1"', 'W_x = "1e-1001"', "values.W_x", "at most 1000 as the size of the exponent"),
])
def test_limits_are_checked_before_work_and_named(old, new, field, words, capsys, work):
    start = time.monotonic()
    code, out, err = run(capsys, "sheet", work.write(variant((old, new))), "-o", str(work.out / "x.tex"))
    assert time.monotonic() - start < 30  # refused up front, not after minutes of work
    assert (code, out) == (2, "")
    one_error_line(err, f"{field}: got ", words, "a stated limit")
    work.untouched()


def test_too_many_questions(capsys, work):
    many = TEXT + '\n[[questions]]\nfind = "L"\n' * MAX_QUESTIONS
    code, out, err = run(capsys, "sheet", work.write(many), "-o", str(work.out / "x.tex"))
    assert (code, out) == (2, "")
    one_error_line(err, "questions: got", f"at most {MAX_QUESTIONS} questions")
    huge = TEXT + '\n[[questions]]\nfind = "L"\n' * 200_000  # a 3 MB file: refused before it is parsed
    code, out, err = run(capsys, "sheet", work.write(huge), "-o", str(work.out / "x.tex"))
    assert code == 2
    one_error_line(err, "exercise: got", "bytes")
    work.untouched()


def test_a_result_too_large_to_write_is_refused_cleanly(capsys, work):
    path = work.write(variant(("steps = 2", "steps = 45"), ("\nW_h = 1\n", '\nW_h = "1e100"\n'),
                              ("x = [10, 10]", "x = [" + ", ".join(["10"] * 45) + "]"),
                              ("y = [5, 5]", "y = [" + ", ".join(["5"] * 45) + "]")))
    code, out, err = run(capsys, "sheet", path, "-o", str(work.out / "x.tex"))
    assert (code, out) == (2, "")
    one_error_line(err, "digits in an exact value", "a stated limit")
    work.untouched()


def test_the_model_size_limit_counts_steps_times_cell_size():
    with pytest.raises(LimitError) as caught:
        rnnsym.gru(1000, hidden=16)
    assert caught.value.field == "model" and "local derivatives" in str(caught.value)


# --- 4. numbers as written ----------------------------------------------------------------------


def test_toml_floats_are_read_from_their_spelling():
    exercise = rnnsym.loads(variant(('W_x = "0.1"', "W_x = 0.10000000000000000001"),
                                    ("\nW_y = 2\n", "\nW_y = 3.14159265358979323846\n")).replace(
        "y = [5, 5]", "y = [1e-400, 5]"))
    from rnnsym.evaluation import bind

    bound = {str(s): n for s, n in bind(exercise.graph, exercise.values).items()}
    assert bound["W_x"].exact == sympy.Rational(10**19 + 1, 10**20)
    assert bound["W_x"].latex == "0.10000000000000000001"
    assert bound["W_y"].exact == sympy.Rational(314159265358979323846, 10**20)  # all 21 digits
    assert bound["y_1"].exact == sympy.Rational(1, 10**400)
    assert bound["y_1"].latex == r"1 \times 10^{-400}"


def test_huge_results_print_in_scientific_form():
    exercise = rnnsym.loads(variant(("\nW_h = 1\n", '\nW_h = "1e100"\n')))
    tex = rnnsym.Sheet([exercise]).tex()
    rows = [row for row in tex.splitlines() if row.lstrip().startswith(("h_{1} &=", r"\hat{y}_{2} &="))]
    # h_1 = 10^100 + 1 has 101 digits: written rounded, with the author's 1e100 bracketed in the product
    assert rows[0].endswith(r"= 1 \times \left(1 \times 10^{100}\right) + 10 \times 0.1 \approx 1 \times 10^{100} \\")
    assert rows[1].endswith(r"\approx \left(1 \times 10^{200}\right) \times 2 \approx 2 \times 10^{200}")
    assert not re.search(r"\d{40}", tex)  # no 200-digit numbers


def test_python_floats_are_read_by_their_shortest_repr():
    assert rnnsym.parse_number(0.1, "W").exact == sympy.Rational(1, 10)
    assert rnnsym.elman(1).symbol("W_h") in rnnsym.evaluation.bind(
        rnnsym.elman(1), {"h_0": 0.1, "W_h": 0.2, "W_x": 0.3, "W_y": 0.4, "x": [0.5], "y": [0.6]})


# --- 5. no user string reaches eval or sympify --------------------------------------------------


@pytest.fixture
def no_eval(monkeypatch, tmp_path):
    """eval, exec and sympy's string parser fail the test if they ever see a string."""
    calls = []
    real_eval, real_exec = builtins.eval, builtins.exec
    import sympy.parsing.sympy_parser as parser

    def trap(name, real):
        def call(source, *args, **kwargs):
            if isinstance(source, (str, bytes)):
                calls.append((name, source))
                raise AssertionError(f"{name} called with {source!r}")
            return real(source, *args, **kwargs)

        return call

    monkeypatch.setattr(builtins, "eval", trap("eval", real_eval))
    monkeypatch.setattr(builtins, "exec", trap("exec", real_exec))
    monkeypatch.setattr(parser, "parse_expr", trap("parse_expr", parser.parse_expr))
    marker = tmp_path / "pwned"
    yield f"__import__('os').system('touch {marker}')", calls
    assert calls == []
    assert not marker.exists()


def _entry_points(hostile: str) -> dict:
    from rnnsym import formula, grading, testing
    from rnnsym.analysis import bound, flow
    from rnnsym.derivation import truncate
    from rnnsym.testing import mp as numeric

    graph = rnnsym.elman(2)
    values = {"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": "0.1", "W_y": 2}
    return {
        "parse_number": lambda: rnnsym.parse_number(hostile, "x"),
        "define_cell": lambda: rnnsym.define_cell([("h", hostile)]),
        "define_cell output": lambda: rnnsym.define_cell([("h", "prev(h)")], output=[("yhat", hostile)]),
        "elman activation": lambda: rnnsym.elman(2, activation=hostile),
        "build": lambda: rnnsym.build(hostile, 2),
        "derive of": lambda: rnnsym.derive(graph, of=hostile, wrt="W_h"),
        "derive wrt": lambda: rnnsym.derive(graph, of="L", wrt=hostile),
        "derive split": lambda: rnnsym.derive(graph, "L", "W_h", split=hostile),
        "derive truncate": lambda: rnnsym.derive(graph, "L", "W_h", truncate=hostile),
        "compute": lambda: rnnsym.compute(graph, hostile),
        "evaluate values": lambda: rnnsym.derive(graph).evaluate({**values, "W_h": hostile}),
        "latex values": lambda: rnnsym.derive(graph).latex({**values, hostile: 1}),
        "symbol": lambda: graph.symbol(hostile),
        "tensor": lambda: graph.tensor(hostile),
        "RenderOptions": lambda: rnnsym.RenderOptions(times=hostile),
        "loads": lambda: rnnsym.loads(variant(('find = "yhat_2"', f'find = "{hostile}"'))),
        "loads value": lambda: rnnsym.loads(variant(('W_x = "0.1"', f'W_x = "{hostile}"'))),
        "loads cell": lambda: rnnsym.loads(variant(('cell = "elman"', f'cell = "{hostile}"'))),
        "ask": lambda: rnnsym.reference().ask(hostile),
        "Sheet title": lambda: rnnsym.Sheet([rnnsym.reference()], title=hostile).tex(),
        "numeric": lambda: numeric.numeric(hostile),
        "evaluate_formula": lambda: numeric.evaluate_formula(hostile, {}),
        "parse_formula": lambda: formula.parse_formula(hostile, graph),
        "parse_template": lambda: formula.parse_template(hostile),
        "assert_derivative": lambda: testing.assert_derivative(hostile, graph),
        "check_gradients wrt": lambda: testing.check_gradients(graph, values, wrt=[hostile]),
        "check_gradients values": lambda: testing.check_gradients(graph, {**values, "W_y": hostile}),
        "loads_key": lambda: grading.loads_key(f'[answers]\n"1.d" = "{hostile}"', rnnsym.reference()),
        "bound": lambda: bound.bound(rnnsym.elman(1, "tanh"), {"W_h": hostile}),
        "jacobian_chain": lambda: flow.jacobian_chain(graph, hostile, 1),
        "truncated": lambda: truncate.truncated(graph, "L", "W_h", 1, convention=hostile),
        "Times": lambda: rnnsym.forms.Times(hostile, 2),
        "register_activation": lambda: rnnsym.register_activation(hostile, lambda z: z),
        "evaluate": lambda: rnnsym.evaluate(graph, {**values, "W_x": hostile}),
        "latex": lambda: rnnsym.latex(hostile),
    }


@pytest.mark.parametrize("name", list(_entry_points("")))
def test_no_public_entry_point_evaluates_a_string(name, no_eval):
    hostile, calls = no_eval
    try:
        _entry_points(hostile)[name]()
    except (rnnsym.RnnsymError, TypeError, ValueError):
        pass  # refused: the point is that nothing was evaluated


def test_the_command_line_evaluates_no_string(no_eval, capsys, work):
    hostile, _ = no_eval
    path = work.write(variant(('W_x = "0.1"', f'W_x = "{hostile}"')))
    for argv in (["sheet", path, "-o", "-"], ["derive", path, "dL/dW_h"], ["check", path]):
        code, _, err = run(capsys, *argv)
        assert code == 2
        one_error_line(err, "values.W_x")


# --- 6. answer-key formulas ---------------------------------------------------------------------


@pytest.mark.parametrize("formula, reason", [
    ("1/(W_h - 1)", "division by zero"),
    ("log(W_h - 1)", "the log of a number that is not positive"),
    ("log(W_h - 2)", "the log of a number that is not positive"),
    ("exp(exp(exp(exp(x_1))))", "exp of a number too large to compute"),
    ("x_1^x_1^x_1^x_1", "a power too large to compute"),
    ("(x_1^1000)^1000", "a power too large to compute"),
    ("(W_h - 2)^(1/2)", "a negative number to a fractional power"),
])
def test_check_reports_a_formula_that_cannot_be_computed_as_wrong(formula, reason, capsys, work):
    key = work.inputs / "key.toml"
    key.write_text(f'[answers]\n"1.d" = "{formula}"\n', encoding="utf-8")
    code, out, err = run(capsys, "check", "--expect", str(key))
    assert (code, err) == (1, "")
    assert f"1.d: the formula '{formula}' cannot be computed at the exercise's values ({reason})" in out
    assert "4 questions: 1 wrong (1.d)" in out


# --- smaller ------------------------------------------------------------------------------------


def test_a_byte_order_mark_is_accepted(capsys, work):
    path = work.inputs / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + TEXT.encode("utf-8"))
    code, out, err = run(capsys, "derive", str(path), "dL/dW_h", "--format", "latex")
    assert (code, err) == (0, "")
    assert out.splitlines()[-1].endswith("= -4 + 12 = 8")


def test_duplicate_labels_are_refused(capsys, work):
    path = work.write(variant(('label = "1.b"', 'label = "1.a"')))
    code, out, err = run(capsys, "sheet", path, "-o", str(work.out / "x.tex"))
    assert (code, out) == (2, "")
    one_error_line(err, "questions[1].label: got '1.a'", "questions[0] is labelled '1.a' too")
    work.untouched()


def test_relu_at_its_kink_is_remarked_on_the_sheet_and_in_derive(capsys, work):
    exercise = variant(('activation = "identity"', 'activation = "relu"'), ("\nh_0 = 1\n", "\nh_0 = -1\n"))
    path = work.write(exercise)  # z_1 = h_0 W_h + x_1 W_x = -1 + 1 = 0
    code, out, err = run(capsys, "derive", path, "dL/dW_h", "--format", "latex")
    assert (code, err) == (0, "")
    assert "% Note: at these values $z_{1} = 0$: relu has no derivative at 0" in out
    tex = rnnsym.Sheet([rnnsym.loads(exercise)]).tex()
    assert tex.count(r"$\operatorname{relu}'(0) = 0$") == 2  # after 1.c and 1.d
    plain = rnnsym.Sheet([rnnsym.loads(variant(('activation = "identity"', 'activation = "relu"')))]).tex()
    assert "kink" not in plain
