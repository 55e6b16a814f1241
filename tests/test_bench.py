"""Smoke test of the benchmark: ``python bench/run.py --quick`` runs, and its methods agree."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: The values of T of ``--quick`` (bench/run.py's QUICK_STEPS).
QUICK_STEPS = ["2", "4", "8", "64"]


@pytest.mark.slow
def test_quick_run_prints_a_row_per_step_and_the_methods_agree():
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines()]
    header = next(r for r in rows if r[:1] == ["T"])
    assert header[-3:] == ["rnnsym/symengine", "sympy.diff/rnnsym", "agree"]
    steps = {r[0]: r for r in rows if r and r[0].isdigit()}
    assert list(steps) == QUICK_STEPS
    assert all(int(r[-1]) >= 25 for r in steps.values())
