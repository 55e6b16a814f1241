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
