"""Classification metrics for SER, defined once so that every lesson reports the same thing.

The four papers define their headline numbers differently (per-fold mean accuracy,
predictions pooled over overlapping folds, mean over seeds, one split). Here:

* **WA** (weighted accuracy) = plain accuracy, the fraction of utterances classified
  correctly. Large classes weigh more.
* **UA** (unweighted average recall, also "UAR" or balanced accuracy) = the mean of the
  per-class recalls over the classes that occur in ``y_true``.
* **macro F1**, **weighted F1** and **micro F1** as in scikit-learn. In single-label
  classification micro F1 is identical to WA; it is reported because GLAM's README calls
  its *weighted* F1 "micro F1".

:func:`evaluate` scores one test set, :func:`summarize` averages per-fold scores (the
lessons' headline: mean ± std over folds), and :func:`pooled` scores the pooled
predictions of all folds (Light-SERNet's way), for comparison.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, recall_score

__all__ = ["DEFAULT_SUMMARY_KEYS", "evaluate", "format_mean_std", "group_mean", "pooled", "summarize"]

#: Metrics averaged over folds by :func:`summarize` unless told otherwise.
DEFAULT_SUMMARY_KEYS = ("ua", "wa", "macro_f1", "micro_f1", "weighted_f1")


def _class_indices(values: object, n_classes: int, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class indices, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} is empty: there is nothing to score")
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold integer class indices 0…{n_classes - 1}, got dtype {array.dtype}; "
                         "take the argmax of probabilities / one-hot targets first")
    if array.min() < 0 or array.max() >= n_classes:
        raise ValueError(f"{name} holds class indices {array.min()}…{array.max()}, "
                         f"outside 0…{n_classes - 1} (n_classes={n_classes})")
    return array


def evaluate(y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray, n_classes: int) -> dict:
    """Score one set of predictions.

    Parameters
    ----------
    y_true, y_pred : array-like of int, shape (n_samples,)
        True and predicted class indices in ``0 … n_classes - 1``.
    n_classes : int
        Number of classes of the task (fixes the confusion-matrix size even when some
        classes are missing from this test set).

    Returns
    -------
    dict
        All values are plain Python numbers / lists, so the dict is JSON-serialisable:

        ``wa``
            Accuracy.
        ``ua``
            Unweighted average recall: the mean recall over the classes **present in
            y_true**. A class absent from ``y_true`` has no defined recall; it is left
            out of the mean instead of being counted as 0 (which would punish a fold
            for its own composition). Equals ``sklearn.metrics.balanced_accuracy_score``.
        ``macro_f1``
            Unweighted mean F1 over the classes present in ``y_true`` or ``y_pred``
            (scikit-learn's default label set). A class that is predicted but absent
            from ``y_true`` counts with F1 = 0.
        ``micro_f1``
            Micro-averaged F1. In single-label classification this is identical to
            ``wa``; it is reported so that "micro F1" in a paper can be checked.
        ``weighted_f1``
            Mean F1 weighted by each class's support in ``y_true``.
        ``per_class_recall``
            List of ``n_classes`` recalls, ``nan`` for classes absent from ``y_true``.
        ``confusion``
            ``n_classes`` × ``n_classes`` list of int counts, rows = true class,
            columns = predicted class (``labels=range(n_classes)``).
        ``n_samples``
            Number of scored utterances.
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 2:
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
    truth = _class_indices(y_true, n_classes, "y_true")
    predicted = _class_indices(y_pred, n_classes, "y_pred")
    if truth.size != predicted.size:
        raise ValueError(f"y_true has {truth.size} entries but y_pred has {predicted.size}; give one prediction per utterance")

    labels = np.arange(n_classes)
    per_class_recall = recall_score(truth, predicted, labels=labels, average=None, zero_division=np.nan)
    # UA: nanmean skips the nan recalls of the classes absent from y_true
    scores = {"wa": float(accuracy_score(truth, predicted)), "ua": float(np.nanmean(per_class_recall))}
    for average in ("macro", "micro", "weighted"):
        scores[f"{average}_f1"] = float(f1_score(truth, predicted, average=average, zero_division=0.0))
    return {**scores, "per_class_recall": [float(value) for value in per_class_recall],
            "confusion": confusion_matrix(truth, predicted, labels=labels).astype(int).tolist(),
            "n_samples": int(truth.size)}


def summarize(fold_metrics: Sequence[Mapping], keys: Sequence[str] = DEFAULT_SUMMARY_KEYS, *,
              ddof: int = 0) -> dict[str, dict]:
    """Mean, standard deviation, min and max of each metric over folds.

    Parameters
    ----------
    fold_metrics : sequence of dict
        One :func:`evaluate` result (or any dict holding ``keys``) per fold.
    keys : sequence of str, default=("ua", "wa", "macro_f1", "micro_f1", "weighted_f1")
        Metrics to summarise. Each must be present, and finite, in every fold.
    ddof : int, default=0
        Delta degrees of freedom of the standard deviation. The default 0 is the
        population std (``numpy.std``'s default), i.e. the spread *of these folds*,
        which is what the published "mean ± std" figures most plausibly use. Pass 1 for
        the sample std, an estimate of the spread of new folds (larger for few folds).

    Returns
    -------
    dict of str to dict
        ``{key: {"mean": ..., "std": ..., "min": ..., "max": ..., "n": n_folds}}`` with
        plain Python numbers. ``std`` is ``nan`` when ``n <= ddof``.
    """
    if len(fold_metrics) == 0:
        raise ValueError("fold_metrics is empty: there are no folds to summarise")
    if isinstance(keys, str):
        raise TypeError(f"keys must be a sequence of metric names, got the single string {keys!r}; wrap it in a tuple")
    summary = {}
    for key in keys:
        for position, metrics in enumerate(fold_metrics):
            if key not in metrics:
                raise KeyError(f"fold_metrics[{position}] has no {key!r}; it holds {sorted(metrics)}")
            if metrics[key] is None or not np.isfinite(metrics[key]):
                raise ValueError(f"fold_metrics[{position}][{key!r}] is {metrics[key]!r}, not a finite number")
        values = np.array([metrics[key] for metrics in fold_metrics], dtype=np.float64)
        std = float(np.std(values, ddof=ddof)) if values.size > ddof else float("nan")
        summary[key] = {"mean": float(values.mean()), "std": std, "min": float(values.min()),
                        "max": float(values.max()), "n": int(values.size)}
    return summary


def pooled(y_true_folds: Sequence[Sequence[int] | np.ndarray], y_pred_folds: Sequence[Sequence[int] | np.ndarray],
           n_classes: int) -> dict:
    """:func:`evaluate` on the predictions of all folds pooled together.

    This is how Light-SERNet reports its numbers. Pooled and fold-averaged metrics
    differ whenever folds differ in size or class mix, and when test sets overlap (as in
    Light-SERNet's paper protocol) an utterance is counted more than once.

    Parameters
    ----------
    y_true_folds, y_pred_folds : sequence of array-like of int
        One array of true / predicted class indices per fold, in the same fold order.
    n_classes : int

    Returns
    -------
    dict
        Same keys as :func:`evaluate`.
    """
    if len(y_true_folds) != len(y_pred_folds):
        raise ValueError(f"got {len(y_true_folds)} folds of y_true but {len(y_pred_folds)} folds of y_pred")
    if len(y_true_folds) == 0:
        raise ValueError("y_true_folds is empty: there are no folds to pool")
    for position, (truth, predicted) in enumerate(zip(y_true_folds, y_pred_folds)):
        if np.size(truth) != np.size(predicted):
            raise ValueError(f"fold {position}: y_true has {np.size(truth)} entries but y_pred has {np.size(predicted)}")
    truth = np.concatenate([np.asarray(values).ravel() for values in y_true_folds])
    predicted = np.concatenate([np.asarray(values).ravel() for values in y_pred_folds])
    return evaluate(truth, predicted, n_classes)


def format_mean_std(summary: Mapping[str, Mapping], key: str, scale: float = 100, digits: int = 2) -> str:
    """Format one summarised metric as ``"89.19 ± 2.31"``.

    Parameters
    ----------
    summary : dict
        Output of :func:`summarize`.
    key : str
        Metric to format, e.g. ``"ua"``.
    scale : float, default=100
        Multiplier (100 turns fractions into percent).
    digits : int, default=2
        Decimal places.

    Returns
    -------
    str
    """
    if key not in summary:
        raise KeyError(f"summary has no {key!r}; it holds {sorted(summary)}")
    return f"{summary[key]['mean'] * scale:.{digits}f} ± {summary[key]['std'] * scale:.{digits}f}"


def group_mean(values: np.ndarray, groups: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average the rows of ``values`` that share a group (e.g. the segments of an utterance).

    Returns
    -------
    groups : ndarray
        The distinct groups, ascending.
    means : ndarray of shape (n_groups, ...)
        Row ``i`` is the mean of the rows of group ``groups[i]``.
    """
    values = np.asarray(values, dtype=np.float64)
    unique, inverse, counts = np.unique(np.asarray(groups), return_inverse=True, return_counts=True)
    sums = np.zeros((unique.size, *values.shape[1:]))
    np.add.at(sums, inverse, values)
    return unique, sums / counts.reshape(-1, *[1] * (values.ndim - 1))
