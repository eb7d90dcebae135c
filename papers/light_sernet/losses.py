"""Light-SERNet's loss and learning-rate schedule (spec section 4).

* Focal loss with gamma = 2 and **no** alpha / class weights:
  ``FL = (1 - p_t)^gamma * (-log p_t)``, where ``p_t`` is the predicted probability of
  the true class, clipped to ``[1e-7, 1 - 1e-7]``, averaged over the batch. gamma = 0
  is the cross-entropy; the factor ``(1 - p_t)^gamma`` shrinks the loss of examples
  the model already gets right (p_t = 0.9 -> factor 0.01), so training concentrates
  on the hard ones.
* Adam at 1e-4, constant for epochs 0-49; from epoch 50 on, at every 0-based epoch
  index divisible by 20 (60, 80, ..., 280) the rate is multiplied by ``e^-0.15``:
  12 decays in 300 epochs, ending at ``1e-4 * e^-1.8 = 1.653e-5``.

Importing this module does not import a deep-learning framework: :func:`focal_loss`
imports Keras when called, the rest is NumPy / pure Python (for the lesson's plots).
"""

from __future__ import annotations

import math

import numpy as np

EPSILON = 1e-7  #: probabilities are clipped to [EPSILON, 1 - EPSILON], as Keras does
GAMMA = 2.0
BASE_LR = 1e-4
DECAY_START = 50  #: no decay before this 0-based epoch
DECAY_EVERY = 20  #: decay at epoch indices divisible by this (from DECAY_START on)
DECAY_FACTOR = math.exp(-0.15)
EPOCHS = 300


def focal_loss(gamma: float = GAMMA, epsilon: float = EPSILON):
    """Focal loss on softmax probabilities, for ``model.compile(loss=...)`` or a custom step.

    Returns ``loss(y_true, probs) -> scalar``: ``y_true`` one-hot (``B x C``) or class
    indices (``B``); ``probs`` the model's softmax output (``B x C``). Both are cast to
    float32 first, so the loss is computed in float32 under a mixed-precision policy.
    The result is the batch mean of ``(1 - p_t)^gamma * -log(p_t)`` with ``p_t``
    clipped to ``[epsilon, 1 - epsilon]``. ``gamma=0`` is the categorical cross-entropy.
    """
    from keras import ops

    gamma = float(gamma)

    def loss(y_true, probs):
        probs = ops.cast(probs, "float32")
        n_classes = probs.shape[-1]
        y_true = ops.cast(y_true, "float32")
        if len(y_true.shape) == len(probs.shape) - 1:  # class indices
            y_true = ops.one_hot(ops.cast(y_true, "int32"), n_classes)
        p = ops.clip(probs, epsilon, 1.0 - epsilon)
        per_class = -y_true * ops.log(p)
        if gamma:
            per_class = per_class * ops.power(1.0 - p, gamma)
        return ops.mean(ops.sum(per_class, axis=-1))

    loss.__name__ = f"focal_loss_gamma{gamma:g}" if gamma else "cross_entropy"
    return loss


def cross_entropy(epsilon: float = EPSILON):
    """The same loss with gamma = 0: categorical cross-entropy on clipped probabilities."""
    return focal_loss(0.0, epsilon)


def focal_loss_numpy(p_t, gamma: float = GAMMA, epsilon: float = EPSILON) -> np.ndarray:
    """``(1 - p_t)^gamma * -log(p_t)`` elementwise for true-class probabilities ``p_t`` (for plots)."""
    p = np.clip(np.asarray(p_t, dtype=np.float64), epsilon, 1.0 - epsilon)
    return (1.0 - p) ** gamma * -np.log(p)


def n_decays(epoch: int) -> int:
    """How many times the rate has been multiplied by ``e^-0.15`` when 0-based ``epoch`` runs."""
    if epoch < 0:
        raise ValueError(f"epoch must be >= 0, got {epoch}")
    first = DECAY_START + (-DECAY_START) % DECAY_EVERY  # 60: the first multiple of 20 that is >= 50
    return 0 if epoch < first else (epoch - first) // DECAY_EVERY + 1


def lr_at_epoch(epoch: int, base_lr: float = BASE_LR) -> float:
    """Learning rate used *during* 0-based ``epoch``.

    The official callback runs at the start of each epoch and multiplies the current
    rate by ``e^-0.15`` when ``epoch >= 50 and epoch % 20 == 0``; so epochs 0-59 use
    1e-4, epoch 60 is the first with the decayed rate (8.607e-5), and epoch 299 uses
    ``1e-4 * e^(-0.15 * 12) = 1.653e-5``. This is the closed form of that rule.
    """
    return base_lr * DECAY_FACTOR ** n_decays(int(epoch))
