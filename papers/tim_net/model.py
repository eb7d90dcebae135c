"""TIM-Net (Ye et al., ICASSP 2023) in Keras, built from the spec in ``shared/papers/tim_net.md``.

Two builds of the *same* network:

``implementation="layers"``
    One Keras layer per box of the paper's figure: a forward and a time-reversed stack
    of Temporal Aware Blocks (TABs), each made of ``Conv1D(causal, dilated)``,
    ``BatchNormalization``, ``ReLU``, ``SpatialDropout1D`` twice, a sigmoid gate that
    multiplies the block input, then per-depth pooling, dynamic fusion and a softmax
    layer. Easy to read; its ``summary()`` is the layer table of the paper.

``implementation="fused"`` (default)
    The two directions carried side by side in one ``B x T x 78`` tensor, so batch
    norm, activations, dropout and gating run once for both, and each causal
    dilated convolution computed as a matrix product over its shifted taps
    (:class:`BiCausalConv`). Every parameter and every operation is the same as in
    the layered build (a test copies weights across and compares outputs), but a
    training step has half as many operations, which is what costs time on a CPU.

Parameter count for EMO-DB (188 x 39, 8 TABs, 7 classes): 104,496 trainable, as the
official model (spec section 3.4).
"""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
from keras import layers, ops

N_FILTERS = 39
KERNEL_SIZE = 2
DROPOUT = 0.1


def expected_param_count(n_tab: int = 8, n_classes: int = 7, filters: int = N_FILTERS) -> int:
    """Trainable parameters, written out (spec §3.4).

    One TAB: two kernel-2 convolutions (2 · 2·F·F weights + 2 · F biases) and two batch
    norms (2 · 2F) = 6,318 for F = 39. Two directions of ``n_tab`` TABs, two 1 × 1 entry
    convolutions (2 · (F·F + F)), ``n_tab`` fusion weights and the classifier (F·C + C):
    ``2 n (4F² + 6F) + 2 (F² + F) + n + (F + 1) C`` -> 104,496 for n = 8, C = 7.
    """
    tab = 2 * (2 * filters * filters + filters) + 2 * (2 * filters)
    return 2 * n_tab * tab + 2 * (filters * filters + filters) + n_tab + (filters + 1) * n_classes


def receptive_field(n_tab: int, kernel_size: int = KERNEL_SIZE) -> int:
    """Frames seen by the last TAB of a stack: ``1 + 2 (k - 1) sum_j 2^(j-1)`` = ``2^(n+1) - 1`` for k = 2."""
    return 1 + 2 * (kernel_size - 1) * sum(2**j for j in range(n_tab))


# --------------------------------------------------------------------------- #
# Small custom layers
# --------------------------------------------------------------------------- #
@keras.saving.register_keras_serializable(package="tim_net")
class ReverseTime(layers.Layer):
    """Flip a ``B x T x F`` sequence along time (the backward branch's input)."""

    def call(self, x):
        return ops.flip(x, axis=1)


@keras.saving.register_keras_serializable(package="tim_net")
class DynamicFusion(layers.Layer):
    """Weighted sum of the per-scale vectors, ``B x n x F -> B x F``.

    The weights are free parameters (one per scale), independent of the input and
    not normalised: TIM-Net's "dynamic" fusion is a learned static vector. They are
    initialised U(-0.05, 0.05) (Keras's "uniform").
    """

    def build(self, input_shape):
        self.scale_weights = self.add_weight(
            name="scale_weights",
            shape=(input_shape[1],),
            initializer=keras.initializers.RandomUniform(-0.05, 0.05),
        )

    def call(self, x):
        return ops.einsum("bsf,s->bf", x, self.scale_weights)


@keras.saving.register_keras_serializable(package="tim_net")
class BiCausalConv(layers.Layer):
    """Causal dilated 1-D convolutions of both directions at once.

    Input ``B x T x 2C`` (forward channels first, then backward channels); each
    direction has its own kernel ``k x C x filters`` and bias, exactly like two
    ``Conv1D(filters, k, dilation_rate=d, padding="causal")`` layers. Tap ``i``
    multiplies ``x[t - (k - 1 - i) d]``, as Keras's causal convolution does. Each
    direction's shifted taps are concatenated and multiplied by its kernel in one
    matrix product; on a 2-core CPU under XLA this measured faster than
    ``Conv1D``, than a grouped convolution and than one batched (einsum) product.
    """

    def __init__(self, filters: int, kernel_size: int, dilation_rate: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        self.dilation_rate = dilation_rate

    def build(self, input_shape):
        channels = input_shape[-1] // 2
        self.kernel = self.add_weight(
            name="kernel", shape=(2, self.kernel_size, channels, self.filters), initializer="glorot_uniform"
        )
        self.bias = self.add_weight(name="bias", shape=(2, self.filters), initializer="zeros")

    def call(self, x):
        steps = ops.shape(x)[1]
        channels = x.shape[-1] // 2
        outputs = []
        for direction in range(2):
            half = x[..., direction * channels : (direction + 1) * channels]
            taps = []
            for i in range(self.kernel_size):
                shift = (self.kernel_size - 1 - i) * self.dilation_rate
                taps.append(half if shift == 0 else ops.pad(half, [[0, 0], [shift, 0], [0, 0]])[:, :steps])
            stacked = ops.concatenate(taps, axis=-1) if len(taps) > 1 else taps[0]  # B x T x kC
            kernel = ops.reshape(self.kernel[direction], (-1, self.filters))  # kC x filters
            outputs.append(ops.matmul(stacked, kernel) + self.bias[direction])
        return ops.concatenate(outputs, axis=-1)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "dilation_rate": self.dilation_rate}


@keras.saving.register_keras_serializable(package="tim_net")
class SumDirections(layers.Layer):
    """``B x 2C -> B x C``: add the forward and backward halves (after time pooling)."""

    def call(self, x):
        half = x.shape[-1] // 2
        return x[:, :half] + x[:, half:]


# --------------------------------------------------------------------------- #
# The two builds
# --------------------------------------------------------------------------- #
def _tab_layers(x, dilation: int, name: str, filters: int, dropout: float, conv_factory):
    """One Temporal Aware Block: two (conv, BN, ReLU, spatial dropout), sigmoid gate on the input."""
    s = x
    for k in (1, 2):
        s = conv_factory(dilation, f"{name}_conv{k}")(s)
        s = layers.BatchNormalization(name=f"{name}_bn{k}")(s)
        s = layers.Activation("relu", name=f"{name}_relu{k}")(s)
        s = layers.SpatialDropout1D(dropout, name=f"{name}_dropout{k}")(s)
    gate = layers.Activation("sigmoid", name=f"{name}_gate")(s)
    return layers.Multiply(name=f"{name}_out")([x, gate])


def _build_layers(inputs, n_tab, filters, kernel_size, dropout):
    pooled_per_direction = []
    for direction, source in (("fwd", inputs), ("bwd", ReverseTime(name="reverse_time")(inputs))):
        x = layers.Conv1D(filters, 1, name=f"{direction}_entry")(source)
        pooled = []
        for j in range(1, n_tab + 1):

            def conv(dilation, name):
                return layers.Conv1D(filters, kernel_size, dilation_rate=dilation, padding="causal", name=name)

            x = _tab_layers(x, 2 ** (j - 1), f"{direction}_tab{j}", filters, dropout, conv)
            pooled.append(x)
        pooled_per_direction.append(pooled)
    scales = []
    for j, (fwd, bwd) in enumerate(zip(*pooled_per_direction), start=1):
        summed = layers.Add(name=f"scale{j}_sum")([fwd, bwd])
        scales.append(layers.GlobalAveragePooling1D(name=f"scale{j}_pool")(summed))
    return scales


def _build_fused(inputs, n_tab, filters, kernel_size, dropout):
    both = layers.Concatenate(name="both_directions")([inputs, ReverseTime(name="reverse_time")(inputs)])
    x = BiCausalConv(filters, 1, name="bi_entry")(both)
    scales = []
    for j in range(1, n_tab + 1):

        def conv(dilation, name):
            return BiCausalConv(filters, kernel_size, dilation_rate=dilation, name=name)

        x = _tab_layers(x, 2 ** (j - 1), f"bi_tab{j}", filters, dropout, conv)
        # Time-average first, then add the directions: the same as adding first,
        # because both are linear.
        pooled = layers.GlobalAveragePooling1D(name=f"scale{j}_pool_both")(x)
        scales.append(SumDirections(name=f"scale{j}_pool")(pooled))
    return scales


def build_tim_net(
    input_shape: tuple[int, int] = (188, 39),
    n_classes: int = 7,
    *,
    n_tab: int = 8,
    filters: int = N_FILTERS,
    kernel_size: int = KERNEL_SIZE,
    dropout: float = DROPOUT,
    implementation: str = "fused",
    seed: int | None = None,
) -> keras.Model:
    """Build TIM-Net for ``input_shape = (T, n_mfcc)`` and ``n_classes``.

    Parameters
    ----------
    input_shape : (int, int)
        Frames x coefficients, e.g. ``(188, 39)`` for EMO-DB with the ``tim_net`` preset.
    n_classes : int
    n_tab : int
        TABs per direction (8; 10 for IEMOCAP, see :func:`default_n_tab`). TAB j has
        dilation ``2^(j-1)``.
    filters, kernel_size, dropout
        39, 2 and 0.1 in the paper.
    implementation : {"fused", "layers"}
        The same network computed two ways (see the module docstring).
    seed : int or None
        Seeds Keras's global RNG before building, so the initial weights repeat.

    Returns
    -------
    keras.Model
        Softmax output; the fused utterance vector is the output of the layer named
        ``"fusion"`` (see :func:`embedding_model`).
    """
    if implementation not in ("fused", "layers"):
        raise ValueError(f"implementation={implementation!r}: choose 'fused' or 'layers'")
    if n_tab < 1 or n_classes < 2:
        raise ValueError(f"need n_tab >= 1 and n_classes >= 2, got n_tab={n_tab}, n_classes={n_classes}")
    if input_shape[-1] != filters:
        # The TAB gate multiplies the block input by a map with `filters` channels, and
        # the entry 1x1 convolution keeps the width, so TIM-Net needs n_mfcc == filters.
        raise ValueError(f"TIM-Net keeps {filters} channels throughout: input_shape[-1] must be {filters}, got {input_shape}")
    if seed is not None:
        keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=input_shape, name="mfcc")
    build = _build_fused if implementation == "fused" else _build_layers
    scales = build(inputs, n_tab, filters, kernel_size, dropout)
    stacked = layers.Concatenate(axis=1, name="scales")([layers.Reshape((1, filters))(s) for s in scales])
    fused = DynamicFusion(name="fusion")(stacked)
    outputs = layers.Dense(n_classes, activation="softmax", name="classifier")(fused)
    return keras.Model(inputs, outputs, name=f"tim_net_{implementation}")


def embedding_model(model: keras.Model) -> keras.Model:
    """The sub-model that outputs the fused utterance representation (B x 39), e.g. for t-SNE."""
    return keras.Model(model.inputs, model.get_layer("fusion").output, name=f"{model.name}_embedding")


# --------------------------------------------------------------------------- #
# Inspecting a built model
# --------------------------------------------------------------------------- #
def layer_table(model: keras.Model) -> pd.DataFrame:
    """One row per layer: name, type, output shape, trainable parameters, dilation."""
    rows = []
    for layer in model.layers:
        config = layer.get_config()
        rows.append(
            {
                "layer": layer.name,
                "type": type(layer).__name__,
                "output shape": str(tuple(layer.output.shape)) if hasattr(layer, "output") else "",
                "dilation": config.get("dilation_rate", "") if "conv" in layer.name else "",
                "trainable params": int(sum(np.prod(w.shape) for w in layer.trainable_weights)),
            }
        )
    table = pd.DataFrame(rows)
    table["dilation"] = table["dilation"].map(lambda d: d[0] if isinstance(d, (tuple, list)) else d)
    return table


def tab_dilations(model: keras.Model) -> list[int]:
    """Dilation of each TAB in order, read back from the built convolution layers."""
    dilations = []
    for layer in model.layers:
        if layer.name.endswith("_conv1") and "tab" in layer.name and not layer.name.startswith("bwd"):
            rate = layer.get_config()["dilation_rate"]
            dilations.append(int(rate[0] if isinstance(rate, (tuple, list)) else rate))
    return dilations


def copy_layers_to_fused(layered: keras.Model, fused: keras.Model) -> None:
    """Copy the weights of a ``"layers"`` build into a ``"fused"`` build of the same size.

    Used to show (and test) that both builds compute the same function.
    """
    n_tab = len(tab_dilations(layered))
    if len(tab_dilations(fused)) != n_tab:
        raise ValueError("the two models have different numbers of TABs")

    def conv_pair(name_fwd: str, name_bwd: str) -> list[np.ndarray]:
        (kf, bf), (kb, bb) = layered.get_layer(name_fwd).get_weights(), layered.get_layer(name_bwd).get_weights()
        return [np.stack([kf, kb]), np.stack([bf, bb])]

    fused.get_layer("bi_entry").set_weights(conv_pair("fwd_entry", "bwd_entry"))
    for j in range(1, n_tab + 1):
        for k in (1, 2):
            fused.get_layer(f"bi_tab{j}_conv{k}").set_weights(conv_pair(f"fwd_tab{j}_conv{k}", f"bwd_tab{j}_conv{k}"))
            bn_f = layered.get_layer(f"fwd_tab{j}_bn{k}").get_weights()
            bn_b = layered.get_layer(f"bwd_tab{j}_bn{k}").get_weights()
            fused.get_layer(f"bi_tab{j}_bn{k}").set_weights([np.concatenate([f, b]) for f, b in zip(bn_f, bn_b)])
    for name in ("fusion", "classifier"):
        fused.get_layer(name).set_weights(layered.get_layer(name).get_weights())


def macs_per_utterance(n_frames: int = 188, n_tab: int = 8, n_classes: int = 7, *, n_mfcc: int = N_FILTERS,
                       filters: int = N_FILTERS, kernel_size: int = KERNEL_SIZE) -> int:
    """Multiply-accumulates of one forward pass for one utterance, written out.

    Counted as for Light-SERNet's ``macs_table``: the products of convolutions, the fusion
    and the classifier; batch norm, activations, the sigmoid gates and pooling are
    element-wise and left out. Per direction: the 1 × 1 entry convolution ``T·n_mfcc·F``,
    then per TAB two causal convolutions of ``T·k·F·F`` (a dilated kernel still has
    ``k`` taps); both directions; then the fusion ``n·F`` and the classifier ``F·C``::

        2·T·n_mfcc·F + 2·n·2·T·k·F² + n·F + F·C

    -> 18,873,153 for EMO-DB (T = 188, n = 8, F = 39, k = 2, C = 7), i.e. 37.7 MFLOPs at
    2 FLOPs per multiply-accumulate. The PyTorch TIM-Net of ``papers.cktim_net`` computes
    the same products (a test counts them with ``torch.utils.flop_counter``).
    """
    entry = 2 * n_frames * n_mfcc * filters
    tabs = 2 * n_tab * 2 * n_frames * kernel_size * filters * filters
    return entry + tabs + n_tab * filters + filters * n_classes
