"""GLAM's published training recipe (spec §4), its protocols (§5) and the notebook's parameters.

Adam (lr 1e-3, weight decay 1e-6), batch 32 segments, 50 epochs, ``ExponentialLR(γ = 0.95)``
stepped after every epoch, cross-entropy on logits with **mixup** (α = 0.5: one
λ ~ Beta(α, α) per batch, partners from a random permutation of the batch). An utterance
is scored by the mean of its segments' logits, and the official code keeps the epoch with
the best (WA + UA) / 2 **on its evaluation split, which is also its test split**.

Protocols: ``paper_8020`` is the official one (a random utterance-level 80/20 split per
seed, no validation part: only ``selection="best_test_leaky"`` reproduces it, or ``last``);
``clean_8020`` draws the same test splits and carves a validation part from the 80 % for
``best_val``. The shared ``stratified_10fold`` and ``speaker_independent`` put GLAM in the
same table as the other papers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from ser_common import splits
from ser_common.metrics import group_mean
from ser_common.params import Choice, ChoiceList, Float, Path
from ser_common.training import logit_scores

EPOCHS = 50
BATCH_SIZE = 32
LEARNING_RATE = 1e-3
WEIGHT_DECAY = 1e-6
LR_GAMMA = 0.95
MIXUP_ALPHA = 0.5

#: Evaluation metric of the official code: the mean of WA and UA over utterances.
MONITOR = "val_wa_ua"
SELECTIONS = ("best_val", "best_test_leaky", "last")


def _seeds(seed: int, n: int) -> list[int]:
    return [seed + i for i in range(n)]


PROTOCOLS = {
    "paper_8020": splits.Protocol(
        "the official protocol: one random utterance-level 80/20 split per seed (speaker-dependent), no "
        "validation part (the epoch is chosen on the 20 %: selection='best_test_leaky')",
        lambda y, speakers, n_splits, seed: splits.random_holdout(y, _seeds(seed, n_splits), test_fraction=0.2),
        validation=False,
    ),
    "clean_8020": splits.Protocol(
        "the official 80/20 test splits (same seeds), with 10 % of the 80 % held out to choose the epoch",
        lambda y, speakers, n_splits, seed: splits.random_holdout(y, _seeds(seed, n_splits), test_fraction=0.2,
                                                                  val_fraction=0.1),
    ),
}

PARAMETERS = {
    "variants": ChoiceList("glam", "no_shortcut", "single_3x3", "single_5x5", "no_fusion", "mhsa", identity=False),
    "short_policy": Choice("pad", "drop"),
    "mixup_alpha": Float(min=0, max=100),
    "learning_rate": Float(min=0, max=1),
    "weight_decay": Float(min=0, max=1),
    "lr_gamma": Float(min=0, max=1),
    "predict_wav": Path(exists=True),
    "precision": Choice("float32", "bfloat16"),
}


def optimizer(model, params: Mapping):
    """Adam with the recipe's learning rate and weight decay (imports PyTorch)."""
    import torch

    return torch.optim.Adam(model.parameters(), lr=params["learning_rate"], weight_decay=params["weight_decay"])


def lr_schedule(params: Mapping) -> Callable[[int], float]:
    """``ExponentialLR(γ)`` as a function of the 0-based epoch: lr · γ^epoch.

    (The official loop stops decaying below 1e-6, which 50 epochs at γ = 0.95 never reach.)
    """
    return lambda epoch: params["learning_rate"] * params["lr_gamma"] ** epoch


def mixup(alpha: float, n_classes: int, seed: int):
    """The training-batch transform: ``x̃ = λx + (1 − λ)x[perm]`` with soft targets (PyTorch tensors).

    With soft targets λ·onehot(y) + (1 − λ)·onehot(y[perm]), cross-entropy equals the
    official λ·CE(ŷ, y) + (1 − λ)·CE(ŷ, y[perm]). ``alpha=0`` turns mixup off.
    """
    import torch

    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)

    def transform(x, y):
        if alpha <= 0:
            return x, y
        lam = float(rng.beta(alpha, alpha))
        permutation = torch.randperm(len(x), generator=generator).to(x.device)
        one_hot = torch.nn.functional.one_hot(y, n_classes).float()
        return lam * x + (1 - lam) * x[permutation], lam * one_hot + (1 - lam) * one_hot[permutation]

    return transform


def utterance_scores(logits: np.ndarray, utterances: np.ndarray, y_utterance: np.ndarray,
                     y_segments: np.ndarray | None = None) -> dict[str, float]:
    """Scores of utterances from their segments' logits (mean logit per utterance, as the official code).

    ``utterances`` gives the utterance of every segment row; ``y_utterance`` is indexed by
    utterance. Returns ``loss``, ``accuracy`` (WA), ``ua``, ``wa_ua`` = (WA + UA) / 2 and,
    with ``y_segments``, ``segment_accuracy``.
    """
    ids, mean_logits = group_mean(logits, utterances)
    scores = logit_scores(mean_logits, y_utterance[ids])
    scores["wa_ua"] = (scores["accuracy"] + scores["ua"]) / 2
    if y_segments is not None:
        scores["segment_accuracy"] = float(np.mean(np.asarray(logits).argmax(axis=1) == y_segments))
    return scores


def utterance_predictions(logits: np.ndarray, utterances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(utterance ids ascending, predicted class of each) from segment logits."""
    ids, mean_logits = group_mean(logits, utterances)
    return ids, mean_logits.argmax(axis=1)
