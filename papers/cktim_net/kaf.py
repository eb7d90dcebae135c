"""Kernel activation functions (KAF, KAFsin) for CkTIM-Net's kernel generators.

A KAF (Scardapane et al., *Kafnets: kernel-based non-parametric activation functions for
neural networks*, Neural Networks 110, 2019) is a learnable activation written as a kernel
expansion over a fixed dictionary:

    f(s) = sum_{i=1..D} alpha_i * exp(-gamma * (s - d_i)^2)

In the CkTIM repository (spec ``shared/papers/cktim_net.md`` §9.4) the KAFs replace the
sine of a kernel generator (``af_type = 'KAF'`` or ``'KAFsin'``): after each of the
generator's two BatchNorms, in every CKConv, never in the TAB body. Their coefficients are
indexed by **kernel position**: ``alpha`` has one row of ``D = 20`` coefficients per
position ``q`` of the ``L``-position grid, shared by all hidden channels, so a KAF only
works for the one length it was built for (188 MFCC frames in the repository).

Fixed settings of the repository: dictionary ``d = linspace(-4, 4, 20)`` (spacing
``delta = 8/19``), Gaussian kernel with ``gamma = 1 / (2 (2 delta)^2) = 361/512`` (a buffer,
not trained). ``'KAF'`` draws ``alpha ~ N(0, 0.8^2)``; ``'KAFsin'`` starts from the kernel
ridge regression of ``sin`` on the dictionary.

Bugs of the repository fixed here (labelled ``[fixed]`` below):

* [fixed] **KAFsin initialisation.** The repository computes the ridge-regression
  coefficients and then discards them, re-creating ``alpha`` as an *uninitialised* tensor
  (``torch.empty``; values up to 1e13 or NaN, not reproducible; spec §9.5 pitfall 4). Here
  ``alpha`` is set to the intended coefficients.
* [fixed] **Dead second KAF.** Each generator built two KAFs (``kaf1``, ``kaf2``) but applied
  ``kaf1`` after both BatchNorms; ``kaf2`` was counted (3,760 parameters per generator) and
  never trained (pitfall 3). Here a generator builds exactly the one KAF it applies.
* [fixed] **Length errors.** A wrong input length failed with a broadcast error; here it is a
  ``ValueError`` naming the length the KAF was built for (pitfall 2; the per-position design
  itself is kept).
* [fixed] **NumPy 2 crash.** ``gamma`` is computed in plain Python floats (the repository's
  ``float()`` on a 1-element array raises under NumPy >= 2.4; pitfall 9a).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

__all__ = ["GENERATOR_ACTIVATIONS", "KAF", "kaf_dictionary", "kaf_gamma", "kafsin_coefficients"]

#: Activations of the kernel generators (``af_type`` of the repository, canonical spelling).
GENERATOR_ACTIVATIONS = ("sin", "relu", "kaf", "kafsin")

DICTIONARY_SIZE = 20
BOUNDARY = 4.0
KAF_INIT_STD = 0.8
KAFSIN_RIDGE = 1e-4


def kaf_dictionary(size: int = DICTIONARY_SIZE, boundary: float = BOUNDARY) -> torch.Tensor:
    """The fixed dictionary ``linspace(-boundary, boundary, size)`` (float32)."""
    if size < 2 or not boundary > 0:
        raise ValueError(f"need size >= 2 and boundary > 0, got {size}, {boundary}")
    return torch.linspace(-boundary, boundary, size)


def kaf_gamma(size: int = DICTIONARY_SIZE, boundary: float = BOUNDARY) -> float:
    """Gaussian bandwidth ``1 / (2 (2 delta)^2)`` with spacing ``delta = 2 boundary / (size - 1)``.

    ``361/512 = 0.70508`` for the defaults.
    """
    delta = 2.0 * boundary / (size - 1)
    return 1.0 / (2.0 * (2.0 * delta) ** 2)


def kafsin_coefficients(
    size: int = DICTIONARY_SIZE, boundary: float = BOUNDARY, ridge: float = KAFSIN_RIDGE
) -> torch.Tensor:
    """Kernel ridge regression of ``sin`` on the dictionary: ``(K + ridge I)^-1 sin(d)``.

    ``K_ij = exp(-gamma (d_i - d_j)^2)``. Solved in float64, returned as float32, shape
    ``(size,)``. For the defaults the values lie within about +-7.6 and the expansion fits
    ``sin`` on ``[-4, 4]`` to within about 0.003.
    """
    d = kaf_dictionary(size, boundary).to(torch.float64)
    gram = torch.exp(-kaf_gamma(size, boundary) * (d[:, None] - d[None, :]) ** 2)
    return torch.linalg.solve(gram + ridge * torch.eye(size, dtype=torch.float64), torch.sin(d)).to(torch.float32)


class KAF(nn.Module):
    """Gaussian kernel activation function with one coefficient row per position.

    Parameters
    ----------
    length : int
        Number of positions ``L`` (the repository's ``num_parameters = 188``). Inputs must be
        ``(B, C, length)``.
    init : {"normal", "sin"}
        ``"normal"`` (``af_type='KAF'``): ``alpha ~ N(0, 0.8^2)``, independently per position
        and dictionary element. ``"sin"`` (``'KAFsin'``): every position starts at
        :func:`kafsin_coefficients`, so ``f`` starts close to ``sin`` on ``[-4, 4]``
        ([fixed]: the repository left ``alpha`` uninitialised, see the module docstring).
    size, boundary : int, float
        Dictionary ``linspace(-boundary, boundary, size)``.

    Notes
    -----
    Trainable parameters: ``length * size`` (3,760 for 188 x 20). ``dictionary`` and
    ``gamma`` are buffers.
    """

    def __init__(
        self,
        length: int = 188,
        init: Literal["normal", "sin"] = "normal",
        size: int = DICTIONARY_SIZE,
        boundary: float = BOUNDARY,
    ) -> None:
        super().__init__()
        if isinstance(length, bool) or not isinstance(length, int) or length < 1:
            raise ValueError(f"length must be a positive integer, got {length!r}")
        if init not in ("normal", "sin"):
            raise ValueError(f"init must be 'normal' or 'sin', got {init!r}")
        self.length = length
        self.init = init
        self.register_buffer("dictionary", kaf_dictionary(size, boundary))
        self.register_buffer("gamma", torch.tensor(kaf_gamma(size, boundary)))
        self.alpha = nn.Parameter(torch.empty(length, size))
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        if self.init == "normal":
            self.alpha.normal_(0.0, KAF_INIT_STD)
        else:
            size = self.dictionary.numel()
            boundary = float(self.dictionary[-1])
            self.alpha.copy_(kafsin_coefficients(size, boundary).expand(self.length, -1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, length) -> (B, C, length)``; position ``q`` uses ``alpha[q]``."""
        if x.dim() != 3 or x.shape[-1] != self.length:
            raise ValueError(
                f"this KAF has one function per position and was built for {self.length} positions; "
                f"got input of shape {tuple(x.shape)} (build the model with kaf_length equal to the input length)"
            )
        kernel = torch.exp(-self.gamma * (x.unsqueeze(-1) - self.dictionary).square())  # (B, C, L, D)
        return (kernel * self.alpha).sum(-1)

    def extra_repr(self) -> str:
        return f"length={self.length}, size={self.dictionary.numel()}, init={self.init!r}"
