"""A thin Keras training helper: seeded, compiled, in-memory; the same arguments as the PyTorch one.

Why not plain ``model.fit``? On a 2-core CPU a TIM-Net epoch on EMO-DB is only eight
steps of about 0.1 s of arithmetic, so per-step framework overhead decides the speed.
This helper keeps the data in memory, compiles one training step with XLA
(``jit_compile=True``) and runs a plain Python loop over batches; the epoch loop itself
(schedule, validation metrics, selection, history) is :func:`ser_common.training.epoch_loop`,
shared with :mod:`ser_common.torch_training`.

The model must output class **probabilities** (a softmax layer), as the Keras models of
these lessons do. Importing this module imports TensorFlow; ``import ser_common`` does not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import keras
import numpy as np
import tensorflow as tf

from ser_common.training import (FitResult, Monitor, check_fit_arguments, class_data, classification_scores, epoch_loop,
                                 predict_in_batches, train_batches)

__all__ = ["count_parameters", "fit", "predict", "predict_proba", "probability_scores", "seed_everything"]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy, TensorFlow and Keras (weight initialisation, dropout): ``keras.utils.set_random_seed``."""
    keras.utils.set_random_seed(seed)


def count_parameters(model: keras.Model) -> int:
    """Number of trainable parameters (what the papers report)."""
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def predict_proba(model: keras.Model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Class probabilities for ``x`` in inference mode (``predict_on_batch``: no per-call overhead)."""
    x = np.asarray(x, dtype=np.float32)
    if len(x) == 0:
        return np.zeros((0, model.output_shape[-1]), dtype=np.float32)
    return predict_in_batches(model.predict_on_batch, x, batch_size)


def predict(model: keras.Model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Predicted class indices for ``x``."""
    return predict_proba(model, x, batch_size).argmax(axis=1)


def probability_scores(probabilities: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """The default ``evaluate`` hook: cross-entropy, accuracy and UA from probabilities."""
    return classification_scores(np.log(np.clip(probabilities, 1e-7, 1.0)), y)


def fit(
    model: keras.Model,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray] | None = None,
    *,
    epochs: int,
    batch_size: int,
    optimizer: keras.optimizers.Optimizer,
    loss: Callable | None = None,
    label_smoothing: float = 0.0,
    lr_schedule: Callable[[int], float] | None = None,
    evaluate: Callable[[np.ndarray, np.ndarray], Mapping[str, float]] | None = None,
    monitor: Monitor = None,
    patience: int | None = None,
    batch_transform: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
    jit_compile: bool = True,
    shuffle: bool = True,
    seed: int | None = None,
    progress: bool = True,
    description: str = "training",
    on_epoch_end: Callable[[int, dict[str, float]], None] | None = None,
) -> FitResult:
    """Train a Keras classifier that outputs probabilities.

    Parameters
    ----------
    model : keras.Model
        Softmax output. Under a ``mixed_bfloat16`` policy its outputs are cast to float32
        before the loss.
    train, val : (X, y)
        In-memory arrays; ``y`` holds class indices (or one-hot rows).
    epochs, batch_size : int
    optimizer : keras optimizer
        Built by the caller (the recipe's settings).
    loss : callable or None
        ``loss(y_true_one_hot, probabilities) -> scalar``; default categorical
        cross-entropy with ``label_smoothing`` on the training targets. Weight
        regularisers of the model (``model.losses``) are added.
    lr_schedule : callable or None
        ``lr_schedule(epoch) -> learning rate`` with a 0-based epoch, set before each epoch.
    evaluate : callable or None
        ``evaluate(probabilities, y_val) -> {metric: value}`` on the validation data,
        stored as ``val_<metric>``; default :func:`probability_scores`.
    monitor : str, callable or None
        What selects the kept epoch: a history key (``"val_accuracy"``; keys ending in
        ``loss`` are minimised, others maximised) or a callable over the epoch's metrics
        dict (maximised). None keeps the last epoch.
    patience : int or None
        Early stopping after this many epochs without improvement of ``monitor``.
    batch_transform : callable or None
        ``batch_transform(x, y_one_hot) -> (x, y)`` on every training batch (numpy), for
        augmentation or mixup.
    jit_compile : bool
        Compile the training step with XLA: tens of seconds to start, much faster per
        epoch, not bit-reproducible against the uncompiled path.
    shuffle, seed
        Reshuffle the training set every epoch with a generator seeded by ``seed``
        (weights are seeded by the caller at build time).
    progress, description
        One tqdm bar over epochs.
    on_epoch_end : callable or None
        ``on_epoch_end(epoch_number, metrics)`` after every epoch.

    Returns
    -------
    FitResult
        The model holds the selected epoch's weights.
    """
    check_fit_arguments(epochs, batch_size, monitor, patience, val is not None)
    n_classes = int(model.output_shape[-1])
    x_train, y_train = class_data(train, "train", n_classes)
    y_train = np.eye(n_classes, dtype=np.float32)[y_train]
    loss_fn = loss or keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing)
    weights = model.trainable_variables

    @tf.function(jit_compile=jit_compile, reduce_retracing=True)
    def train_step(x, y):
        with tf.GradientTape() as tape:
            probabilities = tf.cast(model(x, training=True), tf.float32)
            value = loss_fn(y, probabilities)
            if model.losses:  # weight regularisers (e.g. Light-SERNet's L2)
                value = value + tf.add_n([tf.cast(term, tf.float32) for term in model.losses])
        optimizer.apply_gradients(zip(tape.gradient(value, weights), weights))
        hits = tf.reduce_sum(tf.cast(tf.argmax(probabilities, 1) == tf.argmax(y, 1), tf.float32))
        return value, hits

    @tf.function(jit_compile=jit_compile, reduce_retracing=True)
    def infer(x):
        return tf.cast(model(x, training=False), tf.float32)

    rng = np.random.default_rng(seed)

    def train_epoch(epoch: int) -> tuple[float, float]:
        order = rng.permutation(len(x_train)) if shuffle else np.arange(len(x_train))
        return train_batches(x_train, y_train, order, batch_size, batch_transform, train_step)

    validate = None
    if val is not None:
        x_val, y_val = class_data(val, "val", n_classes)

        def validate() -> Mapping[str, float]:
            return (evaluate or probability_scores)(predict_in_batches(infer, x_val, max(batch_size, 256)), y_val)

    return epoch_loop(
        epochs=epochs, train_epoch=train_epoch, validate=validate, monitor=monitor, patience=patience,
        lr_schedule=lr_schedule, get_lr=lambda: float(keras.ops.convert_to_numpy(optimizer.learning_rate)),
        set_lr=lambda value: setattr(optimizer, "learning_rate", value),
        snapshot=lambda: [w.numpy().copy() for w in model.weights], restore=model.set_weights,
        progress=progress, description=description, on_epoch_end=on_epoch_end,
    )
