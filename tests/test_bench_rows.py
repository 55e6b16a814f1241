"""The compiled-gradient and exact-path benchmarks: their baselines compute the same gradients
as rnnsym, and ``bench/compiled.py --quick`` and ``bench/exact.py --quick`` run."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import rnnsym

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import by_hand  # noqa: E402
import cell_adjoint  # noqa: E402
import compiled as bench_compiled  # noqa: E402
import exact as bench_exact  # noqa: E402


def _run(script: str) -> list[list[str]]:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--quick"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    return [line.split() for line in done.stdout.splitlines()]


def test_the_python_loop_gives_the_compiled_gradients():
    x, y = bench_compiled.data(3, 7)
    f = rnnsym.compile(rnnsym.elman(7, activation="tanh", bias=True))
    _, expected = f({**bench_compiled.WEIGHTS, "h_0": 0.0, "x": x, "y": y})
    got = by_hand.prepare_python(bench_compiled.WEIGHTS, x, y)()
    for w in by_hand.WEIGHTS:
        np.testing.assert_allclose(got[w], expected[w], rtol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_the_hand_written_autodiff_gives_the_python_loop_s_gradients(backend):
    pytest.importorskip(backend)
    x, y = bench_compiled.data(4, 9)
    expected = by_hand.prepare_python(bench_compiled.WEIGHTS, x, y)()
    got = getattr(by_hand, f"prepare_{backend}")(bench_compiled.WEIGHTS, x, y)()
    for w in by_hand.WEIGHTS:
        np.testing.assert_allclose(got[w], expected[w], rtol=1e-12)


@pytest.mark.parametrize("model", ["elman", "gru", "lstm"])
def test_the_symengine_pipeline_agrees_with_rnnsym_to_30_digits(model):
    cell = bench_exact.CELLS[model](2)
    values = bench_exact.point(cell, 3)
    graph = bench_exact.MODELS[model](3, 2)
    adjoints = rnnsym.evaluate(graph, values, digits=30).adjoints(graph.loss)
    grads = cell_adjoint.gradients(cell, values, digits=40)
    assert set(grads) == set(cell.parameters)
    for p, g in grads.items():
        assert bench_exact.matching_digits(str(adjoints.get(graph.symbol(p), 0)), str(g)) >= 29, p


def test_compile_with_passes_the_backend_when_compile_takes_one(monkeypatch):
    asked = []

    def compile_(graph, wrt=None, backend="numpy"):
        asked.append(backend)
        return rnnsym.compiled.compile_gradient(graph, wrt)

    graph = rnnsym.elman(2)
    assert bench_compiled.compile_with(graph, "numpy").graph is graph
    monkeypatch.setattr(rnnsym, "compile", compile_)
    bench_compiled.compile_with(graph, "jax")
    assert asked == ["jax"]
    installed = [b for b in ("jax", "torch") if importlib.util.find_spec(b) is not None]
    assert bench_compiled.backends() == ["numpy", *installed]


@pytest.mark.slow
def test_compiled_quick_run_prints_its_rows():
    rows = _run("compiled.py")
    setup = [r[:3] for r in rows if r[:1] == ["elman"]]
    assert ["elman", "100", "numpy"] in setup
    batch = {" ".join(r[:-6]): r for r in rows if len(r) >= 7 and r[-6].isdigit()}
    assert {"rnnsym numpy", "python loop"} <= set(batch)
    assert all(float(r[-1]) <= bench_compiled.MAX_DIFF for r in batch.values())


@pytest.mark.slow
def test_exact_quick_run_prints_a_row_per_model_and_the_methods_agree():
    rows = {r[0]: r for r in _run("exact.py") if r[:1] and r[0] in bench_exact.MODELS and len(r) > 3}
    assert list(rows) == list(bench_exact.MODELS)
    assert all(int(r[-1]) >= 25 for r in rows.values())
