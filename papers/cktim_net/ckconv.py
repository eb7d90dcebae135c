"""Continuous-kernel convolution (CKConv) as used by CkTIM-Net.

A CKConv stores no kernel. A small MLP with sine activations (the *kernel generator*)
maps every relative time position to the kernel values for that position, and the
generated kernel is as long as the input, so one layer sees the whole past.

Pieces, each usable on its own (spec: ``shared/papers/cktim_net.md`` §3.1):

* :func:`relative_positions` -- the position grid the generator is evaluated on;
* :class:`KernelGenerator` -- the SIREN-style MLP (weight-normalised 1x1 convolutions);
* :class:`KANKernelGenerator` -- the same skeleton with per-position KAN layers
  (spec §9.2, :mod:`papers.cktim_net.kan`);
* :func:`causal_conv_full` -- applies *any* kernel causally, by FFT or by ``F.conv1d``;
* :class:`CKConv` -- generator + causal application;
* :func:`generated_kernels` -- the eval-mode kernel as numpy, for plots.

Two behaviours of the official implementation are reproduced by default and can be
switched off (spec §3.4): the CKConv bias is not trained (quirk 1) and the intended SIREN
initialisation never reaches the weight-normalised weights (quirk 2).

Both generators take the generator activation of the official ``af_type`` (spec §9.4):
``"sin"`` (default, the reported runs), ``"relu"``, ``"kaf"`` or ``"kafsin"``
(:mod:`papers.cktim_net.kaf`). As in the official code ``omega_0`` is applied only with
``"sin"``. The defaults (``"conv"`` generator, ``"sin"``) build and compute exactly what
they did before these options existed (same parameters, same random draws).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from papers.cktim_net.kaf import GENERATOR_ACTIVATIONS, KAF
from papers.cktim_net.kan import KANLinear, apply_per_position

__all__ = [
    "FFT_MIN_KERNEL_LENGTH",
    "FFT_MIN_WORK",
    "GENERATOR_ACTIVATIONS",
    "KERNEL_GENERATORS",
    "CKConv",
    "KANKernelGenerator",
    "KernelGenerator",
    "causal_conv_full",
    "generated_kernels",
    "prefer_fft",
    "relative_positions",
]

#: ``fft="auto"`` never uses the FFT for kernels shorter than this (e.g. TIM's 2-tap kernels).
FFT_MIN_KERNEL_LENGTH = 16
#: ... and uses it once ``batch * kernel taps`` reaches this. Measured on a 2-core CPU
#: (torch 2.13, 39 -> 39 channels, forward and forward + backward, kernel as long as the
#: input): the FFT pays for transforming the whole ``C_out x C_in`` kernel whatever the
#: batch, the direct ``F.conv1d`` costs ``batch x taps`` per output, so at batch 1 the
#: direct path wins up to about 128-188 taps, at batch 4 the FFT wins from about 32 taps
#: and at batch 64 with CkTIM's 188 frames it is 5-15x faster (training step). Re-measure with
#: ``python benchmarks/bench_cktim_net.py --fft-sweep``.
FFT_MIN_WORK = 192

#: Kernel generator types of :class:`CKConv` (the official ``'conv'`` and ``'convKan'``).
KERNEL_GENERATORS = ("conv", "kan")


def prefer_fft(batch: int, taps: int) -> bool:
    """The ``fft="auto"`` size rule: FFT for long kernels applied to enough data."""
    return taps >= FFT_MIN_KERNEL_LENGTH and batch * taps >= FFT_MIN_WORK


def relative_positions(length: int, reference_length: int | None = None) -> torch.Tensor:
    """Relative time positions at which the kernel generator is evaluated.

    Parameters
    ----------
    length : int
        Number of positions (= kernel length = input length), at least 1.
    reference_length : int or None
        The length the layer first saw. ``None`` or equal to ``length`` gives
        ``linspace(-1, 1, length)``: position -1 is the oldest frame in reach and +1 the
        current frame.

    Returns
    -------
    torch.Tensor
        Shape ``(1, 1, length)``, float32.

    Notes
    -----
    For another length the grid keeps the spacing ``2 / (reference_length - 1)`` of the
    first length, the current frame stays at +1 and the grid extends into the past (below
    -1 for longer inputs, stopping short of -1 for shorter ones). So a kernel tap keeps its
    meaning ("k frames back") whatever the input length; the generator extrapolates for
    positions below -1. The official code also keeps the first length's spacing, by
    rescaling one end point; this is our documented reading of it, not a copy.
    """
    if length < 1:
        raise ValueError(f"length must be a positive number of positions, got {length}")
    if reference_length is None or reference_length == length:
        grid = torch.linspace(-1.0, 1.0, length)
    else:
        if reference_length < 2:
            raise ValueError(f"reference_length must be at least 2 to define a spacing, got {reference_length}")
        spacing = 2.0 / (reference_length - 1)
        steps_back = torch.arange(length - 1, -1, -1, dtype=torch.float32)
        grid = 1.0 - spacing * steps_back
    return grid.reshape(1, 1, length)


class KernelGenerator(nn.Module):
    """SIREN-style MLP mapping positions to kernel values (spec §3.1 step 2).

    ``h1 = sin(BN1(omega_0 * W1 p))``, ``h2 = sin(BN2(omega_0 * W2 h1))``,
    ``k = Dropout(W3 h2)``, reshaped to ``(out_channels, in_channels, L)``. The three
    ``W`` are 1x1 ``Conv1d`` layers (with bias) wrapped in weight normalisation; the
    BatchNorm layers normalise each hidden channel over the ``L`` positions (train mode:
    statistics of the position grid; eval mode: running statistics, so train- and
    eval-mode kernels differ).

    Parameters
    ----------
    out_channels, in_channels : int
        Shape of the convolution whose kernel is generated.
    hidden_scale : float
        Hidden width ``H = round(32 * hidden_scale)``.
    omega_0 : float
        Frequency factor applied to the pre-activations before BatchNorm (spec §3.1).
        Because BatchNorm divides by the standard deviation over positions, the factor
        mostly cancels in a train-mode pass (in our check a 39 -> 39 generator's kernel
        changed by about 2 % between ``omega_0`` 1 and 25 with the same weights, through
        BatchNorm's ``eps``); it matters more in eval mode while the running statistics,
        which start at variance 1, are still warming up.
    dropout : float
        Dropout on the generated kernel values (training only).
    siren_init : bool
        ``False`` (default) reproduces the official behaviour (quirk 2): the weights keep
        PyTorch's default ``Conv1d`` initialisation because the official SIREN routine
        wrote to a recomputed tensor, and only the biases get ``U(-0.1, 0.1)``.
        ``True`` applies the intended SIREN initialisation to the effective weights:
        first layer ``U(-1/fan_in, 1/fan_in)``, later layers
        ``U(-sqrt(6/fan_in)/omega_0, +...)``; it sets the weight-norm direction to the
        sampled weights and the gain to their norm, so ``g * v/|v|`` equals the sample.
        Biases are ``U(-0.1, 0.1)`` in both cases. Only for the sine-like activations
        ``"sin"`` and ``"kafsin"``.
    activation : {"sin", "relu", "kaf", "kafsin"}
        Hidden activation (official ``af_type``, spec §9.4). ``"sin"`` (default):
        ``sin(BN(omega_0 * W x))`` as above. The others drop ``omega_0``, as the official
        code does, and apply ReLU, or one :class:`~papers.cktim_net.kaf.KAF` (attribute
        ``kaf``, used after both BatchNorms). Initialisation follows the official branch
        choice: ``"kafsin"`` takes the SIREN branch (biases ``U(-0.1, 0.1)``); ``"relu"`` and
        ``"kaf"`` take the official "ReLU" branch, whose weight writes were no-ops (quirk 2)
        and whose biases end up 0, so here the biases are 0 and the weights PyTorch's default.
        [fixed] an unknown name is an error (officially it silently gave *no* activation).
    kaf_length : int
        Positions of the KAF (``"kaf"``/``"kafsin"`` only): inputs must then be exactly this
        long (188 officially).

    Notes
    -----
    Trainable parameters for 39 -> 39 with ``H = 32``: 96 + 1,088 + 51,714 (three layers,
    each weight direction + gain + bias) + 2 x 64 (BatchNorm) = 53,026, as logged by the
    official runs; ``"kaf"``/``"kafsin"`` add ``kaf_length x 20`` (3,760).
    """

    def __init__(
        self,
        out_channels: int,
        in_channels: int,
        hidden_scale: float = 1.0,
        omega_0: float = 1.0,
        dropout: float = 0.1,
        siren_init: bool = False,
        activation: str = "sin",
        kaf_length: int = 188,
    ) -> None:
        super().__init__()
        hidden = _check_generator_arguments(out_channels, in_channels, hidden_scale, dropout, activation)
        if siren_init and activation not in ("sin", "kafsin"):
            raise ValueError(
                f"siren_init applies to the sine-like activations 'sin' and 'kafsin', not {activation!r}"
            )
        self.out_channels = out_channels
        self.in_channels = in_channels
        self.hidden = hidden
        self.omega_0 = float(omega_0)
        self.activation = activation

        self.layer1 = weight_norm(nn.Conv1d(1, hidden, 1))
        self.norm1 = nn.BatchNorm1d(hidden)
        self.layer2 = weight_norm(nn.Conv1d(hidden, hidden, 1))
        self.norm2 = nn.BatchNorm1d(hidden)
        self.layer3 = weight_norm(nn.Conv1d(hidden, out_channels * in_channels, 1))
        self.kernel_dropout = nn.Dropout(dropout)
        self._initialise(siren_init)
        # Built after the layers' initialisation, and only for the KAF activations, so the
        # default ("sin") generator draws exactly the random numbers it always did.
        if activation in ("kaf", "kafsin"):
            self.kaf = KAF(kaf_length, init="sin" if activation == "kafsin" else "normal")

    @torch.no_grad()
    def _initialise(self, siren_init: bool) -> None:
        if self.activation in ("relu", "kaf"):
            for layer in (self.layer1, self.layer2, self.layer3):
                layer.bias.zero_()
            return
        for index, layer in enumerate((self.layer1, self.layer2, self.layer3)):
            layer.bias.uniform_(-0.1, 0.1)
            if not siren_init:
                continue
            fan_in = layer.in_channels
            if index == 0:
                bound = 1.0 / fan_in
            else:
                bound = math.sqrt(6.0 / fan_in) / self.omega_0
            sample = torch.empty_like(layer.weight).uniform_(-bound, bound)
            gain, direction = layer.parametrizations.weight.original0, layer.parametrizations.weight.original1
            direction.copy_(sample)
            gain.copy_(sample.norm(dim=(1, 2), keepdim=True))

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        """Kernel for the given positions.

        Parameters
        ----------
        positions : torch.Tensor
            Shape ``(1, 1, L)`` (see :func:`relative_positions`).

        Returns
        -------
        torch.Tensor
            Shape ``(out_channels, in_channels, L)``.
        """
        _check_positions(positions)
        if self.activation == "sin":  # the default path, unchanged
            hidden = torch.sin(self.norm1(self.omega_0 * self.layer1(positions)))
            hidden = torch.sin(self.norm2(self.omega_0 * self.layer2(hidden)))
        else:
            hidden = _activate(self, self.norm1(self.layer1(positions)))
            hidden = _activate(self, self.norm2(self.layer2(hidden)))
        kernel = self.kernel_dropout(self.layer3(hidden))
        return kernel.reshape(self.out_channels, self.in_channels, positions.shape[-1])


class KANKernelGenerator(nn.Module):
    """KAN kernel generator (the official ``'convKan'``, spec §9.2).

    The skeleton of :class:`KernelGenerator` -- same input, widths, BatchNorm placement,
    activation, kernel dropout and reshape -- with the three weight-normalised 1x1
    convolutions replaced by three per-position :class:`~papers.cktim_net.kan.KANLinear`
    layers ``1 -> H -> H -> out_channels * in_channels`` (no bias, no weight norm):

    ``h1 = act(BN1([omega_0 *] KAN1(p)))``, ``h2 = act(BN2([omega_0 *] KAN2(h1)))``,
    ``k = Dropout(KAN3(h2))``, reshaped to ``(out_channels, in_channels, L)``; the
    ``omega_0`` factor is applied only with ``activation="sin"``. Each position passes
    through the KAN layers on its own; only BatchNorm's statistics mix positions.

    Parameters
    ----------
    out_channels, in_channels, hidden_scale, omega_0, dropout, activation, kaf_length
        As :class:`KernelGenerator`.
    kan_options
        Extra keyword arguments for every :class:`~papers.cktim_net.kan.KANLinear` (e.g.
        ``init_fan_in="in"``); the defaults are the official ones (grid 5 on (-1, 1),
        cubic splines, SiLU base, standalone spline scale, 3-D fan-in initialisation).

    Notes
    -----
    The official ``CKConv.initialize`` has no effect on this generator (it contains no
    Conv/Linear module), so the initialisation is :class:`KANLinear`'s for every
    activation. At initialisation the KAN kernels are far smaller than the SIREN ones
    (spec: max |K| about 0.03 against about 1.9).

    Trainable parameters: ``10 H (1 + H + C) + 4 H`` with ``C = out_channels * in_channels``,
    i.e. 320 + 10,240 + 486,720 + 128 (BatchNorm) = 497,408 for 39 -> 39 and ``H = 32``;
    ``"kaf"``/``"kafsin"`` add ``kaf_length x 20``.
    """

    def __init__(
        self,
        out_channels: int,
        in_channels: int,
        hidden_scale: float = 1.0,
        omega_0: float = 1.0,
        dropout: float = 0.1,
        activation: str = "sin",
        kaf_length: int = 188,
        **kan_options,
    ) -> None:
        super().__init__()
        hidden = _check_generator_arguments(out_channels, in_channels, hidden_scale, dropout, activation)
        self.out_channels = out_channels
        self.in_channels = in_channels
        self.hidden = hidden
        self.omega_0 = float(omega_0)
        self.activation = activation

        self.layer1 = KANLinear(1, hidden, **kan_options)
        self.norm1 = nn.BatchNorm1d(hidden)
        self.layer2 = KANLinear(hidden, hidden, **kan_options)
        self.norm2 = nn.BatchNorm1d(hidden)
        self.layer3 = KANLinear(hidden, out_channels * in_channels, **kan_options)
        self.kernel_dropout = nn.Dropout(dropout)
        if activation in ("kaf", "kafsin"):
            self.kaf = KAF(kaf_length, init="sin" if activation == "kafsin" else "normal")

    def _hidden(self, layer: KANLinear, norm: nn.BatchNorm1d, x: torch.Tensor) -> torch.Tensor:
        z = apply_per_position(layer, x)
        if self.activation == "sin":
            z = self.omega_0 * z
        return _activate(self, norm(z))

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        """``(1, 1, L)`` positions -> ``(out_channels, in_channels, L)`` kernel."""
        _check_positions(positions)
        hidden = self._hidden(self.layer1, self.norm1, positions)
        hidden = self._hidden(self.layer2, self.norm2, hidden)
        kernel = self.kernel_dropout(apply_per_position(self.layer3, hidden))
        return kernel.reshape(self.out_channels, self.in_channels, positions.shape[-1])


def _activate(generator: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """The generator's hidden activation (after BatchNorm)."""
    if generator.activation == "sin":
        return torch.sin(z)
    if generator.activation == "relu":
        return F.relu(z)
    return generator.kaf(z)


def _check_positions(positions: torch.Tensor) -> None:
    if positions.dim() != 3 or positions.shape[:2] != (1, 1):
        raise ValueError(f"positions must have shape (1, 1, L), got {tuple(positions.shape)}")


def _check_generator_arguments(
    out_channels: int, in_channels: int, hidden_scale: float, dropout: float, activation: str
) -> int:
    """Validate the shared generator arguments; return the hidden width ``round(32 * hidden_scale)``."""
    _check_positive_int(out_channels, "out_channels")
    _check_positive_int(in_channels, "in_channels")
    if not hidden_scale > 0:
        raise ValueError(f"hidden_scale must be positive, got {hidden_scale}")
    hidden = round(32 * hidden_scale)
    if hidden < 1:
        raise ValueError(f"hidden_scale={hidden_scale} gives a hidden width of {hidden}; use a larger value")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    if activation not in GENERATOR_ACTIVATIONS:
        raise ValueError(f"activation must be one of {GENERATOR_ACTIVATIONS}, got {activation!r}")
    return hidden


def causal_conv_full(x: torch.Tensor, kernel: torch.Tensor, use_fft: bool) -> torch.Tensor:
    """Apply a kernel causally: output ``t`` only sees inputs ``<= t``.

    Same semantics as left-padding ``x`` with ``K - 1`` zeros and calling
    ``F.conv1d(x_padded, kernel)`` (a cross-correlation): the last tap ``kernel[..., -1]``
    multiplies the current frame, tap ``-1 - s`` the frame ``s`` steps back.

    Parameters
    ----------
    x : torch.Tensor
        Input, ``(B, C_in, L)``.
    kernel : torch.Tensor
        ``(C_out, C_in, K)``, any ``K >= 1``.
    use_fft : bool
        ``True``: multiply in the frequency domain (``rfft`` of size ``>= L + K - 1``, so
        the circular convolution equals the linear one; channel mixing is one batched
        complex matmul over frequencies). ``False``: ``F.conv1d`` on the left-padded input.
        Both give the same result up to float rounding.

    Returns
    -------
    torch.Tensor
        ``(B, C_out, L)``.
    """
    if x.dim() != 3:
        raise ValueError(f"x must have shape (B, C_in, L), got {tuple(x.shape)}")
    if kernel.dim() != 3 or kernel.shape[1] != x.shape[1]:
        raise ValueError(
            f"kernel must have shape (C_out, C_in={x.shape[1]}, K) to fit x {tuple(x.shape)}, "
            f"got {tuple(kernel.shape)}"
        )
    length = x.shape[-1]
    # Taps more than L - 1 steps back only ever meet the zero padding; dropping them
    # changes nothing and keeps the FFT size at most 2L - 1.
    if kernel.shape[-1] > length:
        kernel = kernel[..., -length:]
    taps = kernel.shape[-1]
    if not use_fft:
        return F.conv1d(F.pad(x, (taps - 1, 0)), kernel)

    n_fft = _fast_fft_size(length + taps - 1)
    x_freq = torch.fft.rfft(x, n=n_fft)
    # Cross-correlation with the kernel = convolution with the time-reversed kernel.
    k_freq = torch.fft.rfft(kernel.flip(-1), n=n_fft)
    y_freq = torch.einsum("bif,oif->bof", x_freq, k_freq)
    return torch.fft.irfft(y_freq, n=n_fft)[..., :length]


class CKConv(nn.Module):
    """Continuous-kernel causal convolution with a kernel as long as the input.

    For an input of length ``L`` the generator is evaluated on ``L`` positions
    (:func:`relative_positions`); when ``L`` is even one zero is prepended (kernel length
    ``L + 1``, as the official code does -- the extra tap only ever meets padding, so it
    does not change the output). The kernel is applied with :func:`causal_conv_full`.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the convolution.
    omega_0, hidden_scale, dropout : float
        Passed to :class:`KernelGenerator`.
    bias : bool
        ``False`` (default) reproduces the official models: their bias was created with
        ``Parameter(...).to(device)``, which on CUDA returns a plain tensor, so it was never
        registered, trained or saved and stayed 0 (spec §3.4 quirk 1). The pinned parameter
        counts exclude it. ``True`` adds a trainable bias (zeros at start; +``out_channels``
        parameters), which is what the official code did on CPU.
    fft : {"auto", True, False}
        ``True``/``False`` force the FFT / direct path; ``"auto"`` applies the measured
        size rule :func:`prefer_fft` to the batch size and the kernel length.
    siren_init : bool
        See :class:`KernelGenerator` (default reproduces the official initialisation).
        Not available with the KAN generator.
    kernel_generator : {"conv", "kan"}
        ``"conv"`` (default): :class:`KernelGenerator` (SIREN-style). ``"kan"``:
        :class:`KANKernelGenerator` (spec §9.2).
    activation : {"sin", "relu", "kaf", "kafsin"}
        Hidden activation of the generator (spec §9.4); see :class:`KernelGenerator`.
    kaf_length : int
        Input length the KAF activations are built for (188 officially).

    Notes
    -----
    The first input length seen is stored in the buffer ``reference_length`` (saved in the
    state dict; the official checkpoints store the same as ``previous_length`` = 188) and
    fixes the grid spacing for later lengths.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        omega_0: float = 1.0,
        hidden_scale: float = 1.0,
        dropout: float = 0.1,
        bias: bool = False,
        fft: bool | Literal["auto"] = "auto",
        siren_init: bool = False,
        kernel_generator: str = "conv",
        activation: str = "sin",
        kaf_length: int = 188,
    ) -> None:
        super().__init__()
        if fft not in ("auto", True, False):
            raise ValueError(f"fft must be 'auto', True or False, got {fft!r}")
        if kernel_generator not in KERNEL_GENERATORS:
            raise ValueError(f"kernel_generator must be one of {KERNEL_GENERATORS}, got {kernel_generator!r}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.fft = fft
        self.kernel_generator = kernel_generator
        if kernel_generator == "conv":
            self.generator = KernelGenerator(
                out_channels, in_channels, hidden_scale, omega_0, dropout, siren_init, activation, kaf_length
            )
        else:
            if siren_init:
                raise ValueError("siren_init applies to the 'conv' kernel generator only")
            self.generator = KANKernelGenerator(
                out_channels, in_channels, hidden_scale, omega_0, dropout, activation, kaf_length
            )
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        # 0 = "not seen yet"; set on the first forward pass.
        self.register_buffer("reference_length", torch.tensor(0, dtype=torch.long))

    def kernel(self, length: int) -> torch.Tensor:
        """The ``(C_out, C_in, K)`` kernel this layer applies to inputs of ``length`` frames.

        ``K = length + 1`` for even lengths (one leading zero), else ``length``. Records
        ``length`` as the reference length on first use. Respects train/eval mode
        (BatchNorm statistics, kernel dropout).
        """
        _check_positive_int(length, "length")
        if self.reference_length.item() == 0:
            self.reference_length.fill_(length)
        positions = relative_positions(length, int(self.reference_length.item()))
        reference_param = self.generator.norm1.weight  # any parameter: device and dtype
        kernel = self.generator(positions.to(device=reference_param.device, dtype=reference_param.dtype))
        if length % 2 == 0:
            kernel = F.pad(kernel, (1, 0))
        return kernel

    def use_fft(self, batch: int, taps: int) -> bool:
        """Whether a batch of ``batch`` inputs and a ``taps``-long kernel take the FFT path."""
        if self.fft == "auto":
            return prefer_fft(batch, taps)
        return bool(self.fft)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in_channels, L)`` -> ``(B, out_channels, L)``, causal."""
        if x.dim() != 3 or x.shape[1] != self.in_channels:
            raise ValueError(f"x must have shape (B, {self.in_channels}, L), got {tuple(x.shape)}")
        length = x.shape[-1]
        # After trimming taps that only meet padding, the kernel has `length` taps.
        y = causal_conv_full(x, self.kernel(length), self.use_fft(x.shape[0], length))
        if self.bias is not None:
            y = y + self.bias[:, None]
        return y

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, generator={self.kernel_generator!r}, "
            f"activation={self.generator.activation!r}, omega_0={self.generator.omega_0}, "
            f"hidden={self.generator.hidden}, bias={self.bias is not None}, fft={self.fft!r}"
        )


@torch.no_grad()
def generated_kernels(ckconv: CKConv, length: int) -> np.ndarray:
    """The eval-mode kernel a :class:`CKConv` uses for inputs of ``length`` frames.

    Switches the layer to eval mode for the call and restores its previous mode.

    Returns
    -------
    numpy.ndarray
        ``(C_out, C_in, length)``: entry ``[..., s]`` belongs to position
        ``relative_positions(length, reference)[s]`` (the even-length padding zero is
        dropped).
    """
    if not isinstance(ckconv, CKConv):
        raise TypeError(f"ckconv must be a CKConv, got {type(ckconv).__name__}")
    was_training = ckconv.training
    ckconv.eval()
    try:
        kernel = ckconv.kernel(length)[..., -length:]
    finally:
        ckconv.train(was_training)
    return kernel.detach().cpu().numpy()


def _fast_fft_size(minimum: int) -> int:
    """Smallest 2^a 3^b 5^c >= minimum (sizes pocketfft handles fastest)."""
    size = minimum
    while True:
        remainder = size
        for factor in (2, 3, 5):
            while remainder % factor == 0:
                remainder //= factor
        if remainder == 1:
            return size
        size += 1


def _check_positive_int(value: int, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
