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


def test_two_runs_on_the_same_folds_get_a_paired_test_and_other_folds_do_not(tmp_path):
    from scipy.stats import wilcoxon

    perfect, one_wrong, two_wrong = [0, 0, 1, 1], [0, 1, 1, 1], [1, 1, 1, 1]
    first = _run(tmp_path / "a.json", [perfect] * 5)
    second = _run(tmp_path / "b.json", [one_wrong, perfect, two_wrong, one_wrong, one_wrong], variants=["x"])
    done = _compare(first, second)
    expected_p = wilcoxon([-0.25, -0.5, -0.25, -0.25]).pvalue  # the zero difference of fold 2 is dropped
    assert f"ua  -25.00 points, second better in 0 of 5 folds, p = {expected_p:.3f}" in done.stdout, done.stdout
    assert "DIFFERENT: variants" in done.stdout and done.returncode == 1
    better = _compare(second, first)
    assert "+25.00 points, second better in 4 of 5 folds" in better.stdout, better.stdout
    other_folds = _run(tmp_path / "c.json", [perfect] * 5, folds_fingerprint="def")
    assert "no paired test: the two runs were not made on the same folds" in _compare(first, other_folds).stdout
