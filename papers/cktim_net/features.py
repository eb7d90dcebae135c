"""CkTIM-Net's input: TIM-Net's own MFCC files, laid out channels first (39 x T).

The project trained on the MFCCs TIM-Net's code writes (spec §2.1), so the spec is TIM-Net's
(``papers/tim_net/features.py``) with the layout its PyTorch convolutions expect.
"""

from __future__ import annotations

from collections.abc import Mapping

from papers.tim_net.features import PRESET as TIM_NET_PRESET
from ser_common.features import FeatureSpec

PRESET = TIM_NET_PRESET.replace(name="cktim_net", layout="channels_first")


def feature_spec(params: Mapping) -> FeatureSpec:
    """The preset (CkTIM-Net has no feature options)."""
    return PRESET
