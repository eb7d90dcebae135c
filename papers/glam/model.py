"""GLAM (Zhu and Li, ICASSP 2022) in PyTorch, with the paper's ablations as options.

Spec: ``shared/papers/glam.md`` §3 (architecture), §8 (pitfalls). Written from the spec's
facts; the gMLP block is re-implemented here instead of importing ``g-mlp-pytorch`` so
that its behaviour (tanh gate, gate bias initialised to 1) cannot drift with a package
version (pitfall 9).

Data flow for one ``1 x 26 x 57`` MFCC segment (MFCC bins x frames)::

    stem: Conv(3x1)->BN->ReLU  and  Conv(1x3)->BN->ReLU, stacked along the MFCC axis
          -> 16 x 52 x 57       (the two halves sit on top of each other: pitfall 6)
    MS(16) -> 32 x 52 x 57 -> MaxPool 2 -> 32 x 26 x 28
    MS(32) -> 64 x 26 x 28 -> MaxPool 2 -> 64 x 13 x 14
    MS(64) -> 128 x 13 x 14
    Conv(5x5)->BN->ReLU -> 128 x 13 x 14 -> reshape -> 128 tokens x 182 features
    global-aware fusion (one gMLP block: the 128 *channels* are the tokens)
    ReLU -> flatten (23,296) -> Linear -> logits

``MS(c)`` is the residual multi-scale block: ``a = conv3x3(x) + x``, ``b = conv5x5(x) + x``,
``y = ReLU(BN(concat_channels(a, b)))``, so the channel count doubles.

Public API: :func:`build_glam`, :data:`VARIANTS`, :func:`expected_param_count`,
:func:`count_parameters`, :func:`receptive_fields`, :func:`spatial_gate_matrix`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "GLAM",
    "GMLPBlock",
    "MultiScaleBlock",
    "SelfAttentionFusion",
    "SpatialGatingUnit",
    "VARIANTS",
    "build_glam",
    "count_parameters",
    "expected_param_count",
    "receptive_fields",
    "spatial_gate_matrix",
]

#: Channel widths fixed by the architecture: stems give 16, each MS block doubles.
STEM_CHANNELS = 16
FINAL_CHANNELS = 128  # also the gMLP's seq_len ("tokens"), hard-wired in the official model
FF_MULT = 4  # gMLP expansion: dim -> 4 dim, half of it gates the other half
GATE_INIT_EPS = 1e-3  # W_s ~ U(-eps / seq_len, eps / seq_len), b_s = 1

#: Ablation variants (spec §3.2 and the README ablation table, §7.2): name -> description.
VARIANTS: dict[str, str] = {
    "glam": "full GLAM: residual multi-scale blocks (3x3 || 5x5, identity shortcuts) + gMLP global-aware fusion",
    "no_shortcut": "multi-scale blocks without the identity shortcuts (the official MultiConv), gMLP fusion kept",
    "single_3x3": "both paths of every block use 3x3 kernels (single kernel size, ResConv3), shortcuts and gMLP kept",
    "single_5x5": "both paths of every block use 5x5 kernels (single kernel size, ResConv5), shortcuts and gMLP kept",
    "no_fusion": "multi-scale CNN only: the gMLP block removed, conv features go straight to ReLU-flatten-Linear",
    "mhsa": "the gMLP block replaced by a pre-norm residual multi-head self-attention block over the 182 positions",
}


@dataclass(frozen=True)
class _VariantConfig:
    kernels: tuple[int, int]
    shortcut: bool
    fusion: str  # "gmlp", "none" or "mhsa"


_CONFIGS: dict[str, _VariantConfig] = {
    "glam": _VariantConfig((3, 5), True, "gmlp"),
    "no_shortcut": _VariantConfig((3, 5), False, "gmlp"),
    "single_3x3": _VariantConfig((3, 3), True, "gmlp"),
    "single_5x5": _VariantConfig((5, 5), True, "gmlp"),
    "no_fusion": _VariantConfig((3, 5), True, "none"),
    "mhsa": _VariantConfig((3, 5), True, "mhsa"),
}


def _config(variant: str) -> _VariantConfig:
    try:
        return _CONFIGS[variant]
    except KeyError:
        raise ValueError(f"unknown GLAM variant {variant!r}; choose one of {sorted(VARIANTS)}") from None


def _final_map(input_shape: tuple[int, int]) -> tuple[int, int]:
    """(height, width) of the last conv map: the stacked stems double the MFCC axis, two 2x2 pools halve both."""
    n_mfcc, n_frames = input_shape
    return (2 * n_mfcc) // 2 // 2, n_frames // 2 // 2


def _check_input_shape(input_shape: tuple[int, int]) -> tuple[int, int]:
    if len(input_shape) != 2 or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) for s in input_shape):
        raise ValueError(f"input_shape must be (n_mfcc, n_frames), got {input_shape!r}")
    shape = (int(input_shape[0]), int(input_shape[1]))
    height, width = _final_map(shape)
    if height < 1 or width < 1:
        raise ValueError(f"input_shape {shape} is too small: two 2x2 max-pools need n_mfcc >= 2 and n_frames >= 4")
    return shape


# ----------------------------------------------------------------------------- blocks


class MultiScaleBlock(nn.Module):
    """Parallel same-padded convolutions ``c -> c``, each with its own identity shortcut,
    concatenated on channels, then BN and ReLU: ``c`` in, ``len(kernels) * c`` out.

    ``kernels=(3, 5)`` is GLAM's block; ``(3, 3)`` / ``(5, 5)`` are the single-kernel
    ablations; ``shortcut=False`` is the no-shortcut ablation.
    """

    def __init__(self, channels: int, kernels: tuple[int, ...] = (3, 5), shortcut: bool = True):
        super().__init__()
        self.shortcut = shortcut
        self.paths = nn.ModuleList(nn.Conv2d(channels, channels, k, padding=k // 2) for k in kernels)
        self.norm = nn.BatchNorm2d(channels * len(kernels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = [conv(x) + x if self.shortcut else conv(x) for conv in self.paths]
        return F.relu(self.norm(torch.cat(outputs, dim=1)))


class SpatialGatingUnit(nn.Module):
    """gMLP's spatial gating unit with a tanh gate.

    Splits the features in half: ``U_r`` (first half) is gated by
    ``tanh(W_s @ LN(U_g) + b_s)``, where ``W_s`` (``seq_len x seq_len``) mixes *across
    tokens*. ``W_s`` starts near zero and ``b_s`` at one, so at initialisation the gate is
    ~tanh(1) everywhere and the block starts out close to a plain channel MLP.
    """

    def __init__(self, gate_features: int, seq_len: int, init_eps: float = GATE_INIT_EPS):
        super().__init__()
        self.norm = nn.LayerNorm(gate_features)
        bound = init_eps / seq_len
        self.weight = nn.Parameter(torch.empty(seq_len, seq_len).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.ones(seq_len))

    def forward(self, u: torch.Tensor) -> torch.Tensor:  # (B, seq_len, 2 * gate_features)
        residual, gate = u.chunk(2, dim=-1)
        gate = torch.matmul(self.weight, self.norm(gate)) + self.bias[:, None]
        return residual * torch.tanh(gate)


class GMLPBlock(nn.Module):
    """One pre-norm residual gMLP block: ``Z + W_out(SGU(GELU(W_in LN(Z))))``.

    Input and output ``(B, seq_len, dim)``. No final LayerNorm or pooling (the official
    model builds ``gMLP`` without ``num_tokens``).
    """

    def __init__(self, dim: int, seq_len: int, ff_mult: int = FF_MULT, init_eps: float = GATE_INIT_EPS):
        super().__init__()
        hidden = dim * ff_mult
        self.norm = nn.LayerNorm(dim)
        self.proj_in = nn.Linear(dim, hidden)
        self.sgu = SpatialGatingUnit(hidden // 2, seq_len, init_eps)
        self.proj_out = nn.Linear(hidden // 2, dim)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z + self.proj_out(self.sgu(F.gelu(self.proj_in(self.norm(z)))))


class SelfAttentionFusion(nn.Module):
    """The MHSA ablation: a pre-norm residual self-attention block over spatial positions.

    Takes the same ``(B, channels, positions)`` tensor as the gMLP fusion and returns the
    same shape, but attends across the *positions* with the channels as the embedding
    (the usual attention-on-a-feature-map layout; head count independent of input size).
    """

    def __init__(self, channels: int = FINAL_CHANNELS, heads: int = 8):
        super().__init__()
        if channels % heads:
            raise ValueError(f"attention_heads={heads} must divide the {channels} channels")
        self.norm = nn.LayerNorm(channels)
        self.attention = nn.MultiheadAttention(channels, heads, batch_first=True)

    def forward(self, z: torch.Tensor) -> torch.Tensor:  # (B, C, P)
        tokens = z.transpose(1, 2)
        normed = self.norm(tokens)
        tokens = tokens + self.attention(normed, normed, normed, need_weights=False)[0]
        return tokens.transpose(1, 2)


def _conv_bn_relu(c_in: int, c_out: int, kernel: tuple[int, int]) -> nn.Sequential:
    padding = (kernel[0] // 2, kernel[1] // 2)
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, padding=padding), nn.BatchNorm2d(c_out), nn.ReLU())


class GLAM(nn.Module):
    """GLAM and its ablations; build it with :func:`build_glam`.

    ``forward`` takes ``(B, 1, n_mfcc, n_frames)`` or ``(B, n_mfcc, n_frames)`` and returns
    logits ``(B, n_classes)``. The official model defines a ``Dropout(0.5)`` that it never
    uses, so there is none here.
    """

    def __init__(self, n_classes: int, input_shape: tuple[int, int], variant: str, attention_heads: int = 8):
        super().__init__()
        config = _config(variant)
        self.variant = variant
        self.input_shape = input_shape
        self.freq_stem = _conv_bn_relu(1, STEM_CHANNELS, (3, 1))
        self.time_stem = _conv_bn_relu(1, STEM_CHANNELS, (1, 3))
        self.block1 = MultiScaleBlock(STEM_CHANNELS, config.kernels, config.shortcut)
        self.block2 = MultiScaleBlock(2 * STEM_CHANNELS, config.kernels, config.shortcut)
        self.block3 = MultiScaleBlock(4 * STEM_CHANNELS, config.kernels, config.shortcut)
        self.conv5 = _conv_bn_relu(8 * STEM_CHANNELS, FINAL_CHANNELS, (5, 5))
        height, width = _final_map(input_shape)
        self.dim = height * width
        if config.fusion == "gmlp":
            self.fusion: nn.Module = GMLPBlock(self.dim, FINAL_CHANNELS)
        elif config.fusion == "mhsa":
            self.fusion = SelfAttentionFusion(FINAL_CHANNELS, attention_heads)
        else:
            self.fusion = nn.Identity()
        self.classifier = nn.Linear(FINAL_CHANNELS * self.dim, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 3:
            x = x.unsqueeze(1)
        if x.dim() != 4 or x.shape[1] != 1 or tuple(x.shape[-2:]) != self.input_shape:
            raise ValueError(
                f"GLAM built for input (B, 1, {self.input_shape[0]}, {self.input_shape[1]}) or (B, "
                f"{self.input_shape[0]}, {self.input_shape[1]}), got {tuple(x.shape)}"
            )
        # Stacked on the MFCC (height) axis, not the channels: the official layout (pitfall 6).
        x = torch.cat([self.freq_stem(x), self.time_stem(x)], dim=2)
        x = F.max_pool2d(self.block1(x), 2)
        x = F.max_pool2d(self.block2(x), 2)
        x = self.conv5(self.block3(x))
        z = self.fusion(x.flatten(2))  # tokens = the 128 channels, features = the flattened map
        return self.classifier(F.relu(z).flatten(1))


# ----------------------------------------------------------------------------- builder and counts


def build_glam(
    n_classes: int,
    input_shape: tuple[int, int] = (26, 57),
    *,
    variant: str = "glam",
    attention_heads: int = 8,
    seed: int | None = None,
) -> GLAM:
    """Build GLAM (or one of its ablations, see :data:`VARIANTS`) with PyTorch's default init.

    Parameters
    ----------
    n_classes : int
        Size of the logit vector.
    input_shape : (n_mfcc, n_frames)
        One segment's MFCC image; ``(26, 57)`` is 1.8 s at GLAM's defaults. The gMLP width
        and the classifier depend on it (``dim = (2 n_mfcc // 4) * (n_frames // 4)``).
    variant : str
        A key of :data:`VARIANTS`.
    attention_heads : int
        Heads of the ``"mhsa"`` variant's attention (must divide 128); ignored otherwise.
    seed : int or None
        Seed the weight initialisation without touching the global RNG state.
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 1:
        raise ValueError(f"n_classes must be a positive integer, got {n_classes!r}")
    _config(variant)
    shape = _check_input_shape(tuple(input_shape))
    if seed is None:
        return GLAM(int(n_classes), shape, variant, attention_heads)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return GLAM(int(n_classes), shape, variant, attention_heads)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (BatchNorm running statistics are buffers, not counted)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def expected_param_count(
    n_classes: int, input_shape: tuple[int, int] = (26, 57), variant: str = "glam", attention_heads: int = 8
) -> int:
    """Trainable parameters by arithmetic, layer by layer (to pin :func:`count_parameters`).

    With ``H x W`` the input, ``dim = (2H // 4) * (W // 4)`` (182 for 26 x 57), ``n`` classes,
    and a multi-scale block of width ``c`` with kernels ``k1, k2``::

        layer                         formula                              26x57, 4 classes
        freq stem  Conv(3x1)+BN(16)   (16*3 + 16) + 2*16                                 96
        time stem  Conv(1x3)+BN(16)   (16*3 + 16) + 2*16                                 96
        MS(c)                         (k1^2 + k2^2) c^2 + 2c + 2*(2c)      (34 c^2 + 6c)
          MS(16)                                                                      8,800
          MS(32)                                                                     35,008
          MS(64)                                                                    139,648
        Conv 5x5 128->128 + BN(128)   128*128*25 + 128 + 2*128                      409,984
        gMLP(dim, seq 128, ff 4)      LN: 2 dim                                         364
                                      W_in: dim*4dim + 4dim                         133,224
                                      SGU LN: 2*(2 dim)                                 728
                                      W_s, b_s: 128*128 + 128                        16,512
                                      W_out: 2dim*dim + dim                          66,430
                                      (gMLP total 217,258)
        Linear 128*dim -> n           128*dim*n + n                                  93,188
        total                                                                       904,078

    * 7 classes (EMO-DB), 26 x 57: 904,078 + 3 * 23,297 = **973,969**.
    * 26 x 63 (2 s segments), 4 classes: 940,283 (dim 195).
    * ``no_shortcut`` has the same count as ``glam`` (identity shortcuts have no weights);
      ``single_3x3`` / ``single_5x5`` replace ``34 c^2`` by ``18 c^2`` / ``50 c^2``;
      ``no_fusion`` drops the gMLP; ``mhsa`` swaps it for LN(128) + attention
      ``4*128^2 + 4*128`` (in/out projections with biases) = 66,304.
    """
    config = _config(variant)
    height, width = _check_input_shape(tuple(input_shape))
    height, width = _final_map((height, width))
    dim = height * width

    def conv(c_in: int, c_out: int, kh: int, kw: int) -> int:
        return c_in * c_out * kh * kw + c_out

    def bn(c: int) -> int:
        return 2 * c  # weight and bias

    stems = 2 * (conv(1, STEM_CHANNELS, 3, 1) + bn(STEM_CHANNELS))
    blocks = 0
    for c in (STEM_CHANNELS, 2 * STEM_CHANNELS, 4 * STEM_CHANNELS):
        blocks += sum(conv(c, c, k, k) for k in config.kernels) + bn(2 * c)
    conv5 = conv(8 * STEM_CHANNELS, FINAL_CHANNELS, 5, 5) + bn(FINAL_CHANNELS)
    if config.fusion == "gmlp":
        hidden = FF_MULT * dim
        fusion = (
            bn(dim)  # LayerNorm(dim): weight + bias, same count as BN
            + dim * hidden + hidden  # W_in
            + bn(hidden // 2)  # SGU LayerNorm on the gate half
            + FINAL_CHANNELS * FINAL_CHANNELS + FINAL_CHANNELS  # W_s, b_s
            + (hidden // 2) * dim + dim  # W_out
        )
    elif config.fusion == "mhsa":
        c = FINAL_CHANNELS
        fusion = bn(c) + 4 * c * c + 4 * c
    else:
        fusion = 0
    classifier = FINAL_CHANNELS * dim * n_classes + n_classes
    return stems + blocks + conv5 + fusion + classifier


# ----------------------------------------------------------------------------- lesson helpers


def receptive_fields(
    variant: str = "glam", input_shape: tuple[int, int] = (26, 57), hop_seconds: float = 0.032
) -> list[dict[str, object]]:
    """How much of the MFCC image each convolution path sees, layer by layer.

    Returns one dict per conv path (and per max-pool) with the kernel, the map size, the
    ``jump`` (input bins/frames between neighbouring map cells) and the theoretical
    receptive field in MFCC bins x frames, for both halves of the stacked stem map: the
    upper half came through the 3x1 (frequency) stem, the lower half through the 1x3
    (time) stem. ``seconds`` is the time span of the frames (``frames * hop_seconds``,
    GLAM's 32 ms hop; the 128 ms analysis window adds a little more).

    Caveats, worth saying in a lesson: a field larger than the input (26 bins, 57 frames)
    is clipped by the zero padding; a kernel straddling the seam between the two stacked
    halves mixes high MFCC bins of one stem with low bins of the other (so "bins" there is
    not a contiguous band); and after a block the *next* layer inherits the larger (5x5)
    field, because the two paths are concatenated. The gMLP after the last conv is global.
    """
    config = _config(variant)
    n_mfcc, n_frames = _check_input_shape(tuple(input_shape))
    rows: list[dict[str, object]] = []
    # (bins, frames) receptive field of the freq-stem and time-stem halves; jump in input cells
    rf = {"freq_stem": (3, 1), "time_stem": (1, 3)}
    jump = 1
    height, width = 2 * n_mfcc, n_frames

    def row(layer: str, path: str, kernel: str, fields: dict[str, tuple[int, int]]) -> dict[str, object]:
        frames = max(f for _, f in fields.values())
        return {
            "layer": layer,
            "path": path,
            "kernel": kernel,
            "map": f"{height} x {width}",
            "jump": jump,
            "freq_stem_half": fields["freq_stem"],
            "time_stem_half": fields["time_stem"],
            "seconds": round(frames * hop_seconds, 3),
        }

    rows.append(row("stem", "3x1 | 1x3", "3x1 / 1x3", rf))
    for index, channels in enumerate((STEM_CHANNELS, 2 * STEM_CHANNELS, 4 * STEM_CHANNELS), start=1):
        for k in config.kernels:
            grown = {half: (b + (k - 1) * jump, f + (k - 1) * jump) for half, (b, f) in rf.items()}
            rows.append(row(f"MS({channels})", f"{k}x{k}", f"{k}x{k}", grown))
        # Both paths are concatenated, so what follows inherits the widest one.
        k = max(config.kernels)
        rf = {half: (b + (k - 1) * jump, f + (k - 1) * jump) for half, (b, f) in rf.items()}
        if index < 3:
            rf = {half: (b + jump, f + jump) for half, (b, f) in rf.items()}
            jump *= 2
            height, width = height // 2, width // 2
            rows.append(row(f"MaxPool {index}", "2x2 stride 2", "2x2", rf))
    rf = {half: (b + 4 * jump, f + 4 * jump) for half, (b, f) in rf.items()}
    rows.append(row("Conv 5x5", "5x5", "5x5", rf))
    return rows


def spatial_gate_matrix(model: nn.Module) -> np.ndarray:
    """The learned ``128 x 128`` token-mixing matrix ``W_s`` of the gMLP spatial gate.

    Entry ``[i, j]`` is how much channel ``j`` (of the last conv) contributes to the gate of
    channel ``i``. Accepts a model wrapped by ``torch.compile``. Raises ``ValueError`` for
    the variants without a gMLP block.
    """
    model = getattr(model, "_orig_mod", model)
    fusion = getattr(model, "fusion", None)
    if not isinstance(fusion, GMLPBlock):
        raise ValueError(f"this model has no gMLP fusion block (variant {getattr(model, 'variant', '?')!r})")
    return fusion.sgu.weight.detach().float().cpu().numpy().copy()
