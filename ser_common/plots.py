"""Matplotlib figures the lessons share: training curves, confusion matrices, per-class
recall, t-SNE of embeddings and per-fold bars.

Every function returns the :class:`matplotlib.figure.Figure` it drew on. Single-panel
functions take an optional ``ax`` to draw into an existing figure. ``pyplot`` is imported
only when a figure is created, so importing this module stays cheap.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["confusion_matrix", "fold_bars", "per_class_recall", "training_curves", "tsne"]


def _axes(ax, ncols: int = 1, *, width: float, height: float):
    """The figure and list of ``ncols`` Axes to draw on: those given in ``ax``, or a new row of panels."""
    if ax is None:
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(1, ncols, figsize=(width * ncols, height), squeeze=False, layout="constrained")
        return figure, list(axes[0])
    axes = list(ax) if isinstance(ax, (list, tuple, np.ndarray)) else [ax]
    if len(axes) != ncols:
        raise ValueError(f"this figure draws {ncols} panel(s) but {len(axes)} Axes were given; pass {ncols} or ax=None")
    return axes[0].figure, axes


def _check_class_names(class_names: Sequence[str], n_classes: int | None = None, what: str = "") -> list[str]:
    if isinstance(class_names, str):
        raise TypeError(f"class_names must be a list of names, got the single string {class_names!r}")
    names = [str(name) for name in class_names]
    if n_classes is not None and len(names) != n_classes:
        raise ValueError(f"class_names has {len(names)} names but {what} has {n_classes} classes; give one name per class")
    return names


# ----------------------------------------------------------------------------- training curves


def training_curves(histories: Sequence[Mapping],
                    keys: Sequence[Sequence[str]] = (("loss", "val_loss"), ("accuracy", "val_accuracy")),
                    title: str | None = None):
    """Fold-averaged training curves: mean line with a ± 1 std band, one panel per key group.

    Parameters
    ----------
    histories : sequence of dict
        One per-epoch history per fold (``FitResult.history``; see
        :mod:`ser_common.training`). ``FitResult`` objects are accepted too.
    keys : sequence of sequences of str
        One panel per group; each key in a group is one curve, e.g. the default
        ``(("loss", "val_loss"), ("accuracy", "val_accuracy"))``. Every key must be in
        every history; for runs without validation pass ``(("loss",), ("accuracy",))``.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Folds may have different lengths (early stopping). At each epoch the mean and std
    are taken over the folds that reached that epoch only, so late epochs may average
    fewer folds; a dotted vertical line marks the first epoch that some fold did not
    reach. The std band (population std) is drawn where at least two folds contribute.
    """
    if len(histories) == 0:
        raise ValueError("histories is empty: pass one history dict per fold")
    if isinstance(keys, str) or any(isinstance(group, str) for group in keys):
        raise TypeError('keys must be a sequence of key groups, e.g. (("loss", "val_loss"),); wrap single keys in a tuple')
    histories = [getattr(history, "history", history) for history in histories]  # FitResult objects carry .history
    for position, history in enumerate(histories):
        if not isinstance(history, Mapping):
            raise TypeError(f"histories[{position}] must be a history dict (FitResult.history), "
                            f"got {type(history).__name__}")
    for key in [name for group in keys for name in group]:
        missing = [position for position, history in enumerate(histories) if key not in history]
        if missing:
            raise KeyError(f"history key {key!r} is missing from fold(s) {missing}; available keys: "
                           f"{sorted(histories[missing[0]])}. Choose keys present in every history "
                           "(runs without validation have no 'val_*' keys).")
        if any(len(history[key]) == 0 for history in histories):
            raise ValueError(f"history key {key!r} is empty in at least one fold")

    figure, axes = _axes(None, len(keys), width=5.0, height=3.6)
    for ax, group in zip(axes, keys):
        for key in group:
            # one column per fold, NaN once a fold stopped
            values = pd.concat([pd.Series(history[key], dtype=float) for history in histories], axis=1)
            epochs = np.arange(1, len(values) + 1)
            mean, std = values.mean(axis=1).to_numpy(), values.std(axis=1, ddof=0).to_numpy()  # folds that got there
            (line,) = ax.plot(epochs, mean, label=f"{key} (mean of {len(histories)} folds)")
            band = values.count(axis=1).to_numpy() >= 2
            if band.any():
                ax.fill_between(epochs, mean - std, mean + std, where=band, color=line.get_color(), alpha=0.2, linewidth=0)
        lengths = {len(history[key]) for history in histories for key in group}
        if len(lengths) > 1:
            ax.axvline(min(lengths) + 0.5, color="grey", linestyle=":", linewidth=1, label="some folds stopped")
        ax.set(xlabel="epoch", ylabel=" / ".join(group))
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    if title:
        figure.suptitle(title)
    return figure


# ----------------------------------------------------------------------------- confusion matrices


def _confusion_counts(cm: object) -> np.ndarray:
    counts = np.asarray(cm, dtype=float)
    if counts.ndim == 3:
        counts = counts.sum(axis=0)  # per-fold matrices -> pooled counts
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f"cm must be a square (n, n) matrix or an (n_folds, n, n) stack, got shape {np.shape(cm)}")
    return counts


def _row_rates(counts: np.ndarray) -> np.ndarray:
    """Each row of a (stack of) confusion matrices divided by its sum; NaN for rows without utterances."""
    support = counts.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, counts / support, np.nan)


def confusion_matrix(cm: Sequence | np.ndarray, class_names: Sequence[str], normalize: bool | str = "both", ax=None):
    """Annotated confusion matrix: counts and/or row-normalised (per-class recall).

    Parameters
    ----------
    cm : array-like of shape (n, n) or (n_folds, n, n)
        Counts, rows = true class, columns = predicted class. A stack of per-fold
        matrices is summed (the pooled matrix).
    class_names : sequence of str
        One name per class.
    normalize : {"both", True, False, "true", "counts"}, default="both"
        ``"both"``: counts and row-normalised side by side. ``True`` / ``"true"``: row-
        normalised only (rows with no utterances show "–"). ``False`` / ``"counts"``:
        counts only.
    ax : Axes or sequence of two Axes, optional
        Where to draw (two Axes for ``"both"``); a new figure otherwise.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from sklearn.metrics import ConfusionMatrixDisplay

    counts = _confusion_counts(cm)
    names = _check_class_names(class_names, counts.shape[0], "cm")
    # each panel: title, values, number format and the top of the colour scale
    counts_panel = ("counts", counts, ".0f" if np.allclose(counts, np.round(counts)) else ".1f", counts.max())
    recall_panel = ("row-normalised (recall)", _row_rates(counts), ".2f", 1.0)
    modes = {"both": (counts_panel, recall_panel), True: (recall_panel,), "true": (recall_panel,),
             False: (counts_panel,), "counts": (counts_panel,)}
    if not isinstance(normalize, (bool, str)) or normalize not in modes:
        raise ValueError(f"normalize must be 'both', True, False, 'true' or 'counts', got {normalize!r}")
    figure, axes = _axes(ax, len(modes[normalize]), width=0.55 * len(names) + 2.5, height=0.55 * len(names) + 2.0)
    for axis, (title, values, fmt, vmax) in zip(axes, modes[normalize]):
        display = ConfusionMatrixDisplay(np.nan_to_num(values), display_labels=names)
        display.plot(ax=axis, cmap="Blues", values_format=fmt, colorbar=False, im_kw={"vmin": 0, "vmax": vmax or 1})
        for text in display.text_[np.isnan(values)]:
            text.set_text("–")  # a row without utterances has no recall, which is not a recall of 0
        axis.set_xticks(np.arange(len(names)), names, rotation=45, ha="right", rotation_mode="anchor")
        axis.set(xlabel="predicted", ylabel="true", title=title)
    return figure


# ----------------------------------------------------------------------------- per-class recall


def per_class_recall(cm_or_recalls: Sequence | np.ndarray, class_names: Sequence[str], ax=None,
                     reference: Sequence[float] | None = None):
    """Bar chart of per-class recall with dashed lines at chance level and at UA.

    Parameters
    ----------
    cm_or_recalls : array-like
        Shape ``(n,)``: per-class recalls (fractions). Shape ``(n, n)``: a confusion
        matrix. Shape ``(n_folds, n, n)``: per-fold confusion matrices; bars show the
        mean recall over folds with ± std error bars, and UA is the mean of the per-fold
        UAs. NaN recalls (class absent from a test set) are left out of the means.
    class_names : sequence of str
    ax : Axes, optional
    reference : sequence of float, optional
        Per-class recalls to compare with (e.g. another model), drawn as black markers.

    Returns
    -------
    matplotlib.figure.Figure
    """
    values = np.asarray(cm_or_recalls, dtype=float)
    if values.ndim not in (1, 2, 3):
        raise ValueError(f"cm_or_recalls must have shape (n,), (n, n) or (n_folds, n, n), got {values.shape}")
    if values.ndim > 1:
        _confusion_counts(values)  # shape check
    # one row of recalls per fold (a single matrix or list of recalls is one fold)
    fold_recalls = np.atleast_2d(values if values.ndim == 1 else np.diagonal(_row_rates(values), axis1=-2, axis2=-1))
    # A class absent from every fold has no recall: its bar stays empty, no warning needed.
    with warnings.catch_warnings(action="ignore", category=RuntimeWarning):
        recalls = np.nanmean(fold_recalls, axis=0)
        errors = np.nanstd(fold_recalls, axis=0) if values.ndim == 3 else None
    ua = float(np.mean(np.nanmean(fold_recalls, axis=1)))  # mean of the per-fold UAs
    names = _check_class_names(class_names, recalls.size, "cm_or_recalls")
    figure, (ax,) = _axes(ax, width=0.6 * len(names) + 3.0, height=3.8)
    positions = np.arange(len(names))
    ax.bar(positions, recalls, yerr=errors, capsize=3 if errors is not None else 0, color="tab:blue", alpha=0.8, label="recall")
    if reference is not None:
        reference = np.asarray(reference, dtype=float)
        if reference.shape != recalls.shape:
            raise ValueError(f"reference has {reference.size} values but there are {recalls.size} classes")
        ax.plot(positions, reference, "k_", markersize=18, markeredgewidth=2, label="reference")
    ax.axhline(1.0 / len(names), color="grey", linestyle="--", linewidth=1, label=f"chance ({1 / len(names):.2f})")
    ax.axhline(ua, color="tab:red", linestyle="--", linewidth=1, label=f"UA ({ua:.2f})")
    ax.set_xticks(positions, names, rotation=45, ha="right", rotation_mode="anchor")
    ax.set(ylim=(0, 1.05), ylabel="recall")
    ax.legend(fontsize="small", loc="lower right")
    return figure


# ----------------------------------------------------------------------------- t-SNE


def tsne(embeddings: np.ndarray, labels: Sequence[int] | np.ndarray, class_names: Sequence[str], seed: int = 0,
         perplexity: float = 30, ax=None, sizes: float | np.ndarray = 12, **tsne_options: object):
    """2-D t-SNE of utterance embeddings, coloured by class.

    Parameters
    ----------
    embeddings : array-like of shape (n_samples, n_features)
    labels : array-like of int, shape (n_samples,)
        Class indices into ``class_names``.
    class_names : sequence of str
    seed : int, default=0
        ``random_state`` of :class:`sklearn.manifold.TSNE`.
    perplexity : float, default=30
        Clipped to ``n_samples - 1`` because t-SNE needs perplexity < n_samples.
    ax : Axes, optional
    sizes : float or array of shape (n_samples,), default=12
        Marker area of every point (e.g. larger for test utterances).
    **tsne_options
        Passed on to :class:`sklearn.manifold.TSNE` (e.g. ``metric="cosine"``,
        ``max_iter=500``).

    Returns
    -------
    matplotlib.figure.Figure
        One scatter (and legend entry) per class that has samples.
    """
    import matplotlib
    from sklearn.manifold import TSNE

    points = np.asarray(embeddings, dtype=float)
    classes = np.asarray(labels)
    if points.ndim != 2:
        raise ValueError(f"embeddings must be 2-D (n_samples, n_features), got shape {points.shape}")
    if classes.shape != (points.shape[0],):
        raise ValueError(f"labels must have one entry per embedding ({points.shape[0]}), got shape {classes.shape}")
    if points.shape[0] < 3:
        raise ValueError(f"t-SNE needs at least 3 embeddings, got {points.shape[0]}")
    names = _check_class_names(class_names)
    if not np.issubdtype(classes.dtype, np.integer) or classes.min() < 0:
        raise ValueError(f"labels must be integer class indices 0…{len(names) - 1}, got {classes.dtype} values")
    if classes.max() >= len(names):
        raise ValueError(f"labels hold class indices up to {classes.max()} but class_names has {len(names)} names; "
                         "give one name per class")
    clipped = min(float(perplexity), points.shape[0] - 1.0)
    options = {"init": "pca", "learning_rate": "auto", **tsne_options}
    coordinates = TSNE(n_components=2, perplexity=clipped, random_state=seed, **options).fit_transform(points)
    figure, (ax,) = _axes(ax, width=5.5, height=4.5)
    palette = matplotlib.colormaps["tab10" if len(names) <= 10 else "tab20"]
    sizes = np.broadcast_to(np.asarray(sizes, dtype=float), classes.shape)
    for index, name in enumerate(names):
        members = classes == index
        if members.any():
            ax.scatter(coordinates[members, 0], coordinates[members, 1], s=sizes[members],
                       color=palette(index % palette.N), label=name)
    ax.set(title=f"t-SNE (perplexity {clipped:g}, seed {seed})", xticks=[], yticks=[])
    ax.legend(fontsize="small", markerscale=1.5, loc="best")
    return figure


# ----------------------------------------------------------------------------- per-fold bars


def fold_bars(folds: pd.DataFrame | Sequence[float] | np.ndarray, key: str = "ua", ax=None, *, scale: float = 100.0):
    """Per-fold bars of one metric with a line at the mean.

    Parameters
    ----------
    folds : pandas.DataFrame or sequence of float
        ``RunResults.to_frame()`` (bars labelled by its index, values from column
        ``key``), or the per-fold values themselves.
    key : str, default="ua"
        Column to plot, and the axis label.
    ax : Axes, optional
    scale : float, default=100
        Multiplier for the values (100 shows fractions as percent).

    Returns
    -------
    matplotlib.figure.Figure
    """
    if isinstance(folds, pd.DataFrame):
        if key not in folds.columns:
            raise KeyError(f"the fold table has no column {key!r}; columns: {list(folds.columns)}")
        folds = folds[key]
    if np.ndim(folds) != 1:
        raise ValueError(f"per-fold values must be 1-D, got shape {np.shape(folds)}")
    series = pd.Series(folds, dtype=float)  # keeps a table's fold names; plain values are numbered 0, 1, ...
    if series.empty:
        raise ValueError("there are no folds to plot")
    values = series.to_numpy() * scale
    figure, (ax,) = _axes(ax, width=0.45 * values.size + 3.0, height=3.5)
    ax.bar(np.arange(values.size), values, color="tab:blue", alpha=0.8)
    mean, std = float(np.mean(values)), float(np.std(values))
    ax.axhline(mean, color="tab:red", linestyle="--", linewidth=1, label=f"mean {mean:.2f} ± {std:.2f}")
    ax.set_xticks(np.arange(values.size), [str(label) for label in series.index])
    ax.set(xlabel="fold", ylabel=f"{key} (%)" if scale == 100 else key)
    ax.legend(fontsize="small", loc="lower right")
    return figure
