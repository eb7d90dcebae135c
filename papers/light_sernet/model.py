"""Light-SERNet (Aftab et al., ICASSP 2022) in Keras, built from ``shared/papers/light_sernet.md`` section 3.

``Light_SERNet_V1``: a fully convolutional network on a ``T x 40 x 1`` MFCC image
(T = 184 frames for 3 s, 434 for 7 s).

1. Three parallel paths see the input through differently shaped kernels:
   11 x 1 (11 frames of one coefficient: *time*), 1 x 9 (one frame, 9 coefficients:
   *frequency*) and 3 x 3 (both). Each path is Conv2D(32, bias) -> BN -> ReLU ->
   AvgPool 2 x 2; the three outputs are concatenated to 96 channels.
2. Four LFLB blocks: Conv2D 3 x 3 (no bias, L2 1e-6) -> BN -> ReLU -> AvgPool, with
   64 / 96 / 128 / 160 filters and pools 2x2, 2x2, 2x1, 2x1.
3. A 1 x 1 convolution to 320 channels (no bias, L2 1e-6) -> BN -> ReLU.
4. Global average pooling -> Dropout 0.3 -> Dense softmax.

Every convolution is 'same'-padded with stride 1; every average pool is 'same'-padded
(odd sizes are padded at the end, and Keras averages only the valid cells).

A note for the lesson: the "frequency" path runs along *cepstral coefficients*, not
spectral bins, because the input is MFCC (a DCT of the log-mel spectrum). The 1 x 9
kernel therefore mixes 9 neighbouring quefrencies.

Spec ambiguity (decided here): the spec gives the path order of operations only as
columns of a table (bias, activation, norm, pool); we use the LFLB order that section 1
states, conv -> BN -> ReLU -> pool, for the paths as well. The parameter count does not
depend on it.

Mixed precision: the classifier ``Dense`` layer is always float32, so under a
``mixed_bfloat16`` / ``mixed_float16`` global policy the softmax and therefore the loss
are computed in float32 (the convolutions run in the low-precision compute dtype).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from keras import layers, ops  # noqa: E402

#: The three parallel paths: (name, kernel (frames, coefficients)), 32 filters each, with bias.
PATHS: tuple[tuple[str, tuple[int, int]], ...] = (
    ("time", (11, 1)),
    ("frequency", (1, 9)),
    ("time_frequency", (3, 3)),
)
PATH_FILTERS = 32
PATH_POOL = (2, 2)
#: The LFLB body: (filters, kernel, pool), no bias, L2 on the kernel.
BODY: tuple[tuple[int, tuple[int, int], tuple[int, int]], ...] = (
    (64, (3, 3), (2, 2)),
    (96, (3, 3), (2, 2)),
    (128, (3, 3), (2, 1)),
    (160, (3, 3), (2, 1)),
)
POINTWISE_FILTERS = 320
DROPOUT = 0.3
L2 = 1e-6
#: Frame length and hop of the MFCC front end (spec section 2), for receptive fields in ms.
FRAME_MS = 64.0
HOP_MS = 16.0


@keras.saving.register_keras_serializable(package="light_sernet")
class FusedPaths(layers.Layer):
    """The three parallel convolutions and their batch norms, computed without a 96-channel BN pass.

    Input ``B x T x F x 1``; output ``B x T x F x 96`` = for each path, Conv2D(32,
    'same', bias) followed by BatchNormalization (Keras semantics: batch mean and
    biased batch variance in training, moving averages with momentum 0.99 updated
    from them, eps 1e-3), the three concatenated on channels. That is the same function
    as the three conv -> BN pairs of the ``"layers"`` build (before the ReLU).

    Three rewrites make it fast on a CPU. In a layered XLA training step (EMO-DB, batch
    32, one thread) the paths' convolutions, BNs and gradients take about 40% of the
    time for 4% of the multiply-accumulates; here they take about 15%:

    1. **im2col as one matrix product.** The input has one channel, so a ``kh x kw``
       convolution is a product of the ``kh kw`` shifted copies of the input with a
       ``kh kw x 32`` matrix. The 11 + 9 + 9 = 29 shifted copies, stacked, times one
       block-diagonal ``29 x 96`` matrix give all three paths at once (a 1-channel
       ``Conv2D``, and above all its weight gradient, runs an order of magnitude
       below matrix-product speed).
    2. **Batch norm folded into the convolution, in training too.** The conv output is
       linear in the patch vector ``p``: ``y = W^T p + b``. So its batch mean is
       ``W^T mean(p) + b`` and its batch variance ``diag(W^T Cov(p) W)``, where
       ``Cov(p)`` is a 29 x 29 matrix from one small product. The normalised output is
       then one product ``p^T (W * s) + (beta - W^T mean(p) * s)`` with
       ``s = gamma / sqrt(var + eps)``: BN never touches the 96-channel tensor, in
       the forward pass or (by automatic differentiation of the same algebra) in the
       backward pass. The patches are centred on their batch mean before the
       covariance, to avoid cancellation.
    3. **A batched weight gradient** (:meth:`_project`), because XLA's own layout for
       this long, thin product is four times slower.

    Agreement with the layered build is at float32 rounding (outputs ~1e-7, gradients
    ~1e-6 relative; in float64 ~1e-14), checked in ``tests/test_light_sernet.py``.

    The path biases cancel in training-mode BN (the batch mean subtracts them), as
    they do in the layered build; they matter only through the moving mean.

    Weights: three ``kh x kw x 1 x 32`` kernels and three ``32`` biases (the Conv2D
    shapes), then gamma, beta, moving mean and moving variance of length 96 (the three
    path BNs side by side), so :func:`copy_weights` maps both builds exactly and the
    parameter count is unchanged.
    """

    def __init__(self, filters: int = PATH_FILTERS, kernels=tuple(k for _, k in PATHS),
                 kernel_initializers=None, momentum: float = 0.99, epsilon: float = 1e-3, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernels = tuple(tuple(int(v) for v in k) for k in kernels)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self._initializers = kernel_initializers or ["glorot_uniform"] * len(self.kernels)

    def build(self, input_shape):
        if input_shape[-1] != 1:
            raise ValueError(f"FusedPaths expects one input channel, got shape {input_shape}")
        self.path_kernels, self.path_biases = [], []
        for i, kernel in enumerate(self.kernels):
            self.path_kernels.append(self.add_weight(name=f"kernel_{i}", shape=kernel + (1, self.filters),
                                                     initializer=self._initializers[i]))
            self.path_biases.append(self.add_weight(name=f"bias_{i}", shape=(self.filters,), initializer="zeros"))
        channels = self.filters * len(self.kernels)
        self.gamma = self.add_weight(name="gamma", shape=(channels,), initializer="ones")
        self.beta = self.add_weight(name="beta", shape=(channels,), initializer="zeros")
        self.moving_mean = self.add_weight(name="moving_mean", shape=(channels,), initializer="zeros",
                                           trainable=False)
        self.moving_variance = self.add_weight(name="moving_variance", shape=(channels,), initializer="ones",
                                               trainable=False)

    def patches(self, x):
        """``B x T x F x 29``: the shifted copies of the input that the three kernels read ('same' padding)."""
        x = x[..., 0]
        t, f = x.shape[1], x.shape[2]
        columns = []
        for kh, kw in self.kernels:  # 'same' padding: (k - 1) // 2 before, the rest after, as Keras / TF
            padded = ops.pad(x, [(0, 0), ((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2)])
            columns += [padded[:, i : i + t, j : j + f] for i in range(kh) for j in range(kw)]
        return ops.stack(columns, axis=-1)

    def block_weight(self, dtype="float32"):
        """The ``29 x 96`` block-diagonal matrix of the three kernels."""
        n = len(self.kernels)
        blocks = []
        for i, kernel in enumerate(self.path_kernels):
            w = ops.reshape(ops.cast(kernel, dtype), (-1, self.filters))
            blocks.append(ops.pad(w, [(0, 0), (i * self.filters, (n - 1 - i) * self.filters)]))
        return ops.concatenate(blocks, axis=0)

    @staticmethod
    def _project(patches, weight):
        """``einsum('btfk,kc->btfc')`` whose weight gradient is a per-utterance batched product.

        Left to itself, XLA on a CPU lays the weight gradient out as a 29 x 96 product
        contracting 235,520 rows of two transposed operands, four times slower than
        summing 32 per-utterance products.
        """

        @ops.custom_gradient
        def project(p, w):
            def grad(*args, upstream=None):
                upstream = args[0] if upstream is None else upstream
                b = ops.shape(p)[0]
                k, c = p.shape[-1], upstream.shape[-1]
                grad_w = ops.sum(ops.matmul(ops.transpose(ops.reshape(p, (b, -1, k)), (0, 2, 1)),
                                            ops.reshape(upstream, (b, -1, c))), axis=0)
                grad_p = ops.einsum("btfc,kc->btfk", upstream, w)  # pruned when the input needs no gradient
                return grad_p, grad_w

            return ops.einsum("btfk,kc->btfc", p, w), grad

        return project(patches, weight)

    def call(self, x, training=None):
        dtype = "float64" if self.compute_dtype == "float64" else "float32"  # statistics never in 16 bits
        patches = ops.cast(self.patches(x), dtype)
        weight = self.block_weight(dtype)
        bias = ops.concatenate([ops.cast(b, dtype) for b in self.path_biases], axis=0)
        gamma, beta = ops.cast(self.gamma, dtype), ops.cast(self.beta, dtype)
        if training and self.trainable:
            flat = ops.reshape(patches, (-1, patches.shape[-1]))
            shift = ops.stop_gradient(ops.mean(flat))  # one scalar: keeps the zero padding's structure
            centred = flat - shift
            n = ops.cast(ops.shape(flat)[0], dtype)
            mean_p = ops.mean(centred, axis=0)  # 29
            cov = ops.matmul(ops.transpose(centred), centred) / n - ops.outer(mean_p, mean_p)
            mean = ops.matmul(mean_p + shift, weight) + bias  # batch mean of the conv output, 96
            variance = ops.maximum(ops.sum(weight * ops.matmul(cov, weight), axis=0), 0.0)  # biased, as Keras
            stat = self.moving_mean.dtype
            self.moving_mean.assign(self.moving_mean * self.momentum
                                    + ops.cast(ops.stop_gradient(mean), stat) * (1.0 - self.momentum))
            self.moving_variance.assign(self.moving_variance * self.momentum
                                        + ops.cast(ops.stop_gradient(variance), stat) * (1.0 - self.momentum))
            scale = gamma * ops.rsqrt(variance + self.epsilon)
            # BN(y) = (y - mean) s + beta with y = (p - shift) W + shift sum(W) + b: the bias
            # cancels (its gradient is exactly zero, not missing, as in the layered build)
            offset = beta + (shift * ops.sum(weight, axis=0) + bias - mean) * scale
            out = self._project(patches - shift, weight * scale)
        else:
            scale = gamma * ops.rsqrt(ops.cast(self.moving_variance, dtype) + self.epsilon)
            offset = beta + (bias - ops.cast(self.moving_mean, dtype)) * scale
            out = ops.einsum("btfk,kc->btfc", patches, weight * scale)
        return ops.cast(out + offset, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters * len(self.kernels),)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernels": self.kernels,
                "momentum": self.momentum, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="light_sernet")
class BatchNorm(layers.BatchNormalization):
    """Keras ``BatchNormalization`` (same weights, same semantics) with batch statistics computed as
    ``mean`` then ``mean((x - mean)^2)`` over a ``(-1, C)`` view: XLA on a CPU compiles that
    several times faster than ``ops.moments`` over three axes."""

    def _moments(self, inputs, mask):
        if mask is not None or self.synchronized or self.axis not in (-1, len(inputs.shape) - 1):
            return super()._moments(inputs, mask)
        flat = ops.reshape(inputs, (-1, inputs.shape[-1]))
        mean = ops.mean(flat, axis=0)
        return mean, ops.mean(ops.square(flat - mean), axis=0)


@keras.saving.register_keras_serializable(package="light_sernet")
class AvgPool(layers.AveragePooling2D):
    """Keras ``AveragePooling2D`` ('same'); when the pool divides the input exactly (no padding),
    computed as a reshape and a mean, whose gradient is a plain broadcast."""

    def call(self, inputs):
        _, h, w, c = inputs.shape
        ph, pw = self.pool_size
        if (self.padding != "same" or self.strides != self.pool_size or self.data_format != "channels_last"
                or h is None or w is None or h % ph or w % pw):
            return super().call(inputs)
        return ops.mean(ops.reshape(inputs, (-1, h // ph, ph, w // pw, pw, c)), axis=(2, 4))


def copy_weights(source: keras.Model, target: keras.Model) -> None:
    """Copy all weights (BN statistics included) between a ``"layers"`` and a ``"fused"`` build, either way.

    Body and classifier layers have the same names in both builds; the three path
    convolutions and the three 32-channel path BNs map to :class:`FusedPaths` (kernels
    and biases unchanged; gamma, beta, moving mean and variance concatenated to 96).
    """
    def fused_layer(model):
        return next((layer for layer in model.layers if isinstance(layer, FusedPaths)), None)

    def path_weights(model):
        """[kernel, bias] x 3 and [gamma, beta, mean, var] as 96-vectors."""
        fused = fused_layer(model)
        if fused is not None:
            convs = [w.numpy() for pair in zip(fused.path_kernels, fused.path_biases) for w in pair]
            return convs, [w.numpy() for w in (fused.gamma, fused.beta, fused.moving_mean, fused.moving_variance)]
        convs = [w.numpy() for name, _ in PATHS for w in model.get_layer(f"path_{name}_conv").weights]
        bns = [[w.numpy() for w in model.get_layer(f"path_{name}_bn").weights] for name, _ in PATHS]
        return convs, [np.concatenate(parts) for parts in zip(*bns)]

    convs, bn = path_weights(source)
    fused = fused_layer(target)
    if fused is not None:
        targets = [w for pair in zip(fused.path_kernels, fused.path_biases) for w in pair]
        targets += [fused.gamma, fused.beta, fused.moving_mean, fused.moving_variance]
        for variable, value in zip(targets, convs + bn):
            variable.assign(value)
    else:
        for i, (name, _) in enumerate(PATHS):
            target.get_layer(f"path_{name}_conv").set_weights(convs[2 * i : 2 * i + 2])
            target.get_layer(f"path_{name}_bn").set_weights(
                [v[i * PATH_FILTERS : (i + 1) * PATH_FILTERS] for v in bn])
    for layer in source.layers:
        if layer.weights and not layer.name.startswith("path") and not isinstance(layer, FusedPaths):
            target.get_layer(layer.name).set_weights(layer.get_weights())


def _input_shape(input_shape) -> tuple[int, int, int]:
    shape = tuple(int(s) for s in input_shape)
    if len(shape) == 2:
        shape = shape + (1,)
    if len(shape) != 3 or shape[2] != 1:
        raise ValueError(f"input_shape must be (T, F) or (T, F, 1), got {input_shape}")
    return shape  # type: ignore[return-value]


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def build_light_sernet(
    input_shape=(184, 40, 1),
    n_classes: int = 7,
    *,
    dropout: float = DROPOUT,
    l2: float = L2,
    seed: int | None = None,
    implementation: str = "layers",
) -> keras.Model:
    """Build ``Light_SERNet_V1`` (spec section 3).

    Parameters
    ----------
    input_shape : (T, F) or (T, F, 1)
        184 x 40 for 3 s (EMO-DB), 434 x 40 for IEMOCAP 7 s. A 2-D shape gets a
        channel axis: the model then takes ``B x T x F`` arrays and adds the axis itself.
    n_classes : int
    dropout : float
        Before the classifier (0.3 in the paper).
    l2 : float
        L2 factor on the five body convolution kernels (1e-6); the paths and the
        Dense layer are not regularised. Keras adds ``l2 * sum(W**2)`` to
        ``model.losses``; a custom training step must add it to the loss.
    seed : int or None
        Seeds every initializer and the dropout layer (without touching global state),
        so two builds with the same seed have identical weights (in both implementations).
    implementation : {"layers", "fused"}
        ``"layers"``: one Keras layer per box of the table (three Conv2D / BN / ReLU /
        pool per path, then a Concatenate); what ``summary()`` and TFLite export should
        see. ``"fused"``: the same parameters and the same function, but the three
        paths' convolutions and batch norms computed by one layer (:class:`FusedPaths`:
        one matrix product, BN folded in from a 29 x 29 patch covariance), then one
        96-channel ReLU and pool (per-channel operations, so one 96-channel op equals
        three 32-channel ones side by side). Faster to train on a CPU, because the
        1-channel convolutions and the full-resolution BN of the paths are the slowest
        part of a layered training step; :func:`copy_weights` maps weights between the
        two builds, and a test checks outputs and gradients agree.

    Returns
    -------
    keras.Model
        Softmax probabilities, ``B x n_classes``, float32 whatever the dtype policy.
    """
    given = tuple(int(s) for s in input_shape)
    shape = _input_shape(given)
    counter = iter(range(10_000))

    def init():
        return keras.initializers.GlorotUniform(seed=None if seed is None else seed + next(counter))

    reg = keras.regularizers.L2(l2) if l2 else None
    if len(given) == 2:
        inputs = keras.Input(shape=given, name="mfcc")
        x = layers.Reshape(shape, name="add_channel")(inputs)
    else:
        inputs = keras.Input(shape=shape, name="mfcc")
        x = inputs

    if implementation == "layers":
        branches = []
        for name, kernel in PATHS:
            h = layers.Conv2D(PATH_FILTERS, kernel, padding="same", use_bias=True, kernel_initializer=init(),
                              name=f"path_{name}_conv")(x)
            h = layers.BatchNormalization(name=f"path_{name}_bn")(h)
            h = layers.ReLU(name=f"path_{name}_relu")(h)
            h = layers.AveragePooling2D(PATH_POOL, padding="same", name=f"path_{name}_pool")(h)
            branches.append(h)
        x = layers.Concatenate(axis=-1, name="paths")(branches)
    elif implementation == "fused":
        x = FusedPaths(kernel_initializers=[init() for _ in PATHS], name="paths_conv_bn")(x)
        x = layers.ReLU(name="paths_relu")(x)
        x = AvgPool(PATH_POOL, padding="same", name="paths")(x)
    else:
        raise ValueError(f"implementation must be 'layers' or 'fused', got {implementation!r}")

    fused = implementation == "fused"
    norm = BatchNorm if fused else layers.BatchNormalization
    pooling = AvgPool if fused else layers.AveragePooling2D
    for i, (filters, kernel, pool) in enumerate(BODY, start=1):
        x = layers.Conv2D(filters, kernel, padding="same", use_bias=False, kernel_initializer=init(),
                          kernel_regularizer=reg, name=f"lflb{i}_conv")(x)
        x = norm(name=f"lflb{i}_bn")(x)
        x = layers.ReLU(name=f"lflb{i}_relu")(x)
        x = pooling(pool, padding="same", name=f"lflb{i}_pool")(x)

    x = layers.Conv2D(POINTWISE_FILTERS, (1, 1), padding="same", use_bias=False, kernel_initializer=init(),
                      kernel_regularizer=reg, name="pointwise_conv")(x)
    x = norm(name="pointwise_bn")(x)
    x = layers.ReLU(name="pointwise_relu")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(dropout, seed=seed, name="dropout")(x)
    outputs = layers.Dense(n_classes, activation="softmax", kernel_initializer=init(), dtype="float32",
                           name="classifier")(x)
    return keras.Model(inputs, outputs, name="light_sernet_v1")


# --------------------------------------------------------------------------- #
# Counting: parameters, MACs, receptive fields
# --------------------------------------------------------------------------- #
def count_parameters(model: keras.Model, trainable: bool = True) -> int:
    """Trainable parameters (what the paper reports); ``trainable=False``: all weights, BN statistics included."""
    weights = model.trainable_weights if trainable else model.weights
    return int(sum(int(np.prod(w.shape)) for w in weights))


def expected_param_count(input_shape=(184, 40, 1), n_classes: int = 7) -> int:
    """Trainable parameters of Light-SERNet, written out (independent of the input length).

    ===============================  ==================================  ==========
    layer                            arithmetic                          trainable
    ===============================  ==================================  ==========
    path 11x1 conv + bias            11*1*1*32 + 32                      384
    path 1x9 conv + bias             1*9*1*32 + 32                       320
    path 3x3 conv + bias             3*3*1*32 + 32                       320
    3 path BNs (gamma, beta)         3 * 2*32                            192
    LFLB1 conv 3x3, 96 -> 64         3*3*96*64 (+ BN 2*64)               55,296 + 128
    LFLB2 conv 3x3, 64 -> 96         3*3*64*96 (+ BN 2*96)               55,296 + 192
    LFLB3 conv 3x3, 96 -> 128        3*3*96*128 (+ BN 2*128)             110,592 + 256
    LFLB4 conv 3x3, 128 -> 160       3*3*128*160 (+ BN 2*160)            184,320 + 320
    pointwise 1x1, 160 -> 320        160*320 (+ BN 2*320)                51,200 + 640
    Dense 320 -> C + bias            320*C + C                           2,247 (C=7) / 1,284 (C=4)
    ===============================  ==================================  ==========

    Everything except the classifier sums to 459,456, so the total is 459,456 + 321 C:
    **461,703 for EMO-DB** (3 s, 184 x 40, 7 classes) and **460,740 for IEMOCAP**
    (7 s, 434 x 40, 4 classes). The BN moving means/variances add 2 * 864 = 1,728
    non-trainable weights (463,431 and 462,468 in all). The input length does not
    enter (the network is fully convolutional and ends in global pooling); the argument
    is validated only.
    """
    _input_shape(input_shape)
    total = 0
    for _, (kh, kw) in PATHS:
        total += kh * kw * 1 * PATH_FILTERS + PATH_FILTERS + 2 * PATH_FILTERS  # kernel, bias, BN gamma/beta
    channels = PATH_FILTERS * len(PATHS)
    for filters, (kh, kw), _ in BODY:
        total += kh * kw * channels * filters + 2 * filters
        channels = filters
    total += channels * POINTWISE_FILTERS + 2 * POINTWISE_FILTERS
    total += POINTWISE_FILTERS * n_classes + n_classes
    return total


def _as_model(model_or_shape, n_classes: int) -> keras.Model:
    if isinstance(model_or_shape, keras.Model):
        return model_or_shape
    return build_light_sernet(model_or_shape, n_classes, seed=0)


def macs_table(model_or_input_shape=(184, 40, 1), n_classes: int = 7) -> pd.DataFrame:
    """Multiply-accumulates and parameters per layer of one forward pass for one utterance.

    MACs count only the multiplications of convolutions and the Dense layer
    (``T_out * F_out * kh * kw * C_in * C_out`` and ``in * out``); biases, batch norm,
    ReLU, pooling and softmax are a few hundred thousand element-wise operations and
    are listed as 0. Training costs about 3x a forward pass (forward, input gradient,
    weight gradient), i.e. ~1 GFLOP per 3 s utterance per step.

    Totals (last row): **159,326,400 MACs for 184 x 40** (0.32 GFLOPs) and
    376,170,240 for 434 x 40, the spec's "159 M" and "376 M".

    Columns: layer, type, output (T x F x C), kernel, params_trainable,
    params_non_trainable, macs, and receptive_field (frames x coefficients on the
    input, for the three paths' layers; see :func:`receptive_fields` for the body).
    """
    model = _as_model(model_or_input_shape, n_classes)
    rf_first = {f"path_{name}_conv": kernel for name, kernel in PATHS}
    rf_pool = {f"path_{name}_pool": (kh + 1, kw + 1) for name, (kh, kw) in PATHS}  # 2x2 pool, stride 1 before it
    rows = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        out = tuple(layer.output.shape[1:])
        macs = 0
        kernel = ""
        if isinstance(layer, layers.Conv2D):
            kh, kw = layer.kernel_size
            c_in = layer.input.shape[-1]
            macs = int(np.prod(out[:-1])) * kh * kw * c_in * layer.filters
            kernel = f"{kh}x{kw}"
        elif isinstance(layer, FusedPaths):  # counted as the three convolutions it equals
            macs = int(np.prod(out[:-1])) * sum(kh * kw for kh, kw in layer.kernels) * layer.filters
            kernel = " + ".join(f"{kh}x{kw}" for kh, kw in layer.kernels)
        elif isinstance(layer, layers.Dense):
            macs = int(layer.input.shape[-1]) * layer.units
            kernel = f"{layer.input.shape[-1]}->{layer.units}"
        elif isinstance(layer, layers.AveragePooling2D):
            kernel = "{}x{} avg".format(*layer.pool_size)
        rf = rf_first.get(layer.name) or rf_pool.get(layer.name)
        rows.append({
            "layer": layer.name,
            "type": type(layer).__name__,
            "output": " x ".join(str(s) for s in out),
            "kernel": kernel,
            "params_trainable": sum(int(np.prod(w.shape)) for w in layer.trainable_weights),
            "params_non_trainable": sum(int(np.prod(w.shape)) for w in layer.non_trainable_weights),
            "macs": macs,
            "receptive_field": f"{rf[0]} x {rf[1]}" if rf else "",
        })
    table = pd.DataFrame(rows)
    total = {"layer": "total", "type": "", "output": "", "kernel": "", "receptive_field": ""}
    for column in ("params_trainable", "params_non_trainable", "macs"):
        total[column] = int(table[column].sum())
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)


def expected_macs(input_shape=(184, 40, 1), n_classes: int = 7) -> int:
    """The MAC count of :func:`macs_table` by arithmetic alone (no model is built)."""
    t, f, _ = _input_shape(input_shape)
    total = sum(t * f * kh * kw * PATH_FILTERS for _, (kh, kw) in PATHS)
    t, f = _ceil_div(t, PATH_POOL[0]), _ceil_div(f, PATH_POOL[1])
    channels = PATH_FILTERS * len(PATHS)
    for filters, (kh, kw), (ph, pw) in BODY:
        total += t * f * kh * kw * channels * filters
        t, f, channels = _ceil_div(t, ph), _ceil_div(f, pw), filters
    total += t * f * channels * POINTWISE_FILTERS
    return total + POINTWISE_FILTERS * n_classes


def receptive_fields(n_coefficients: int = 40) -> pd.DataFrame:
    """Receptive field of each path on the input MFCC map, after every stage.

    One row per stage (path conv, path pool, LFLB1 conv, ..., pointwise), one column per
    path: ``"frames x coefficients"``, from the usual recursion ``r += (k - 1) * j``,
    ``j *= stride`` (a 2 x 2 average pool is a kernel 2 / stride 2). Coefficients are
    capped at ``n_coefficients`` (the map is only 40 wide); the ``*_ms`` columns give the
    audio span of the frames (``(r - 1) * 16 + 64`` ms). Before global pooling the
    time path sees 102 frames (1.68 s) x all 40 coefficients, the frequency path
    92 x 40 and the 3 x 3 path 94 x 40; global average pooling then covers the
    whole 3 s input.
    """
    stages: list[tuple[str, tuple[int, int], tuple[int, int]]] = [("path conv", (0, 0), (1, 1)),
                                                                  ("path pool", PATH_POOL, PATH_POOL)]
    for i, (_, kernel, pool) in enumerate(BODY, start=1):
        stages += [(f"lflb{i} conv", kernel, (1, 1)), (f"lflb{i} pool", pool, pool)]
    stages.append(("pointwise conv", (1, 1), (1, 1)))
    rows = {stage: {} for stage, _, _ in stages}
    for name, first_kernel in PATHS:
        r, j = [1, 1], [1, 1]
        for stage, kernel, stride in stages:
            if stage == "path conv":
                kernel = first_kernel
            for axis in (0, 1):
                r[axis] += (kernel[axis] - 1) * j[axis]
                j[axis] *= stride[axis]
            frames, coeffs = r[0], min(r[1], n_coefficients)
            rows[stage][name] = f"{frames} x {coeffs}"
            rows[stage][f"{name}_ms"] = (frames - 1) * HOP_MS + FRAME_MS
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "stage"
    return table
