"""Every ``python`` code block of the README and ``docs/`` runs on its own, as
it would when pasted into a fresh Python prompt (the doctest collection runs
each file's blocks together, sharing names; this runs each block alone)."""

import doctest
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _blocks():
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for match in BLOCK.finditer(text):
            if ">>>" in match.group(1):
                line = text.count("\n", 0, match.start()) + 1
                yield pytest.param(doc, line, match.group(1), id=f"{doc.name}:{line}")


@pytest.mark.parametrize("doc, line, code", list(_blocks()))
def test_code_block_runs_alone(doc, line, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # blocks that write files write them here
    test = doctest.DocTestParser().get_doctest(code, {}, f"{doc.name}:{line}", str(doc), line)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    out: list[str] = []
    runner.run(test, out=out.append)
    assert runner.failures == 0, "".join(out)


def test_blocks_are_found():
    assert len(list(_blocks())) > 10


def _unpasteable(code: str) -> list[str]:
    """Compound statements (``for``, ``def``, a decorator, …) not closed by a bare
    ``...`` line: doctest runs them, but a Python prompt waits for more input."""
    lines = code.splitlines()
    bad = []
    for i, line in enumerate(lines):
        if line.startswith(">>> ") and (line.rstrip().endswith(":") or line.startswith(">>> @")):
            j = i + 1
            while j < len(lines) and lines[j].startswith("..."):
                j += 1
            if lines[j - 1].rstrip() != "...":
                bad.append(line)
    return bad


@pytest.mark.parametrize("doc, line, code", list(_blocks()))
def test_code_block_pastes_into_a_prompt(doc, line, code):
    assert not _unpasteable(code), f"{doc.name}:{line}: close these with a bare '...' line: {_unpasteable(code)}"


def test_an_unclosed_loop_is_caught():
    assert _unpasteable(">>> for i in range(2):\n...     print(i)\n0\n1\n")
    assert not _unpasteable(">>> for i in range(2):\n...     print(i)\n...\n0\n1\n")


# --- the commands of the tutorial and the command-line page ----------------------------------------

CONSOLE = re.compile(r"^```(console|toml)\n(.*?)^```", re.S | re.M)


def _session(doc: Path) -> list[tuple[str, str]]:
    """The page's steps in order: ("file", text) for a TOML block whose first line
    names its file (``# drawn.toml``), ("run", command) for each ``$ rnnsym …`` line."""
    steps = []
    for kind, body in CONSOLE.findall(doc.read_text(encoding="utf-8")):
        if kind == "toml":
            first = body.splitlines()[0]
            if re.fullmatch(r"# [\w.-]+\.toml", first):
                steps.append(("file", body))
            continue
        for line in body.splitlines():
            if line.startswith("$ rnnsym "):
                steps.append(("run", line[2:].split("  #")[0].strip()))
    return steps


def _replay(doc: Path, tmp_path, monkeypatch, capsys) -> list[str]:
    import shlex

    from rnnsym.cli import main

    monkeypatch.chdir(tmp_path)
    ran = []
    for kind, step in _session(doc):
        if kind == "file":
            name = step.splitlines()[0][2:]
            (tmp_path / name).write_text(step, encoding="utf-8")
            continue
        code = main(shlex.split(step)[1:])
        out = capsys.readouterr()
        assert code == 0, f"{doc.name}: `{step}` exited {code}: {out.err.strip()}"
        ran.append(step)
    return ran


def test_every_command_of_the_cli_page_runs(tmp_path, monkeypatch, capsys):
    ran = _replay(ROOT / "docs" / "cli.md", tmp_path, monkeypatch, capsys)
    assert any(r.startswith("rnnsym export") for r in ran) and any(r.startswith("rnnsym init") for r in ran)
    assert (tmp_path / "quiz.xml").exists() and (tmp_path / "questions.tex").exists()


@pytest.mark.slow
def test_every_command_of_the_tutorial_runs(tmp_path, monkeypatch, capsys):
    import shutil

    if shutil.which("latexmk") is None:
        pytest.skip("the tutorial builds a PDF: latexmk is not installed")
    _replay(ROOT / "docs" / "tutorial.md", tmp_path, monkeypatch, capsys)
    names = {p.name for p in tmp_path.iterdir()}
    assert {"rnn.pdf", "week10.tex", "week10-key.csv", "week10-key.json", "week10.xml", "rnn-questions.tex"} <= names


def test_every_picture_a_page_shows_is_in_the_repository():
    for doc in DOCS:
        for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", doc.read_text(encoding="utf-8")):
            assert (doc.parent / target).is_file(), f"{doc.name} shows {target}, which is missing"
