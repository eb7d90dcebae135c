"""A thin PyTorch training helper: seeded, in-memory, with the shared history.

The data sets of these lessons are small (hundreds to a few thousand utterances), so the
helper keeps them in memory as tensors on the training device and slices batches from a
seeded permutation: no ``DataLoader`` workers to start, and the batch order is
reproducible. Paper-specific choices (loss, smoothing, optimiser, schedule, mixup) are
arguments; paper-specific tricks live in the paper packages.

The returned :class:`ser_common.training.FitResult` has the history format shared with
the Keras helper (see :mod:`ser_common.training`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ser_common.training import BestEpochTracker, FitResult, new_history, validate_fit_options

__all__ = ["fit", "pick_device", "predict", "predict_logits", "seed_everything"]

OptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]
BatchTransform = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and PyTorch (CPU and all GPUs).

    ``torch.use_deterministic_algorithms`` is deliberately left alone: turning it on makes
    some GPU kernels raise or slow down, while on the CPU the operations these models use
    are deterministic already, so seeded CPU runs repeat exactly without it. GPU runs may
    still differ in the last digits between runs.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def pick_device(prefer: str | torch.device | None = None) -> torch.device:
    """The device to train on.

    Parameters
    ----------
    prefer : str, torch.device or None
        ``None`` picks CUDA if available, then Apple MPS, then the CPU. An explicit choice
        (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``) is returned if it is available and
        raises ``RuntimeError`` otherwise.
    """
    if prefer is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(prefer)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"prefer={prefer!r} is not a device name such as 'cpu', 'cuda' or 'mps'") from error
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("prefer='cuda' but no CUDA device is available to PyTorch")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise RuntimeError(f"prefer={prefer!r} but only {torch.cuda.device_count()} CUDA device(s) exist")
    elif device.type == "mps" and not _mps_available():
        raise RuntimeError("prefer='mps' but the Apple MPS backend is not available")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise RuntimeError(f"prefer={prefer!r}: only 'cpu', 'cuda' and 'mps' are supported")
    return device


def _mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def _model_device(model: nn.Module) -> torch.device:
    for tensor in model.parameters():
        return tensor.device
    return torch.device("cpu")


@torch.no_grad()
def predict_logits(
    model: nn.Module, x: np.ndarray | torch.Tensor, batch_size: int = 256, device: str | torch.device | None = None
) -> np.ndarray:
    """Model outputs for ``x`` in eval mode without gradients, as a float32 array.

    The model's train/eval mode is restored afterwards. ``device=None`` uses the device
    the model is on; otherwise the model is moved there.
    """
    _check_positive(batch_size, "batch_size")
    if device is not None:
        model.to(pick_device(device))
    target = _model_device(model)
    x = torch.as_tensor(x, dtype=torch.float32)
    was_training = model.training
    model.eval()
    try:
        parts = [model(x[i : i + batch_size].to(target)).float().cpu() for i in range(0, len(x), batch_size)]
    finally:
        model.train(was_training)
    if not parts:
        raise ValueError("x is empty: nothing to predict")
    return torch.cat(parts).numpy()


def predict(
    model: nn.Module, x: np.ndarray | torch.Tensor, batch_size: int = 256, device: str | torch.device | None = None
) -> np.ndarray:
    """Predicted class indices for ``x`` (argmax of :func:`predict_logits`)."""
    return predict_logits(model, x, batch_size, device).argmax(axis=1)


def fit(
    model: nn.Module,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray] | None = None,
    *,
    epochs: int,
    batch_size: int,
    optimizer: torch.optim.Optimizer | None = None,
    optimizer_factory: OptimizerFactory | None = None,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    label_smoothing: float = 0.0,
    scheduler: object | Callable[[torch.optim.Optimizer], object] | None = None,
    keep_best: str | None = None,
    early_stopping_patience: int | None = None,
    batch_transform: BatchTransform | None = None,
    device: str | torch.device | None = None,
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
        Maps a batch of inputs to logits ``(B, n_classes)``. Moved to ``device``.
    train, val : (X, y)
        In-memory arrays; ``y`` holds class indices (or one-hot rows).
    epochs, batch_size : int
    optimizer, optimizer_factory
        Exactly one: an optimiser already built on ``model.parameters()``, or a callable
        ``factory(model.parameters()) -> optimizer`` (called after the model is moved).
    loss_fn : callable or None
        ``loss_fn(logits, targets)``; default ``CrossEntropyLoss(label_smoothing=...)``,
        which accepts class indices and soft-target rows alike.
    label_smoothing : float
        Smoothing of the default training loss (not used for ``val_loss``, which is always
        plain cross-entropy). Ignored when ``loss_fn`` is given.
    scheduler : scheduler, callable or None
        A learning-rate scheduler, or ``factory(optimizer) -> scheduler``. Stepped once per
        epoch; a ``ReduceLROnPlateau`` is stepped on ``val_loss`` (on ``loss`` without
        validation data).
    keep_best : str or None
        A history key such as ``"val_loss"`` or ``"val_ua"``: at the end, restore the
        weights (and BatchNorm statistics) of the best epoch by that key (ties: the later
        epoch). ``None`` keeps the last epoch's weights.
    early_stopping_patience : int or None
        Stop after this many epochs without improvement of ``keep_best``.
    batch_transform : callable or None
        Augmentation / mixup hook: ``batch_transform(x, y) -> (x, targets)`` on every
        training batch (already on the device); ``targets`` may be class indices or soft
        targets ``(B, n_classes)``. Training accuracy then compares with their argmax.
    device : str, torch.device or None
        See :func:`pick_device`.
    shuffle : bool
        Reshuffle the training set every epoch.
    seed : int or None
        Seeds the batch order, and (via :func:`seed_everything`) dropout and any random
        augmentation. Weights are initialised when the model is built, so seed before
        building it to repeat a run exactly.
    progress : bool
        One tqdm bar over epochs with the latest metrics.
    description : str
        Label of the progress bar.
    on_epoch_end : callable or None
        Called as ``on_epoch_end(epoch_number, metrics_dict)`` after every epoch.

    Returns
    -------
    FitResult
        History in the shared format; the model holds the selected epoch's weights and is
        left in eval mode.
    """
    validate_fit_options(keep_best, early_stopping_patience, val is not None)
    _check_positive(epochs, "epochs")
    _check_positive(batch_size, "batch_size")
    if (optimizer is None) == (optimizer_factory is None):
        raise ValueError("pass exactly one of optimizer= or optimizer_factory=")
    if seed is not None:
        seed_everything(seed)

    target = pick_device(device)
    model.to(target)
    if optimizer is None:
        optimizer = optimizer_factory(model.parameters())
    if scheduler is not None and not hasattr(scheduler, "step"):
        scheduler = scheduler(optimizer)
    if loss_fn is None:
        loss_fn = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    x_train, y_train = _as_tensors(train, "train", target)
    if val is not None:
        x_val, y_val = _as_tensors(val, "val", target)

    order_generator = torch.Generator().manual_seed(seed if seed is not None else int(torch.randint(2**31, ())))
    history = new_history(with_validation=val is not None)
    tracker = BestEpochTracker(keep_best, early_stopping_patience)
    bar = tqdm(range(1, epochs + 1), desc=description, disable=not progress, unit="epoch")
    for epoch in bar:
        start = time.perf_counter()
        record = {"lr": float(optimizer.param_groups[0]["lr"])}
        record["loss"], record["accuracy"] = _train_epoch(
            model, optimizer, loss_fn, x_train, y_train, batch_size, shuffle, order_generator, batch_transform
        )
        if val is not None:
            record["val_loss"], record["val_accuracy"], record["val_ua"] = _evaluate(model, x_val, y_val, batch_size)
        record["time_s"] = time.perf_counter() - start
        for key in history:
            history[key].append(record[key])
        _step_scheduler(scheduler, record)
        bar.set_postfix({k: f"{v:.3f}" for k, v in record.items() if k in ("loss", "accuracy", "val_loss", "val_ua")})
        if on_epoch_end is not None:
            on_epoch_end(epoch, record)
        snapshot = lambda: {name: value.detach().clone() for name, value in model.state_dict().items()}  # noqa: E731
        if tracker.update(epoch, record, snapshot):
            break
    bar.close()

    selected = len(history["loss"])
    if tracker.best_snapshot is not None:
        model.load_state_dict(tracker.best_snapshot)
        selected = tracker.best_epoch
    model.eval()
    return FitResult(history=history, selected_epoch=selected, selection=tracker.selection,
                     stopped_early=tracker.stopped_early)


def _train_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable,
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int,
    shuffle: bool,
    generator: torch.Generator,
    batch_transform: BatchTransform | None,
) -> tuple[float, float]:
    """One pass over the training set; returns (mean loss, accuracy) in train mode."""
    model.train()
    order = torch.randperm(len(x), generator=generator) if shuffle else torch.arange(len(x))
    order = order.to(x.device)
    loss_sum, correct = 0.0, 0.0
    for begin in range(0, len(order), batch_size):
        index = order[begin : begin + batch_size]
        inputs, targets = x[index], y[index]
        if batch_transform is not None:
            inputs, targets = batch_transform(inputs, targets)
        logits = model(inputs)
        loss = loss_fn(logits, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        hard_targets = targets.argmax(dim=1) if targets.dim() == 2 else targets
        loss_sum += loss.item() * len(index)
        correct += (logits.argmax(dim=1) == hard_targets).sum().item()
    return loss_sum / len(order), correct / len(order)


@torch.no_grad()
def _evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> tuple[float, float, float]:
    """(cross-entropy, accuracy, UA) in eval mode; UA averages recall over classes present in ``y``."""
    model.eval()
    eval_batch = max(batch_size, 256)  # eval mode: batch size does not change the result
    logits = torch.cat([model(x[i : i + eval_batch]) for i in range(0, len(x), eval_batch)]).float()
    loss = nn.functional.cross_entropy(logits, y).item()
    predicted = logits.argmax(dim=1)
    recalls = [(predicted[y == c] == c).float().mean().item() for c in torch.unique(y)]
    return loss, (predicted == y).float().mean().item(), float(np.mean(recalls))


def _step_scheduler(scheduler: object | None, record: dict[str, float]) -> None:
    if scheduler is None:
        return
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step(record.get("val_loss", record["loss"]))
    else:
        scheduler.step()


def _as_tensors(
    data: tuple[np.ndarray, np.ndarray], name: str, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """(float32 inputs, int64 class indices) on ``device``; one-hot labels become indices."""
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise ValueError(f"{name} must be a tuple (X, y)")
    x = np.asarray(data[0], dtype=np.float32)
    y = np.asarray(data[1])
    if y.ndim == 2:
        y = y.argmax(axis=1)
    if y.ndim != 1 or not (np.issubdtype(y.dtype, np.integer) or np.all(np.mod(y, 1) == 0)):
        raise ValueError(f"{name} labels must be class indices (N,) or one-hot rows (N, C), got shape {y.shape}")
    if len(x) != len(y):
        raise ValueError(f"{name} X has {len(x)} rows but y has {len(y)}")
    if len(x) == 0:
        raise ValueError(f"{name} is empty")
    if y.min() < 0:
        raise ValueError(f"{name} labels must be non-negative class indices, got minimum {y.min()}")
    return torch.from_numpy(x).to(device), torch.from_numpy(y.astype(np.int64)).to(device)


def _check_positive(value: int, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
