"""Tests for ser_common.metrics against small hand-computed examples."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ser_common.metrics import evaluate, format_mean_std, pooled, summarize

# y_true has 2 x class 0, 2 x class 1, 1 x class 2; class 3 never occurs.
Y_TRUE = [0, 0, 1, 1, 2]
Y_PRED = [0, 1, 1, 1, 0]


def test_evaluate_hand_computed_example():
    result = evaluate(Y_TRUE, Y_PRED, n_classes=4)
    assert result["wa"] == pytest.approx(3 / 5)
    # recalls 1/2, 2/2, 0/1 over the three classes present in y_true
    assert result["ua"] == pytest.approx((0.5 + 1.0 + 0.0) / 3)
    # F1: class 0 P=1/2 R=1/2 -> 0.5; class 1 P=2/3 R=1 -> 0.8; class 2 -> 0
    assert result["macro_f1"] == pytest.approx((0.5 + 0.8 + 0.0) / 3)
    assert result["weighted_f1"] == pytest.approx((2 * 0.5 + 2 * 0.8 + 1 * 0.0) / 5)
    assert result["micro_f1"] == pytest.approx(result["wa"])
    assert result["confusion"] == [[1, 1, 0, 0], [0, 2, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]]
    assert result["per_class_recall"][:3] == pytest.approx([0.5, 1.0, 0.0])
    assert math.isnan(result["per_class_recall"][3])
    assert result["n_samples"] == 5


def test_ua_ignores_classes_absent_from_y_true_but_counts_wrong_predictions_of_them():
    # Class 2 is absent from y_true but predicted once: that costs recall of class 1 only.
    result = evaluate([0, 0, 1, 1], [0, 0, 1, 2], n_classes=3)
    assert result["ua"] == pytest.approx((1.0 + 0.5) / 2)
    assert math.isnan(result["per_class_recall"][2])


def test_perfect_and_balanced_cases():
    perfect = evaluate([0, 1, 2, 2], [0, 1, 2, 2], 3)
    assert perfect["wa"] == perfect["ua"] == perfect["macro_f1"] == 1.0
    # On a balanced test set UA equals WA (CkTIM's case).
    balanced = evaluate([0, 0, 1, 1], [0, 1, 1, 1], 2)
    assert balanced["ua"] == pytest.approx(balanced["wa"]) == pytest.approx(0.75)


def test_values_are_plain_python_and_json_serialisable():
    result = evaluate(np.array(Y_TRUE, dtype=np.int32), np.array(Y_PRED, dtype=np.int64), np.int64(4))
    for key in ("wa", "ua", "macro_f1", "micro_f1", "weighted_f1"):
        assert type(result[key]) is float
    assert all(type(value) is int for row in result["confusion"] for value in row)
    json.dumps(result)  # NaN recall is allowed by Python's json (results.py stores it as null)


@pytest.mark.parametrize(
    ("y_true", "y_pred", "n_classes", "message"),
    [
        ([0, 1], [0], 2, "y_true has 2 entries but y_pred has 1"),
        ([0, 3], [0, 1], 3, "y_true holds class indices 0…3"),
        ([0.0, 1.0], [0, 1], 2, "argmax"),
        ([], [], 2, "empty"),
        ([0, 1], [0, 1], 1, "n_classes"),
        ([[0, 1]], [[0, 1]], 2, "1-D"),
    ],
)
def test_evaluate_rejects_bad_input(y_true, y_pred, n_classes, message):
    with pytest.raises(ValueError, match=message):
        evaluate(y_true, y_pred, n_classes)


def test_summarize_mean_std_min_max_n():
    folds = [{"ua": 0.5, "wa": 0.6}, {"ua": 0.7, "wa": 0.8}, {"ua": 0.9, "wa": 0.7}]
    summary = summarize(folds, keys=("ua", "wa"))
    assert summary["ua"]["mean"] == pytest.approx(0.7)
    # population std: sqrt(((-0.2)^2 + 0 + 0.2^2) / 3)
    assert summary["ua"]["std"] == pytest.approx(math.sqrt(0.08 / 3))
    assert summary["ua"]["min"] == pytest.approx(0.5) and summary["ua"]["max"] == pytest.approx(0.9)
    assert summary["ua"]["n"] == 3
    assert summarize(folds, keys=("ua",), ddof=1)["ua"]["std"] == pytest.approx(0.2)
    assert math.isnan(summarize(folds[:1], keys=("ua",), ddof=1)["ua"]["std"])


def test_summarize_default_keys_and_errors():
    fold_metrics = [evaluate(Y_TRUE, Y_PRED, 4), evaluate([0, 1, 2], [0, 1, 2], 4)]
    summary = summarize(fold_metrics)
    assert set(summary) == {"ua", "wa", "macro_f1", "micro_f1", "weighted_f1"}
    assert summary["wa"]["mean"] == pytest.approx((0.6 + 1.0) / 2)
    with pytest.raises(KeyError, match="fold_metrics\\[1\\] has no 'ua'"):
        summarize([{"ua": 0.5}, {"wa": 0.5}], keys=("ua",))
    with pytest.raises(ValueError, match="empty"):
        summarize([])
    with pytest.raises(ValueError, match="not a finite number"):
        summarize([{"ua": float("nan")}], keys=("ua",))
    with pytest.raises(TypeError, match="single string"):
        summarize([{"ua": 0.5}], keys="ua")


def test_pooled_differs_from_fold_average():
    # fold A: 1 utterance, correct; fold B: 3 utterances, 1 correct.
    y_true = [[0], [0, 1, 1]]
    y_pred = [[0], [0, 0, 0]]
    result = pooled(y_true, y_pred, 2)
    assert result["wa"] == pytest.approx(2 / 4)
    assert result["ua"] == pytest.approx((2 / 2 + 0 / 2) / 2)
    fold_mean = np.mean([evaluate(t, p, 2)["wa"] for t, p in zip(y_true, y_pred)])
    assert fold_mean == pytest.approx((1.0 + 1 / 3) / 2)
    assert result["wa"] != pytest.approx(fold_mean)
    with pytest.raises(ValueError, match="2 folds of y_true but 1 folds of y_pred"):
        pooled(y_true, y_pred[:1], 2)
    with pytest.raises(ValueError, match="fold 1"):
        pooled(y_true, [[0], [0]], 2)


def test_format_mean_std():
    summary = {"ua": {"mean": 0.8919, "std": 0.02314, "min": 0.8, "max": 0.95, "n": 10}}
    assert format_mean_std(summary, "ua") == "89.19 ± 2.31"
    assert format_mean_std(summary, "ua", scale=1, digits=3) == "0.892 ± 0.023"
    with pytest.raises(KeyError, match="summary has no 'wa'"):
        format_mean_std(summary, "wa")
