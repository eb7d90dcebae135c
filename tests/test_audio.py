import numpy as np
import pytest
import soundfile as sf

from ser_common.audio import AudioError, fix_length, load_audio


def test_fix_length_center_pads_both_sides_odd_sample_right():
    out = fix_length(np.ones(5, dtype=np.float32), 8, "center")
    assert out.tolist() == [0, 1, 1, 1, 1, 1, 0, 0]


def test_fix_length_center_crop_keeps_middle():
    out = fix_length(np.arange(10), 4, "center")
    assert out.tolist() == [3, 4, 5, 6]  # start = (10 - 4) // 2


@pytest.mark.parametrize(
    "align, padded, cropped",
    [("left", [1, 1, 0, 0], [0, 1, 2]), ("right", [0, 0, 1, 1], [7, 8, 9])],
)
def test_fix_length_left_right(align, padded, cropped):
    assert fix_length(np.ones(2), 4, align).tolist() == padded
    assert fix_length(np.arange(10), 3, align).tolist() == cropped


def test_fix_length_rejects_bad_arguments():
    with pytest.raises(ValueError, match="align"):
        fix_length(np.ones(3), 4, "middle")
    with pytest.raises(ValueError, match="length"):
        fix_length(np.ones(3), 0)
    with pytest.raises(ValueError, match="1-D"):
        fix_length(np.ones((2, 3)), 4)


def test_load_audio_resamples_and_downmixes(tmp_path):
    t = np.arange(16000) / 16000
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), np.zeros_like(t)], axis=1) * 0.5
    path = tmp_path / "stereo.wav"
    sf.write(path, stereo, 16000)
    out = load_audio(path, 8000)
    assert out.dtype == np.float32 and out.shape == (8000,)
    # mean of the two channels: peak about 0.25
    assert 0.2 < np.abs(out).max() < 0.3
    fixed = load_audio(path, 8000, length=10000)
    assert fixed.shape == (10000,) and fixed[:900].max() == 0  # 1000 zeros each side


def test_load_audio_errors_name_the_file(tmp_path):
    with pytest.raises(AudioError, match="missing.wav"):
        load_audio(tmp_path / "missing.wav")
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF not really a wave file")
    with pytest.raises(AudioError, match="corrupt.wav"):
        load_audio(corrupt)
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0), 16000)
    with pytest.raises(AudioError, match="empty.wav.*empty"):
        load_audio(empty)
    short = tmp_path / "short.wav"
    sf.write(short, np.zeros(1600), 16000)
    with pytest.raises(AudioError, match="short.wav.*0.100 s"):
        load_audio(short, min_duration=0.5)
