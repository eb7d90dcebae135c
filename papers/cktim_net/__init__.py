"""CkTIM-Net (continuous-kernel TIM-Net) and the PyTorch TIM-Net baseline it is compared with.

``ckconv`` holds the continuous-kernel convolution, ``model`` the shared bidirectional
backbone and the two builders. Spec: ``shared/papers/cktim_net.md``.
"""

from papers.cktim_net.ckconv import (
    CKConv,
    KernelGenerator,
    causal_conv_full,
    generated_kernels,
    relative_positions,
)
from papers.cktim_net.model import TemporalNet, build_cktim, build_tim, count_parameters

__all__ = [
    "CKConv",
    "KernelGenerator",
    "TemporalNet",
    "build_cktim",
    "build_tim",
    "causal_conv_full",
    "count_parameters",
    "generated_kernels",
    "relative_positions",
]
