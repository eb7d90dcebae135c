"""TIM-Net and CkTIM-Net in PyTorch, built on one shared backbone.

:class:`TemporalNet` is TIM-Net's bidirectional multi-scale structure (specs:
``shared/papers/tim_net.md`` §3, ``shared/papers/cktim_net.md`` §3.2-3.3). It takes a
*conv factory* so that the two models differ in the convolution only:

* :func:`build_tim` -- ordinary causal dilated convolutions (kernel 2, dilation
  ``2**(j-1)``), Keras-faithful initialisation and BatchNorm settings by default, as the
  official TIM-Net (TensorFlow) trains them;
* :func:`build_cktim` -- a :class:`~papers.cktim_net.ckconv.CKConv` in place of every
  convolution, PyTorch defaults, as the official CkTIM-Net trains them; its kernel
  generator is the SIREN-style MLP (``"conv"``, default) or the KAN generator (``"kan"``,
  spec §9.2), with the generator activation ``"sin"`` (default), ``"relu"``, ``"kaf"`` or
  ``"kafsin"`` (spec §9.4).

:func:`cktim_parameter_count` and :func:`generator_parameter_count` give the trainable
parameter counts by arithmetic (the tests pin built models against them).

The BatchNorm settings and the fusion-weight initialisation are options of the backbone.
Their defaults follow each source (so each model is faithful to its paper); pass the same
values to both builders to make "differ only in the convolution" exactly true.

Shapes: input ``B x 39 x T`` (channels first, as CkTIM-Net; ``time_major=True`` accepts
TIM-Net's ``B x T x 39``), :meth:`TemporalNet.embed` gives ``B x 39``,
:meth:`TemporalNet.forward` gives logits ``B x n_classes``.
"""

from __future__ import annotations

from typing import Literal, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from papers.cktim_net.ckconv import CKConv
from papers.cktim_net.kaf import DICTIONARY_SIZE

__all__ = [
    "CausalConv1d",
    "ConvFactory",
    "DirectionalStack",
    "TemporalAwareBlock",
    "TemporalNet",
    "build_cktim",
    "build_tim",
    "ckconv_factory",
    "cktim_parameter_count",
    "count_parameters",
    "generator_parameter_count",
    "keras_initialise_",
    "tim_conv_factory",
]

KERAS_BN = {"bn_eps": 1e-3, "bn_momentum": 0.01}  # Keras momentum 0.99 = PyTorch 0.01
TORCH_BN = {"bn_eps": 1e-5, "bn_momentum": 0.1}
KERAS_FUSION_INIT = (-0.05, 0.05)  # Keras "uniform" initialiser
TORCH_FUSION_INIT = (0.0, 1.0)  # official CkTIM: torch.rand


class ConvFactory(Protocol):
    """Builds the convolutions of a :class:`TemporalNet`.

    Called as ``factory(in_channels, out_channels, depth)`` with ``depth = 0`` for the entry
    convolution and ``depth = j`` (1-based) for both convolutions of TAB ``j``. Must return
    a fresh module mapping ``(B, in_channels, T)`` to ``(B, out_channels, T)`` causally
    (output ``t`` depends on inputs ``<= t`` only).
    """

    def __call__(self, in_channels: int, out_channels: int, depth: int) -> nn.Module: ...


class CausalConv1d(nn.Conv1d):
    """``nn.Conv1d`` with left zero padding of ``(kernel_size - 1) * dilation``.

    Output length equals input length and output ``t`` sees inputs ``<= t`` only (Keras
    ``Conv1D(padding="causal")``).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, dilation: int = 1, bias: bool = True):
        super().__init__(in_channels, out_channels, kernel_size, dilation=dilation, bias=bias)
        self.left_padding = (kernel_size - 1) * dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, (self.left_padding, 0)))


class TemporalAwareBlock(nn.Module):
    """TAB: two conv -> BN -> ReLU -> Dropout1d stages, a sigmoid gate on the block input.

    ``F_j = F_{j-1} * sigmoid(S_2)``; there is no additive residual (tim_net.md §3.3).
    ``Dropout1d`` drops whole channels per sample (Keras ``SpatialDropout1D``).
    """

    def __init__(
        self,
        conv1: nn.Module,
        conv2: nn.Module,
        channels: int,
        dropout: float = 0.1,
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
    ) -> None:
        super().__init__()
        self.conv1 = conv1
        self.norm1 = nn.BatchNorm1d(channels, eps=bn_eps, momentum=bn_momentum)
        self.conv2 = conv2
        self.norm2 = nn.BatchNorm1d(channels, eps=bn_eps, momentum=bn_momentum)
        self.dropout = nn.Dropout1d(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.dropout(F.relu(self.norm1(self.conv1(x))))
        hidden = self.dropout(F.relu(self.norm2(self.conv2(hidden))))
        return x * torch.sigmoid(hidden)


class DirectionalStack(nn.Module):
    """Entry convolution followed by ``n_tab`` TABs, for one time direction.

    Causal as a whole when its convolutions are: the output at depth ``j`` and time ``t``
    depends on inputs ``<= t`` only.
    """

    def __init__(
        self,
        conv_factory: ConvFactory,
        n_tab: int,
        in_channels: int,
        n_filters: int,
        dropout: float,
        bn_eps: float,
        bn_momentum: float,
    ) -> None:
        super().__init__()
        self.entry = conv_factory(in_channels, n_filters, 0)
        self.blocks = nn.ModuleList(
            TemporalAwareBlock(
                conv_factory(n_filters, n_filters, depth),
                conv_factory(n_filters, n_filters, depth),
                n_filters,
                dropout,
                bn_eps,
                bn_momentum,
            )
            for depth in range(1, n_tab + 1)
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Per-depth outputs ``[F_1, ..., F_n]``, each ``(B, n_filters, T)``."""
        features = self.entry(x)
        outputs = []
        for block in self.blocks:
            features = block(features)
            outputs.append(features)
        return outputs


class TemporalNet(nn.Module):
    """TIM-Net's bidirectional multi-scale backbone with a pluggable convolution.

    ``g_j = mean_t(F_fwd_j + F_bwd_j)`` per depth (the backward branch runs on the
    time-reversed input and is not re-reversed: the time mean does not care),
    ``g = sum_j w_j g_j`` with free fusion weights (no softmax), logits = ``Linear(g)``.

    Parameters
    ----------
    conv_factory : ConvFactory
        Builds every convolution (see :class:`ConvFactory`).
    n_tab : int
        TABs per direction (forward and backward stacks have separate weights).
    n_classes : int
        Output classes.
    n_filters : int
        Channels inside the network (39 in both papers).
    in_channels : int
        Input feature channels (39 MFCCs).
    dropout : float
        ``Dropout1d`` rate inside every TAB.
    bn_eps, bn_momentum : float
        BatchNorm settings of the TABs (PyTorch convention: ``momentum`` is the weight of
        the new batch; Keras' 0.99 is PyTorch's 0.01).
    fusion_init : tuple of float
        Fusion weights are drawn ``U(low, high)``.
    time_major : bool
        ``False``: inputs are ``(B, in_channels, T)``. ``True``: ``(B, T, in_channels)``.

    Notes
    -----
    The two directions run as two plain stacks. Fusing them into one call (a grouped
    ``Conv1d`` with ``groups=2`` for TIM, both directions' kernels in one FFT matmul for
    CkTIM) was measured on a 2-core CPU: the grouped convolution was slower than two
    separate ones, and the fused FFT gained under about 10 % for training, within the
    noise of a shared machine, so the simpler layout stayed.
    """

    def __init__(
        self,
        conv_factory: ConvFactory,
        n_tab: int,
        n_classes: int,
        n_filters: int = 39,
        in_channels: int = 39,
        dropout: float = 0.1,
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
        fusion_init: tuple[float, float] = TORCH_FUSION_INIT,
        time_major: bool = False,
    ) -> None:
        super().__init__()
        for name, value in (("n_tab", n_tab), ("n_classes", n_classes), ("n_filters", n_filters),
                            ("in_channels", in_channels)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        low, high = fusion_init
        if not low < high:
            raise ValueError(f"fusion_init must be (low, high) with low < high, got {fusion_init}")
        self.n_tab = n_tab
        self.in_channels = in_channels
        self.n_filters = n_filters
        self.time_major = time_major
        stack_options = dict(
            n_tab=n_tab, in_channels=in_channels, n_filters=n_filters,
            dropout=dropout, bn_eps=bn_eps, bn_momentum=bn_momentum,
        )
        self.forward_stack = DirectionalStack(conv_factory, **stack_options)
        self.backward_stack = DirectionalStack(conv_factory, **stack_options)
        self.fusion_weights = nn.Parameter(torch.empty(n_tab).uniform_(low, high))
        self.classifier = nn.Linear(n_filters, n_classes)

    def _channels_first(self, x: torch.Tensor) -> torch.Tensor:
        channel_axis = 2 if self.time_major else 1
        if x.dim() != 3 or x.shape[channel_axis] != self.in_channels:
            layout = "(B, T, C)" if self.time_major else "(B, C, T)"
            raise ValueError(
                f"x must be {layout} with C = {self.in_channels} (time_major={self.time_major}), "
                f"got shape {tuple(x.shape)}"
            )
        return x.transpose(1, 2) if self.time_major else x

    def scale_vectors(self, x: torch.Tensor) -> torch.Tensor:
        """Per-depth utterance vectors ``g_j``, shape ``(B, n_tab, n_filters)``."""
        x = self._channels_first(x)
        forward_outputs = self.forward_stack(x)
        backward_outputs = self.backward_stack(x.flip(-1))
        return torch.stack(
            [(fwd + bwd).mean(dim=-1) for fwd, bwd in zip(forward_outputs, backward_outputs)], dim=1
        )

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The fused utterance representation ``g``, shape ``(B, n_filters)`` (e.g. for t-SNE)."""
        return torch.einsum("j,bjc->bc", self.fusion_weights, self.scale_vectors(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits, shape ``(B, n_classes)`` (apply softmax / CrossEntropyLoss outside)."""
        return self.classifier(self.embed(x))


# --------------------------------------------------------------------------- TIM-Net


def tim_conv_factory(kernel_size: int = 2) -> ConvFactory:
    """Convolutions of TIM-Net: 1x1 entry, kernel ``kernel_size`` with dilation ``2**(j-1)`` in TAB ``j``."""

    def factory(in_channels: int, out_channels: int, depth: int) -> nn.Module:
        if depth == 0:
            return CausalConv1d(in_channels, out_channels, kernel_size=1)
        return CausalConv1d(in_channels, out_channels, kernel_size, dilation=2 ** (depth - 1))

    return factory


@torch.no_grad()
def keras_initialise_(model: nn.Module) -> None:
    """Keras defaults in place: Glorot-uniform kernels and zero biases for conv and linear layers.

    Glorot uses ``fan_in = in_channels * kernel_size`` and ``fan_out = out_channels *
    kernel_size``, as Keras ``Conv1D`` and ``Dense`` do.
    """
    for module in model.modules():
        if isinstance(module, (nn.Conv1d, nn.Linear)):
            nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)


def build_tim(
    n_classes: int,
    n_tab: int = 8,
    n_filters: int = 39,
    keras_init: bool = True,
    dropout: float = 0.1,
    in_channels: int = 39,
    kernel_size: int = 2,
    bn_eps: float | None = None,
    bn_momentum: float | None = None,
    fusion_init: tuple[float, float] | None = None,
    time_major: bool = False,
) -> TemporalNet:
    """PyTorch TIM-Net (Ye et al., ICASSP 2023) with ordinary causal dilated convolutions.

    Parameters
    ----------
    n_classes, n_tab, n_filters, dropout, in_channels, time_major
        See :class:`TemporalNet`. TIM-Net uses ``n_tab=8`` (10 for IEMOCAP).
    keras_init : bool
        ``True`` (default): the official Keras model's initialisation and BatchNorm --
        Glorot-uniform kernels, zero biases, BN ``eps=1e-3, momentum=0.01``, fusion weights
        ``U(-0.05, 0.05)``. ``False``: PyTorch defaults (Kaiming-uniform, BN ``1e-5 / 0.1``,
        fusion ``U(0, 1)``), as the CkTIM repository's "TIM" baseline.
    kernel_size : int
        TAB kernel size (2 in the paper).
    bn_eps, bn_momentum, fusion_init
        Override the choice made by ``keras_init``.

    Notes
    -----
    Trainable parameters: ``2n x 6,318 + 3,120 + n + (39 C + C)`` -- 104,496 for
    ``n = 8, C = 7``, the Keras model's count.
    """
    defaults = (KERAS_BN | {"fusion_init": KERAS_FUSION_INIT}) if keras_init else (
        TORCH_BN | {"fusion_init": TORCH_FUSION_INIT}
    )
    model = TemporalNet(
        tim_conv_factory(kernel_size),
        n_tab=n_tab,
        n_classes=n_classes,
        n_filters=n_filters,
        in_channels=in_channels,
        dropout=dropout,
        bn_eps=defaults["bn_eps"] if bn_eps is None else bn_eps,
        bn_momentum=defaults["bn_momentum"] if bn_momentum is None else bn_momentum,
        fusion_init=defaults["fusion_init"] if fusion_init is None else fusion_init,
        time_major=time_major,
    )
    if keras_init:
        keras_initialise_(model)
    return model


# ------------------------------------------------------------------------ CkTIM-Net


def ckconv_factory(
    omega_0: float = 25.0,
    entry_omega_0: float = 1.0,
    hidden_scale: float = 1.0,
    kernel_dropout: float = 0.1,
    bias: bool = False,
    siren_init: bool = False,
    fft: bool | Literal["auto"] = "auto",
    kernel_generator: str = "conv",
    generator_activation: str = "sin",
    kaf_length: int = 188,
) -> ConvFactory:
    """CKConvs for every convolution: ``entry_omega_0`` for the entry, ``omega_0`` in the TABs.

    ``kernel_generator``, ``generator_activation`` and ``kaf_length`` reach every CKConv,
    entry and TAB alike (as the official ``generator_type`` / ``af_type``).
    """

    def factory(in_channels: int, out_channels: int, depth: int) -> nn.Module:
        return CKConv(
            in_channels,
            out_channels,
            omega_0=entry_omega_0 if depth == 0 else omega_0,
            hidden_scale=hidden_scale,
            dropout=kernel_dropout,
            bias=bias,
            fft=fft,
            siren_init=siren_init,
            kernel_generator=kernel_generator,
            activation=generator_activation,
            kaf_length=kaf_length,
        )

    return factory


def build_cktim(
    n_classes: int,
    n_tab: int = 6,
    omega_0: float = 25.0,
    entry_omega_0: float = 1.0,
    hidden_scale: float = 1.0,
    kernel_generator: str = "conv",
    dropout: float = 0.1,
    kernel_dropout: float | None = None,
    n_filters: int = 39,
    in_channels: int = 39,
    ckconv_bias: bool = False,
    siren_init: bool = False,
    fft: bool | Literal["auto"] = "auto",
    bn_eps: float = TORCH_BN["bn_eps"],
    bn_momentum: float = TORCH_BN["bn_momentum"],
    fusion_init: tuple[float, float] = TORCH_FUSION_INIT,
    time_major: bool = False,
    generator_activation: str = "sin",
    kaf_length: int = 188,
) -> TemporalNet:
    """CkTIM-Net (Romano & Renzi, 2024): TIM-Net with a CKConv in place of every convolution.

    Parameters
    ----------
    n_classes, n_tab, dropout, n_filters, in_channels, time_major
        See :class:`TemporalNet`. The official main configuration uses ``n_tab=6``.
    omega_0 : float
        Generator frequency of the TAB CKConvs (25 in the official configuration).
    entry_omega_0 : float
        Generator frequency of the two entry CKConvs. The official code never passed its
        ``omega_0`` to them, so they ran with the default 1 (spec §3.1); that is the default
        here too.
    hidden_scale : float
        Generator hidden width ``round(32 * hidden_scale)``.
    kernel_generator : {"conv", "kan"}
        ``"conv"`` (default): the SIREN-style MLP of the reported runs. ``"kan"``: the
        repository's KAN generator (``'convKan'``, the "CkkTIM" model; spec §9.2), never
        trained or evaluated by its authors. See
        :class:`~papers.cktim_net.ckconv.KANKernelGenerator`.
    kernel_dropout : float or None
        Dropout on generated kernel values; ``None`` uses ``dropout`` (both 0.1 officially).
    ckconv_bias : bool
        ``False`` (default) reproduces the official GPU-trained models, whose CKConv bias was
        never registered (spec §3.4 quirk 1); ``True`` adds a trainable bias per CKConv.
    siren_init : bool
        ``False`` (default) reproduces the official, accidentally default, generator
        initialisation (quirk 2); ``True`` applies the intended SIREN initialisation.
    fft : {"auto", True, False}
        Long-convolution path of every CKConv (see :class:`CKConv`).
    bn_eps, bn_momentum, fusion_init
        PyTorch defaults, as in the official code (fusion weights ``torch.rand``).
    generator_activation : {"sin", "relu", "kaf", "kafsin"}
        Hidden activation of every kernel generator (the official ``af_type``; spec §9.4):
        ``"sin"`` (default, the reported runs), ``"relu"`` (official spelling ``'ReLu'``),
        ``"kaf"`` / ``"kafsin"`` (:class:`~papers.cktim_net.kaf.KAF`). ``omega_0`` only acts
        with ``"sin"``. The TAB body keeps ReLU and the sigmoid gate whatever this is, as
        in the official code.
    kaf_length : int
        With ``"kaf"``/``"kafsin"`` the KAFs have one function per kernel position, so the
        model only accepts inputs of exactly this many frames (188 officially).

    Notes
    -----
    Trainable parameters: ``2n x 106,208 + 2 x 53,026 + n + (39 C + C)``, i.e. 318,749 /
    743,583 / 1,380,834 for ``n = 1 / 3 / 6`` and 7 classes -- the official logged counts.
    With the KAN generator: ``2n x 994,972 + 2 x 497,408 + n + (39 C + C)``, i.e. 2,985,041 /
    6,964,931 / 12,934,766 (spec §9.3). See :func:`cktim_parameter_count`.
    """
    factory = ckconv_factory(
        omega_0=omega_0,
        entry_omega_0=entry_omega_0,
        hidden_scale=hidden_scale,
        kernel_dropout=dropout if kernel_dropout is None else kernel_dropout,
        bias=ckconv_bias,
        siren_init=siren_init,
        fft=fft,
        kernel_generator=kernel_generator,
        generator_activation=generator_activation,
        kaf_length=kaf_length,
    )
    return TemporalNet(
        factory,
        n_tab=n_tab,
        n_classes=n_classes,
        n_filters=n_filters,
        in_channels=in_channels,
        dropout=dropout,
        bn_eps=bn_eps,
        bn_momentum=bn_momentum,
        fusion_init=fusion_init,
        time_major=time_major,
    )


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (``requires_grad``), each shared tensor counted once."""
    return sum(parameter.numel() for parameter in model.parameters() if parameter.requires_grad)


def generator_parameter_count(
    out_channels: int = 39,
    in_channels: int = 39,
    kernel_generator: str = "conv",
    generator_activation: str = "sin",
    hidden: int = 32,
    kaf_length: int = 188,
    grid_size: int = 5,
    spline_order: int = 3,
) -> int:
    """Trainable parameters of one kernel generator, by arithmetic (spec §3.4, §9.3, §9.4).

    With ``C = out_channels * in_channels`` and hidden width ``H``:

    * ``"conv"``: three weight-normalised 1x1 convolutions (weight + gain + bias)
      ``(H + H + H) + (H^2 + H + H) + (H C + C + C)`` plus two BatchNorms ``4 H``
      -- 53,026 for 39 -> 39;
    * ``"kan"``: three KAN layers of ``(2 + G + k) in out`` (base weight, spline
      coefficients, spline scale; no bias) -- ``10 H (1 + H + C)`` -- plus ``4 H``
      -- 497,408 for 39 -> 39;
    * ``"kaf"``/``"kafsin"`` add one KAF of ``kaf_length x 20`` coefficients (3,760).
    """
    channels = out_channels * in_channels
    if kernel_generator == "conv":
        count = 3 * hidden + (hidden * hidden + 2 * hidden) + (hidden * channels + 2 * channels)
    elif kernel_generator == "kan":
        per_edge = 2 + grid_size + spline_order
        count = per_edge * hidden * (1 + hidden + channels)
    else:
        raise ValueError(f"kernel_generator must be 'conv' or 'kan', got {kernel_generator!r}")
    count += 4 * hidden
    if generator_activation in ("kaf", "kafsin"):
        count += kaf_length * DICTIONARY_SIZE
    return count


def cktim_parameter_count(
    n_tab: int,
    n_classes: int,
    kernel_generator: str = "conv",
    generator_activation: str = "sin",
    n_filters: int = 39,
    in_channels: int = 39,
    hidden: int = 32,
    ckconv_bias: bool = False,
    kaf_length: int = 188,
) -> int:
    """Trainable parameters of :func:`build_cktim` by arithmetic.

    ``2n x TAB + 2 x entry generator + n (fusion) + (F C + C) (classifier)`` with
    ``TAB = 2 x generator(F -> F) + 2 x 2F (BatchNorm)``, plus ``F`` per CKConv
    (``4n + 2`` of them) with ``ckconv_bias``. For 39 filters and 7 classes:
    ``"conv"`` 318,749 / 743,583 / 1,380,834 and ``"kan"`` 2,985,041 / 6,964,931 /
    12,934,766 at ``n = 1 / 3 / 6``.
    """
    def generator(out_channels: int, in_channels_: int) -> int:
        return generator_parameter_count(
            out_channels, in_channels_, kernel_generator, generator_activation, hidden, kaf_length
        )

    tab = 2 * generator(n_filters, n_filters) + 2 * 2 * n_filters
    count = 2 * n_tab * tab + 2 * generator(n_filters, in_channels) + n_tab + (n_filters * n_classes + n_classes)
    if ckconv_bias:
        count += n_filters * (4 * n_tab + 2)
    return count
