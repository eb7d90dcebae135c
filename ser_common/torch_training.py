"""A thin PyTorch training helper: seeded, in-memory; the same arguments as the Keras one.

The data sets of these lessons are small (hundreds to a few thousand examples), so the
helper keeps them in memory as tensors on the training device and slices batches from a
seeded permutation: no ``DataLoader`` workers to start, and the batch order is
reproducible. The epoch loop (schedule, validation metrics, selection, history) is
:func:`ser_common.training.epoch_loop`, shared with :mod:`ser_common.keras_training`.

The model must output **logits**. Importing this module imports PyTorch;
``import ser_common`` does not.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Mapping

import numpy as np
import torch
from torch import nn

from ser_common.training import (FitResult, Monitor, check_fit_arguments, class_data, epoch_loop, logit_scores,
                                 predict_in_batches, train_batches)

__all__ = ["fit", "logit_scores", "pick_device", "predict", "predict_logits", "seed_everything"]


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and PyTorch (CPU and all GPUs).

    On the CPU the operations these models use are deterministic, so seeded CPU runs
    repeat exactly; GPU runs may differ in the last digits.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(prefer: str | torch.device | None = None) -> torch.device:
    """The device to train on: ``None`` picks CUDA, then Apple MPS, then the CPU.

    An explicit choice (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``) is returned if it is
    available and raises ``RuntimeError`` otherwise.
    """
    available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    if prefer is None:
        return torch.device(next(name for name in ("cuda", "mps", "cpu") if available[name]))
    try:
        device = torch.device(prefer)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"device {prefer!r} is not a device name such as 'cpu', 'cuda' or 'mps'") from error
    if not available.get(device.type, False):
        raise RuntimeError(f"device {prefer!r} is not available here; available: {[k for k, v in available.items() if v]}")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise RuntimeError(f"device {prefer!r}: only {torch.cuda.device_count()} CUDA device(s) exist")
    return device


@torch.no_grad()
def predict_logits(model: nn.Module, x: np.ndarray | torch.Tensor, batch_size: int = 256,
                   device: str | torch.device | None = None) -> np.ndarray:
    """Model outputs for ``x`` in eval mode without gradients, as a float32 array.

    The model's train/eval mode is restored afterwards. ``device=None`` uses the device the
    model is on; otherwise the model is moved there.
    """
    if device is not None:
        model.to(pick_device(device))
    target = next((tensor.device for tensor in model.parameters()), torch.device("cpu"))
    x = x.float() if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x, dtype=np.float32))
    if len(x) == 0:
        raise ValueError("x is empty: nothing to predict")
    was_training = model.training
    model.eval()
    try:
        return predict_in_batches(lambda batch: model(batch.to(target)).float().cpu(), x, batch_size)
    finally:
        model.train(was_training)


def predict(model: nn.Module, x: np.ndarray | torch.Tensor, batch_size: int = 256,
            device: str | torch.device | None = None) -> np.ndarray:
    """Predicted class indices for ``x`` (argmax of :func:`predict_logits`)."""
    return predict_logits(model, x, batch_size, device).argmax(axis=1)


def fit(
    model: nn.Module,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray] | None = None,
    *,
    epochs: int,
    batch_size: int,
    optimizer: torch.optim.Optimizer,
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    label_smoothing: float = 0.0,
    lr_schedule: Callable[[int], float] | object | None = None,
    evaluate: Callable[[np.ndarray, np.ndarray], Mapping[str, float]] | None = None,
    monitor: Monitor = None,
    patience: int | None = None,
    batch_transform: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None = None,
    device: str | torch.device | None = None,
    channels_last: bool = False,
    autocast: str | None = None,
    shuffle: bool = True,
    seed: int | None = None,
    progress: bool = True,
    description: str = "training",
    on_epoch_end: Callable[[int, dict[str, float]], None] | None = None,
) -> FitResult:
    """Train a PyTorch classifier that outputs logits.

    Parameters
    ----------
    model : nn.Module
        Maps a batch of inputs to logits ``(B, n_classes)``; moved to ``device``.
    train, val : (X, y)
        In-memory arrays; ``y`` holds class indices (or one-hot rows).
    epochs, batch_size : int
    optimizer : torch.optim.Optimizer
        Built on ``model.parameters()`` by the caller (the recipe's settings); moving the
        model to the device keeps its parameters, so it may be built before.
    loss : callable or None
        ``loss(logits, targets) -> scalar``; default ``CrossEntropyLoss(label_smoothing)``,
        which takes class indices and soft-target rows alike.
    lr_schedule : callable, scheduler or None
        ``lr_schedule(epoch) -> learning rate`` (0-based epoch, set before each epoch), or a
        ``torch.optim.lr_scheduler`` object on ``optimizer``, stepped after each epoch (a
        ``ReduceLROnPlateau`` on ``val_loss``, or ``loss`` without validation data).
    evaluate : callable or None
        ``evaluate(logits, y_val) -> {metric: value}`` on the validation data, stored as
        ``val_<metric>`` (e.g. segment logits averaged per utterance); default
        :func:`logit_scores`.
    monitor : str, callable or None
        What selects the kept epoch: a history key (keys ending in ``loss`` are minimised,
        others maximised) or a callable over the epoch's metrics dict (maximised).
        None keeps the last epoch.
    patience : int or None
        Early stopping after this many epochs without improvement of ``monitor``.
    batch_transform : callable or None
        ``batch_transform(x, y) -> (x, targets)`` on every training batch (on the device),
        e.g. mixup; ``targets`` may be class indices or soft targets ``(B, n_classes)``.
    device : str, torch.device or None
        See :func:`pick_device`.
    channels_last : bool
        Store 4-D inputs and weights channels-last (faster 2-D convolutions on CPUs).
    autocast : {"bfloat16", None}
        Run the forward pass under ``torch.autocast`` with this dtype (weights and
        optimiser stay float32).
    shuffle, seed
        Reshuffle every epoch from a generator seeded by ``seed``; ``seed`` also seeds
        dropout and random augmentation (seed before building the model to repeat its
        initialisation).
    progress, description, on_epoch_end
        As in :func:`ser_common.keras_training.fit`.

    Returns
    -------
    FitResult
        The model holds the selected epoch's weights (and BatchNorm statistics) and is
        left in eval mode.
    """
    check_fit_arguments(epochs, batch_size, monitor, patience, val is not None)
    if autocast not in (None, "bfloat16", "float16"):
        raise ValueError(f"autocast must be None, 'bfloat16' or 'float16', got {autocast!r}")
    if seed is not None:
        seed_everything(seed)
    target = pick_device(device)
    model.to(target, memory_format=torch.channels_last) if channels_last else model.to(target)
    scheduler = lr_schedule if hasattr(lr_schedule, "step") else None  # a torch scheduler, stepped after each epoch
    loss_fn = loss or nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    x_train, y_train = (torch.from_numpy(array).to(target) for array in class_data(train, "train"))
    if channels_last and x_train.dim() == 4:
        x_train = x_train.contiguous(memory_format=torch.channels_last)
    order_generator = torch.Generator().manual_seed(seed if seed is not None else int(torch.randint(2**31, ())))
    cast = torch.autocast(target.type, dtype=getattr(torch, autocast)) if autocast else contextlib.nullcontext()

    def train_step(inputs: torch.Tensor, targets: torch.Tensor) -> tuple[float, float]:
        with cast:
            logits = model(inputs)
        value = loss_fn(logits.float(), targets)
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        optimizer.step()
        hard = targets.argmax(dim=1) if targets.dim() == 2 else targets
        return value.item(), (logits.argmax(dim=1) == hard).sum().item()

    def train_epoch(epoch: int) -> tuple[float, float]:
        model.train()
        order = torch.randperm(len(x_train), generator=order_generator) if shuffle else torch.arange(len(x_train))
        return train_batches(x_train, y_train, order.to(target), batch_size, batch_transform, train_step)

    validate = None
    if val is not None:
        x_val, y_val = class_data(val, "val")
        x_val = torch.from_numpy(x_val).to(target)

        def validate() -> Mapping[str, float]:
            return (evaluate or logit_scores)(predict_logits(model, x_val, batch_size=max(batch_size, 256)), y_val)

    def set_lr(value: float) -> None:
        for group in optimizer.param_groups:
            group["lr"] = value

    def end_epoch(epoch: int, record: dict[str, float]) -> None:
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step(record.get("val_loss", record["loss"]))
        elif scheduler is not None:
            scheduler.step()
        if on_epoch_end is not None:
            on_epoch_end(epoch, record)

    result = epoch_loop(
        epochs=epochs, train_epoch=train_epoch, validate=validate, monitor=monitor, patience=patience,
        lr_schedule=lr_schedule if scheduler is None else None, get_lr=lambda: float(optimizer.param_groups[0]["lr"]),
        set_lr=set_lr, snapshot=lambda: {name: value.detach().clone() for name, value in model.state_dict().items()},
        restore=model.load_state_dict, progress=progress, description=description, on_epoch_end=end_epoch,
    )
    model.eval()
    return result

