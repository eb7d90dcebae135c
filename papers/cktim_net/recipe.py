"""CkTIM-Net's training recipe (spec §4) and the notebook's parameters.

Adam with lr 0.01 (PyTorch defaults otherwise), batch 64, 100 epochs, cross-entropy with
label smoothing 0.1, dropout 0.1, ``ReduceLROnPlateau(mode="min", factor=0.25,
patience=5)`` stepped on the validation loss, and the weights of the epoch with the
lowest validation loss. The project's own protocol (one EMOVO 70/20/10 split, regenerated
from directory order) cannot be reproduced faithfully; the notebook uses the clean
shared protocols instead.
"""

from __future__ import annotations

from collections.abc import Mapping

from ser_common.params import Bool, Choice, Float, Int, IntList

EPOCHS = 100
BATCH_SIZE = 64
LEARNING_RATE = 0.01
LR_FACTOR = 0.25
LR_PATIENCE = 5
LABEL_SMOOTHING = 0.1
DROPOUT = 0.1

#: The original project's setting of each knob the trials turn (the reported runs): a run that
#: differs in any of them is a trial, paired with the original-recipe run on the same folds.
ORIGINAL = {"init_seed": None, "kernel_generator": "conv", "generator_activation": "sin", "omega_0": 25.0,
            "augment": False, "normalize": "none", "learning_rate": LEARNING_RATE, "epochs": EPOCHS}

MONITOR = "val_loss"
SELECTIONS = ("best_val", "last")

PARAMETERS = {
    # Which runs the notebook makes: each (model, TABs) pair is one run with its own results file.
    "n_tabs": IntList(min=1, max=12, identity=False),
    "models": Choice("tim", "cktim", "both", identity=False),
    # A seed trial's init seed enters the results identity through the run's variant (see the notebook).
    "init_seed": Int(min=0, none=True, identity=False),
    "kernel_generator": Choice("conv", "kan"),
    "generator_activation": Choice("sin", "kaf", "kafsin"),
    "omega_0": Float(min=0),
    "entry_omega_0": Float(min=0),
    "hidden_scale": Float(min=0.01, max=16),
    "augment": Bool(),
    "normalize": Choice("none", "train_stats"),
    "learning_rate": Float(min=0, max=1),
    "lr_factor": Float(min=0, max=1),
    "lr_patience": Int(min=1),
    "label_smoothing": Float(min=0, max=1),
    "dropout": Float(min=0, max=1),
}


def model_kinds(params: Mapping) -> list[str]:
    """The models the notebook trains: ``["tim"]``, ``["cktim"]`` or both."""
    return ["tim", "cktim"] if params["models"] == "both" else [params["models"]]


def optimizer(model, params: Mapping):
    """Adam on the model's parameters with the recipe's learning rate (imports PyTorch)."""
    import torch

    return torch.optim.Adam(model.parameters(), lr=params["learning_rate"])


def lr_schedule(optimizer, params: Mapping):
    """ReduceLROnPlateau on the validation loss (stepped by the training helper)."""
    import torch

    return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=params["lr_factor"],
                                                      patience=params["lr_patience"])
