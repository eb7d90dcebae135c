"""Framework-neutral pieces shared by the PyTorch and Keras training helpers.

Both ``ser_common.torch_training.fit`` and ``ser_common.keras_training.fit`` return a
:class:`FitResult` whose ``history`` is a plain ``dict[str, list[float]]`` with one entry
per epoch under these keys (validation keys only when validation data was given):

==================  ==========================================================
``loss``            mean training loss over the epoch (as optimised, so with
                    label smoothing / mixup when those are used)
``accuracy``        training accuracy over the epoch (train-mode forward pass)
``val_loss``        validation cross-entropy (no smoothing), eval mode
``val_accuracy``    validation accuracy (= WA)
``val_ua``          validation unweighted average recall (UA)
``lr``              learning rate used during the epoch
``time_s``          wall time of the epoch (training + validation)
==================  ==========================================================

That one format is what ``ser_common.plots.training_curves`` and
``ser_common.results`` consume, whichever framework produced it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "val_ua", "lr", "time_s")

#: Which direction is "better" for each monitorable history key.
MONITOR_MODES = {"val_loss": "min", "val_accuracy": "max", "val_ua": "max", "loss": "min", "accuracy": "max"}


@dataclass
class FitResult:
    """What a training helper returns.

    Attributes
    ----------
    history : dict[str, list[float]]
        Per-epoch values, keys as in :data:`HISTORY_KEYS`.
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


def new_history(with_validation: bool) -> dict[str, list[float]]:
    """An empty history dict with the shared keys (validation keys only if needed)."""
    keys = HISTORY_KEYS if with_validation else ("loss", "accuracy", "lr", "time_s")
    return {key: [] for key in keys}


def monitor_mode(monitor: str) -> str:
    """``"min"`` or ``"max"`` for a history key; raises a clear error for unknown keys."""
    try:
        return MONITOR_MODES[monitor]
    except KeyError:
        raise ValueError(
            f"keep_best/early stopping monitor {monitor!r} is not a history key; "
            f"choose one of {sorted(MONITOR_MODES)}"
        ) from None


def is_improvement(value: float, best: float | None, mode: str, *, strict: bool = False) -> bool:
    """True if ``value`` beats ``best``.

    With ``strict=False`` ties count as improvement, so the later of two equally good
    epochs is kept (as Light-SERNet's best-weights callback does). Early stopping uses
    ``strict=True``: an epoch that only ties does not reset the patience.
    """
    if best is None or not np.isfinite(best):
        return bool(np.isfinite(value))
    if strict:
        return value > best if mode == "max" else value < best
    return value >= best if mode == "max" else value <= best


def validate_fit_options(keep_best: str | None, early_stopping_patience: int | None, has_validation: bool) -> None:
    """Shared argument checks for both frameworks' ``fit``."""
    if keep_best is not None:
        monitor_mode(keep_best)
        if keep_best.startswith("val_") and not has_validation:
            raise ValueError(f"keep_best={keep_best!r} needs validation data (pass val=...)")
    if early_stopping_patience is not None:
        if early_stopping_patience < 1:
            raise ValueError("early_stopping_patience must be a positive number of epochs or None")
        if keep_best is None:
            raise ValueError("early stopping needs a monitor: pass keep_best='val_ua' (or another key) as well")


class BestEpochTracker:
    """Keeps the best epoch's weights by a history key, and decides early stopping.

    Both training helpers use it the same way::

        tracker = BestEpochTracker(keep_best, early_stopping_patience)
        for epoch ...:
            if tracker.update(epoch, record, snapshot=lambda: copy_of_weights):
                break  # early stop
        weights = tracker.best_snapshot  # None when keep_best is None

    Ties count as improvement for the kept weights (the later epoch wins) but do not
    reset the early-stopping patience.
    """

    def __init__(self, keep_best: str | None, early_stopping_patience: int | None = None) -> None:
        self.keep_best = keep_best
        self.patience = early_stopping_patience
        self.mode = monitor_mode(keep_best) if keep_best else None
        self.best_value: float | None = None
        self.best_epoch = 0
        self.best_snapshot = None
        self.waited = 0
        self.stopped_early = False

    def update(self, epoch: int, record: dict[str, float], snapshot) -> bool:
        """Record one epoch; returns True when training should stop early."""
        if self.keep_best is None:
            return False
        value = record[self.keep_best]
        self.waited = 0 if is_improvement(value, self.best_value, self.mode, strict=True) else self.waited + 1
        if is_improvement(value, self.best_value, self.mode):
            self.best_value, self.best_epoch, self.best_snapshot = value, epoch, snapshot()
        self.stopped_early = self.patience is not None and self.waited >= self.patience
        return self.stopped_early

    @property
    def selection(self) -> str:
        return "last" if self.keep_best is None else f"best:{self.keep_best}"
