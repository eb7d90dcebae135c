"""A small Kolmogorov-Arnold Network (KAN) layer with B-spline edge functions.

CkTIM-Net's optional KAN kernel generator (spec ``shared/papers/cktim_net.md`` §9.2) maps
each relative time position through three KAN layers instead of three 1x1 convolutions.
A KAN layer puts a learnable 1-D function on every (output, input) edge and sums them:

    y_o = sum_i  Wb[o, i] * SiLU(u_i)  +  sum_i sum_c  S[o, i] * Ws[o, i, c] * B_c(u_i)

with no bias. ``B_c`` are the ``G + k`` B-splines of order ``k`` on a uniform grid of ``G``
intervals over ``grid_range``, extended by ``k`` knots on each side; ``Wb`` is the "base"
branch, ``Ws`` the spline coefficients and ``S`` a per-edge spline scale.

Pieces, written from the spec's formulas (no third-party KAN package is used):

* :func:`uniform_knots` -- the extended uniform knot vector;
* :func:`bspline_basis` -- Cox-de Boor recursion, half-open degree-0 intervals;
* :class:`KANLinear` -- the layer, with the initialisation of the CkTIM repository;
* :func:`apply_per_position` -- a KAN layer applied independently at every position of a
  ``(1, C, L)`` tensor, which is what the repository's 1x1 "ConvKAN" amounts to.

Defaults are the ones the CkTIM generator ends up with: ``G = 5``, cubic splines
(``k = 3``, so 8 basis functions per input), grid range (-1, 1) (knot step 0.4, knots
-2.2 ... 2.2), SiLU base activation, ``scale_base = scale_spline = 1``, a standalone
spline scale, ``scale_noise = 0.1``. The grid is fixed: no adaptive grid update (the
repository never called it).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["KANLinear", "apply_per_position", "bspline_basis", "uniform_knots"]


def uniform_knots(
    grid_size: int = 5, spline_order: int = 3, grid_range: tuple[float, float] = (-1.0, 1.0)
) -> torch.Tensor:
    """Uniform knot vector with ``spline_order`` extension knots on each side.

    Returns ``grid_size + 2 * spline_order + 1`` knots
    ``t_m = low + (m - spline_order) * h`` with ``h = (high - low) / grid_size``; for the
    defaults: -2.2, -1.8, ..., 2.2 (float32).
    """
    if grid_size < 1 or spline_order < 0:
        raise ValueError(f"need grid_size >= 1 and spline_order >= 0, got {grid_size}, {spline_order}")
    low, high = grid_range
    if not low < high:
        raise ValueError(f"grid_range must be (low, high) with low < high, got {grid_range}")
    step = (high - low) / grid_size
    steps = torch.arange(-spline_order, grid_size + spline_order + 1, dtype=torch.float64)
    return (low + steps * step).to(torch.float32)


def bspline_basis(x: torch.Tensor, knots: torch.Tensor, spline_order: int) -> torch.Tensor:
    """All B-splines of order ``spline_order`` on ``knots``, evaluated at ``x``.

    Cox-de Boor recursion: ``B_{m,0}(u) = 1`` if ``t_m <= u < t_{m+1}`` (half-open) else 0;
    ``B_{m,j} = (u - t_m) / (t_{m+j} - t_m) B_{m,j-1} + (t_{m+j+1} - u) / (t_{m+j+1} - t_{m+1}) B_{m+1,j-1}``.

    Parameters
    ----------
    x : torch.Tensor
        Any shape ``(...)``, or ``(..., F)`` when ``knots`` is ``(F, M)``.
    knots : torch.Tensor
        ``(M,)`` knots shared by all inputs, or ``(F, M)`` per input feature; increasing.
    spline_order : int
        ``k``; there are ``M - k - 1`` basis functions.

    Returns
    -------
    torch.Tensor
        ``x.shape + (M - k - 1,)``. Inside ``[t_k, t_{M-k-1})`` the values sum to 1
        (partition of unity); ``B_c`` is non-zero only on ``[t_c, t_{c+k+1})``, and all are 0
        outside ``[t_0, t_{M-1})``.
    """
    if knots.shape[-1] < spline_order + 2:
        raise ValueError(f"{knots.shape[-1]} knots are too few for order {spline_order}")
    u = x.unsqueeze(-1)
    t = knots.to(dtype=x.dtype, device=x.device)
    basis = ((u >= t[..., :-1]) & (u < t[..., 1:])).to(x.dtype)
    for j in range(1, spline_order + 1):
        left = (u - t[..., : -(j + 1)]) / (t[..., j:-1] - t[..., : -(j + 1)]) * basis[..., :-1]
        right = (t[..., j + 1 :] - u) / (t[..., j + 1 :] - t[..., 1:-j]) * basis[..., 1:]
        basis = left + right
    return basis


class KANLinear(nn.Module):
    """KAN layer ``in_features -> out_features`` with B-spline edge functions, no bias.

    Parameters
    ----------
    in_features, out_features : int
        Widths.
    grid_size, spline_order : int
        ``G`` uniform intervals on ``grid_range`` and spline order ``k`` (``G + k`` basis
        functions per input).
    grid_range : tuple of float
        Where the basis is complete (sums to 1); it fades out over the ``k`` extension knots
        on each side and is 0 beyond them, where only the base branch acts.
    scale_noise : float
        Spline initialisation noise: values ``(U(0,1) - 1/2) * scale_noise / G`` at the
        ``G + 1`` grid points, fitted by least squares (see Notes).
    scale_base, scale_spline : float
        Enter the initialisation only: Kaiming-uniform with ``a = sqrt(5) * scale`` for the
        base weights and (with ``standalone_scale_spline``) the spline scales; without a
        standalone scale the fitted spline coefficients are multiplied by ``scale_spline``.
    standalone_scale_spline : bool
        ``True`` (the repository's setting): a trainable scale ``S[o, i]`` per edge.
    base_activation : type of nn.Module
        Base branch activation (SiLU).
    init_fan_in : {"out_in", "in"}
        Fan-in of the Kaiming-uniform bound ``sqrt(6 / ((1 + a^2) fan_in))``.
        ``"out_in"`` (default) reproduces the CkTIM repository: its weights were 3-D
        (``1 x out x in``, a groups axis), so PyTorch took ``fan_in = out * in`` and the bound
        is ``1/sqrt(out * in)`` (0.177 / 0.031 / 0.0045 for the generator's 1->32 /
        32->32 / 32->1521 layers; spec §9.2, pitfall 6). ``"in"`` gives the usual 2-D
        bound ``1/sqrt(in)`` of efficient-kan-style layers.

    Notes
    -----
    Trainable parameters: ``out * in`` (base) + ``(G + k) * out * in`` (spline)
    + ``out * in`` (scale) = ``10 * in * out`` for the defaults.

    Spline initialisation: for every edge, the ``G + 1 = 6`` noise values at the grid
    points are fitted with the ``G + k = 8`` coefficients, an under-determined least-squares
    problem; the minimum-norm solution (pseudo-inverse, computed in float64) is used, as the
    repository's CPU ``lstsq`` gives. The fitted spline therefore passes exactly through the
    noise values, i.e. lies within ``+-scale_noise / (2G) = +-0.01`` at the grid points.
    Draw order: base weights, spline noise, spline scales.

    The knots are a buffer ``grid`` of shape ``(in_features, G + 2k + 1)`` (one copy per input
    feature, as in the repository's state dict), never updated.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        grid_size: int = 5,
        spline_order: int = 3,
        grid_range: tuple[float, float] = (-1.0, 1.0),
        scale_noise: float = 0.1,
        scale_base: float = 1.0,
        scale_spline: float = 1.0,
        standalone_scale_spline: bool = True,
        base_activation: type[nn.Module] = nn.SiLU,
        init_fan_in: Literal["out_in", "in"] = "out_in",
    ) -> None:
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if init_fan_in not in ("out_in", "in"):
            raise ValueError(f"init_fan_in must be 'out_in' or 'in', got {init_fan_in!r}")
        self.in_features = in_features
        self.out_features = out_features
        self.grid_size = grid_size
        self.spline_order = spline_order
        self.grid_range = (float(grid_range[0]), float(grid_range[1]))
        self.scale_noise = scale_noise
        self.scale_base = scale_base
        self.scale_spline = scale_spline
        self.init_fan_in = init_fan_in
        knots = uniform_knots(grid_size, spline_order, grid_range)
        self.register_buffer("grid", knots.expand(in_features, -1).contiguous())
        self.base_weight = nn.Parameter(torch.empty(out_features, in_features))
        self.spline_weight = nn.Parameter(torch.empty(out_features, in_features, grid_size + spline_order))
        self.spline_scaler = (
            nn.Parameter(torch.empty(out_features, in_features)) if standalone_scale_spline else None
        )
        self.base_activation = base_activation()
        self.reset_parameters()

    @property
    def n_basis(self) -> int:
        """Basis functions per input, ``G + k``."""
        return self.grid_size + self.spline_order

    def _kaiming_bound(self, scale: float) -> float:
        fan_in = self.in_features * (self.out_features if self.init_fan_in == "out_in" else 1)
        a = math.sqrt(5) * scale
        return math.sqrt(6.0 / ((1.0 + a * a) * fan_in))

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """The repository's initialisation (see the class Notes)."""
        bound = self._kaiming_bound(self.scale_base)
        self.base_weight.uniform_(-bound, bound)

        k = self.spline_order
        grid_points = self.grid[0, k : k + self.grid_size + 1].to(torch.float64)  # the G + 1 points of grid_range
        noise = (torch.rand(self.grid_size + 1, self.in_features, self.out_features) - 0.5) * (
            self.scale_noise / self.grid_size
        )
        design = bspline_basis(grid_points, self.grid[0].to(torch.float64), k)  # (G + 1, G + k)
        coefficients = torch.linalg.pinv(design) @ noise.to(torch.float64).reshape(self.grid_size + 1, -1)
        coefficients = coefficients.reshape(self.n_basis, self.in_features, self.out_features).permute(2, 1, 0)
        if self.spline_scaler is None:
            coefficients = coefficients * self.scale_spline
        self.spline_weight.copy_(coefficients.to(self.spline_weight.dtype))

        if self.spline_scaler is not None:
            bound = self._kaiming_bound(self.scale_spline)
            self.spline_scaler.uniform_(-bound, bound)

    def basis(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, in) -> (N, in, G + k)`` B-spline values on this layer's knots."""
        return bspline_basis(x, self.grid, self.spline_order)

    def scaled_spline_weight(self) -> torch.Tensor:
        """``S[o, i] * Ws[o, i, c]``, shape ``(out, in, G + k)``."""
        if self.spline_scaler is None:
            return self.spline_weight
        return self.spline_weight * self.spline_scaler.unsqueeze(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., in_features) -> (..., out_features)``."""
        if x.shape[-1] != self.in_features:
            raise ValueError(f"x must have {self.in_features} features in its last axis, got {tuple(x.shape)}")
        leading = x.shape[:-1]
        flat = x.reshape(-1, self.in_features)
        base = F.linear(self.base_activation(flat), self.base_weight)
        spline = F.linear(
            self.basis(flat).reshape(flat.shape[0], -1),
            self.scaled_spline_weight().reshape(self.out_features, -1),
        )
        return (base + spline).reshape(*leading, self.out_features)

    def regularization_loss(self, regularize_activation: float = 1.0, regularize_entropy: float = 1.0) -> torch.Tensor:
        """The KAN sparsity surrogate (spec §9.2 "Regularisation"), on the raw coefficients.

        ``L1 = sum_{o,i} mean_c |Ws|``, ``p = mean_c |Ws| / L1``, entropy ``-sum p log p``;
        returns ``regularize_activation * L1 + regularize_entropy * entropy``. The CkTIM
        repository defines it but never adds it to the training loss; it is provided for
        experiments and not used by :func:`~papers.cktim_net.model.build_cktim`.
        """
        per_edge = self.spline_weight.abs().mean(-1)
        l1 = per_edge.sum()
        p = per_edge / l1
        entropy = -torch.sum(p * torch.log(p))
        return regularize_activation * l1 + regularize_entropy * entropy

    def extra_repr(self) -> str:
        return (
            f"{self.in_features}, {self.out_features}, grid_size={self.grid_size}, "
            f"spline_order={self.spline_order}, grid_range={self.grid_range}, init_fan_in={self.init_fan_in!r}"
        )


def apply_per_position(layer: KANLinear, x: torch.Tensor) -> torch.Tensor:
    """Apply ``layer`` independently at every position: ``(B, C_in, L) -> (B, C_out, L)``.

    This is what the repository's 1x1 "ConvKAN" does (unfold with a 1x1 window, one
    ``KANLinear`` per position, fold back): nothing mixes positions.
    """
    if x.dim() != 3:
        raise ValueError(f"x must have shape (B, C, L), got {tuple(x.shape)}")
    return layer(x.transpose(1, 2)).transpose(1, 2)
