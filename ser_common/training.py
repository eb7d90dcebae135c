"""The epoch loop both training helpers share, and the definitions they report in.

``ser_common.keras_training.fit`` and ``ser_common.torch_training.fit`` take the same
arguments and differ only in how one training step runs and how a batch is predicted.
Everything else, the learning-rate schedule, the validation metrics, model selection,
early stopping, the progress bar and the history, is :func:`epoch_loop` below, written
once, as are the checks of the data (:func:`class_data`) and the loop over an epoch's
batches (:func:`train_batches`). The history is a ``dict[str, list[float]]`` with one
value per epoch:

==================  ==========================================================
``loss``            mean training loss over the epoch, as optimised (with label
                    smoothing, mixup, focal weighting ... when those are used)
``accuracy``        training accuracy over the epoch (train-mode forward pass)
``val_<metric>``    every metric the ``evaluate`` hook returns on the validation
                    data; by default ``val_loss`` (plain cross-entropy), ``val_accuracy``
                    (= WA) and ``val_ua``
``monitor``         the monitored value, when ``monitor`` is a callable
``lr``              learning rate used during the epoch
``time_s``          wall time of the epoch (training + validation)
==================  ==========================================================

Model selection is named the same way in every notebook and results file:

* ``last``: keep the weights of the last epoch (no selection);
* ``best_val``: keep the epoch with the best value of the recipe's *monitor* on a
  validation part carved from the training data; the results file states the monitor;
* ``best_test_leaky``: the same on the **test** fold, which leaks the test data into the
  choice of the epoch; only for reproducing papers that did it, and labelled leaky.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import log_softmax
from tqdm.auto import tqdm

#: What each ``selection`` value means (stated in notebooks and results tables).
SELECTIONS = {
    "last": "the last epoch's weights, no selection",
    "best_val": "the epoch with the best monitored value on a validation part carved from training",
    "best_test_leaky": "the epoch with the best monitored value on the test fold (LEAKY: reproduces a paper)",
}

Monitor = str | Callable[[Mapping[str, float]], float] | None


@dataclass
class FitResult:
    """What a training helper returns.

    Attributes
    ----------
    history : dict[str, list[float]]
        Per-epoch values (keys in the module docstring).
    selected_epoch : int
        1-based number of the epoch whose weights the model holds after ``fit``.
    selection : str
        ``"last"`` or ``"best:<monitor>"``: how ``selected_epoch`` was chosen.
    stopped_early : bool
        True when early stopping ended training before the requested epochs.
    """

    history: dict[str, list[float]] = field(default_factory=dict)
    selected_epoch: int = 0
    selection: str = "last"
    stopped_early: bool = False

    @property
    def epochs_run(self) -> int:
        return len(self.history.get("loss", []))

    @property
    def epoch_times(self) -> list[float]:
        return list(self.history.get("time_s", []))


def monitor_name(monitor: Monitor) -> str | None:
    """A printable name of a monitor: the history key, or the callable's ``__name__``."""
    return monitor if monitor is None or isinstance(monitor, str) else getattr(monitor, "__name__", "monitor")


def classification_scores(log_probabilities: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Cross-entropy, accuracy (= WA) and UA from per-row log-probabilities.

    UA averages recall over the classes present in ``y``.
    """
    y = np.asarray(y, dtype=np.int64)
    predicted = log_probabilities.argmax(axis=1)
    recalls = [np.mean(predicted[y == c] == c) for c in np.unique(y)]
    loss = float(-np.mean(log_probabilities[np.arange(len(y)), y]))
    return {"loss": loss, "accuracy": float(np.mean(predicted == y)), "ua": float(np.mean(recalls))}


def logit_scores(logits: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Cross-entropy, accuracy and UA from logits (log-softmax in float64)."""
    return classification_scores(log_softmax(np.asarray(logits, dtype=np.float64), axis=1), y)


def _better(value: float, best: float | None, *, strict: bool) -> bool:
    """Whether ``value`` beats ``best`` (both signed so that larger is better). Ties count as
    better unless ``strict`` (the later of two equal epochs is kept, but an epoch that only
    ties does not reset early stopping's patience)."""
    return bool(np.isfinite(value)) and (best is None or value > best or (not strict and value == best))


def check_fit_arguments(epochs: int, batch_size: int, monitor: Monitor, patience: int | None, has_val: bool) -> None:
    """Argument checks shared by both frameworks' ``fit``."""
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if monitor is not None:
        if not (callable(monitor) or isinstance(monitor, str)):
            raise TypeError(f"monitor must be a history key, a callable over the metrics dict, or None; got {monitor!r}")
        if not has_val and (callable(monitor) or monitor.startswith("val_")):
            raise ValueError(f"monitor={monitor_name(monitor)!r} needs validation data (pass val=(X, y))")
    if patience is not None and (monitor is None or patience < 1):
        raise ValueError("patience (early stopping) needs a monitor and a positive number of epochs")


def class_data(data: object, name: str, n_classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``data = (X, y)`` as (float32 inputs, int64 class indices); one-hot rows of ``y`` become indices.

    ``name`` ("train", "val") is named in the errors; ``n_classes``, when given, bounds the indices.
    """
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise ValueError(f"{name} must be a tuple (X, y)")
    x, y = np.asarray(data[0], dtype=np.float32), np.asarray(data[1])
    y = y.argmax(axis=1) if y.ndim == 2 else y
    if y.ndim != 1 or len(x) != len(y) or len(x) == 0:
        raise ValueError(f"{name}: need as many inputs as class indices (or one-hot rows), "
                         f"got X {x.shape} and y {y.shape}")
    if y.min() < 0 or (n_classes is not None and y.max() >= n_classes):
        raise ValueError(f"{name} labels must be class indices in [0, {n_classes or 'n_classes'}), "
                         f"got [{y.min()}, {y.max()}]")
    return x, y.astype(np.int64)


def predict_in_batches(predict: Callable[[Any], Any], x: Any, batch_size: int) -> np.ndarray:
    """``predict`` on consecutive batches of ``x`` (an array or tensor), joined into one float32 array."""
    parts = [np.asarray(predict(x[i : i + batch_size]), dtype=np.float32) for i in range(0, len(x), batch_size)]
    return np.concatenate(parts)


def train_batches(x: Any, y: Any, order: Any, batch_size: int, batch_transform: Callable | None,
                  step: Callable[[Any, Any], tuple[float, float]]) -> tuple[float, float]:
    """One epoch of training steps; returns (mean loss, accuracy) over the epoch.

    ``x``, ``y`` and ``order`` (the row indices in this epoch's order) are NumPy arrays or
    tensors of one framework. Each batch, ``x[index], y[index]`` for the next ``batch_size``
    indices, goes through ``batch_transform`` when given; ``step(inputs, targets)`` trains on
    it and returns the batch's mean loss and its number of correct predictions.
    """
    loss_sum, hits = 0.0, 0.0
    for begin in range(0, len(order), batch_size):
        index = order[begin : begin + batch_size]
        inputs, targets = x[index], y[index]
        if batch_transform is not None:
            inputs, targets = batch_transform(inputs, targets)
        loss, correct = step(inputs, targets)
        loss_sum += float(loss) * len(index)
        hits += float(correct)
    return loss_sum / len(order), hits / len(order)


def epoch_loop(
    *,
    epochs: int,
    train_epoch: Callable[[int], tuple[float, float]],
    validate: Callable[[], Mapping[str, float]] | None,
    monitor: Monitor,
    patience: int | None,
    lr_schedule: Callable[[int], float] | None,
    get_lr: Callable[[], float],
    set_lr: Callable[[float], None],
    snapshot: Callable[[], object],
    restore: Callable[[object], None],
    progress: bool,
    description: str,
    on_epoch_end: Callable[[int, dict[str, float]], None] | None,
) -> FitResult:
    """Run ``epochs`` epochs and select the weights to keep (see the module docstring).

    ``train_epoch(epoch)`` runs one epoch's training steps and returns (mean loss,
    accuracy); ``validate()`` returns the metrics on the validation data (stored as
    ``val_<metric>``; None: no validation data); ``lr_schedule(epoch)`` (0-based)
    gives the learning rate of each epoch; ``on_epoch_end(epoch, record)`` runs after each
    epoch's record is complete (a framework scheduler steps there); ``snapshot()`` /
    ``restore(state)`` copy and put back the weights.
    """
    history: dict[str, list[float]] = {}
    sign = -1.0 if isinstance(monitor, str) and monitor.endswith("loss") else 1.0  # loss keys are minimised
    best_value, best_epoch, best_state, waited = None, 0, None, 0
    bar = tqdm(range(1, epochs + 1), desc=description, disable=not progress, unit="epoch")
    for epoch in bar:
        start = time.perf_counter()
        if lr_schedule is not None:
            set_lr(float(lr_schedule(epoch - 1)))
        record = {"lr": float(get_lr())}
        record["loss"], record["accuracy"] = train_epoch(epoch - 1)
        if validate is not None:
            record.update({f"val_{key}": float(value) for key, value in validate().items()})
        if callable(monitor):
            record["monitor"] = float(monitor(record))
        record["time_s"] = time.perf_counter() - start
        for key, value in record.items():
            history.setdefault(key, []).append(value)
        shown = {key: f"{record[key]:.3f}" for key in ("loss", "accuracy", "val_loss", "val_accuracy", "val_ua", "monitor")
                 if key in record}
        bar.set_postfix(shown)
        if not progress and (epoch == 1 or epoch == epochs or epoch % max(1, epochs // 10) == 0):
            # Without a bar (batch runs), a line every tenth of the run keeps the training visible.
            print(f"{description}: epoch {epoch}/{epochs}  " + "  ".join(f"{k} {v}" for k, v in shown.items())
                  + f"  ({record['time_s']:.2f} s)", flush=True)
        if on_epoch_end is not None:
            on_epoch_end(epoch, record)
        if monitor is None:
            continue
        key = "monitor" if callable(monitor) else monitor
        if key not in record:
            raise KeyError(f"monitor {key!r} is not among this epoch's metrics {sorted(record)}")
        value = sign * record[key]
        waited = 0 if _better(value, best_value, strict=True) else waited + 1
        if _better(value, best_value, strict=False):
            best_value, best_epoch, best_state = value, epoch, snapshot()
        if patience is not None and waited >= patience:
            break  # early stopping
    bar.close()
    if best_state is not None:
        restore(best_state)
    epochs_run = len(history["loss"])
    selection = "last" if monitor is None else f"best:{monitor_name(monitor)}"
    return FitResult(history=history, selected_epoch=best_epoch if best_state is not None else epochs_run,
                     selection=selection, stopped_early=epochs_run < epochs)
