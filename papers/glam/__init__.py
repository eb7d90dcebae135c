"""GLAM (Zhu & Li, ICASSP 2022): a multi-scale CNN with a global-aware (gMLP) fusion block.

Taught by ``notebooks/03_glam``. Spec: ``../shared/papers/glam.md``.

==================  ==============================================================
``features``        16 kHz, 1.8 s windows every 0.2 s, 26 librosa MFCCs: 26 x 57 per
                    segment; short utterances padded (or dropped, as the official code)
``model``           :func:`~papers.glam.model.build_glam` (PyTorch) with its ablation
                    variants, and the parameter-count arithmetic
``recipe``          Adam 1e-3 (weight decay 1e-6), batch 32, 50 epochs, ExponentialLR
                    0.95, mixup α 0.5; utterance = mean of its segments' logits;
                    the official ``paper_8020`` protocol and its clean twin
``reference.json``  the published numbers, all of them on IEMOCAP
==================  ==============================================================

Every published GLAM number is IEMOCAP (4 classes, excited used as happy, real happy
dropped); numbers on EMO-DB in this repository are ours alone. Importing this package
imports no framework; ``model`` imports PyTorch.
"""

TITLE = "GLAM: global-aware multi-scale network (Zhu & Li, ICASSP 2022)"
NOTEBOOK = "03_glam"
FRAMEWORK = "torch"
