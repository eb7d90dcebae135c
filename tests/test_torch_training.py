"""Tests for ser_common.torch_training on tiny in-memory problems (a few ms per epoch)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from ser_common.torch_training import fit, pick_device, predict, predict_logits, seed_everything
from ser_common.training import FitResult

HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "val_ua", "lr", "time_s")


pytestmark = pytest.mark.usefixtures("torch_single_thread")


def _data(n: int = 64, seed: int = 0, flip_labels: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian blobs in 6-D; ``flip_labels`` swaps the classes (so learning hurts)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.normal(size=(n, 6)).astype(np.float32) + 1.5 * (2 * y[:, None] - 1)
    return x, (1 - y) if flip_labels else y


def _model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 2))


def _fit(model: nn.Module, *args, lr: float = 0.05, **kwargs) -> FitResult:
    """``fit`` with an Adam optimiser built on ``model`` (unless one is passed)."""
    kwargs.setdefault("optimizer", torch.optim.Adam(model.parameters(), lr=lr))
    return fit(model, *args, **kwargs)


def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


def _same_state(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_fit_returns_shared_history_format():
    result = _fit(_model(), _data(), _data(32, seed=1), epochs=3, batch_size=16,
                 progress=False, seed=0)
    assert isinstance(result, FitResult)
    assert set(result.history) == set(HISTORY_KEYS)
    assert all(len(values) == 3 for values in result.history.values())
    assert all(isinstance(v, float) and math.isfinite(v) for values in result.history.values() for v in values)
    assert (result.selected_epoch, result.selection, result.stopped_early) == (3, "last", False)
    assert result.history["val_accuracy"][-1] > 0.8  # separable blobs: it actually learns
    assert all(0.0 <= v <= 1.0 for v in result.history["val_ua"])


def test_fit_without_validation_has_training_keys_only():
    result = _fit(_model(), _data(), epochs=2, batch_size=16, progress=False)
    assert set(result.history) == {"loss", "accuracy", "lr", "time_s"}


def test_monitor_restores_the_best_epoch_weights():
    # Validation labels are flipped, so training makes val_loss worse: the best epoch is early.
    model = _model()
    snapshots = []
    result = _fit(model, _data(), _data(32, seed=1, flip_labels=True), epochs=5, batch_size=16,
                 monitor="val_loss", progress=False, seed=0,
                 on_epoch_end=lambda epoch, record: snapshots.append(_snapshot(model)))
    val_loss = result.history["val_loss"]
    best = len(val_loss) - int(np.argmin(val_loss[::-1]))  # 1-based; ties go to the later epoch
    assert result.selection == "best:val_loss"
    assert result.selected_epoch == best < 5
    assert _same_state(_snapshot(model), snapshots[best - 1])
    assert not _same_state(_snapshot(model), snapshots[-1])


def test_early_stopping_stops_after_patience_epochs_without_improvement():
    result = _fit(_model(), _data(), _data(32, seed=1, flip_labels=True), epochs=30, batch_size=16,
                 monitor="val_loss", patience=2, progress=False, seed=0)
    assert result.stopped_early
    assert result.epochs_run == result.selected_epoch + 2 < 30


def test_seeded_runs_are_reproducible():
    runs = []
    for _ in range(2):
        model = _model(seed=5)
        result = _fit(model, _data(), _data(32, seed=1), epochs=3, batch_size=16,
                     progress=False, seed=7)
        runs.append((result.history["loss"], result.history["val_loss"], _snapshot(model)))
    assert runs[0][0] == runs[1][0] and runs[0][1] == runs[1][1]
    assert _same_state(runs[0][2], runs[1][2])
    other = _model(seed=5)
    _fit(other, _data(), epochs=3, batch_size=16, progress=False, seed=8)
    assert not _same_state(runs[0][2], _snapshot(other))  # a different seed gives a different run


def test_reduce_on_plateau_is_stepped_on_val_loss_and_lr_is_recorded():
    model = _model()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    result = fit(model, _data(), _data(32, seed=1, flip_labels=True), epochs=4, batch_size=16, optimizer=optimizer,
                 progress=False, seed=0,
                 lr_schedule=torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=0))
    lrs = result.history["lr"]
    assert lrs[0] == pytest.approx(0.05)
    assert lrs[-1] < lrs[0]  # val_loss keeps rising, so the LR was cut


def test_a_torch_scheduler_instance_is_stepped_after_each_epoch():
    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.1)
    result = _fit(model, _data(), epochs=2, batch_size=32, optimizer=optimizer, lr_schedule=scheduler, progress=False)
    assert result.history["lr"] == pytest.approx([0.1, 0.01])


def test_batch_transform_sees_every_training_batch_and_soft_targets_work():
    calls = []

    def to_soft_targets(x, y):
        calls.append(len(x))
        return x, nn.functional.one_hot(y, 2).float() * 0.9 + 0.05

    result = _fit(_model(), _data(40), epochs=2, batch_size=16,
                 batch_transform=to_soft_targets, progress=False, seed=0)
    assert calls == [16, 16, 8] * 2
    assert result.history["accuracy"][-1] > 0.5


def test_label_smoothing_changes_the_training_loss():
    plain = _fit(_model(), _data(), epochs=1, batch_size=16, progress=False, seed=0)
    smooth = _fit(_model(), _data(), epochs=1, batch_size=16, progress=False, seed=0,
                 label_smoothing=0.3)
    assert smooth.history["loss"][0] != pytest.approx(plain.history["loss"][0])


def test_one_hot_labels_are_accepted():
    x, y = _data()
    result = _fit(_model(), (x, np.eye(2)[y]), epochs=1, batch_size=16, progress=False)
    assert result.epochs_run == 1


def test_fit_argument_errors_are_clear():
    with pytest.raises(TypeError, match="optimizer"):
        fit(_model(), _data(), epochs=1, batch_size=8, progress=False)
    with pytest.raises(ValueError, match="validation"):
        _fit(_model(), _data(), epochs=1, batch_size=8, monitor="val_ua")
    with pytest.raises(ValueError, match="batch_size"):
        _fit(_model(), _data(), epochs=1, batch_size=0)
    x, y = _data()
    with pytest.raises(ValueError, match="as many inputs as class indices"):
        _fit(_model(), (x, y[:-1]), epochs=1, batch_size=8)


def test_monitor_callable_and_evaluate_hook_over_groups():
    # Validation rows come in pairs (two segments of one utterance): score the utterances.
    groups = np.repeat(np.arange(16), 2)
    x_val, y_val = _data(32, seed=1)
    y_val = np.repeat(y_val[::2], 2)

    def per_utterance(logits, y):
        mean = np.stack([logits[groups == g].mean(axis=0) for g in range(16)])
        return {"utterance_accuracy": float(np.mean(mean.argmax(1) == y[::2])), "n_utterances": 16}

    def balanced(metrics):
        return metrics["val_utterance_accuracy"] - 0.01 * metrics["loss"]

    model = _model()
    snapshots = []
    result = _fit(model, _data(), (x_val, y_val), epochs=4, batch_size=16, evaluate=per_utterance, monitor=balanced,
                  progress=False, seed=0, on_epoch_end=lambda epoch, record: snapshots.append(_snapshot(model)))
    assert result.history["val_n_utterances"] == [16.0] * 4 and "val_loss" not in result.history
    expected = [a - 0.01 * b for a, b in zip(result.history["val_utterance_accuracy"], result.history["loss"])]
    assert result.history["monitor"] == pytest.approx(expected)
    best = len(expected) - int(np.argmax(expected[::-1]))
    assert result.selected_epoch == best and result.selection == "best:balanced"
    assert _same_state(_snapshot(model), snapshots[best - 1])


def test_lr_schedule_function_sets_the_rate_of_every_epoch():
    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    result = fit(model, _data(), epochs=3, batch_size=32, optimizer=optimizer, lr_schedule=lambda e: 0.1 / (e + 1),
                 progress=False)
    assert result.history["lr"] == pytest.approx([0.1, 0.05, 0.1 / 3])
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1 / 3)


def test_loss_callable_replaces_cross_entropy():
    seen = []

    def hinge(logits, targets):
        seen.append(tuple(logits.shape))
        return nn.functional.multi_margin_loss(logits, targets)

    result = _fit(_model(), _data(40), epochs=1, batch_size=16, loss=hinge, progress=False, seed=0)
    assert seen == [(16, 2), (16, 2), (8, 2)]
    # the recorded loss is the mean of the callable's values, weighted by batch size
    assert 0 <= result.history["loss"][0] < 2


def test_patience_without_validation_data_on_a_training_key():
    result = _fit(_model(), _data(), epochs=10, batch_size=16, lr=0.0, monitor="accuracy", patience=1,
                  progress=False, seed=0)
    assert result.stopped_early and result.epochs_run < 10


def test_predict_logits_and_predict_in_eval_mode():
    model = _model()
    model.train()
    x = _data(10)[0]
    logits = predict_logits(model, x, batch_size=3)
    assert logits.shape == (10, 2) and logits.dtype == np.float32
    assert model.training  # mode restored
    assert np.allclose(logits, predict_logits(model, x, batch_size=256), atol=1e-6)  # eval: no dropout, no batch stats
    assert np.array_equal(predict(model, x), logits.argmax(axis=1))


def test_pick_device():
    assert pick_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="'cuda' is not available"):
            pick_device("cuda")
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            assert pick_device() == torch.device("cpu")
    with pytest.raises(ValueError, match="not a device name"):
        pick_device("gpu0")


def test_seed_everything_repeats_random_streams():
    seed_everything(3)
    first = (np.random.rand(), torch.rand(2))
    seed_everything(3)
    second = (np.random.rand(), torch.rand(2))
    assert first[0] == second[0] and torch.equal(first[1], second[1])
    with pytest.raises(ValueError, match="seed"):
        seed_everything("3")
