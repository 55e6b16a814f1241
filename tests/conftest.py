"""Hypothesis profiles for the test suite, and the fixtures of private working and temporary folders.

Hypothesis profiles:

- ``ci``: chosen when the environment variable ``CI`` is set; derandomized,
  30 examples a test, no deadline.
- ``dev``: chosen with ``HYPOTHESIS_PROFILE=dev``; 300 examples a test.
- ``default`` otherwise: Hypothesis' defaults, without a deadline (exact
  sympy arithmetic makes the first examples slow while caches warm up).

An explicit ``HYPOTHESIS_PROFILE`` wins over ``CI``.
"""

import os
import tempfile
from types import SimpleNamespace

import pytest
from hypothesis import settings

settings.register_profile("default", deadline=None)
settings.register_profile("ci", derandomize=True, max_examples=30, deadline=None)
settings.register_profile("dev", max_examples=300, deadline=None)

if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])
elif "CI" in os.environ:
    settings.load_profile("ci")
else:
    settings.load_profile("default")


@pytest.fixture
def work(tmp_path, monkeypatch):
    """An empty working directory, an empty output directory, and a private temp
    directory, so that any file left behind by a failed run is seen."""
    cwd, out, tmp = tmp_path / "cwd", tmp_path / "out", tmp_path / "tmp"
    for d in (cwd, out, tmp):
        d.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    inputs = tmp_path / "inputs"
    inputs.mkdir()

    w = SimpleNamespace(cwd=cwd, out=out, tmp=tmp, inputs=inputs)

    def write(text: str, name: str = "ex.toml") -> str:
        path = inputs / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    def untouched() -> None:
        assert list(cwd.iterdir()) == []
        assert list(out.iterdir()) == []
        assert list(tmp.iterdir()) == []

    w.write, w.untouched = write, untouched
    return w


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """Route rnnsym's temporary files to a directory the test can inspect."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return tmp
