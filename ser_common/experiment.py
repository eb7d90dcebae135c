"""The cross-validation loop every paper notebook runs, framework-neutral and resumable.

A notebook provides one function, ``train_fold(fold) -> FoldOutcome``, that builds a
fresh model, trains it on ``fold.train`` (selecting on ``fold.val`` if it wants) and
predicts ``fold.test``. :func:`run_folds` calls it for every fold that the results file
does not hold yet, computes the metrics, and records the fold the moment it ends, so
an interrupted run continues where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ser_common.metrics import evaluate
from ser_common.results import RunResults
from ser_common.splits import Fold
from ser_common.training import FitResult


@dataclass
class FoldOutcome:
    """What ``train_fold`` returns for one fold.

    Attributes
    ----------
    y_pred : ndarray of int
        Predicted class of every test row, in the order of ``fold.test``.
    fit : FitResult or None
        The training helper's result (history, selected epoch).
    history_prefix_renames : dict
        Optional renaming of history keys before they are stored, e.g.
        ``{"val_": "test_"}`` when the test fold was passed as monitoring data.
    extra : dict
        Anything else worth keeping for this fold (JSON-serialisable).
    """

    y_pred: np.ndarray
    fit: FitResult | None = None
    history_prefix_renames: dict[str, str] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


def rename_history(history: dict[str, list[float]], renames: dict[str, str]) -> dict[str, list[float]]:
    """Rename key prefixes (``{"val_": "test_"}`` turns ``val_loss`` into ``test_loss``)."""
    renamed = {}
    for key, values in history.items():
        for old, new in renames.items():
            if key.startswith(old):
                key = new + key[len(old):]
                break
        renamed[key] = values
    return renamed


def run_folds(
    folds: Sequence[Fold],
    y: np.ndarray,
    train_fold: Callable[[Fold], FoldOutcome],
    results: RunResults,
    *,
    n_classes: int,
    max_folds: int | None = None,
    log: Callable[[str], None] = print,
) -> RunResults:
    """Train and evaluate every fold not yet in ``results``; record each as it finishes.

    Parameters
    ----------
    folds : sequence of Fold
        From :mod:`ser_common.splits`.
    y : ndarray of int
        Class index of every manifest row (the folds index into it).
    train_fold : callable
        ``train_fold(fold) -> FoldOutcome``; must not look at ``y[fold.test]`` for
        anything but the final prediction.
    results : RunResults
        The run's results file (opened with ``resume=True`` to continue a run).
    n_classes : int
    max_folds : int or None
        Run only the first ``max_folds`` folds (quick runs); the results file says
        how many folds it holds.
    log : callable
        Receives one line per fold.

    Returns
    -------
    RunResults
        The same object, now holding every requested fold.
    """
    selected = list(folds)[: max_folds if max_folds is not None else None]
    if not selected:
        raise ValueError("no folds to run (max_folds=0?)")
    for fold in selected:
        if results.is_done(fold.index):
            log(f"{fold.name}: already in {results.path.name}, skipped (resume)")
            continue
        start = time.perf_counter()
        outcome = train_fold(fold)
        wall = time.perf_counter() - start
        y_pred = np.asarray(outcome.y_pred, dtype=np.int64)
        if y_pred.shape != fold.test.shape:
            raise ValueError(f"{fold.name}: train_fold returned {y_pred.shape[0]} predictions for {fold.test.size} test rows")
        metrics = evaluate(y[fold.test], y_pred, n_classes)
        extra = {"test_index": fold.test.tolist(), "y_pred": y_pred.tolist(), "name": fold.name,
                 "n_train": int(fold.train.size), "n_val": int(fold.val.size), **outcome.extra}
        fit = outcome.fit
        results.add_fold(
            fold.index,
            metrics=metrics,
            history=rename_history(fit.history, outcome.history_prefix_renames) if fit else None,
            wall_time_s=wall,
            epoch_times_s=fit.epoch_times if fit else None,
            selected_epoch=fit.selected_epoch if fit else None,
            selection=fit.selection if fit else None,
            extra=extra,
        )
        log(f"{fold.name}: UA {metrics['ua']:.4f}  WA {metrics['wa']:.4f}  macro-F1 {metrics['macro_f1']:.4f}  "
            f"({wall:.0f} s)")
    return results
