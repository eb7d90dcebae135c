"""CkTIM-Net (Romano & Renzi, student project 2024): TIM-Net with continuous-kernel convolutions.

Taught by ``notebooks/02_cktim_net``. Spec: ``../shared/papers/cktim_net.md``.

==================  ==============================================================
``features``        TIM-Net's MFCCs, channels first (39 x T)
``model``           the bidirectional TAB backbone, :func:`build_tim` (PyTorch TIM-Net)
                    and :func:`build_cktim`, and the parameter-count arithmetic
``ckconv``          the continuous-kernel convolution and its SIREN generator
``kan``, ``kaf``    the KAN kernel generator and the KAF activations (spec §9)
``augment``         the offline audio augmentation of training files (numpy only)
``recipe``          Adam 0.01, batch 64, 100 epochs, ReduceLROnPlateau(0.25, 5) on the
                    validation loss, best validation loss
``reference.json``  the project's EMOVO numbers
==================  ==============================================================

Importing this package imports no framework; ``model``, ``ckconv``, ``kan`` and ``kaf``
import PyTorch.
"""

TITLE = "CkTIM-Net: continuous-kernel TIM-Net (Romano & Renzi, 2024)"
NOTEBOOK = "02_cktim_net"
FRAMEWORK = "torch"
