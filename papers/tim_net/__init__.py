"""TIM-Net (Ye et al., ICASSP 2023): gated, dilated, causal temporal convolutions in both directions.

Taught by ``notebooks/01_tim_net``. Spec: ``../shared/papers/tim_net.md``.

==================  ==============================================================
``features``        the official MFCC recipe: 22,050 Hz, centre crop/pad per corpus,
                    39 librosa-default MFCCs (EMO-DB 188 x 39)
``model``           :func:`~papers.tim_net.model.build_tim_net` (Keras) and the
                    parameter-count arithmetic
``recipe``          Adam (1e-3, β 0.93 / 0.98), batch 64, 500 epochs, label smoothing
                    0.1, last epoch; the official ``paper_10fold`` protocol
``plots``           the architecture diagram and receptive fields, drawn from a model
``reference.json``  the published numbers, with machine-readable protocol / selection
==================  ==============================================================

Importing this package imports no framework; ``model`` and ``plots`` import Keras.
"""

TITLE = "TIM-Net: Temporal Modeling Matters (Ye et al., ICASSP 2023)"
NOTEBOOK = "01_tim_net"
FRAMEWORK = "keras"
