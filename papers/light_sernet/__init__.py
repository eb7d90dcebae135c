"""Light-SERNet (Aftab et al., ICASSP 2022): a lightweight, fully convolutional SER network.

Taught by ``notebooks/04_light_sernet``. Spec: ``../shared/papers/light_sernet.md``.

==================  ==============================================================
``features``        16 kHz, centre 3 s (IEMOCAP 7 s), 99.9th-percentile amplitude
                    normalisation, MFCC / log-mel / magnitude spectrogram computed
                    like ``tf.signal`` (184 x 40 MFCC for 3 s)
``model``           :func:`~papers.light_sernet.model.build_light_sernet` (Keras),
                    parameter and MAC arithmetic, receptive fields
``losses``          focal loss and the epoch-indexed learning-rate decay
``recipe``          Adam 1e-4, batch 32, 300 epochs, best val_accuracy; the
                    paper-era ``paper_8020`` protocol and the renaming-bug LOSO
``deploy``          TFLite export (float32 / float16 / int8) and batch-1 inference
``reference.json``  the published numbers (recomputed from the authors' matrices)
==================  ==============================================================

Importing this package imports no framework; ``model`` and ``deploy`` import TensorFlow.
"""

TITLE = "Light-SERNet: a lightweight fully convolutional SER network (Aftab et al., ICASSP 2022)"
NOTEBOOK = "04_light_sernet"
FRAMEWORK = "keras"
