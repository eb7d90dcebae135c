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

# %% [markdown]
# ## Before you start
#
# **Learning objectives.** After this lesson you can
#
# * read a corpus's manifest and check its class balance, speakers and durations before
#   training anything, and say when UA and WA will differ;
# * explain why a random k-fold split is *speaker-dependent* and how a speaker-independent
#   split differs;
# * say what each paper's fixed-length window keeps and throws away;
# * name the prosodic cues of emotion (pitch level, pitch range, spectral balance) and explain
#   why a peak-normalised corpus hides absolute loudness;
# * read each paper's input representation (MFCC image, segments) and its dominant c0 row.
#
# **Prerequisites.** Python with numpy, pandas and matplotlib; what a spectrogram and MFCCs
# are (a frame-by-frame spectrum, and its log-mel spectrum compressed by a DCT). No deep
# learning. Terms such as UA, WA and speaker-independent are defined in the
# [glossary](GLOSSARY.md).
#
# **Time (computer).** Synthetic corpus with the quick settings (`ser_notebooks.demo`,
# `python -m ser_common.demo 00_data_tour`): about 40 s on 2 shared CPU cores, exercises
# included. EMO-DB, every file pitch-tracked (`max_f0_files=None`, the README's data-tour
# command): 89 s measured with that command on the same cores while other trainings ran
# (the older render `results/emodb/00_data_tour.ipynb`, without the exercises, took 22 s:
# its papermill metadata).

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
# big classes gets a good WA but a poor UA, which is why the papers report both
# ([glossary](GLOSSARY.md)).
# Right: utterances per speaker and emotion. In an acted corpus nearly every speaker records
# nearly every emotion; the cell lists the empty cells (on EMO-DB there is one: speaker 08
# recorded no *disgust*). So a random k-fold split over utterances puts every speaker in
# training and in test at once: it is **speaker-dependent**. A speaker-independent split
# holds whole speakers out, and then a fold can even lack a class (speaker 08's fold has no
# disgust; the glossary says what UA does then).

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
empty = by_speaker.stack()
empty = empty[empty == 0]
print("speaker / emotion pairs without any utterance: "
      + (", ".join(f"speaker {s} has no {label}" for s, label in empty.index) if len(empty) else "none"))

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
#
# Each row shares one colour scale, with its colour bar on the right, so the panels can be
# compared. The MFCC row leaves out c0: it is the frame's log energy (the mean of the dB
# mel spectrum, scaled), hundreds of units below the others, and would flatten their colours
# (section 7 and exercise 4 come back to it).

# %%
speaker = by_speaker.min(axis=1).idxmax()  # a speaker who has every emotion
examples = manifest[manifest["speaker"] == speaker].groupby("label", observed=True).head(1).reset_index(drop=True)
sample_rate = 16_000
tour_spec = FeatureSpec(name="tour", kind="spectrogram", sample_rate=sample_rate,
                        signal_length=None, n_fft=400, hop_length=160)
mfcc_spec = TIM_NET.replace(signal_length=None)
signals = [load_audio(path, sample_rate) for path in examples["path"]]
spectrograms = [tour_spec.transform(signal) for signal in signals]
cepstra = [mfcc_spec.features_of(path) for path in examples["path"]]
db_max = max(spectrogram.max() for spectrogram in spectrograms)
mfcc_limit = max(np.percentile(np.abs(c[:, 1:]), 99) for c in cepstra)  # one symmetric scale for c1-c38
fig, axes = plt.subplots(3, len(examples), figsize=(2.6 * len(examples) + 1, 7), layout="constrained", squeeze=False)
for column, row in examples.iterrows():
    signal = signals[column]
    axes[0, column].plot(np.arange(signal.size) / sample_rate, signal, lw=0.4)
    axes[0, column].set(title=f"{row['label']}", ylim=(-1, 1), xlabel="s")
    spectrogram_image = axes[1, column].imshow(
        spectrograms[column].T, origin="lower", aspect="auto", cmap="magma", vmin=db_max - 80, vmax=db_max,
        extent=[0, signal.size / sample_rate, 0, sample_rate / 2000])
    axes[1, column].set(xlabel="s", ylabel="kHz" if column == 0 else "")
    mfcc_image = axes[2, column].imshow(cepstra[column].T[1:], origin="lower", aspect="auto", cmap="coolwarm",
                                        vmin=-mfcc_limit, vmax=mfcc_limit,
                                        extent=[0, cepstra[column].shape[0], 1, cepstra[column].shape[1]])
    axes[2, column].set(xlabel="frame", ylabel="MFCC 1-38" if column == 0 else "")
fig.colorbar(spectrogram_image, ax=axes[1, :], label="power (dB)", shrink=0.9)
fig.colorbar(mfcc_image, ax=axes[2, :], label="MFCC value (c1-c38)", shrink=0.9)
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
# ## 6. What differs between emotions: pitch, level and spectral balance
#
# For every utterance (or a random sample of `max_f0_files`) we track the fundamental
# frequency F0 with librosa's YIN (voiced frames only, 60–500 Hz). Speakers differ a lot in
# pitch (compare women and men), so we also show F0 relative to each speaker's own median:
# that is the emotion's effect.
#
# **Loudness, and why a corpus can hide it.** Many corpora are *peak-normalised*: each file
# was scaled so that its loudest sample reaches full scale (±1). The cell prints how many of
# the analysed files peak within 0.1 dB of full scale; on EMO-DB that is every one of the 535
# (their 16-bit peaks are 32,765 of 32,767). After peak normalisation the recording level is
# gone: a shout and a calm sentence both peak at 1, and nothing in the file says how loud the
# actor was. An RMS level "in dBFS" then measures the RMS *relative to the file's own peak*,
# which is minus the **crest factor** (peak-to-RMS ratio): it is low for speech with a few
# sharp peaks and long quieter stretches, not for quiet speech. On EMO-DB that panel puts
# *angry* and *happy* lowest, the opposite of what you hear. So we plot it under its honest
# name, "RMS re peak", and add a cue of vocal effort that no gain can change: the
# **spectral balance**, energy in 1–5 kHz relative to 50 Hz–1 kHz over the louder frames
# (the *alpha ratio*, in dB). Raising the voice tilts the spectrum towards high
# frequencies, and a scale factor multiplies both bands alike, so the ratio keeps what the
# normalisation removed.

# %%
import librosa
from tqdm.auto import tqdm


frequencies = librosa.fft_frequencies(sr=sample_rate, n_fft=400)
low_band, high_band = (frequencies >= 50) & (frequencies < 1000), (frequencies >= 1000) & (frequencies < 5000)


def prosody(path: str) -> dict[str, float]:
    signal = load_audio(path, sample_rate)
    f0 = librosa.yin(signal, fmin=60, fmax=500, sr=sample_rate, frame_length=1024, hop_length=160)
    rms = librosa.feature.rms(y=signal, frame_length=400, hop_length=160)[0]
    voiced = f0[(rms > 0.5 * np.median(rms)) & (f0 < 490)]
    power = np.abs(librosa.stft(signal, n_fft=400, hop_length=160)) ** 2
    loud = rms[: power.shape[1]] > 0.1 * rms.max()  # frames within 20 dB of the loudest one
    peak = float(np.max(np.abs(signal)))
    return {
        "mean F0 (Hz)": float(np.median(voiced)) if voiced.size else np.nan,
        "F0 range (semitones)": float(12 * np.log2(np.percentile(voiced, 90) / np.percentile(voiced, 10)))
        if voiced.size > 10 else np.nan,
        "peak (dBFS)": float(20 * np.log10(peak)),
        "RMS re peak (dB)": float(20 * np.log10(np.sqrt(np.mean(signal**2)) / peak)),
        "spectral balance (dB)": float(10 * np.log10(power[high_band][:, loud].sum() / power[low_band][:, loud].sum())),
    }


sample = manifest if max_f0_files is None or len(manifest) <= max_f0_files else manifest.sample(
    max_f0_files, random_state=seed)
cues = pd.DataFrame([prosody(p) for p in tqdm(sample["path"], desc="pitch tracking")], index=sample.index)
cues = sample[["label", "speaker", "gender"]].join(cues)
cues["F0 vs speaker median (semitones)"] = 12 * np.log2(
    cues["mean F0 (Hz)"] / cues.groupby("speaker")["mean F0 (Hz)"].transform("median"))
at_full_scale = cues["peak (dBFS)"].abs() < 0.1
print(f"{at_full_scale.sum()} of {len(cues)} files analysed peak within 0.1 dB of full scale "
      f"(median peak {cues['peak (dBFS)'].median():.2f} dBFS): "
      + ("the corpus is peak-normalised, so its absolute levels are lost" if at_full_scale.mean() > 0.95 else
         "not peak-normalised; levels still differ between files"))

CUES = ["mean F0 (Hz)", "F0 vs speaker median (semitones)", "F0 range (semitones)", "RMS re peak (dB)",
        "spectral balance (dB)"]
fig, axes = plt.subplots(1, len(CUES), figsize=(19, 3.8), layout="constrained")
for ax, column in zip(axes, CUES):
    groups = [cues.loc[cues["label"] == c, column].dropna() for c in classes]
    ax.boxplot(groups, tick_labels=classes)
    ax.set_title(column)
    ax.tick_params(axis="x", rotation=60)
axes[3].set_xlabel("= −crest factor; not loudness")
axes[4].set_xlabel("1–5 kHz vs 50 Hz–1 kHz: vocal effort")
plt.show()
cues.groupby("label", observed=True)[CUES].median().round(1)

# %% [markdown]
# ## 7. What each paper's network receives
#
# Every model in this repository gets its input from one feature spec that reproduces its
# official code (`papers/<paper>/features.py`; facts from `../shared/papers/`).
# Here is one utterance through each preset, and the settings side by side. Note that
# TIM-Net's paper says "50 ms / 12.5 ms Hamming" but its code uses librosa's defaults
# (93 ms Hann frames every 23 ms): the presets follow the code.
#
# The top row is what the network receives, on one colour scale per panel (colour bars).
# In the librosa MFCCs (TIM-Net, CkTIM-Net, GLAM) the c0 row at the bottom dominates the
# scale: it is the frame's log energy, hundreds of units away from the other coefficients, and
# in zero-padded frames it drops to the floor of the dB scale. Light-SERNet's input is
# clipped to ±10, which caps c0 but also saturates it. The bottom row scales each coefficient
# to zero mean and unit variance over the frames (display only: the papers feed the top row
# as it is), which makes the spectral-shape coefficients c1, c2, … visible.

# %%
example = examples.loc[0, "path"]
fig, axes = plt.subplots(2, len(PRESETS), figsize=(4.4 * len(PRESETS), 6.2), layout="constrained")
for column, (name, spec) in enumerate(PRESETS.items()):
    features = spec.features_of(example, dataset)
    if spec.segmented:
        title = f"{name}: {features.shape[0]} segments of {features.shape[1:]}"
        features = features[0]
    else:
        title = f"{name}: {features.shape}"
    image = features.T if spec.layout == "time_major" else features  # coefficients x frames
    raw = axes[0, column].imshow(image, origin="lower", aspect="auto", cmap="coolwarm")
    fig.colorbar(raw, ax=axes[0, column])
    axes[0, column].set(title=title, xlabel="frame", ylabel="coefficient")
    scaled = (image - image.mean(axis=1, keepdims=True)) / (image.std(axis=1, keepdims=True) + 1e-6)
    shown = axes[1, column].imshow(scaled, origin="lower", aspect="auto", cmap="coolwarm", vmin=-3, vmax=3)
    fig.colorbar(shown, ax=axes[1, column], label="z-score per coefficient")
    axes[1, column].set(title="each coefficient scaled (display only)", xlabel="frame", ylabel="coefficient")
plt.show()
pd.concat([spec.describe() for spec in PRESETS.values()], axis=1).loc[
    ["kind", "sample_rate", "signal_length", "n_fft", "hop_length", "window", "center", "n_mels", "fmin",
     "fmax", "n_mfcc", "layout", "segment_length", "segment_hop", "normalize_percentile", "clip"]]

# %% [markdown]
# ## What to remember
#
# * Look at class balance before reading a WA: UA is the honest number when classes differ in size.
# * Every speaker records (nearly) every emotion, so random k-fold splits are
#   **speaker-dependent**: the test speakers were heard in training. On EMO-DB the one gap is
#   speaker 08, who has no disgust, so his speaker-independent fold tests six classes. The
#   TIM-Net lesson measures how much speaker dependence flatters the numbers.
# * Fixed-length windows crop some files and pad most; the models see a lot of zeros.
# * Pitch relative to the speaker and spectral balance separate the high-arousal emotions
#   (angry, happy, less clearly fear) from the low-arousal ones (sad, boredom, neutral), but
#   overlap within each group, and the speaker's own voice shifts everything (exercise 5).
# * A peak-normalised corpus (EMO-DB is one) has lost its recording levels: an RMS "dBFS"
#   measures the crest factor, not loudness. Gain only moves c0 of the MFCCs (exercise 4).

# %% [markdown]
# ## Exercises
#
# Graded from ★ (a few lines, using what this notebook computed) to ★★★ (a small study of
# your own). Each exercise is followed by a worked solution; the student version made by
# `make student` (see the README, "For teachers") replaces every solution with a stub to fill in (`# YOUR CODE HERE`).
# Words in *italics* are defined in the [glossary](GLOSSARY.md).

# %% [markdown]
# ### Exercise 1 ★ · UA and WA of a lazy classifier
#
# A classifier that always answers the largest class: work out its *WA* and *UA* on this
# corpus from `counts` by hand, then check both with `ser_common.metrics.evaluate`. Then a
# better one: right on every utterance except those of the smallest class, which it calls the
# largest class. How far apart are WA and UA now, and why?

# %%
### BEGIN SOLUTION
from ser_common import metrics

y_all = manifest["label"].cat.codes.to_numpy().astype(np.int64)
order = np.argsort(counts.to_numpy(), kind="stable")
smallest, largest = int(order[0]), int(order[-1])
lazy = metrics.evaluate(y_all, np.full_like(y_all, largest), len(classes))
print(f"always '{classes[largest]}': WA by hand {counts.iloc[largest] / counts.sum():.3f}, evaluate {lazy['wa']:.3f}; "
      f"UA by hand 1/{len(classes)} = {1 / len(classes):.3f}, evaluate {lazy['ua']:.3f}")
almost = np.where(y_all == smallest, largest, y_all)
better = metrics.evaluate(y_all, almost, len(classes))
print(f"right except '{classes[smallest]}' ({counts.iloc[smallest]} utterances): WA {better['wa']:.3f} "
      f"(= 1 - {counts.iloc[smallest]}/{counts.sum()}), UA {better['ua']:.3f} (= 1 - 1/{len(classes)})")
print("WA weighs every utterance, so losing a small class costs little; UA weighs every class, so it costs 1/C.")
### END SOLUTION

# %% [markdown]
# ### Exercise 2 ★★ · Why random k-fold is speaker-dependent
#
# Make stratified 10-fold splits over the utterances with `ser_common.splits.kfold` (the
# kind most papers use) and leave-one-speaker-out splits with
# `ser_common.splits.speaker_independent`. For every fold, count the test speakers who also
# speak in the training part. Then estimate how likely it is that random k-fold keeps *all*
# of some speaker's utterances out of training.

# %%
### BEGIN SOLUTION
from ser_common import splits

speaker_of = manifest["speaker"].astype(str).to_numpy()
n_splits = int(min(10, counts.min()))
rows = []
for name, folds_made in (("random k-fold", splits.kfold(y_all, n_splits, seed)),
                         ("leave-one-speaker-out", splits.speaker_independent(y_all, speaker_of))):
    for fold in folds_made:
        tested = set(speaker_of[fold.test])
        heard = tested & set(speaker_of[np.concatenate([fold.train, fold.val])])
        rows.append({"protocol": name, "fold": fold.name, "test speakers": len(tested),
                     "of them heard in training": len(heard)})
overlap = pd.DataFrame(rows)
print(overlap.groupby("protocol")[["test speakers", "of them heard in training"]].mean())
fewest = int(manifest["speaker"].value_counts().min())
print(f"A speaker with n utterances has all of them in one test fold with probability about (1/k)^(n-1); "
      f"the smallest speaker here has n = {fewest}: (1/{n_splits})^{fewest - 1} = {(1 / n_splits) ** (fewest - 1):.1e}. "
      "Random k-fold tests every speaker on a voice it has trained on.")
### END SOLUTION

# %% [markdown]
# ### Exercise 3 ★★ · UA when a fold lacks a class
#
# In a speaker-independent split, a test fold holds one speaker; if that speaker never
# recorded some emotion (on EMO-DB: speaker 08, disgust), the fold has no example of that
# class. Take the speaker with the fewest emotions (if every speaker has every emotion here,
# remove one class from one speaker's test part to make such a fold). Simulate a classifier
# that is right on the first 70 % of each class's test utterances and calls the rest the
# next class. What UA does `metrics.evaluate` report, what would it be if the missing class
# counted as recall 0, and which one is the fold's UA? (The glossary says what this
# repository does.)

# %%
### BEGIN SOLUTION
classes_per_speaker = (by_speaker > 0).sum(axis=1)
chosen = classes_per_speaker.idxmin()
test_rows = np.flatnonzero(speaker_of == str(chosen))
if classes_per_speaker[chosen] == len(classes):  # every speaker has every class: make a gap ourselves
    removed = int(y_all[test_rows][0])
    test_rows = test_rows[y_all[test_rows] != removed]
    print(f"no speaker lacks a class here; removed '{classes[removed]}' from speaker {chosen}'s test part")
truth = y_all[test_rows]
guess = truth.copy()
for c in np.unique(truth):
    members = np.flatnonzero(truth == c)
    wrong = members[int(np.ceil(0.7 * members.size)):]
    guess[wrong] = (c + 1) % len(classes)
scores = metrics.evaluate(truth, guess, len(classes))
present = np.unique(truth).size
recalls = np.nan_to_num(np.array(scores["per_class_recall"]), nan=0.0)
print(f"speaker {chosen}: {present} of {len(classes)} classes in the test part")
print(f"UA as evaluate reports it (mean over the {present} classes present): {scores['ua']:.3f}")
print(f"UA if the missing class counted as recall 0 (mean over all {len(classes)}): {recalls.mean():.3f}")
print("A class with no test utterance has no recall at all; counting it as 0 would punish the model for the "
      "fold's composition. The repository averages over the classes present, as balanced accuracy does.")
### END SOLUTION

# %% [markdown]
# ### Exercise 4 ★★ · Gain lives in c0
#
# Scale one recording by 0.1 (−20 dB) and compute the TIM-Net MFCCs (`mfcc_spec.transform`)
# of both versions. Which coefficients change? Predict the change of c0 from the definition
# (librosa: power mel spectrogram in dB, then an orthonormal DCT-II over the 128 mel bands,
# so c0 = (1/√128) · Σ of the band values) and check it. What does this say about peak
# normalisation and about a network that sees unnormalised MFCCs?

# %%
### BEGIN SOLUTION
signal = load_audio(examples.loc[0, "path"], mfcc_spec.sample_rate)
gain = 0.1
original, quieter = mfcc_spec.transform(signal), mfcc_spec.transform(gain * signal)
difference = quieter - original  # frames x coefficients
predicted = np.sqrt(mfcc_spec.n_mels) * 20 * np.log10(gain)
print(f"c0 changes by {difference[:, 0].mean():.2f} on average (predicted sqrt(128) x 20 log10(0.1) = {predicted:.2f}); "
      f"largest change of c1-c38: {np.abs(difference[:, 1:]).max():.2g}")
print("A gain adds the same number of dB to every mel band; the DCT puts a constant into c0 only. Peak "
      "normalisation therefore changed only c0, and c1, c2, ... describe spectral shape whatever the level.")
### END SOLUTION

# %% [markdown]
# ### Exercise 5 ★★★ · Which cue separates which emotions?
#
# For each cue in the `cues` table, compute the area under the ROC curve (AUC) for telling
# two emotions apart by that cue alone (0.5: no separation, 0 or 1: perfect), for a
# high-vs-low-arousal pair (angry vs sad) and for two high-arousal emotions (angry vs happy).
# Which cues separate arousal, and does any of them separate angry from happy? Use raw F0 and
# F0 relative to the speaker: which is better, and why?

# %%
### BEGIN SOLUTION
from sklearn.metrics import roc_auc_score

rows = []
for first, second in (("angry", "sad"), ("angry", "happy")):
    pair = cues[cues["label"].isin([first, second])]
    for cue in CUES:
        values = pair[["label", cue]].dropna()
        if (values["label"] == first).sum() < 2 or (values["label"] == second).sum() < 2:
            continue  # a small sample may miss a class
        rows.append({"pair": f"{first} vs {second}", "cue": cue,
                     "AUC": roc_auc_score(values["label"] == first, values[cue])})
separation = pd.DataFrame(rows)
if len(separation):
    separation["separation |AUC - 0.5|"] = (separation["AUC"] - 0.5).abs()
    print(separation.pivot(index="cue", columns="pair", values="AUC").round(2))
    for pair, group in separation.groupby("pair"):
        best = group.loc[group["separation |AUC - 0.5|"].idxmax()]
        print(f"{pair}: best single cue '{best['cue']}' (AUC {best['AUC']:.2f})")
    print("A cue far from 0.5 for angry vs sad but near 0.5 for angry vs happy describes arousal, not the "
          "emotion itself. F0 relative to the speaker removes each speaker's own pitch, which raw F0 mixes in.")
else:
    print("the sample holds too few utterances of these classes; raise max_f0_files")
### END SOLUTION
