"""Tests for ser_common.plots: each function returns a Figure with the expected panels and artists."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless, and before pyplot is imported anywhere

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PathCollection, PolyCollection  # noqa: E402
from matplotlib.container import BarContainer  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ser_common import plots  # noqa: E402

NAMES = ["angry", "boredom", "disgust"]
CM = np.array([[5, 1, 0], [2, 6, 0], [0, 0, 0]])  # the third class never occurs in this test set


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def history(n_epochs: int, offset: float = 0.0) -> dict:
    epochs = np.arange(n_epochs, dtype=float)
    return {
        "loss": list(1.0 / (1 + epochs) + offset),
        "val_loss": list(1.2 / (1 + epochs) + offset),
        "accuracy": list(epochs / n_epochs),
        "val_accuracy": list(epochs / (n_epochs + 1)),
    }


def test_training_curves_with_uneven_lengths():
    histories = [history(10), history(7, 0.1), history(4, 0.2)]  # early stopping at 7 and 4
    figure = plots.training_curves(histories, title="TIM-Net, 3 folds")
    assert isinstance(figure, Figure) and len(figure.axes) == 2
    loss_ax = figure.axes[0]
    curves = [line for line in loss_ax.get_lines() if line.get_linestyle() == "-"]
    assert len(curves) == 2  # loss and val_loss
    assert len(curves[0].get_xdata()) == 10  # the longest fold sets the x range
    # epoch 1..4: mean of 3 folds; epochs 8..10: the single 10-epoch fold
    expected_first = np.mean([1.0, 1.1, 1.2])
    assert curves[0].get_ydata()[0] == pytest.approx(expected_first)
    assert curves[0].get_ydata()[-1] == pytest.approx(histories[0]["loss"][-1])
    assert sum(isinstance(c, PolyCollection) for c in loss_ax.collections) == 2  # one std band per curve
    assert any(line.get_linestyle() == ":" for line in loss_ax.get_lines())  # "some folds stopped" marker
    assert figure.get_suptitle() == "TIM-Net, 3 folds"


def test_training_curves_custom_keys_and_missing_key():
    histories = [{"loss": [1.0, 0.5]}, {"loss": [0.9, 0.4]}]
    figure = plots.training_curves(histories, keys=(("loss",),))
    assert len(figure.axes) == 1
    with pytest.raises(KeyError, match="'val_loss' is missing from fold\\(s\\) \\[0, 1\\]"):
        plots.training_curves(histories)
    with pytest.raises(TypeError, match="key groups"):
        plots.training_curves(histories, keys=("loss",))
    with pytest.raises(ValueError, match="histories is empty"):
        plots.training_curves([])


@pytest.mark.parametrize(("normalize", "n_axes"), [("both", 2), (True, 1), (False, 1), ("counts", 1)])
def test_confusion_matrix_panels_and_annotations(normalize, n_axes):
    figure = plots.confusion_matrix(CM, NAMES, normalize=normalize)
    assert isinstance(figure, Figure) and len(figure.axes) == n_axes
    for ax in figure.axes:
        assert len(ax.texts) == 9  # one annotation per cell
        assert [label.get_text() for label in ax.get_xticklabels()] == NAMES
    texts = [text.get_text() for text in figure.axes[-1].texts]
    if normalize in (True, "both"):
        assert texts[:2] == ["0.83", "0.17"] and texts[-1] == "–"  # empty row is not 0
    else:
        assert texts[:2] == ["5", "1"]


def test_confusion_matrix_sums_fold_stack_and_validates():
    figure = plots.confusion_matrix(np.stack([CM, CM]), NAMES, normalize=False)
    assert figure.axes[0].texts[0].get_text() == "10"
    with pytest.raises(ValueError, match="class_names has 2 names but cm has 3 classes"):
        plots.confusion_matrix(CM, NAMES[:2])
    with pytest.raises(ValueError, match="square"):
        plots.confusion_matrix(np.ones((2, 3)), NAMES[:2])
    with pytest.raises(ValueError, match="normalize"):
        plots.confusion_matrix(CM, NAMES, normalize="rows")
    _, ax = plt.subplots()
    assert plots.confusion_matrix(CM, NAMES, normalize=True, ax=ax) is ax.figure


def test_per_class_recall_from_matrix_recalls_and_folds():
    figure = plots.per_class_recall(CM[:2, :2], NAMES[:2])
    ax = figure.axes[0]
    heights = [patch.get_height() for patch in ax.patches]
    assert heights == pytest.approx([5 / 6, 6 / 8])
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert [line.get_ydata()[0] for line in dashed] == pytest.approx([0.5, (5 / 6 + 6 / 8) / 2])  # chance, UA

    folds = np.stack([CM, np.array([[6, 0, 0], [4, 4, 0], [0, 1, 3]])])
    figure = plots.per_class_recall(folds, NAMES, reference=[0.9, 0.8, 0.7])
    ax = figure.axes[0]
    assert len(ax.patches) == 3
    assert ax.patches[2].get_height() == pytest.approx(0.75)  # only the fold where the class occurs
    (bars,) = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert len(bars.errorbar.lines[2][0].get_segments()) == 3  # error bars from per-fold recalls
    ua = [line for line in ax.get_lines() if line.get_linestyle() == "--"][1].get_ydata()[0]
    assert ua == pytest.approx(np.mean([(5 / 6 + 6 / 8) / 2, (1 + 0.5 + 0.75) / 3]))

    figure = plots.per_class_recall([0.5, 0.25, 1.0], NAMES)
    assert [p.get_height() for p in figure.axes[0].patches] == pytest.approx([0.5, 0.25, 1.0])
    with pytest.raises(ValueError, match="class_names has 3 names but cm_or_recalls has 2 classes"):
        plots.per_class_recall([0.5, 0.25], NAMES)


def test_tsne_scatter_per_class_with_legend():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 8)
    embeddings = rng.normal(size=(24, 5)) + labels[:, None] * 3.0
    figure = plots.tsne(embeddings, labels, NAMES, perplexity=50, max_iter=250, method="exact")  # perplexity clipped below 24
    ax = figure.axes[0]
    assert sum(isinstance(c, PathCollection) for c in ax.collections) == 3
    assert [text.get_text() for text in ax.get_legend().get_texts()] == NAMES
    assert "perplexity 23" in ax.get_title()
    with pytest.raises(ValueError, match="up to 2 but class_names has 2 names"):
        plots.tsne(embeddings, labels, NAMES[:2])
    with pytest.raises(ValueError, match="one entry per embedding"):
        plots.tsne(embeddings, labels[:-1], NAMES)


def test_fold_bars_from_frame_and_values():
    frame = pd.DataFrame({"ua": [0.8, 0.9, 0.7], "wa": [0.85, 0.9, 0.75]}, index=pd.Index([0, 1, 2], name="fold"))
    figure = plots.fold_bars(frame, key="wa")
    ax = figure.axes[0]
    assert [p.get_height() for p in ax.patches] == pytest.approx([85, 90, 75])
    mean_line = ax.get_lines()[0]
    assert mean_line.get_ydata()[0] == pytest.approx(np.mean([85, 90, 75]))
    assert len(plots.fold_bars([0.5, 0.6]).axes[0].patches) == 2
    with pytest.raises(KeyError, match="no column 'macro_f1'"):
        plots.fold_bars(frame, key="macro_f1")
