"""CkTIM-Net's optional offline augmentation."""

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from papers.cktim_net import augment
from papers.cktim_net.features import PRESET as CKTIM_NET
from papers.glam.features import PRESET as GLAM


def test_noise_has_the_requested_snr():
    rng = np.random.default_rng(0)
    signal = np.sin(np.linspace(0, 200, 16000)).astype(np.float32)
    noisy = augment.add_noise(signal, 10.0, rng)
    snr = 10 * np.log10(np.mean(signal**2) / np.mean((noisy - signal) ** 2))
    assert snr == pytest.approx(10.0, abs=0.3)


def test_shift_is_zero_filled_not_circular():
    signal = np.arange(1, 11, dtype=np.float32)
    assert augment.shift(signal, 0.3).tolist() == [0, 0, 0, 1, 2, 3, 4, 5, 6, 7]
    assert augment.shift(signal, -0.2).tolist() == [3, 4, 5, 6, 7, 8, 9, 10, 0, 0]


def test_four_copies_noise_shift_stretch_reverse():
    rng = np.random.default_rng(1)
    signal = np.random.default_rng(2).standard_normal(8000).astype(np.float32)
    copies = augment.augmented_copies(signal, rng)
    assert len(copies) == len(augment.AUGMENTATIONS) == 4
    assert copies[2].size != signal.size  # time stretch changes the duration
    np.testing.assert_array_equal(copies[3], signal[::-1])


def test_augmented_features_shape_and_determinism(tmp_path):
    paths = []
    for i in range(2):
        path = tmp_path / f"u{i}.wav"
        sf.write(path, np.random.default_rng(i).standard_normal(16000).astype(np.float32) * 0.1, 16000)
        paths.append(str(path))
    manifest = pd.DataFrame({"path": paths, "corpus": "emodb"})
    spec = CKTIM_NET
    a = augment.augmented_features(manifest, spec, seed=3, cache_dir=False, n_jobs=1, progress=False)
    b = augment.augmented_features(manifest, spec, seed=3, cache_dir=False, n_jobs=1, progress=False)
    assert a.shape == (2, 4, 39, 188)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="segmented"):
        augment.augmented_features(manifest, GLAM, cache_dir=False)
