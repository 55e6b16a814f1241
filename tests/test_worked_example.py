"""docs/worked-example.md: its exercise is examples/tanh_training.toml, the training
steps it prints start where the sheet's answer ends, and its pgfplots figure builds."""

from __future__ import annotations

import doctest
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import sympy

import rnnsym

ROOT = Path(__file__).resolve().parents[1]
PAGE = (ROOT / "docs" / "worked-example.md").read_text(encoding="utf-8")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", PAGE, re.S)


def test_the_page_shows_the_example_file():
    toml = _blocks("toml")[0]
    first, rest = toml.split("\n", 1)
    assert first == "# tanh_training.toml"
    assert rest == (ROOT / "examples" / "tanh_training.toml").read_text(encoding="utf-8")


def test_the_first_training_step_is_the_sheets_answer():
    exercise = rnnsym.load(ROOT / "examples" / "tanh_training.toml")
    step = exercise.answer(exercise.questions[0])
    sheet = step.evaluate(exercise.values, digits=12)
    printed = re.search(r"step 1: L = [\d.]+, then (.*)", PAGE).group(1)
    trained = {name: sympy.Float(value) for name, value in re.findall(r"(W_\w) = ([\d.-]+)", printed)}
    assert set(trained) == set(sheet)
    for name, value in trained.items():
        assert abs(value - sheet[name]) <= 5e-7, name
    shown = step.evaluate(exercise.values, digits=6)  # the sheet's six digits, quoted in the prose
    for name, value in shown.items():
        assert f"{name}' ≈ {value}" in PAGE, name


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("latexmk") is None, reason="latexmk is not installed")
def test_the_loss_figure_builds(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    block = _blocks("python")[-1]
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(doctest.DocTestParser().get_doctest(block, {}, "loss", "worked-example.md", 0))
    assert runner.failures == 0
    rows = (tmp_path / "loss.csv").read_text().splitlines()
    assert rows[0] == "step,loss" and len(rows) == 17
    (tmp_path / "loss.tex").write_text(_blocks("latex")[0], encoding="utf-8")
    subprocess.run(["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "loss.tex"],
                   check=True, capture_output=True, timeout=120)
    text = subprocess.run(["pdftotext", "loss.pdf", "-"], check=True, capture_output=True, text=True).stdout
    assert "step of gradient descent" in text and "loss" in text


def test_the_prose_quotes_the_loss_after_three_steps():
    f = rnnsym.compile(rnnsym.elman(3, activation="tanh"))
    point = {"h_0": 0, "x": [1, "0.5", -1], "y": ["0.5", "0.5", 0], "W_h": "0.5", "W_x": 1, "W_y": 2}
    losses = []
    for _ in range(4):
        loss, grads = f(point)
        losses.append(loss)
        point = {name: float(v) - 0.05 * grads[name] if name in grads else v for name, v in point.items()}
    assert f"take the loss from {losses[0]:.2f} to {losses[3]:.2f}" in PAGE
