# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext,ser_notebooks
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   ser_notebooks:
#     demo: {}
#     test:
#       max_f0_files: 40
# ---

# %% [markdown]
# # 00 · A tour of a speech-emotion corpus
#
# Before training any model, look at the data. This lesson answers the questions every
# SER paper quietly depends on:
#
# 1. **Who says what?** How many utterances per emotion and per speaker: class balance
#    decides whether accuracy (WA) and unweighted average recall (UA) differ, and the
#    number of speakers decides whether a "10-fold" split can be speaker-independent.
# 2. **How long are the recordings?** The four papers cut or pad every file to a fixed
#    length (TIM-Net 4.35 s, Light-SERNet 3 s, GLAM 1.8 s segments). We measure what that
#    throws away.
# 3. **What does an emotion look like?** One utterance per emotion: listen to it, see its
#    waveform, spectrogram and MFCCs.
# 4. **What differs between emotions?** Pitch (F0) and loudness per class, the cues the
#    networks have to discover on their own.
#
# It runs on the small synthetic corpus by default (no download), and on EMO-DB with
# `papermill notebooks/00_data_tour.ipynb out.ipynb -p dataset emodb -p data_dir ../shared/data/emodb`.

# %% tags=["parameters"]
dataset = "synthetic"  # emodb, ravdess, savee, emovo, casia, iemocap or synthetic
data_dir = None  # None: $SER_DATA_DIR/<dataset>, else ./data/<dataset>
subset = None  # IEMOCAP only: "improvised", "scripted" or "all"
max_f0_files = 400  # pitch tracking is the slow part; None analyses every file
seed = 0

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Audio, display

from papers.cktim_net.features import PRESET as CKTIM_NET
from papers.glam.features import PRESET as GLAM
from papers.light_sernet.features import PRESET as LIGHT_SERNET
from papers.tim_net.features import PRESET as TIM_NET
from ser_common import CORPORA, corpus_root, fix_length, load_audio, load_manifest, make_synthetic
from ser_common.features import FeatureSpec

#: Each paper's input, as its papers/<paper>/features.py defines it.
PRESETS = {"tim_net": TIM_NET, "cktim_net": CKTIM_NET, "glam": GLAM, "light_sernet": LIGHT_SERNET}

plt.rcParams["figure.dpi"] = 90
root = corpus_root(dataset, data_dir)
if dataset == "synthetic":
    make_synthetic(root)  # writes the corpus once; later calls find it and return
info = CORPORA[dataset]
print(info.title)
print("licence:", info.licence)
print("data folder:", root)

# %% [markdown]
# ## 1. The manifest: one row per utterance
#
# `load_manifest` reads the corpus *in the layout its authors distribute* (for EMO-DB the
# emotion, speaker and text are coded in file names like `03a01Wa.wav`) and returns a
# table. Labels are an ordered categorical in the papers' class order, so `label.cat.codes`
# gives the class index every notebook uses.

# %%
manifest = load_manifest(dataset, root, subset=subset) if subset else load_manifest(dataset, root)
classes = list(manifest["label"].cat.categories)
print(f"{len(manifest)} utterances, {manifest['speaker'].nunique()} speakers, {len(classes)} classes: {classes}")
manifest.head()

# %% [markdown]
# ## 2. Who says what: class balance and speakers
#
# Left: utterances per emotion. When the bars differ a lot, a classifier that favours the
# big classes gets a good WA but a poor UA, which is why the papers report both.
# Right: every speaker contributes to every class. This is why *speaker-dependent* splits
# (the papers' random k-fold) put each speaker in training and test at once.

# %%
counts = manifest.groupby("label", observed=False).size()
by_speaker = pd.crosstab(manifest["speaker"], manifest["label"])
fig, (ax_classes, ax_speakers) = plt.subplots(1, 2, figsize=(13, 4), layout="constrained")
counts.plot.bar(ax=ax_classes, color="tab:blue")
ax_classes.axhline(counts.mean(), color="k", ls="--", lw=1, label="mean")
ax_classes.set(title="utterances per emotion", xlabel="", ylabel="utterances")
ax_classes.legend()
image = ax_speakers.imshow(by_speaker.to_numpy(), cmap="Blues", aspect="auto")
ax_speakers.set(title="utterances per speaker and emotion", xticks=range(len(classes)), yticks=range(len(by_speaker)))
ax_speakers.set_xticklabels(classes, rotation=45, ha="right")
ax_speakers.set_yticklabels([f"{s} ({g})" for s, g in manifest.groupby("speaker")["gender"].first().items()])
for (i, j), value in np.ndenumerate(by_speaker.to_numpy()):
    ax_speakers.text(j, i, value, ha="center", va="center", fontsize=8)
fig.colorbar(image, ax=ax_speakers)
plt.show()
print(f"largest / smallest class: {counts.max() / counts.min():.2f}; chance WA if always guessing the "
      f"largest class: {counts.max() / counts.sum():.1%}; chance UA: {1 / len(classes):.1%}")

# %% [markdown]
# ## 3. How long are the recordings, and what do fixed windows keep?
#
# Networks want fixed-size inputs. TIM-Net keeps the centre 4.35 s of each EMO-DB file
# (96,000 samples at 22,050 Hz) and zero-pads shorter ones; Light-SERNet keeps 3 s; GLAM cuts
# 1.8 s segments and (in its code) drops shorter files. The dashed lines show those windows.

# %%
windows = {
    "TIM-Net / CkTIM-Net": TIM_NET.length_for(dataset) / TIM_NET.sample_rate,
    "Light-SERNet": LIGHT_SERNET.length_for(dataset) / LIGHT_SERNET.sample_rate,
    "GLAM segment": GLAM.segment_length / GLAM.sample_rate,
}
speakers = sorted(manifest["speaker"].unique())
fig, (ax_hist, ax_box) = plt.subplots(1, 2, figsize=(13, 4), layout="constrained")
ax_hist.hist(manifest["duration_s"], bins=30, color="tab:gray")
ax_box.boxplot([manifest.loc[manifest["speaker"] == s, "duration_s"] for s in speakers], tick_labels=speakers)
for (name, seconds), colour in zip(windows.items(), ["tab:red", "tab:green", "tab:purple"]):
    ax_hist.axvline(seconds, color=colour, ls="--", label=f"{name}: {seconds:.2f} s")
    ax_box.axhline(seconds, color=colour, ls="--")
ax_hist.set(title="durations", xlabel="seconds", ylabel="utterances")
ax_hist.legend()
ax_box.set(title="durations per speaker", xlabel="speaker", ylabel="seconds")
plt.show()
durations = manifest["duration_s"]
pd.DataFrame(
    {
        "window (s)": [round(s, 2) for s in windows.values()],
        "files cropped": [f"{(durations > s).mean():.1%}" for s in windows.values()],
        "files padded": [f"{(durations < s).mean():.1%}" for s in windows.values()],
        "mean share of the window that is padding": [
            f"{np.clip(1 - durations / s, 0, None).mean():.1%}" for s in windows.values()
        ],
    },
    index=list(windows),
)

# %% [markdown]
# ## 4. One utterance per emotion: listen and look
#
# For each emotion we take the first utterance of one speaker and show the waveform, the
# log-power spectrogram (librosa, 16 kHz, 25 ms Hann windows every 10 ms here, for a sharp
# picture) and the 39 MFCCs TIM-Net uses. Play them: the differences you hear in pitch,
# loudness and tempo are the ones the models must learn.

# %%
speaker = by_speaker.min(axis=1).idxmax()  # a speaker who has every emotion
examples = manifest[manifest["speaker"] == speaker].groupby("label", observed=True).head(1).reset_index(drop=True)
sample_rate = 16_000
tour_spec = FeatureSpec(name="tour", kind="spectrogram", sample_rate=sample_rate,
                        signal_length=None, n_fft=400, hop_length=160)
mfcc_spec = TIM_NET.replace(signal_length=None)
fig, axes = plt.subplots(3, len(examples), figsize=(2.6 * len(examples), 7), layout="constrained", squeeze=False)
for column, row in examples.iterrows():
    signal = load_audio(row["path"], sample_rate)
    axes[0, column].plot(np.arange(signal.size) / sample_rate, signal, lw=0.4)
    axes[0, column].set(title=f"{row['label']}", ylim=(-1, 1), xlabel="s")
    spectrogram = tour_spec.transform(signal)
    axes[1, column].imshow(spectrogram.T, origin="lower", aspect="auto", cmap="magma",
                           extent=[0, signal.size / sample_rate, 0, sample_rate / 2000])
    axes[1, column].set(xlabel="s", ylabel="kHz" if column == 0 else "")
    cepstra = mfcc_spec.features_of(row["path"])
    # c0 (log energy) is ~10x larger than the rest and would flatten the colour scale
    axes[2, column].imshow(cepstra.T[1:], origin="lower", aspect="auto", cmap="coolwarm",
                           extent=[0, cepstra.shape[0], 1, cepstra.shape[1]])
    axes[2, column].set(xlabel="frame", ylabel="MFCC 1-38" if column == 0 else "")
fig.suptitle(f"speaker {speaker}: waveform, spectrogram (25 ms / 10 ms), MFCCs 1-38 (TIM-Net preset, full length)")
plt.show()
for _, row in examples.iterrows():
    print(row["label"], "—", row["path"].split("/")[-1])
    display(Audio(load_audio(row["path"], sample_rate), rate=sample_rate))

# %% [markdown]
# ## 5. What the fixed-length window does to a signal
#
# TIM-Net's feature code centres every signal in a 4.35 s window: a short file is padded
# with zeros on both sides (the network then sees mostly silence), a long file loses its
# beginning and end. The shaded area is what the network receives.

# %%
tim = TIM_NET
window = tim.length_for(dataset)
shortest, longest = manifest.loc[durations.idxmin()], manifest.loc[durations.idxmax()]
fig, axes = plt.subplots(2, 1, figsize=(12, 5), layout="constrained")
for ax, row in zip(axes, (shortest, longest)):
    signal = load_audio(row["path"], tim.sample_rate)
    fixed = fix_length(signal, window, "center")
    offset = (signal.size - window) // 2  # > 0: cropped, < 0: padded (start of the window in signal time)
    t_signal = np.arange(signal.size) / tim.sample_rate
    t_window = (np.arange(window) + offset) / tim.sample_rate
    ax.plot(t_signal, signal, color="tab:gray", lw=0.5, label="recording")
    ax.plot(t_window, fixed, color="tab:red", lw=0.4, alpha=0.7, label="network input")
    ax.axvspan(t_window[0], t_window[-1], color="tab:red", alpha=0.08)
    kept = min(signal.size, window) / signal.size
    ax.set(title=f"{row['path'].split('/')[-1]}: {row['duration_s']:.2f} s -> {window / tim.sample_rate:.2f} s "
                 f"({kept:.0%} of the recording kept, {max(0, window - signal.size) / window:.0%} of the input is padding)",
           xlabel="seconds")
    ax.legend(loc="upper right")
plt.show()

# %% [markdown]
# ## 6. What differs between emotions: pitch and loudness
#
# For every utterance (or a random sample of `max_f0_files`) we track the fundamental
# frequency F0 with librosa's YIN (voiced frames only, 60–500 Hz) and measure the RMS
# energy. Speakers differ a lot in pitch (compare women and men), so we also show F0
# relative to each speaker's own median: that is the emotion's effect.

# %%
import librosa
from tqdm.auto import tqdm


def prosody(path: str) -> dict[str, float]:
    signal = load_audio(path, sample_rate)
    f0 = librosa.yin(signal, fmin=60, fmax=500, sr=sample_rate, frame_length=1024, hop_length=160)
    rms = librosa.feature.rms(y=signal, frame_length=400, hop_length=160)[0]
    voiced = f0[(rms > 0.5 * np.median(rms)) & (f0 < 490)]
    return {
        "mean F0 (Hz)": float(np.median(voiced)) if voiced.size else np.nan,
        "F0 range (semitones)": float(12 * np.log2(np.percentile(voiced, 90) / np.percentile(voiced, 10)))
        if voiced.size > 10 else np.nan,
        "energy (dBFS)": float(20 * np.log10(np.sqrt(np.mean(signal**2)) + 1e-9)),
    }


sample = manifest if max_f0_files is None or len(manifest) <= max_f0_files else manifest.sample(
    max_f0_files, random_state=seed)
cues = pd.DataFrame([prosody(p) for p in tqdm(sample["path"], desc="pitch tracking")], index=sample.index)
cues = sample[["label", "speaker", "gender"]].join(cues)
cues["F0 vs speaker median (semitones)"] = 12 * np.log2(
    cues["mean F0 (Hz)"] / cues.groupby("speaker")["mean F0 (Hz)"].transform("median"))

fig, axes = plt.subplots(1, 4, figsize=(16, 3.8), layout="constrained")
for ax, column in zip(axes, ["mean F0 (Hz)", "F0 vs speaker median (semitones)", "F0 range (semitones)",
                             "energy (dBFS)"]):
    groups = [cues.loc[cues["label"] == c, column].dropna() for c in classes]
    ax.boxplot(groups, tick_labels=classes)
    ax.set_title(column)
    ax.tick_params(axis="x", rotation=60)
plt.show()
cues.groupby("label", observed=True)[["mean F0 (Hz)", "F0 vs speaker median (semitones)", "F0 range (semitones)",
                                      "energy (dBFS)"]].median().round(1)

# %% [markdown]
# ## 7. What each paper's network receives
#
# Every model in this repository gets its input from one feature spec that reproduces its
# official code (`papers/<paper>/features.py`; facts from `../shared/papers/`).
# Here is one utterance through each preset, and the settings side by side. Note that
# TIM-Net's paper says "50 ms / 12.5 ms Hamming" but its code uses librosa's defaults
# (93 ms Hann frames every 23 ms): the presets follow the code.

# %%
example = examples.loc[0, "path"]
fig, axes = plt.subplots(1, len(PRESETS), figsize=(4 * len(PRESETS), 3.2), layout="constrained")
for ax, (name, spec) in zip(axes, PRESETS.items()):
    features = spec.features_of(example, dataset)
    if spec.segmented:
        title = f"{name}: {features.shape[0]} segments of {features.shape[1:]}"
        features = features[0]
    else:
        title = f"{name}: {features.shape}"
    image = features.T if spec.layout == "time_major" else features
    ax.imshow(image, origin="lower", aspect="auto", cmap="coolwarm")
    ax.set(title=title, xlabel="frame", ylabel="coefficient")
plt.show()
pd.concat([spec.describe() for spec in PRESETS.values()], axis=1).loc[
    ["kind", "sample_rate", "signal_length", "n_fft", "hop_length", "window", "center", "n_mels", "fmin",
     "fmax", "n_mfcc", "layout", "segment_length", "segment_hop", "normalize_percentile", "clip"]]

# %% [markdown]
# ## What to remember
#
# * Look at class balance before reading a WA: UA is the honest number when classes differ in size.
# * Every speaker appears in every class, so random k-fold splits are **speaker-dependent**:
#   the test speakers were heard in training. The TIM-Net and CkTIM-Net lessons measure how
#   much that flatters the numbers.
# * Fixed-length windows crop some files and pad most; the models see a lot of zeros.
# * Pitch level, pitch range and loudness separate some emotions (angry/happy vs sad/boredom)
#   but overlap for others, and the speaker's own voice shifts everything.
