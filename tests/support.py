"""Shared test material: the reference exercise's text, variants of it, and the seed's answers."""

import os
import re
import shutil
from importlib import resources

import pytest

from rnnsym.cli import main
from rnnsym.exercise import REFERENCE

TEXT = resources.files("rnnsym.exercises").joinpath(REFERENCE).read_text(encoding="utf-8")

needs_tex = pytest.mark.skipif(
    shutil.which("latexmk") is None and not os.environ.get("CI"),
    reason="latexmk is not installed (in CI this test runs and fails instead)",
)

# The seed's answer key: (left-hand side as rnnsym spells it, how the chain ends).
SEED_ANSWERS = [
    (r"h_{1}", "2"),
    (r"h_{2}", "3"),
    (r"\hat{y}_{2}", "6"),
    (r"\hat{y}_{1}", "4"),
    (r"L_{1}", "1"),
    (r"L_{2}", "1"),
    (r"L", "1 + 1 = 2"),
    (r"\frac{\partial L_{1}}{\partial h_{1}}", "-4"),
    (r"\frac{\partial L_{2}}{\partial h_{1}}", "4"),
    (r"\frac{\partial L}{\partial h_{1}}", "-4 + 4 = 0"),
    (r"\frac{\partial L_{1}}{\partial W_{h}}", "-4"),
    (r"\frac{\partial L_{2}}{\partial W_{h}}", "12"),
    (r"\frac{\partial L}{\partial W_{h}}", "-4 + 12 = 8"),
]


def variant(*replacements: tuple[str, str]) -> str:
    """The reference exercise with each ``old`` replaced by ``new`` (each must occur exactly once)."""
    text = TEXT
    for old, new in replacements:
        assert text.count(old) == 1, old  # exactly one place changes
        text = text.replace(old, new, 1)
    return text


def chains(tex: str) -> list[str]:
    """The relation chains of a document's display math: ``align`` rows (a chain
    broken over rows with ``\\nonumber`` joined again, ``&`` removed) and ``dmath`` blocks."""
    out = []
    for block in re.findall(r"\\begin\{align\*?\}(.*?)\\end\{align\*?\}", tex, re.S):
        current = ""
        for row in re.split(r"\\\\\s*\n", block.strip()):
            row = row.strip()
            continued = row.endswith(r"\nonumber")
            row = row.removesuffix(r"\nonumber").strip()
            current = f"{current} {row}" if current else row
            if not continued:
                out.append(re.sub(r"\s*&\s*", " ", current).strip())
                current = ""
    out += [block.strip() for block in re.findall(r"\\begin\{dmath\}(.*?)\\end\{dmath\}", tex, re.S)]
    return out


def has_chain(tex: str, lhs: str, tail: str) -> bool:
    """Whether a chain of ``tex`` starts with ``lhs =`` and ends with ``= tail``."""
    return any(c.startswith(f"{lhs} = ") and c.endswith(f" = {tail}") for c in chains(tex))


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """``rnnsym.cli.main(argv)``: its exit status (returned or raised by argparse), stdout and stderr."""
    try:
        code = main(list(argv))
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_error_line(err: str, *words: str, prefix: str = "rnnsym: error: ") -> str:
    assert "Traceback" not in err
    assert err.endswith("\n"), err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(prefix), err
    for word in words:
        assert word in lines[0], (word, err)
    return lines[0]
