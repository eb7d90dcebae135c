"""A thin Keras training helper: seeded, compiled, in-memory, with the shared history.

Why not plain ``model.fit``? On a 2-core CPU a TIM-Net epoch on EMO-DB is only eight
steps of about 0.1 s of arithmetic, so per-step framework overhead decides the speed.
This helper keeps the data in memory, compiles one training step with XLA
(``jit_compile=True``) and runs a plain Python loop over batches, which is also
easier to read. Paper-specific choices (loss, smoothing, optimiser) are arguments.

The returned :class:`ser_common.training.FitResult` has the history format shared with
the PyTorch helper (see :mod:`ser_common.training`).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from ser_common.training import BestEpochTracker, FitResult, new_history, validate_fit_options  # noqa: E402


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy, TensorFlow and Keras (weight initialisation, dropout)."""
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)  # also seeds tf.random and python/numpy
    tf.random.set_seed(seed)


def count_parameters(model: keras.Model) -> int:
    """Number of trainable parameters (what the papers report)."""
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def _as_one_hot(y: np.ndarray, n_classes: int) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2:
        return y.astype(np.float32)
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"labels must be class indices in [0, {n_classes}), got range [{y.min()}, {y.max()}]")
    return np.eye(n_classes, dtype=np.float32)[y]


def predict_proba(model: keras.Model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Class probabilities for ``x`` in inference mode (``predict_on_batch``, no per-call overhead)."""
    x = np.asarray(x, dtype=np.float32)
    if len(x) == 0:
        return np.zeros((0, model.output_shape[-1]), dtype=np.float32)
    parts = [np.asarray(model.predict_on_batch(x[i : i + batch_size])) for i in range(0, len(x), batch_size)]
    return np.concatenate(parts)


def predict(model: keras.Model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Predicted class indices for ``x``."""
    return predict_proba(model, x, batch_size).argmax(axis=1)


def _evaluate(
    forward: Callable, x: np.ndarray, y: np.ndarray, n_classes: int, batch_size: int
) -> tuple[float, float, float]:
    """(cross-entropy, accuracy, UA) of a model in inference mode."""
    probs = np.concatenate([np.asarray(forward(x[i : i + batch_size])) for i in range(0, len(x), batch_size)])
    loss = float(-np.mean(np.log(np.clip(probs[np.arange(len(y)), y], 1e-7, 1.0))))
    pred = probs.argmax(axis=1)
    recalls = [np.mean(pred[y == c] == c) for c in range(n_classes) if np.any(y == c)]
    return loss, float(np.mean(pred == y)), float(np.mean(recalls))


def fit(
    model: keras.Model,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray] | None = None,
    *,
    epochs: int,
    batch_size: int,
    optimizer: keras.optimizers.Optimizer,
    label_smoothing: float = 0.0,
    keep_best: str | None = None,
    early_stopping_patience: int | None = None,
    jit_compile: bool = True,
    shuffle: bool = True,
    seed: int | None = None,
    progress: bool = True,
    description: str = "training",
    on_epoch_end: Callable[[int, dict[str, float]], None] | None = None,
) -> FitResult:
    """Train a Keras classifier whose output is a softmax over classes.

    Parameters
    ----------
    model : keras.Model
        Outputs class probabilities (softmax), as the TIM-Net and Light-SERNet
        models do. The loss is categorical cross-entropy on those probabilities
        (Keras clips them to [1e-7, 1 - 1e-7]).
    train, val : (X, y)
        In-memory arrays; ``y`` holds class indices (or one-hot rows).
    epochs, batch_size : int
    optimizer : keras optimizer
        Created by the caller so paper-specific settings stay in the notebook.
    label_smoothing : float
        Applied to the training targets only: ``y * (1 - eps) + eps / C``.
    keep_best : str or None
        A history key such as ``"val_ua"`` or ``"val_loss"``: at the end, restore
        the weights of the best epoch by that key (ties: the later epoch). None keeps
        the last epoch's weights (TIM-Net's current protocol).
    early_stopping_patience : int or None
        Stop after this many epochs without improvement of ``keep_best``.
    jit_compile : bool
        Compile the training step with XLA: slower to start (tens of seconds), much
        faster per epoch. Turn off for tiny runs.
    seed : int or None
        Seeds the batch order (weights are seeded by the caller at build time).
    progress : bool
        One tqdm bar over epochs with the latest metrics.
    on_epoch_end : callable or None
        Called as ``on_epoch_end(epoch_number, metrics_dict)`` after every epoch.

    Returns
    -------
    FitResult
        History in the shared format; the model holds the selected epoch's weights.
    """
    validate_fit_options(keep_best, early_stopping_patience, val is not None)
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be positive, got epochs={epochs}, batch_size={batch_size}")
    n_classes = int(model.output_shape[-1])
    x_train = np.asarray(train[0], dtype=np.float32)
    y_train = _as_one_hot(train[1], n_classes)
    if len(x_train) != len(y_train):
        raise ValueError(f"train X has {len(x_train)} rows but y has {len(y_train)}")
    if val is not None:
        x_val = np.asarray(val[0], dtype=np.float32)
        y_val = np.asarray(val[1])
        y_val = y_val.argmax(axis=1) if y_val.ndim == 2 else y_val.astype(np.int64)

    loss_fn = keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing)
    weights = model.trainable_variables

    @tf.function(jit_compile=jit_compile, reduce_retracing=True)
    def train_step(x, y):
        with tf.GradientTape() as tape:
            probs = model(x, training=True)
            loss = loss_fn(y, probs)
            if model.losses:  # weight regularisers (e.g. Light-SERNet's L2)
                loss = loss + tf.add_n(model.losses)
        optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
        correct = tf.reduce_sum(tf.cast(tf.argmax(probs, 1) == tf.argmax(y, 1), tf.float32))
        return loss, correct

    @tf.function(jit_compile=jit_compile, reduce_retracing=True)
    def infer(x):
        return model(x, training=False)

    history = new_history(with_validation=val is not None)
    rng = np.random.default_rng(seed)
    tracker = BestEpochTracker(keep_best, early_stopping_patience)
    bar = tqdm(range(1, epochs + 1), desc=description, disable=not progress, unit="epoch")
    for epoch in bar:
        start = time.perf_counter()
        order = rng.permutation(len(x_train)) if shuffle else np.arange(len(x_train))
        loss_sum, correct_sum = 0.0, 0.0
        for i in range(0, len(order), batch_size):
            idx = order[i : i + batch_size]
            loss, correct = train_step(x_train[idx], y_train[idx])
            loss_sum += float(loss) * len(idx)
            correct_sum += float(correct)
        record = {
            "loss": loss_sum / len(order),
            "accuracy": correct_sum / len(order),
            "lr": float(keras.ops.convert_to_numpy(optimizer.learning_rate)),
        }
        if val is not None:
            record["val_loss"], record["val_accuracy"], record["val_ua"] = _evaluate(
                infer, x_val, y_val, n_classes, max(batch_size, 256)
            )
        record["time_s"] = time.perf_counter() - start
        for key, value in record.items():
            history[key].append(value)
        bar.set_postfix({k: f"{v:.3f}" for k, v in record.items() if k in ("loss", "accuracy", "val_accuracy", "val_ua")})
        if on_epoch_end is not None:
            on_epoch_end(epoch, record)
        if tracker.update(epoch, record, snapshot=lambda: [w.numpy().copy() for w in model.weights]):
            break
    bar.close()

    selected = len(history["loss"])
    if tracker.best_snapshot is not None:
        model.set_weights(tracker.best_snapshot)
        selected = tracker.best_epoch
    return FitResult(history=history, selected_epoch=selected, selection=tracker.selection,
                     stopped_early=tracker.stopped_early)
