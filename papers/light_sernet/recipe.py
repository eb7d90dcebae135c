"""Light-SERNet's training recipe (spec §4), its protocols (§5) and the notebook's parameters.

Adam (lr 1e-4, Keras defaults otherwise), batch 32, 300 epochs, **focal loss** (γ = 2; or
cross-entropy), the learning rate × e^(−0.15) at every epoch index ≥ 50 divisible by 20
(:func:`~papers.light_sernet.losses.lr_at_epoch`), dropout 0.3, L2 1e-6 on the body
convolutions, and the weights of the epoch with the best ``val_accuracy`` (ties: the later
epoch), where the official "validation" data is the test part.

Protocols: ``paper_8020`` is the paper-era protocol: the shuffled file list cut into ten
parts, ten runs each testing on a random pair of parts (an 80/20 speaker-dependent split;
test sets overlap), the epoch chosen on the test pair, predictions pooled.
``speaker_scrambled`` reproduces the current official code's leave-one-speaker-out with its
file-renaming bug (each file takes the speaker of a random other file of its class), to
measure what the bug hides. The shared ``stratified_10fold`` and ``speaker_independent``
put Light-SERNet in the same table as the other papers.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations

import numpy as np

from papers.light_sernet.losses import cross_entropy, focal_loss, lr_at_epoch
from ser_common import splits
from ser_common.params import Bool, Choice, Float, Path

EPOCHS = 300
BATCH_SIZE = 32
LEARNING_RATE = 1e-4
GAMMA = 2.0

MONITOR = "val_accuracy"
SELECTIONS = ("best_val", "best_test_leaky", "last")


def pairs_of_tenths(y: np.ndarray, n_runs: int, seed: int) -> list[splits.Fold]:
    """The paper-era protocol: ten parts of a shuffled list, each run tests on a random pair of them."""
    rng = np.random.default_rng(seed)
    parts = np.array_split(rng.permutation(len(y)), 10)
    pairs = list(combinations(range(10), 2))
    chosen = [pairs[i] for i in rng.choice(len(pairs), size=min(n_runs, len(pairs)), replace=False)]
    folds = []
    for index, (a, b) in enumerate(chosen):
        test = np.concatenate([parts[a], parts[b]])
        train = np.setdiff1d(np.arange(len(y)), test)
        folds.append(splits.Fold(index, train, [], test, f"run {index + 1}/{len(chosen)} (parts {a + 1}+{b + 1})"))
    return folds


def scrambled_speakers(y: np.ndarray, speakers: np.ndarray, seed: int) -> np.ndarray:
    """The official code's renaming bug: within each class, speakers are handed out in a random order."""
    rng = np.random.default_rng(seed)
    scrambled = np.asarray(speakers).copy()
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        scrambled[members] = scrambled[rng.permutation(members)]
    return scrambled


PROTOCOLS = {
    "paper_8020": splits.Protocol(
        "the paper-era protocol: ten runs, each testing on a random pair of tenths of a shuffled file list "
        "(random 80/20, speaker-dependent, test sets overlap), no validation part; predictions pooled",
        lambda y, speakers, n_splits, seed: pairs_of_tenths(y, n_splits, seed),
        validation=False,
    ),
    "speaker_scrambled": splits.Protocol(
        "the official code's leave-one-speaker-out after its file-renaming bug: every file carries the speaker "
        "of a random other file of its class, so the 'speaker' folds are random subsets (speaker-dependent)",
        lambda y, speakers, n_splits, seed: splits.PROTOCOLS["speaker_independent"].build(
            y, scrambled_speakers(y, speakers, seed), n_splits, seed),
    ),
}

PARAMETERS = {
    "input_type": Choice("mfcc", "mel_spectrogram", "spectrogram"),
    "duration_s": Float(min=0.5, max=30, none=True),
    "loss": Choice("focal", "cross_entropy"),
    "gamma": Float(min=0, max=10),
    "learning_rate": Float(min=0, max=1),
    "dropout": Float(min=0, max=1),
    "l2": Float(min=0, max=1),
    "predict_wav": Path(exists=True),
    "precision": Choice("float32", "mixed_bfloat16"),
    "jit_compile": Bool(),
}


def optimizer(params: Mapping):
    """Adam with the recipe's learning rate (imports Keras)."""
    import keras

    return keras.optimizers.Adam(params["learning_rate"])


def loss(params: Mapping):
    """Focal loss (γ from the parameters) or cross-entropy, on clipped probabilities."""
    return focal_loss(params["gamma"]) if params["loss"] == "focal" else cross_entropy()


def lr_schedule(params: Mapping):
    """The official epoch-indexed decay, starting from the notebook's learning rate."""
    return lambda epoch: lr_at_epoch(epoch, params["learning_rate"])
