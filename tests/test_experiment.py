"""The shared cross-validation loop: records each fold at once, resumes, refuses bad predictions."""

import numpy as np
import pytest

from ser_common import results, splits
from ser_common.experiment import FoldOutcome, rename_history, run_folds
from ser_common.training import FitResult


def _setup(tmp_path, **params):
    y = np.repeat(np.arange(3), 10)
    folds = splits.kfold_speaker_dependent(y, n_splits=5, seed=0, val_fraction=0.0)
    run = results.RunResults.open(tmp_path / "run.json", notebook="test", paper="tim_net", dataset="synthetic",
                                  protocol="paper_10fold", params={"epochs": 1, **params}, seed=0,
                                  class_names=["a", "b", "c"])
    return y, folds, run


def test_records_every_fold_with_metrics_history_and_predictions(tmp_path):
    y, folds, run = _setup(tmp_path)
    seen = []

    def train_fold(fold):
        seen.append(fold.index)
        fit = FitResult(history={"loss": [1.0, 0.5], "val_accuracy": [0.2, 0.4], "time_s": [0.1, 0.1]},
                        selected_epoch=2)
        return FoldOutcome(y_pred=y[fold.test], fit=fit, history_prefix_renames={"val_": "test_"})

    run_folds(folds, y, train_fold, run, n_classes=3, log=lambda line: None)
    assert seen == [0, 1, 2, 3, 4] and run.completed_folds == [0, 1, 2, 3, 4]
    stored = results.load_results(run.path)["folds"]["2"]
    assert stored["metrics"]["ua"] == 1.0
    assert stored["history"]["test_accuracy"] == [0.2, 0.4] and "val_accuracy" not in stored["history"]
    assert stored["extra"]["test_index"] == folds[2].test.tolist()
    assert stored["selected_epoch"] == 2


def test_resume_skips_finished_folds(tmp_path):
    y, folds, run = _setup(tmp_path)
    run_folds(folds, y, lambda f: FoldOutcome(y_pred=np.zeros(f.test.size)), run, n_classes=3, max_folds=2,
              log=lambda line: None)
    assert run.completed_folds == [0, 1]
    _, _, again = _setup(tmp_path)  # same parameters: continue
    trained = []
    run_folds(folds, y, lambda f: trained.append(f.index) or FoldOutcome(y_pred=np.zeros(f.test.size)), again,
              n_classes=3, log=lambda line: None)
    assert trained == [2, 3, 4] and again.completed_folds == [0, 1, 2, 3, 4]
    with pytest.raises(results.ResultsMismatchError, match="epochs"):
        _setup(tmp_path, epochs=2)


def test_wrong_number_of_predictions_is_an_error(tmp_path):
    y, folds, run = _setup(tmp_path)
    with pytest.raises(ValueError, match="predictions for"):
        run_folds(folds, y, lambda f: FoldOutcome(y_pred=np.zeros(3)), run, n_classes=3, log=lambda line: None)
    assert run.completed_folds == []


def test_rename_history():
    assert rename_history({"val_loss": [1], "loss": [2]}, {"val_": "test_"}) == {"test_loss": [1], "loss": [2]}


@pytest.mark.parametrize("protocol", sorted(splits.PROTOCOLS))
def test_make_folds_for_every_named_protocol(protocol):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, size=120)
    speakers = np.repeat([f"s{i}" for i in range(6)], 20)
    folds = splits.make_folds(protocol, y, speakers, n_splits=10, seed=1)
    splits.check_folds(folds, len(y), speakers if protocol == "speaker_independent" else None)
    if protocol == "paper_10fold":
        assert len(folds) == 10 and all(f.val.size == 0 for f in folds)
    elif protocol == "speaker_independent":
        assert len(folds) == 6  # leave-one-speaker-out when folds >= speakers
        assert all(f.val.size > 0 for f in folds)
    elif protocol == "holdout_811":
        assert len(folds) == 1
    else:
        assert len(folds) == 10 and all(f.val.size > 0 for f in folds)


def test_make_folds_errors():
    with pytest.raises(ValueError, match="unknown protocol"):
        splits.make_folds("random", np.zeros(10))
    with pytest.raises(ValueError, match="needs the speaker"):
        splits.make_folds("speaker_independent", np.zeros(10))
