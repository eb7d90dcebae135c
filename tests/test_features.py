import dataclasses
import os

import librosa
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from papers.cktim_net.features import PRESET as CKTIM_NET
from papers.glam.features import PRESET as GLAM
from papers.light_sernet.features import PRESET as LIGHT_SERNET
from papers.light_sernet.features import tf_mel_weight_matrix
from papers.tim_net.features import PRESET as TIM_NET
from ser_common import extract_features, load_manifest
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


def _shape(spec, corpus=None):
    """Shape of one example: the spec's transform of a prepared (fixed-length or one-segment) signal."""
    length = spec.segment_length if spec.segmented else spec.length_for(corpus)
    signal = _tone(length / spec.sample_rate, spec.sample_rate)[:length]
    return spec.transform(signal[None] if spec.segmented else signal).shape[-2:]


def test_paper_presets_have_their_published_shapes():
    assert _shape(TIM_NET, "emodb") == (188, 39)
    assert _shape(TIM_NET, "iemocap") == (606, 39)
    assert _shape(TIM_NET, "ravdess") == (215, 39)
    assert _shape(CKTIM_NET, "emodb") == (39, 188)
    assert _shape(GLAM) == (26, 57)
    assert _shape(LIGHT_SERNET, "emodb") == (184, 40)
    assert _shape(LIGHT_SERNET, "iemocap") == (434, 40)
    assert CKTIM_NET.replace(layout="time_major", name="tim_net") == TIM_NET  # same features, other layout


def test_tim_net_preset_matches_librosa_defaults_on_a_centre_padded_signal(wavs):
    got = TIM_NET.features_of(wavs[0], "emodb")
    signal, sr = librosa.load(wavs[0], sr=22050)  # librosa's own loader and resampler
    missing = 96000 - signal.size
    signal = np.pad(signal, (missing // 2, missing - missing // 2))
    expected = librosa.feature.mfcc(y=signal, sr=sr, n_mfcc=39, pad_mode="reflect").T
    assert got.shape == (188, 39)
    np.testing.assert_allclose(got, expected, atol=1e-3)


def test_glam_preset_matches_librosa_defaults_per_segment(wavs):
    got = GLAM.features_of(wavs[2], "emodb")  # 4.0 s at 16 kHz: no resampling
    signal = librosa.load(wavs[2], sr=16000)[0]
    for index in (0, len(got) - 1):
        segment = signal[index * 3200 : index * 3200 + 28800]
        expected = librosa.feature.mfcc(y=segment, sr=16000, n_mfcc=26, pad_mode="reflect")
        np.testing.assert_allclose(got[index], expected, atol=1e-3)


def test_light_sernet_recipe_equals_tensorflow_signal_ops():
    tf = pytest.importorskip("tensorflow")
    signal = _tone(3.0)
    ours = LIGHT_SERNET.transform(signal).T  # (40, 184): coefficients x frames
    stft = tf.signal.stft(signal, frame_length=1024, frame_step=256, fft_length=1024)
    weights = tf.signal.linear_to_mel_weight_matrix(128, 513, 16000, 80.0, 7600.0)
    np.testing.assert_allclose(tf_mel_weight_matrix(128, 513, 16000, 80.0, 7600.0), weights.numpy(), atol=1e-4)
    log_mel = tf.math.log(tf.tensordot(tf.abs(stft), weights, 1) + 1e-6)
    theirs = tf.clip_by_value(tf.signal.mfccs_from_log_mel_spectrograms(log_mel)[..., :40], -10, 10).numpy().T
    assert ours.shape == theirs.shape == (40, 184)
    np.testing.assert_allclose(ours, theirs, atol=2e-3)
    # the other two input types are the same computation stopped earlier
    mel = LIGHT_SERNET.replace(kind="logmel").transform(signal)
    np.testing.assert_allclose(mel, np.clip(log_mel.numpy(), -10, 10), atol=2e-3)
    magnitude = LIGHT_SERNET.replace(kind="spectrogram", clip=None).transform(signal)
    np.testing.assert_allclose(magnitude, tf.abs(stft).numpy(), rtol=1e-3, atol=1e-3)


def test_light_sernet_normalises_the_cropped_signal_before_padding(tmp_path):
    path = tmp_path / "quiet.wav"
    sf.write(path, 0.01 * _tone(1.0), 16000)
    prepared = LIGHT_SERNET.prepare_signal(path, "emodb")
    assert prepared.shape == (48000,)
    # the 1 s of speech is scaled to reach +-1 at its 99.9th percentile; the padding stays silent
    assert np.abs(prepared).max() == pytest.approx(1.0)
    assert np.all(prepared[:16000] == 0) and np.all(prepared[-16000:] == 0)


def test_percentile_normalisation_rejects_a_signal_whose_percentile_is_zero(tmp_path):
    # Loud enough to pass the peak check, but 99.9 % of the samples are zero: nothing to scale by.
    signal = np.zeros(16000, dtype=np.float32)
    signal[::2000] = 0.5
    path = tmp_path / "clicks.wav"
    sf.write(path, signal, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="clicks.wav.*silent"):
        LIGHT_SERNET.prepare_signal(path, "emodb")


def test_glam_segments_count_and_short_policies(wavs):
    spec = GLAM.replace(short_policy="tile")
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


def test_extract_features_segments_carry_their_utterance(wavs, capsys):
    X, y, rows = extract_features(_manifest(wavs, labels=["angry", "sad", "fear"]), GLAM, cache_dir=False,
                                  n_jobs=1, progress=False)
    counts = [1, 1 + (40000 - 28800) // 3200, 1 + (64000 - 28800) // 3200]
    assert X.shape == (sum(counts), 26, 57)
    assert rows["utterance"].tolist() == [0] + [1] * counts[1] + [2] * counts[2]
    assert y.tolist() == [0] + [6] * counts[1] + [3] * counts[2]
    capsys.readouterr()
    X, _, rows = extract_features(_manifest(wavs), GLAM.replace(short_policy="drop"), cache_dir=False, n_jobs=1,
                                  progress=False)
    assert "1 of 3 utterances are shorter than one segment and were dropped" in capsys.readouterr().err
    assert str(wavs[0]) not in rows["path"].tolist() and X.shape[0] == sum(counts[1:])
    assert rows["utterance"].tolist() == [0] * counts[1] + [1] * counts[2]  # numbered over the kept utterances


def test_cache_hits_and_invalidation(wavs, tmp_path, monkeypatch):
    calls = []
    original = F.FeatureSpec.features_of

    def counting(self, path, corpus=None):
        calls.append(path)
        return original(self, path, corpus)

    monkeypatch.setattr(F.FeatureSpec, "features_of", counting)
    manifest = _manifest(wavs)
    kwargs = dict(cache_dir=tmp_path / "cache", n_jobs=1, progress=False)
    first = extract_features(manifest, TIM_NET, **kwargs)[0]
    assert len(calls) == 3
    second = extract_features(manifest, TIM_NET, **kwargs)[0]
    assert len(calls) == 3, "second call must come from the cache"
    np.testing.assert_array_equal(first, second)

    extract_features(manifest, TIM_NET.replace(n_mfcc=20), **kwargs)
    assert len(calls) == 6, "a changed parameter must recompute"

    sf.write(wavs[1], _tone(2.0, seed=9), 16000)  # edit a file: size and mtime change
    os.utime(wavs[1], ns=(1, 1))
    changed = extract_features(manifest, TIM_NET, **kwargs)[0]
    assert len(calls) == 9, "an edited file must recompute"
    assert not np.array_equal(changed[1], first[1])


def test_extract_features_validates_its_input(wavs):
    with pytest.raises(ValueError, match="corpus"):
        extract_features(_manifest(wavs).drop(columns="corpus"), TIM_NET, cache_dir=False)
    plain = _manifest(wavs).assign(label="angry")
    with pytest.raises(ValueError, match="categorical"):
        extract_features(plain, TIM_NET, cache_dir=False)
    with pytest.raises(TypeError, match="spec must be a FeatureSpec"):
        extract_features(_manifest(wavs), "mfcc42", cache_dir=False)
    with pytest.raises(ValueError, match="errors="):
        extract_features(_manifest(wavs), TIM_NET, cache_dir=False, errors="ignore")
    missing = _manifest([wavs[0], wavs[0].with_name("gone.wav")])
    with pytest.raises(AudioError, match="gone.wav"):
        extract_features(missing, TIM_NET, cache_dir=False)
    with pytest.raises(ValueError, match="no signal length for corpus 'nope'"):
        TIM_NET.length_for("nope")
    with pytest.raises(ValueError, match="different shapes"):  # full-length features cannot be stacked
        extract_features(_manifest(wavs), TIM_NET.replace(signal_length=None), cache_dir=False, n_jobs=1,
                         progress=False)


def test_spec_validation_and_frozen():
    spec = TIM_NET
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.n_mfcc = 13
    with pytest.raises(ValueError, match="kind"):
        spec.replace(kind="cqt")
    with pytest.raises(ValueError, match="layout"):
        spec.replace(layout="batch_first")
    with pytest.raises(ValueError, match="short_policy"):
        GLAM.replace(short_policy="loop")
    with pytest.raises(ValueError, match="segment_length and segment_hop"):
        spec.replace(segment_length=1000)
    assert "n_mfcc" in spec.describe().index and "notes" not in spec.describe().index
    # a per-corpus length mapping survives replace() and keeps the spec hashable (it is a cache key)
    assert hash(spec.replace(n_mfcc=20)) != hash(spec) and spec.replace(n_mfcc=20).length_for("emodb") == 96_000
    assert type(LIGHT_SERNET.replace(kind="logmel")) is type(LIGHT_SERNET)  # a subclass stays a subclass


def test_other_feature_kinds_have_documented_shapes_and_match_librosa():
    signal = _tone(1.0)
    common = dict(sample_rate=16000, signal_length=None, n_fft=512, hop_length=160, layout="channels_first")
    spectrogram = F.FeatureSpec(name="spec", kind="spectrogram", **common).transform(signal)
    assert spectrogram.shape == (257, 101)
    expected = librosa.power_to_db(np.abs(librosa.stft(signal, n_fft=512, hop_length=160, pad_mode="constant")) ** 2)
    np.testing.assert_allclose(spectrogram, expected, atol=1e-3)
    mel = F.FeatureSpec(name="mel", kind="logmel", n_mels=40, **common).transform(signal)
    assert mel.shape == (40, 101) and mel.max() - mel.min() <= 80 + 1e-3  # dB values, top_db 80
    expected = librosa.power_to_db(librosa.feature.melspectrogram(y=signal, sr=16000, n_fft=512, hop_length=160,
                                                                  n_mels=40, pad_mode="constant"), top_db=80.0)
    np.testing.assert_allclose(mel, expected, atol=1e-3)
    time_major = F.FeatureSpec(name="mel", kind="logmel", n_mels=40, **{**common, "layout": "time_major"})
    np.testing.assert_array_equal(time_major.transform(signal), mel.T)


@pytest.mark.real_data
def test_real_emodb_tim_net_features(emodb_root, tmp_path):
    manifest = load_manifest("emodb", emodb_root)
    X, y, rows = extract_features(manifest, TIM_NET, cache_dir=tmp_path, progress=False)
    assert X.shape == (535, 188, 39) and X.dtype == np.float32
    assert np.bincount(y).tolist() == [127, 81, 46, 69, 71, 79, 62]
    assert np.isfinite(X).all()
    # raw cepstra as TIM-Net feeds them: c0 large and negative, no normalisation
    assert X[..., 0].mean() < -100
    # the cached reload returns the same array
    again = extract_features(manifest, TIM_NET, cache_dir=tmp_path, progress=False)[0]
    np.testing.assert_array_equal(X, again)
