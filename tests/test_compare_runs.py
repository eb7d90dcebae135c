"""tools/compare_runs.py: a re-run is called reproduced only with the same identity and close per-fold metrics."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ser_common.metrics import evaluate
from ser_common.results import RunResults

REPO = Path(__file__).resolve().parents[1]
SETTINGS = dict(notebook="02_cktim_net", paper="cktim_net", dataset="emodb", protocol="stratified_10fold", seed=46,
                class_names=["a", "b"])


def _run(path: Path, predictions: list[list[int]], **params) -> Path:
    run = RunResults.open(path, params={"epochs": 3, "folds_fingerprint": "abc", "threads": 1, **params}, **SETTINGS)
    for index, y_pred in enumerate(predictions):
        run.add_fold(index, metrics=evaluate([0, 0, 1, 1], y_pred, 2), wall_time_s=1.0)
    return path


def _compare(a: Path, b: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "tools" / "compare_runs.py"), str(a), str(b)],
                          capture_output=True, text=True, cwd=REPO)


def test_an_identical_rerun_is_reproduced_even_with_other_threads(tmp_path):
    committed = _run(tmp_path / "a.json", [[0, 0, 1, 1], [0, 1, 1, 1]])
    rerun = _run(tmp_path / "b.json", [[0, 0, 1, 1], [0, 1, 1, 1]], threads=2)
    done = _compare(committed, rerun)
    assert done.returncode == 0, done.stdout
    assert "identity: the same" in done.stdout and "reproduced" in done.stdout


def test_other_metrics_or_another_identity_are_not_reproduced(tmp_path):
    committed = _run(tmp_path / "a.json", [[0, 0, 1, 1]])
    worse = _compare(committed, _run(tmp_path / "b.json", [[0, 1, 1, 1]]))
    assert worse.returncode == 1 and "NOT reproduced" in worse.stdout and "-25.00" in worse.stdout
    other = _compare(committed, _run(tmp_path / "c.json", [[0, 0, 1, 1]], epochs=4))
    assert other.returncode == 1 and "DIFFERENT: epochs" in other.stdout
