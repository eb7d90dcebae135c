"""The epoch loop both training helpers share, and the definitions they report in.

``ser_common.keras_training.fit`` and ``ser_common.torch_training.fit`` take the same
arguments and differ only in how one epoch of training steps runs and how a batch is
predicted. Everything else, the learning-rate schedule, the validation metrics, model
selection, early stopping, the progress bar and the history, is :func:`epoch_loop` below,
written once. Its history is a ``dict[str, list[float]]`` with one value per epoch:

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

import numpy as np
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
    if monitor is None or isinstance(monitor, str):
        return monitor
    return getattr(monitor, "__name__", "monitor")


def classification_scores(log_probabilities: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Cross-entropy, accuracy (= WA) and UA from per-row log-probabilities.

    UA averages recall over the classes present in ``y``.
    """
    y = np.asarray(y, dtype=np.int64)
    predicted = log_probabilities.argmax(axis=1)
    recalls = [np.mean(predicted[y == c] == c) for c in np.unique(y)]
    return {
        "loss": float(-np.mean(log_probabilities[np.arange(len(y)), y])),
        "accuracy": float(np.mean(predicted == y)),
        "ua": float(np.mean(recalls)),
    }


def logit_scores(logits: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Cross-entropy, accuracy and UA from logits (log-softmax in float64)."""
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    return classification_scores(shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)), y)


def _direction(monitor: Monitor) -> str:
    if callable(monitor):
        return "max"
    return "min" if monitor.endswith("loss") else "max"


def _better(value: float, best: float | None, mode: str, *, strict: bool) -> bool:
    """Ties count as better unless ``strict`` (the later of two equal epochs is kept, but
    an epoch that only ties does not reset early stopping's patience)."""
    if not np.isfinite(value):
        return False
    if best is None:
        return True
    if strict:
        return value > best if mode == "max" else value < best
    return value >= best if mode == "max" else value <= best


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


def epoch_loop(
    *,
    epochs: int,
    train_epoch: Callable[[int], tuple[float, float]],
    predict_val: Callable[[], np.ndarray] | None,
    y_val: np.ndarray | None,
    evaluate: Callable[[np.ndarray, np.ndarray], Mapping[str, float]],
    monitor: Monitor,
    patience: int | None,
    lr_schedule: Callable[[int], float] | None,
    get_lr: Callable[[], float],
    set_lr: Callable[[float], None],
    after_epoch: Callable[[dict[str, float]], None] | None,
    snapshot: Callable[[], object],
    restore: Callable[[object], None],
    progress: bool,
    description: str,
    on_epoch_end: Callable[[int, dict[str, float]], None] | None,
) -> FitResult:
    """Run ``epochs`` epochs and select the weights to keep (see the module docstring).

    ``train_epoch(epoch)`` runs one epoch's training steps and returns (mean loss,
    accuracy); ``predict_val()`` returns the model's outputs on the validation inputs;
    ``evaluate(outputs, y_val)`` turns them into metrics; ``lr_schedule(epoch)`` (0-based)
    gives the learning rate of each epoch; ``after_epoch(record)`` steps a framework
    scheduler; ``snapshot()`` / ``restore(state)`` copy and put back the weights.
    """
    history: dict[str, list[float]] = {}
    mode = _direction(monitor) if monitor is not None else None
    best_value, best_epoch, best_state, waited, stopped_early = None, 0, None, 0, False
    bar = tqdm(range(1, epochs + 1), desc=description, disable=not progress, unit="epoch")
    for epoch in bar:
        start = time.perf_counter()
        if lr_schedule is not None:
            set_lr(float(lr_schedule(epoch - 1)))
        record = {"lr": float(get_lr())}
        record["loss"], record["accuracy"] = train_epoch(epoch - 1)
        if predict_val is not None:
            record.update({f"val_{key}": float(value) for key, value in evaluate(predict_val(), y_val).items()})
        if callable(monitor):
            record["monitor"] = float(monitor(record))
        record["time_s"] = time.perf_counter() - start
        for key, value in record.items():
            history.setdefault(key, []).append(value)
        if after_epoch is not None:
            after_epoch(record)
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
        value = record[key]
        waited = 0 if _better(value, best_value, mode, strict=True) else waited + 1
        if _better(value, best_value, mode, strict=False):
            best_value, best_epoch, best_state = value, epoch, snapshot()
        if patience is not None and waited >= patience:
            stopped_early = True
            break
    bar.close()
    selected = len(history["loss"])
    if best_state is not None:
        restore(best_state)
        selected = best_epoch
    selection = "last" if monitor is None else f"best:{monitor_name(monitor)}"
    return FitResult(history=history, selected_epoch=selected, selection=selection, stopped_early=stopped_early)
