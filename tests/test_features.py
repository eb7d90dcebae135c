import dataclasses
import os

import librosa
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from ser_common import FEATURE_PRESETS, extract_features, load_manifest
from ser_common import features as F
from ser_common.audio import AudioError


def _tone(seconds: float, sr: int = 16000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)


def _manifest(paths, corpus="emodb", labels=None):
    labels = labels or ["angry"] * len(paths)
    classes = ["angry", "boredom", "disgust", "fear", "happy", "neutral", "sad"]
    return pd.DataFrame(
        {"path": [str(p) for p in paths], "label": pd.Categorical(labels, categories=classes, ordered=True),
         "corpus": corpus}
    )


@pytest.fixture
def wavs(tmp_path):
    paths = []
    for i, seconds in enumerate([1.0, 2.5, 4.0]):
        path = tmp_path / f"utt{i}.wav"
        sf.write(path, _tone(seconds, seed=i), 16000)
        paths.append(path)
    return paths


def test_presets_cover_the_four_papers_with_their_shapes():
    assert set(FEATURE_PRESETS) == {"tim_net", "cktim_net", "glam", "light_sernet"}
    assert FEATURE_PRESETS["tim_net"].output_shape("emodb") == (188, 39)
    assert FEATURE_PRESETS["tim_net"].output_shape("iemocap") == (606, 39)
    assert FEATURE_PRESETS["tim_net"].output_shape("ravdess") == (215, 39)
    assert FEATURE_PRESETS["cktim_net"].output_shape("emodb") == (39, 188)
    assert FEATURE_PRESETS["glam"].output_shape() == (26, 57)
    assert FEATURE_PRESETS["light_sernet"].output_shape("emodb") == (184, 40)
    assert FEATURE_PRESETS["light_sernet"].output_shape("iemocap") == (434, 40)


def test_tim_net_preset_matches_librosa_defaults_on_a_centre_padded_signal(wavs):
    spec = FEATURE_PRESETS["tim_net"]
    got = spec.features_of(wavs[0], "emodb")
    signal, sr = librosa.load(wavs[0], sr=22050)  # librosa's own loader and resampler
    missing = 96000 - signal.size
    signal = np.pad(signal, (missing // 2, missing - missing // 2))
    expected = librosa.feature.mfcc(y=signal, sr=sr, n_mfcc=39, pad_mode="reflect").T
    assert got.shape == (188, 39)
    np.testing.assert_allclose(got, expected, atol=1e-3)


def test_light_sernet_recipe_equals_tensorflow_signal_ops():
    tf = pytest.importorskip("tensorflow")
    signal = _tone(3.0)
    ours = F.tf_style_mfcc(signal, sample_rate=16000, n_mfcc=40, frame_length=1024, frame_step=256, fft_length=1024,
                           n_mels=128, fmin=80.0, fmax=7600.0, log_offset=1e-6, clip=10.0)
    stft = tf.signal.stft(signal, frame_length=1024, frame_step=256, fft_length=1024)
    weights = tf.signal.linear_to_mel_weight_matrix(128, 513, 16000, 80.0, 7600.0)
    np.testing.assert_allclose(F.tf_mel_weight_matrix(128, 513, 16000, 80.0, 7600.0), weights.numpy(), atol=1e-4)
    log_mel = tf.math.log(tf.tensordot(tf.abs(stft), weights, 1) + 1e-6)
    theirs = tf.clip_by_value(tf.signal.mfccs_from_log_mel_spectrograms(log_mel)[..., :40], -10, 10).numpy().T
    assert ours.shape == theirs.shape == (40, 184)
    np.testing.assert_allclose(ours, theirs, atol=2e-3)


def test_light_sernet_normalises_the_cropped_signal_before_padding(tmp_path):
    path = tmp_path / "quiet.wav"
    sf.write(path, 0.01 * _tone(1.0), 16000)
    spec = FEATURE_PRESETS["light_sernet"]
    prepared = spec.prepare_signal(path, "emodb")
    assert prepared.shape == (48000,)
    # the 1 s of speech is scaled to reach +-1 at its 99.9th percentile; the padding stays silent
    assert np.abs(prepared).max() == pytest.approx(1.0)
    assert np.all(prepared[:16000] == 0) and np.all(prepared[-16000:] == 0)


def test_percentile_normalize_rejects_silence():
    with pytest.raises(AudioError, match="silent"):
        F.percentile_normalize(np.zeros(100), 99.9, source="x.wav")


def test_glam_segments_count_and_short_policies(wavs):
    spec = FEATURE_PRESETS["glam"]
    long_segments = spec.features_of(wavs[2], "emodb")  # 4.0 s
    assert long_segments.shape == (1 + (64000 - 28800) // 3200, 26, 57)
    short = spec.prepare_signal(wavs[0], "emodb")  # 1.0 s, tiled up to 1.8 s
    assert short.shape == (1, 28800)
    np.testing.assert_array_equal(short[0, 16000:28800], short[0, : 28800 - 16000])
    padded = spec.replace(short_policy="pad").prepare_signal(wavs[0], "emodb")
    assert padded.shape == (1, 28800) and padded[0, 0] == 0
    assert spec.replace(short_policy="drop").prepare_signal(wavs[0], "emodb").shape == (0, 28800)
    with pytest.raises(AudioError, match="utt0.wav"):
        spec.replace(short_policy="error").prepare_signal(wavs[0], "emodb")


def test_extract_features_segments_carry_their_utterance(wavs):
    X, y, rows = extract_features(_manifest(wavs, labels=["angry", "sad", "fear"]), "glam", cache_dir=False,
                                  n_jobs=1, progress=False)
    counts = [1, 1 + (40000 - 28800) // 3200, 1 + (64000 - 28800) // 3200]
    assert X.shape == (sum(counts), 26, 57)
    assert rows["utterance"].tolist() == [0] + [1] * counts[1] + [2] * counts[2]
    assert y.tolist() == [0] + [6] * counts[1] + [3] * counts[2]
    with pytest.warns(UserWarning, match="1 of 3 utterances"):
        X, _, rows = extract_features(_manifest(wavs), FEATURE_PRESETS["glam"].replace(short_policy="drop"),
                                      cache_dir=False, n_jobs=1, progress=False)
    assert 0 not in rows["utterance"].tolist()


def test_cache_hits_and_invalidation(wavs, tmp_path, monkeypatch):
    calls = []
    original = F.FeatureSpec.features_of

    def counting(self, path, corpus=None):
        calls.append(path)
        return original(self, path, corpus)

    monkeypatch.setattr(F.FeatureSpec, "features_of", counting)
    manifest = _manifest(wavs)
    kwargs = dict(cache_dir=tmp_path / "cache", n_jobs=1, progress=False)
    first = extract_features(manifest, "tim_net", **kwargs)[0]
    assert len(calls) == 3
    second = extract_features(manifest, "tim_net", **kwargs)[0]
    assert len(calls) == 3, "second call must come from the cache"
    np.testing.assert_array_equal(first, second)

    extract_features(manifest, FEATURE_PRESETS["tim_net"].replace(n_mfcc=20, name="tim_net"), **kwargs)
    assert len(calls) == 6, "a changed parameter must recompute"

    sf.write(wavs[1], _tone(2.0, seed=9), 16000)  # edit a file: size and mtime change
    os.utime(wavs[1], ns=(1, 1))
    changed = extract_features(manifest, "tim_net", **kwargs)[0]
    assert len(calls) == 9, "an edited file must recompute"
    assert not np.array_equal(changed[1], first[1])


def test_extract_features_validates_its_input(wavs):
    with pytest.raises(ValueError, match="'corpus'"):
        extract_features(_manifest(wavs).drop(columns="corpus"), cache_dir=False)
    plain = _manifest(wavs).assign(label="angry")
    with pytest.raises(ValueError, match="categorical"):
        extract_features(plain, cache_dir=False)
    with pytest.raises(ValueError, match="unknown feature preset"):
        extract_features(_manifest(wavs), "mfcc42", cache_dir=False)
    missing = _manifest([wavs[0], wavs[0].with_name("gone.wav")])
    with pytest.raises(AudioError, match="gone.wav"):
        extract_features(missing, cache_dir=False)
    with pytest.raises(ValueError, match="no signal length for corpus 'nope'"):
        FEATURE_PRESETS["tim_net"].length_for("nope")


def test_spec_validation_and_frozen():
    spec = FEATURE_PRESETS["tim_net"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.n_mfcc = 13
    with pytest.raises(ValueError, match="kind"):
        spec.replace(kind="cqt")
    with pytest.raises(ValueError, match="center=False"):
        FEATURE_PRESETS["light_sernet"].replace(center=True)
    assert "n_mfcc" in spec.describe().index


def test_other_building_blocks_have_documented_shapes():
    signal = _tone(1.0)
    common = dict(n_fft=512, hop_length=160, win_length=None, window="hann", center=True, pad_mode="constant")
    assert F.linear_spectrogram(signal, top_db=80.0, **common).shape == (257, 101)
    mel = F.log_mel_spectrogram(signal, sample_rate=16000, power=2.0, n_mels=40, fmin=0.0, fmax=None, htk=False,
                                mel_norm="slaney", top_db=80.0, **common)
    assert mel.shape == (40, 101) and mel.max() <= 0 + 80  # dB values


@pytest.mark.real_data
def test_real_emodb_tim_net_features(emodb_root, tmp_path):
    manifest = load_manifest("emodb", emodb_root)
    X, y, rows = extract_features(manifest, "tim_net", cache_dir=tmp_path, progress=False)
    assert X.shape == (535, 188, 39) and X.dtype == np.float32
    assert np.bincount(y).tolist() == [127, 81, 46, 69, 71, 79, 62]
    assert np.isfinite(X).all()
    # raw cepstra as TIM-Net feeds them: c0 large and negative, no normalisation
    assert X[..., 0].mean() < -100
    # the cached reload returns the same array
    again = extract_features(manifest, "tim_net", cache_dir=tmp_path, progress=False)[0]
    np.testing.assert_array_equal(X, again)
