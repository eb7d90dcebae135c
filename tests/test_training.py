"""ser_common.training: the epoch loop both training helpers share, with scripted epochs (no framework).

``epoch_loop`` is driven here by fake epochs whose validation outputs are scripted, so each
test states exactly which epoch must be selected, when training must stop and which
learning rate each epoch gets. The framework-specific tests are in test_torch_training.py
and test_keras_training.py; the last test checks that both ``fit`` functions take the same
arguments.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from ser_common.training import (SELECTIONS, FitResult, check_fit_arguments, class_data, classification_scores,
                                 epoch_loop, logit_scores, monitor_name, predict_in_batches, train_batches)

Y_VAL = np.array([0, 0, 1, 1])


def scripted(accuracies, losses=None):
    """Fake epochs: epoch e predicts the validation set with accuracy ``accuracies[e]``."""
    state = {"epoch": -1, "weights": None, "lrs": []}

    def train_epoch(epoch):
        state["epoch"] = epoch
        state["weights"] = f"weights after epoch {epoch + 1}"
        return (losses[epoch] if losses else 1.0 / (epoch + 1)), 0.5

    def predict_val():
        hits = round(accuracies[state["epoch"]] * len(Y_VAL))
        predicted = np.where(np.arange(len(Y_VAL)) < hits, Y_VAL, 1 - Y_VAL)
        return np.log(np.eye(2)[predicted] * 0.98 + 0.01)

    def restore(weights):
        state["weights"] = weights

    kwargs = dict(train_epoch=train_epoch, validate=lambda: classification_scores(predict_val(), Y_VAL),
                  get_lr=lambda: state["lrs"][-1] if state["lrs"] else 0.1, set_lr=state["lrs"].append,
                  snapshot=lambda: state["weights"], restore=restore, progress=False,
                  description="test", on_epoch_end=None, lr_schedule=None, patience=None, monitor=None)
    state["predict_val"] = predict_val
    return state, kwargs


def test_no_monitor_keeps_the_last_epoch():
    state, kwargs = scripted([0.5, 1.0, 0.75])
    result = epoch_loop(epochs=3, **kwargs)
    assert isinstance(result, FitResult)
    assert (result.selected_epoch, result.selection, result.stopped_early, result.epochs_run) == (3, "last", False, 3)
    assert state["weights"] == "weights after epoch 3"
    assert result.history["val_accuracy"] == [0.5, 1.0, 0.75]
    assert set(result.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "val_ua", "lr", "time_s"}
    assert len(result.epoch_times) == 3


def test_monitor_as_a_history_key_restores_the_best_epoch_and_later_ties_win():
    state, kwargs = scripted([0.5, 1.0, 0.75, 1.0, 0.5])
    result = epoch_loop(epochs=5, **{**kwargs, "monitor": "val_accuracy"})
    assert result.selected_epoch == 4 and result.selection == "best:val_accuracy"
    assert state["weights"] == "weights after epoch 4"
    # a key ending in "loss" is minimised
    state, kwargs = scripted([0.5] * 4, losses=[3.0, 1.0, 2.0, 4.0])
    result = epoch_loop(epochs=4, **{**kwargs, "monitor": "loss"})
    assert result.selected_epoch == 2 and state["weights"] == "weights after epoch 2"


def test_monitor_as_a_callable_over_the_metrics_is_maximised_and_recorded():
    def mean_of_wa_and_ua(metrics):
        return (metrics["val_accuracy"] + metrics["val_ua"]) / 2

    state, kwargs = scripted([0.25, 0.75, 0.5])
    result = epoch_loop(epochs=3, **{**kwargs, "monitor": mean_of_wa_and_ua})
    assert result.history["monitor"] == [0.25, 0.75, 0.5]
    assert result.selected_epoch == 2 and result.selection == "best:mean_of_wa_and_ua"
    assert monitor_name(mean_of_wa_and_ua) == "mean_of_wa_and_ua" and monitor_name("val_ua") == "val_ua"


def test_validate_hook_defines_the_validation_metrics():
    calls = []

    def per_group(outputs, y):  # e.g. segments averaged per utterance before scoring
        calls.append((outputs.shape, y.tolist()))
        return {"utterance_accuracy": float(np.mean(outputs.argmax(1) == y)), "groups": 2}

    def scripted_per_group(accuracies):
        state, kwargs = scripted(accuracies)
        return state, {**kwargs, "validate": lambda: per_group(state["predict_val"](), Y_VAL)}

    state, kwargs = scripted_per_group([0.5, 1.0])
    result = epoch_loop(epochs=2, **{**kwargs, "monitor": "val_utterance_accuracy"})
    assert calls == [((4, 2), [0, 0, 1, 1])] * 2
    assert result.history["val_utterance_accuracy"] == [0.5, 1.0] and result.history["val_groups"] == [2.0, 2.0]
    assert "val_loss" not in result.history and result.selected_epoch == 2
    with pytest.raises(KeyError, match="monitor 'val_ua' is not among"):
        epoch_loop(epochs=1, **{**scripted_per_group([1.0])[1], "monitor": "val_ua"})


def test_patience_stops_after_that_many_epochs_without_strict_improvement():
    # Epoch 2 is best; 3 only ties it (no new patience), 4 and 5 are worse: stop after epoch 4.
    state, kwargs = scripted([0.5, 1.0, 1.0, 0.75, 0.5, 1.0, 1.0])
    result = epoch_loop(epochs=7, **{**kwargs, "monitor": "val_accuracy", "patience": 2})
    assert result.stopped_early and result.epochs_run == 4
    assert result.selected_epoch == 3 and state["weights"] == "weights after epoch 3"  # the later tie is kept


def test_lr_schedule_sets_each_epochs_rate_before_it_runs_and_on_epoch_end_sees_the_record():
    records = []
    state, kwargs = scripted([0.5] * 4)
    result = epoch_loop(epochs=4, **{**kwargs, "lr_schedule": lambda epoch: 0.1 * 0.5**epoch,
                                     "on_epoch_end": lambda epoch, record: records.append((epoch, record))})
    assert result.history["lr"] == pytest.approx([0.1, 0.05, 0.025, 0.0125])
    assert [record["lr"] for _, record in records] == result.history["lr"]
    assert [epoch for epoch, _ in records] == [1, 2, 3, 4]


def test_non_finite_monitor_values_are_never_selected():
    state, kwargs = scripted([0.5, 0.5, 0.5], losses=[2.0, float("nan"), 3.0])
    result = epoch_loop(epochs=3, **{**kwargs, "monitor": "loss"})
    assert result.selected_epoch == 1


def test_check_fit_arguments():
    check_fit_arguments(1, 1, None, None, has_val=False)
    check_fit_arguments(5, 8, lambda m: 0.0, 2, has_val=True)
    for epochs, batch_size in ((0, 8), (True, 8), (2.5, 8), (5, 0)):
        with pytest.raises(ValueError, match="must be a positive integer"):
            check_fit_arguments(epochs, batch_size, None, None, has_val=False)
    with pytest.raises(ValueError, match="needs validation data"):
        check_fit_arguments(1, 1, "val_ua", None, has_val=False)
    with pytest.raises(ValueError, match="needs validation data"):
        check_fit_arguments(1, 1, lambda m: 0.0, None, has_val=False)
    check_fit_arguments(1, 1, "loss", 1, has_val=False)  # a training key needs no validation data
    with pytest.raises(TypeError, match="monitor must be"):
        check_fit_arguments(1, 1, 3, None, has_val=True)
    with pytest.raises(ValueError, match="patience"):
        check_fit_arguments(1, 1, None, 3, has_val=True)
    with pytest.raises(ValueError, match="patience"):
        check_fit_arguments(1, 1, "val_ua", 0, has_val=True)


def test_classification_scores_and_selection_names():
    log_probabilities = np.log(np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]]))
    scores = classification_scores(log_probabilities, np.array([0, 1, 1, 1]))
    assert scores["accuracy"] == 0.75 and scores["ua"] == pytest.approx((1.0 + 2 / 3) / 2)
    assert scores["loss"] == pytest.approx(-np.mean(np.log([0.9, 0.8, 0.4, 0.7])))
    assert set(SELECTIONS) == {"last", "best_val", "best_test_leaky"} and "LEAKY" in SELECTIONS["best_test_leaky"]


def test_logit_scores_match_the_scores_of_the_softmax():
    logits = np.array([[2.0, 0.0], [0.5, 1.5], [800.0, -800.0]])
    probabilities = np.exp(logits - logits.max(1, keepdims=True))
    probabilities /= probabilities.sum(1, keepdims=True)
    y = np.array([0, 1, 1])
    expected = classification_scores(np.log(np.clip(probabilities, 1e-300, 1)), y)
    scores = logit_scores(logits, y)
    assert scores["accuracy"] == expected["accuracy"] and scores["ua"] == expected["ua"]
    assert scores["loss"] == pytest.approx((np.log1p(np.exp(-2.0)) + np.log1p(np.exp(-1.0)) + 1600.0) / 3)


def test_class_data_checks_and_converts_both_frameworks_data():
    x, y = class_data(([[0], [1], [2]], np.eye(3)[[2, 0, 1]]), "train", n_classes=3)  # one-hot rows
    assert x.dtype == np.float32 and y.dtype == np.int64 and y.tolist() == [2, 0, 1]
    with pytest.raises(ValueError, match="train must be a tuple"):
        class_data(x, "train")
    with pytest.raises(ValueError, match=r"val: need as many inputs as class indices .* X \(3, 1\) and y \(2,\)"):
        class_data((x, y[:2]), "val")
    with pytest.raises(ValueError, match=r"val labels must be class indices in \[0, 3\), got \[1, 3\]"):
        class_data((x, y + 1), "val", n_classes=3)
    with pytest.raises(ValueError, match="labels must be class indices"):
        class_data((x, y - 1), "train")


def test_train_batches_steps_through_the_order_and_averages_per_example():
    x, y = np.arange(5.0) * 10, np.array([0, 1, 0, 1, 1])
    seen = []

    def step(inputs, targets):
        seen.append((inputs.tolist(), targets.tolist()))
        return float(len(inputs)), 1  # a batch's mean loss = its size; one hit per batch

    def double(inputs, targets):
        return inputs * 2, targets

    loss, accuracy = train_batches(x, y, np.array([4, 3, 2, 1, 0]), 2, double, step)
    assert seen == [([80.0, 60.0], [1, 1]), ([40.0, 20.0], [0, 1]), ([0.0], [0])]
    assert loss == pytest.approx((2 * 2 + 2 * 2 + 1 * 1) / 5) and accuracy == pytest.approx(3 / 5)


def test_predict_in_batches_joins_the_batch_outputs_as_float32():
    sizes = []

    def predict(batch):
        sizes.append(len(batch))
        return batch * 2

    outputs = predict_in_batches(predict, np.arange(5.0).reshape(5, 1), 2)
    assert sizes == [2, 2, 1] and outputs.dtype == np.float32 and outputs.ravel().tolist() == [0, 2, 4, 6, 8]


def test_both_fit_functions_take_the_same_common_arguments():
    pytest.importorskip("torch")
    pytest.importorskip("keras")
    from ser_common import keras_training, torch_training

    keras_parameters = inspect.signature(keras_training.fit).parameters
    torch_parameters = inspect.signature(torch_training.fit).parameters
    common = ["model", "train", "val", "epochs", "batch_size", "optimizer", "loss", "label_smoothing", "lr_schedule",
              "evaluate", "monitor", "patience", "batch_transform", "shuffle", "seed", "progress", "description",
              "on_epoch_end"]
    for parameters in (keras_parameters, torch_parameters):
        assert [name for name in parameters if name in common] == common  # same names, same order
    for name in common:
        k, t = keras_parameters[name], torch_parameters[name]
        assert (k.kind, k.default) == (t.kind, t.default), name
    assert keras_parameters["epochs"].kind is inspect.Parameter.KEYWORD_ONLY
    assert keras_parameters["epochs"].default is inspect.Parameter.empty  # no hidden default
    for old in ("keep_best", "early_stopping_patience", "optimizer_factory", "scheduler", "loss_fn"):
        assert old not in keras_parameters and old not in torch_parameters
