"""Deploying Light-SERNet with TensorFlow Lite: float32, float16 and int8 post-training quantisation.

The paper's selling point is size: 0.46 M parameters. This module converts a trained
Keras model to a ``.tflite`` flat buffer and runs it in the TFLite interpreter, one
utterance at a time, as an embedded device would.

``kind`` (:func:`to_tflite`)

``"float32"``
    Plain conversion: ~1.85 MB (4 bytes per weight plus the graph). Agrees with Keras
    to ~1e-6.
``"float16"``
    Weights stored as float16 (half the size: ~0.93 MB); the interpreter dequantises
    them to float32 when the model is loaded and computes in float32. This is the
    file that matches the "0.88 MB" quoted for Light-SERNet: 463,431 weights x 2 bytes
    = 0.927 MB = 0.884 MiB, so the figure is the fp16 weight size in MiB.
``"int8"``
    **Full-integer** post-training quantisation: weights int8 (per-channel), activations
    int8 with scales calibrated on ``representative`` inputs (use a few hundred
    utterances of the *training* fold; never the test fold), int8 kernels for every
    op (``TFLITE_BUILTINS_INT8``: conversion fails rather than silently falling back to
    float). The model keeps a float32 input and output (a quantise op at the start and
    a dequantise op at the end), so the same MFCC arrays can be fed to every kind. We
    chose full-integer over dynamic-range quantisation because it is what runs on
    integer-only microcontrollers / NPUs, and it is what changes accuracy (activations
    are quantised too), which the lesson measures. ~0.5 MB.
``"dynamic"``
    Dynamic-range quantisation, for comparison: int8 weights, float activations
    (quantised on the fly inside each op); no representative data needed.

Runtime: in TF 2.21 ``tf.lite.Interpreter`` still works (it prints a deprecation
warning pointing at the ``ai_edge_litert`` package, which is not installed in this
venv); :class:`TFLiteClassifier` uses ``ai_edge_litert`` when it is importable and
falls back to ``tf.lite.Interpreter`` otherwise. ``TFLiteConverter.from_keras_model``
works with Keras 3 models here.
"""

from __future__ import annotations

import contextlib
import io
import os
import statistics
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

KINDS = ("float32", "float16", "int8", "dynamic")


def _interpreter_class():
    try:  # the successor package, if installed
        from ai_edge_litert.interpreter import Interpreter  # type: ignore[import-not-found]

        return Interpreter
    except ImportError:
        return tf.lite.Interpreter


def layered(model):
    """The ``"layers"`` build of a ``"fused"`` Light-SERNet (same weights); other models unchanged.

    The fused build is for training speed; for deployment the plain Conv2D / BN layers
    convert to TFLite's native (and XNNPACK-accelerated) convolution kernels.
    """
    from papers.light_sernet.model import FusedPaths, build_light_sernet, copy_weights

    if not any(isinstance(layer, FusedPaths) for layer in model.layers):
        return model
    plain = build_light_sernet(tuple(model.input_shape[1:]), int(model.output_shape[-1]), seed=0)
    copy_weights(model, plain)
    return plain


def to_tflite(model, kind: str = "float32", representative: np.ndarray | None = None,
              calibration_size: int = 200, seed: int = 0) -> bytes:
    """Convert a Keras model to a TFLite flat buffer.

    Parameters
    ----------
    model : keras.Model
        Light-SERNet (any Keras model with one input and one output). A ``"fused"``
        build is converted through its ``"layers"`` twin (:func:`layered`).
    kind : {"float32", "float16", "int8", "dynamic"}
        See the module docstring.
    representative : array or None
        Inputs (shaped like the model's input, without or with the batch axis) used to
        calibrate the int8 activation ranges; required for ``"int8"``. Use training-fold
        utterances. At most ``calibration_size`` of them (a seeded random subset) are used.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    model = layered(model)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if kind == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif kind == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif kind == "int8":
        if representative is None or len(representative) == 0:
            raise ValueError("int8 (full-integer) quantisation needs representative inputs: pass training-fold "
                             "features as representative=...; or use kind='dynamic' (int8 weights only)")
        data = np.asarray(representative, dtype=np.float32)
        want = tuple(model.input_shape[1:])
        if data.shape[1:] != want:
            data = data.reshape((-1,) + want)
        if len(data) > calibration_size:
            data = data[np.random.default_rng(seed).choice(len(data), calibration_size, replace=False)]

        def calibration():
            for row in data:
                yield [row[None]]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = calibration
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        # float32 in and out (quantise / dequantise inside the model): same inputs for every kind
        converter.inference_input_type = tf.float32
        converter.inference_output_type = tf.float32
    # The Keras-3 export path prints its signature; the calibrator logs to stderr.
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bytes(converter.convert())


class TFLiteClassifier:
    """Run a ``.tflite`` classifier one utterance at a time (batch 1), like a device would.

    Parameters
    ----------
    model_content : bytes
        From :func:`to_tflite` (or a ``.tflite`` file's bytes).
    num_threads : int
        Interpreter threads (XNNPACK delegate for float models).
    """

    def __init__(self, model_content: bytes, num_threads: int = 1):
        self.model_content = bytes(model_content)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.interpreter = _interpreter_class()(model_content=self.model_content, num_threads=num_threads)
        self.interpreter.allocate_tensors()
        self._input = self.interpreter.get_input_details()[0]
        self._output = self.interpreter.get_output_details()[0]
        self.input_shape = tuple(int(s) for s in self._input["shape"][1:])

    @property
    def size_bytes(self) -> int:
        """Size of the flat buffer (what would be written to the device)."""
        return len(self.model_content)

    def _prepare(self, row: np.ndarray) -> np.ndarray:
        row = np.asarray(row, dtype=np.float32).reshape((1,) + self.input_shape)
        dtype = self._input["dtype"]
        if dtype != np.float32:  # integer input: quantise with the input tensor's scale
            scale, zero = self._input["quantization"]
            info = np.iinfo(dtype)
            row = np.clip(np.round(row / scale + zero), info.min, info.max).astype(dtype)
        return row

    def _invoke(self, row: np.ndarray) -> np.ndarray:
        self.interpreter.set_tensor(self._input["index"], row)
        self.interpreter.invoke()
        out = self.interpreter.get_tensor(self._output["index"])[0]
        if self._output["dtype"] != np.float32:
            scale, zero = self._output["quantization"]
            out = (out.astype(np.float32) - zero) * scale
        return out

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities for ``x`` (``N x T x F`` or ``N x T x F x 1``), one invoke per utterance."""
        x = np.asarray(x, dtype=np.float32)
        return np.stack([self._invoke(self._prepare(row)) for row in x]) if len(x) else np.zeros((0, 0), np.float32)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.predict_proba(x).argmax(axis=1)

    def latency_ms(self, x: np.ndarray, repeats: int = 50, warmup: int = 3) -> float:
        """Median milliseconds per ``invoke`` for the first utterance of ``x`` (batch 1)."""
        row = self._prepare(np.asarray(x, dtype=np.float32)[0])
        for _ in range(warmup):
            self._invoke(row)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            self._invoke(row)
            times.append(time.perf_counter() - start)
        return 1000.0 * statistics.median(times)


def size_table(model, representative: np.ndarray | None = None, kinds=KINDS) -> list[dict]:
    """Flat-buffer size of each kind, in bytes, MB (1e6) and MiB (2^20), for the lesson."""
    rows = []
    for kind in kinds:
        if kind == "int8" and representative is None:
            continue
        size = len(to_tflite(model, kind, representative))
        rows.append({"kind": kind, "bytes": size, "MB": size / 1e6, "MiB": size / 2**20})
    return rows
