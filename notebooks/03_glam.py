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
#     demo:
#       epochs: 8
#       folds: 5
#       max_folds: 1
#       variants:
#       - glam
#       - no_fusion
#     test:
#       epochs: 2
#       folds: 3
#       max_folds: 1
#       variants:
#       - glam
#       - no_fusion
# ---

# %% [markdown]
# # 03 · GLAM: multi-scale convolutions and a global-aware fusion
#
# **Paper.** Wenjing Zhu, Xiang Li. *Speech Emotion Recognition with Global-Aware Fusion on
# Multi-scale Feature Representation.* ICASSP 2022, arXiv:2204.05571. Official code in
# PyTorch; everything here is re-implemented from the facts in `../shared/papers/glam.md`.
#
# **The idea.** Cut an utterance into overlapping 1.8 s windows and treat each window's MFCCs
# as a small image (26 coefficients × 57 frames). Two thin stems look along frequency (3 × 1)
# and along time (1 × 3); three residual *multi-scale* blocks run a 3 × 3 and a 5 × 5
# convolution side by side, each with its own shortcut; then one **gMLP** block mixes the
# 128 channels with each other ("global-aware fusion": the channels are the tokens). An
# utterance is classified by averaging the logits of its windows. Training uses **mixup**.
#
# **Every published GLAM number is on IEMOCAP** (4 classes, *excited* used as *happy*, real
# *happy* dropped), and every one of them chose its epoch on the test split. Numbers on
# EMO-DB here are ours alone; there is nothing to compare them with directly.

# %% [markdown]
# ## Before you start
#
# **Learning objectives.** After this lesson you can
#
# * turn utterances into overlapping fixed-length segments and score an utterance from its
#   segments' logits;
# * read a multi-scale CNN block and a gMLP "global-aware" fusion, and count what each
#   kernel sees;
# * explain what mixup does to inputs and targets and how its α shapes the blend;
# * measure, from one set of clean runs, how much choosing the epoch on the test data would
#   have added;
# * say how a data-cleaning rule (dropping short utterances) changes a reported score.
#
# **Prerequisites.** Lesson 00 (the corpus, UA/WA, durations) and lesson 01 (the training
# loop, protocols and leaky selection); 2-D convolutions, residual connections, layer norm;
# PyTorch basics. Definitions: [glossary](GLOSSARY.md).
#
# **Time (computer).** Synthetic corpus with the quick settings (`ser_notebooks.demo`: GLAM
# and the no-fusion ablation, 1 fold, 8 epochs; `python -m ser_common.demo 03_glam`): about
# 5 min on 2 shared CPU cores, exercises included. EMO-DB with the recipe (50 epochs, about
# 2,700 training segments) is a GPU job: the committed runs took 31–40 s per fold on one
# GPU, 337 s for 10 stratified folds (`wall_time_s` and `device: cuda` in
# `results/emodb/glam_stratified_10fold_best_val_e50_variant-glam_cb0c9e65.json`). On a
# 2-core CPU with AVX-512 BF16 a full fp32 epoch takes 23.6 s when the cores are quiet
# (`benchmarks/results/bench_glam.txt`); LOSO folds 6–10 were trained on such a CPU, 1 thread
# each beside another training: 31–61 min per fold (`device: cpu` in
# `results/emodb/glam_speaker_independent_best_val_e50_variant-glam_12523e19.json`); the
# no-fusion ablation's 10 stratified folds took 16–18 min each, two 1-thread GLAM folds side
# by side (`results/emodb/glam_stratified_10fold_best_val_e50_variant-no_fusion_ea54a9c1.json`),
# the self-attention ablation's 23–25 min (29–37 min beside a third job)
# (`results/emodb/glam_stratified_10fold_best_val_e50_variant-mhsa_5ab0bdab.json`), the
# single-3×3 ablation's 24–25 min (29–36 min beside a third job)
# (`results/emodb/glam_stratified_10fold_best_val_e50_variant-single_3x3_47d154fb.json`), and on
# an Intel Xeon with AMX, fp32, the no-shortcut ablation's 16–17 min (25 min beside a third job)
# (`results/emodb/glam_stratified_10fold_best_val_e50_variant-no_shortcut_25f40080.json`); back
# on the AMD CPU, the single-5×5 ablation's 35–37 min, two folds side by side
# (`results/emodb/glam_stratified_10fold_best_val_e50_variant-single_5x5_16e72e3c.json`), and
# GLAM in bfloat16 12–21 min, 29 min beside the tests (`precision = "bfloat16"`)
# (`results/emodb/glam_stratified_10fold_best_val_e50_variant-glam_89204598.json`), and GLAM without
# mixup in bfloat16 12–15 min (`mixup_alpha = 0`)
# (`results/emodb/glam_stratified_10fold_best_val_e50_variant-glam_33ff0a4f.json`).
# Re-rendering the committed runs (every fold read back) and the exercises take about a minute.

# %% tags=["parameters"]
dataset = "synthetic"  # emodb, ravdess, savee, emovo, casia, iemocap or synthetic (GLAM's papers: iemocap)
data_dir = None  # None: $SER_DATA_DIR/<dataset>, else ./data/<dataset>
protocol = "stratified_10fold"  # stratified_10fold | speaker_independent | paper_8020 (official, leaky) | clean_8020
folds = 10  # folds, or for the 80/20 protocols the number of seeds (one split each)
seed = 46
selection = "best_val"  # best_val: best (WA+UA)/2 on validation | best_test_leaky (the official code) | last
epochs = 50
batch_size = 32  # segments
variants = ["glam"]  # glam | no_shortcut | single_3x3 | single_5x5 | no_fusion | mhsa: one run each (ablation)
short_policy = "pad"  # pad: zero-pad utterances shorter than 1.8 s to one window | drop: as the official code
mixup_alpha = 0.5  # 0 turns mixup off
learning_rate = 1e-3
weight_decay = 1e-6
lr_gamma = 0.95  # ExponentialLR, stepped after every epoch
precision = "float32"  # float32 | bfloat16 (autocast on the CPU; see benchmarks/bench_glam.py)
max_folds = None  # None: all folds; a number runs only the first ones
only_folds = None  # None: every fold; a list of fold indices runs only those (the batch runner runs folds in parallel)
results_dir = None  # None: $SER_RUNS_DIR/<dataset>; one file per variant, names derived from the parameters
results_path = None  # not used here (one file per variant); use results_dir
resume = True
overwrite = False
bad_files = "raise"  # raise | skip: unusable audio files stop the run, or are left out (and listed in the results)
threads = None  # torch CPU threads; None: all cores
predict_wav = None  # a WAV file to classify at the end; None: one test utterance of the corpus
progress = True

# %%
from ser_common.experiment import Experiment, FoldOutcome

exp = Experiment("glam", globals())
exp

# %%
# %matplotlib inline
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from papers.glam import recipe
from papers.glam.model import VARIANTS, build_glam, count_parameters, expected_param_count, receptive_fields
from papers.glam.model import spatial_gate_matrix
from ser_common import metrics, plots, results, torch_training

plt.rcParams["figure.dpi"] = 90
device = torch_training.pick_device()
autocast = None if precision == "float32" else precision
print(f"device {device}, {torch.get_num_threads()} threads, precision {precision}")

# %% [markdown]
# ## 1. Segments: many overlapping windows per utterance
#
# The features (`papers/glam/features.py`) follow the official code: 16 kHz audio, windows of
# 1.8 s every 0.2 s (so neighbouring windows share 1.6 s), librosa's default MFCCs (2048-point
# frames every 512 samples, 128 mel bands), 26 coefficients: 26 × 57 per window. Every window
# remembers its utterance.
#
# **Short utterances.** The official code silently drops every utterance shorter than one
# window, from training *and* test. On EMO-DB that is 77 of 535 files, mostly short neutral
# and angry sentences, so the test sets would lose exactly the utterances that are hard to
# window. Here `short_policy="pad"` zero-pads them to one window instead; the table below
# shows what `"drop"` would remove.

# %%
X, y = exp.load_features()
class_names, y_utterance, utterance_of = exp.class_names, exp.y_utterance, exp.utterance_of
window_s = exp.spec.segment_length / exp.spec.sample_rate
counts = np.bincount(utterance_of)
too_short = exp.manifest["duration_s"].to_numpy() < window_s
print(f"{len(X)} segments of {X.shape[1:]} from {len(exp.manifest)} utterances "
      f"(median {np.median(counts):.0f} segments per utterance, max {counts.max()}); "
      f"{too_short.sum()} utterances are shorter than {window_s} s")
fig, ax = plt.subplots(figsize=(8, 2.8), layout="constrained")
ax.hist(counts, bins=np.arange(counts.max() + 2) - 0.5, color="tab:gray")
ax.set(xlabel="segments per utterance", ylabel="utterances", title="how many windows each utterance gives")
plt.show()
pd.DataFrame({"utterances": pd.Series(exp.manifest["label"]).value_counts(sort=False),
              "shorter than one window (dropped by short_policy='drop')":
                  pd.Series(exp.manifest["label"][too_short]).value_counts(sort=False)}).T

# %% [markdown]
# ## 2. The architecture and what each kernel sees
#
# | block | what it does |
# |---|---|
# | two stems | 16 filters of 3 × 1 (along the MFCC axis) and 16 of 1 × 3 (along time), concatenated **along the MFCC axis** (26 → 52 rows) |
# | 3 residual multi-scale blocks MS(16), MS(32), MS(64) | a 3 × 3 and a 5 × 5 convolution in parallel, each with its own identity shortcut, concatenated (so width doubles), BN, ReLU; 2 × 2 max-pools after the first two |
# | 5 × 5 convolution | 128 channels on a 13 × 14 map |
# | global-aware fusion | one gMLP block whose 128 **tokens are the channels** and whose features are the 182 positions: LayerNorm, a 4× expansion with GELU, a *spatial gating unit* that multiplies half of it by a learned 128 × 128 mix of the other half (tanh gate), projection back, residual |
# | head | ReLU, flatten, linear |
#
# A convolution only ever sees a neighbourhood; the gating matrix lets every channel's output
# depend on every other channel, over the whole window: that is the "global" in GLAM.

# %%
model = build_glam(len(class_names), X.shape[1:])
count = count_parameters(model)
print(f"trainable parameters: {count:,} (arithmetic: {expected_param_count(len(class_names), X.shape[1:]):,}); "
      f"the paper's IEMOCAP model (4 classes, 26 x 57): {expected_param_count(4, (26, 57)):,}")
assert count == expected_param_count(len(class_names), X.shape[1:])
pd.DataFrame(receptive_fields("glam", X.shape[1:])).set_index(["layer", "path"])

# %% [markdown]
# The receptive field table reads: after the third block a 5 × 5 path sees about 40 MFCC
# rows × 40 frames (≈ 1.3 s) of the stacked stem maps, and the final 5 × 5 convolution sees
# the whole window; the 3 × 3 paths see less. The two kernel sizes give each block two scales
# at once, and the gMLP adds a view across all channels.

# %% [markdown]
# ## 3. Mixup: training on blends of two utterances
#
# For every training batch, λ ~ Beta(α, α) with α = 0.5 (mostly close to 0 or 1), and each
# segment is blended with a random partner of the same batch; the target is blended the same
# way, so the loss is λ · CE(ŷ, y) + (1 − λ) · CE(ŷ, y_partner).
#
# Does it pay? On EMO-DB's stratified folds GLAM without mixup (`mixup_alpha = 0`) reached UA
# 81.06 ± 2.76 against 81.07 ± 4.98 with α = 0.5, both in float32 on the same CPU (paired: −0.02
# points, better in 5 of 10 folds, p = 0.85; in bfloat16 the gap was +3.10 for α = 0, p = 0.084,
# from one low bf16 run; the runs and their commands are in the README's GLAM section): on a
# corpus this small the blend neither earns nor costs anything measurable, while the paper's
# IEMOCAP table puts α = 0.5 ahead of α = 0 by 0.37 UA points. A regulariser is a bet on the data,
# worth re-checking on yours.

# %%
rng = np.random.default_rng(seed)
fig, axes = plt.subplots(1, 4, figsize=(15, 2.8), layout="constrained")
axes[0].hist(rng.beta(mixup_alpha, mixup_alpha, 10_000) if mixup_alpha > 0 else np.ones(10), bins=40, color="tab:gray")
axes[0].set(title=f"λ ~ Beta({mixup_alpha}, {mixup_alpha})", xlabel="λ")
transform = recipe.mixup(max(mixup_alpha, 1e-3), len(class_names), seed)
first, second = 0, int(np.flatnonzero(y != y[0])[0])
pair = torch.as_tensor(X[[first, second]])
mixed, targets = transform(pair, torch.as_tensor(y[[first, second]]))
for ax, image, title in zip(axes[1:], (X[first], X[second], mixed[0].numpy()),
                            (class_names[y[first]], class_names[y[second]],
                             "blend: " + ", ".join(f"{class_names[c]} {p:.2f}" for c, p in
                                                   enumerate(targets[0].numpy()) if p > 0.005))):
    ax.imshow(image, origin="lower", aspect="auto", cmap="coolwarm")
    ax.set(title=title, xlabel="frame", ylabel="MFCC")
plt.show()

# %% [markdown]
# ## 4. Protocols
#
# * **`paper_8020`** is the official protocol: one random utterance-level 80/20 split per
#   seed (speaker-dependent), mean ± std over seeds. It has no validation part: the official
#   code evaluates the 20 % after every epoch and reports the epoch with the best
#   (WA + UA) / 2 **on those same utterances** (`selection="best_test_leaky"`).
# * **`clean_8020`** draws the same test splits and holds out 10 % of the 80 % to choose the
#   epoch (`best_val`), the way the README's 8:1:1 table claims to (that table has no code).
# * **`stratified_10fold`** and **`speaker_independent`** (leave one speaker out) are the
#   shared protocols of this repository, so GLAM joins TIM-Net in one table.

# %%
print(exp.protocols[protocol].description)
exp.describe_folds()

# %% [markdown]
# ## 5. Training (resumable)
#
# The recipe (`papers/glam/recipe.py`): Adam (lr 1e-3, weight decay 1e-6), batch 32 segments,
# 50 epochs, the learning rate × 0.95 after every epoch, mixup α = 0.5. After every epoch the
# watched utterances (the validation part; for the leaky selection the test part) are scored
# by the mean logit of their segments, and the epoch with the best (WA + UA) / 2 is kept. In
# clean runs the test part is also scored every epoch but never used: that gives, from the
# same runs, the number the leaky selection would have reported.

# %% tags=["train"]
test_curves = {}


def train_fold_for(variant: str):
    def train_fold(fold):
        torch_training.seed_everything(seed + fold.index)
        model = build_glam(len(class_names), X.shape[1:], variant=variant)
        leaky = selection == "best_test_leaky" or not fold.val.size
        watched, test_rows = exp.rows(fold.test if leaky else fold.val), exp.rows(fold.test)
        curve = []

        def watch_test(epoch, record):
            if not leaky:  # scored for the lesson, never used to choose anything
                logits = torch_training.predict_logits(model, X[test_rows])
                curve.append(recipe.utterance_scores(logits, utterance_of[test_rows], y_utterance))

        optimizer = recipe.optimizer(model, exp.params)
        fit = torch_training.fit(
            model, (X[exp.rows(fold.train)], y[exp.rows(fold.train)]), (X[watched], y[watched]),
            epochs=epochs, batch_size=batch_size, optimizer=optimizer, lr_schedule=recipe.lr_schedule(exp.params),
            evaluate=lambda logits, y_seg: recipe.utterance_scores(logits, utterance_of[watched], y_utterance, y_seg),
            monitor=recipe.MONITOR if selection != "last" else None,
            batch_transform=recipe.mixup(mixup_alpha, len(class_names), seed + fold.index),
            channels_last=True, autocast=autocast, device=device, seed=seed + fold.index, progress=progress,
            description=f"{variant} {fold.name}", on_epoch_end=watch_test,
        )
        torch.save(model.state_dict(), exp.weights_path(fold, ".pt", {"variant": variant}))
        ids, y_pred = recipe.utterance_predictions(torch_training.predict_logits(model, X[test_rows]),
                                                   utterance_of[test_rows])
        assert np.array_equal(ids, fold.test)
        extra = {"test_curve": {key: [c[key] for c in curve] for key in ("accuracy", "ua", "wa_ua")}} if curve else {}
        return FoldOutcome(y_pred=y_pred, fit=fit, history_prefix_renames={"val_": "test_"} if leaky else {},
                           extra=extra)
    return train_fold


runs = {}
for variant in variants:
    print(f"\n== {variant}: {VARIANTS[variant]}")
    runs[variant] = exp.run(train_fold_for(variant), variant={"variant": variant}, device=str(device),
                            model_info={"name": "GLAM" if variant == "glam" else f"GLAM ({variant})",
                                        "framework": f"torch {torch.__version__}",
                                        "param_count": count_parameters(build_glam(len(class_names), X.shape[1:],
                                                                                   variant=variant))})

# %% [markdown]
# ## 6. Results
#
# UA, WA and macro-F1 over utterances, mean ± std over folds (population std). For the 80/20
# protocols the "folds" are seeds, and their test parts overlap.

# %%
run = runs[variants[0]]
print(f"{dataset}, {protocol}, selection={selection}, {epochs} epochs, {len(run.completed_folds)} folds:")
for key in ("ua", "wa", "macro_f1"):
    print(f"  {key.upper():9s} {metrics.format_mean_std(run.aggregate, key)}")
if selection == "best_test_leaky":
    print("  !! best_test_leaky: each fold reports its best epoch ON ITS TEST PART; these numbers are optimistic")
plots.fold_bars(run.to_frame(), key="ua")
plt.show()
run.to_frame()

# %% [markdown]
# **Segments vs utterances.** The curves show the training loss (on mixed-up batches, so it
# stays high), and for the watched part the accuracy of single segments next to the accuracy
# of utterances (mean logit): averaging the windows of an utterance is worth several points.

# %%
histories = [run.fold(i)["history"] for i in run.completed_folds]
watched_name = "test" if any(k.startswith("test_") for k in histories[0]) else "val"
plots.training_curves(histories, keys=(("loss", f"{watched_name}_loss"),
                                       (f"{watched_name}_segment_accuracy", f"{watched_name}_accuracy")),
                      title=f"GLAM on {dataset}: mean ± std over {len(histories)} folds")
plt.show()

# %% [markdown]
# **Leaky vs clean selection, on the same runs.** For each clean fold we know the test score of
# every epoch. The clean number takes the epoch chosen on validation; the leaky number takes
# the epoch that was best on the test part itself, as the official code does. The difference
# is pure optimism: the same models, the same test utterances.

# %%
rows = []
for i in run.completed_folds:
    record = run.fold(i)
    curve = record["extra"].get("test_curve")
    if not curve:
        continue
    chosen = record["selected_epoch"] - 1
    best = int(np.argmax(curve["wa_ua"]))
    rows.append({"fold": record["extra"]["name"], "clean epoch": chosen + 1, "clean UA": 100 * curve["ua"][chosen],
                 "clean WA": 100 * curve["accuracy"][chosen], "leaky epoch": best + 1,
                 "leaky UA": 100 * curve["ua"][best], "leaky WA": 100 * curve["accuracy"][best]})
if rows:
    leak = pd.DataFrame(rows).set_index("fold")
    print(f"mean optimism of test-set selection: UA +{(leak['leaky UA'] - leak['clean UA']).mean():.2f} points, "
          f"WA +{(leak['leaky WA'] - leak['clean WA']).mean():.2f} points over {len(leak)} folds")
    display_table = leak.round(2)
else:
    display_table = "this run selected on the test part (or kept the last epoch): no clean/leaky pair to show"
display_table

# %% [markdown]
# **Where the errors are** (summed over folds), and the ablation: every variant trained on the
# same folds with the same recipe. Because the folds are the same, each variant is compared with
# the first one fold by fold: the mean UA difference and a two-sided Wilcoxon signed-rank p
# (`results.paired_test`; "–" below 5 paired folds). A p above 0.05 means the gap is within
# what the folds' own noise produces.

# %%
confusion = np.sum([run.fold(i)["confusion"] for i in run.completed_folds], axis=0)
plots.confusion_matrix(confusion, class_names, normalize="true")
plt.show()


paired_with_first = {v: results.paired_test(r, run) for v, r in runs.items() if r is not run}


def against_first(v):
    """UA difference to the first variant on the folds both recorded, and its Wilcoxon p."""
    if v not in paired_with_first:
        return {f"ΔUA vs {variants[0]}": "(reference)", "p": ""}
    paired = paired_with_first[v]
    p_value = "–" if paired["p_value"] is None else f"{paired['p_value']:.3f}"
    return {f"ΔUA vs {variants[0]}": f"{100 * paired['mean_difference']:+.2f} ({paired['n']} folds)", "p": p_value}


ablation = pd.DataFrame([{"variant": v, "what": VARIANTS[v], "folds": len(r.completed_folds),
                          "params": r.data["model"]["param_count"], "UA": metrics.format_mean_std(r.aggregate, "ua"),
                          "WA": metrics.format_mean_std(r.aggregate, "wa"), **against_first(v)}
                         for v, r in runs.items()]).set_index("variant")
ablation

# %% [markdown]
# The same comparison fold by fold: one dot per fold (the variant's UA minus the first
# variant's on that fold), a black bar at the mean. Dots on both sides of zero mean that the
# folds disagree on which model is better; a bar near zero amid a wide spread of dots is what
# "p above 0.05" looks like.

# %%
if paired_with_first:
    fig, ax = plt.subplots(figsize=(6, 0.9 + 0.45 * len(paired_with_first)), layout="constrained")
    for row, paired in enumerate(paired_with_first.values()):
        differences = 100 * np.asarray(paired["differences"])
        ax.scatter(differences, np.full(len(differences), row), alpha=0.6)
        ax.plot([differences.mean()] * 2, [row - 0.3, row + 0.3], color="black", lw=2)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set(yticks=range(len(paired_with_first)), yticklabels=list(paired_with_first),
           ylim=(-0.6, len(paired_with_first) - 0.4), title="ablation, fold by fold",
           xlabel=f"UA − UA of {variants[0]} on the same fold (points)")
    ax.invert_yaxis()  # the table's order, top to bottom
    plt.show()
else:
    print("one variant only: nothing to compare (pass e.g. variants=['glam', 'no_fusion'])")

# %% [markdown]
# ## 7. What the global-aware fusion learned
#
# The spatial gating unit's 128 × 128 matrix after training (one fold's model): row *i* says
# how much each channel *j* contributes to the gate of channel *i*. It starts near zero (the
# gate begins as the identity, bias 1); structure away from the diagonal is cross-channel
# mixing the network found useful.

# %%
shown_fold = exp.shown_fold(run, suffix=".pt", variant={"variant": variants[0]})
trained = build_glam(len(class_names), X.shape[1:], variant=variants[0])
weights_file = exp.ensure_weights(shown_fold, train_fold_for(variants[0]), suffix=".pt", variant={"variant": variants[0]})
trained.load_state_dict(torch.load(weights_file, map_location="cpu"))
trained.eval()
if variants[0] in ("glam", "no_shortcut", "single_3x3", "single_5x5"):
    gate = spatial_gate_matrix(trained)
    limit = np.abs(gate).max()
    fig, ax = plt.subplots(figsize=(5, 4.2), layout="constrained")
    image = ax.imshow(gate, cmap="coolwarm", vmin=-limit, vmax=limit)
    fig.colorbar(image, ax=ax)
    ax.set(title=f"spatial gate W_s, model of {exp.folds[shown_fold].name}", xlabel="channel j", ylabel="channel i")
    plt.show()

# %% [markdown]
# ## 8. Side by side with the paper (another corpus!)
#
# GLAM published only IEMOCAP numbers; the comparison below puts beside ours only published
# numbers of the same corpus, protocol and selection, so on EMO-DB it stays empty. The
# published IEMOCAP table follows for reference; it answers a different question (4 classes,
# another corpus, leaky selection).

# %%
exp.compare_with_paper(run)

# %%
published = pd.DataFrame(results.load_reference("glam")["entries"])
published[["dataset", "label", "protocol", "selection", "wa", "ua"]]

# %% [markdown]
# ## 9. Predicting the emotion of one WAV file
#
# Cut the recording into windows with the same spec, classify every window, average the logits.

# %%
wav = predict_wav or exp.manifest.loc[exp.folds[shown_fold].test[0], "path"]
segments = exp.spec.features_of(wav, dataset)
start = time.perf_counter()
logits = torch_training.predict_logits(trained, segments)
latency_ms = 1000 * (time.perf_counter() - start)
probabilities = torch.softmax(torch.as_tensor(logits.mean(axis=0)), dim=0).numpy()
fig, (ax_seg, ax_utt) = plt.subplots(1, 2, figsize=(13, 2.8), layout="constrained")
ax_seg.imshow(torch.softmax(torch.as_tensor(logits), dim=1).numpy().T, aspect="auto", cmap="Blues", vmin=0, vmax=1)
ax_seg.set(yticks=range(len(class_names)), yticklabels=class_names, xlabel="window",
           title=f"{len(segments)} windows of {Path(wav).name}")
ax_utt.bar(class_names, probabilities, color=["tab:red" if p == probabilities.max() else "tab:gray"
                                               for p in probabilities])
ax_utt.set(ylim=(0, 1), title=f"mean logits: predicted {class_names[int(probabilities.argmax())]}")
plt.show()
print(f"inference: {latency_ms:.1f} ms for {len(segments)} windows")

# %% [markdown]
# ## What to remember
#
# * GLAM sees a spectrogram-like image at two kernel sizes per block and mixes channels with a
#   gMLP gate; an utterance is the average of its 1.8 s windows.
# * Its published numbers are IEMOCAP, speaker-dependent, and selected on the test split; the
#   leaky-vs-clean table above measures what that selection adds on our corpus.
# * The official code drops every utterance shorter than 1.8 s; padding keeps them scored.

# %% [markdown]
# ## Exercises
#
# Graded from ★ (a few lines) to ★★★ (a small analysis of your own). Each exercise is
# followed by a worked solution; the student version made by `make student` (README, "For
# teachers") replaces every solution with a stub to fill in (`# YOUR CODE HERE`). Terms in *italics* are in the
# [glossary](GLOSSARY.md).

# %% [markdown]
# ### Exercise 1 ★ · What does mixup's α do to λ?
#
# Draw 100,000 values of λ ~ Beta(α, α) for α = 0.1, 0.5 (the recipe), 1, 2 and 8 and plot
# their histograms. For each α, what share of the blends keeps at least 90 % of one segment
# (λ < 0.1 or λ > 0.9), and how much of the partner enters on average (the mean of
# min(λ, 1 − λ))? What happens as α → 0 and as α grows?

# %%
### BEGIN SOLUTION
rng = np.random.default_rng(seed)
alphas = (0.1, 0.5, 1.0, 2.0, 8.0)
fig, ax = plt.subplots(figsize=(8, 3), layout="constrained")
rows = []
for alpha in alphas:
    lam = rng.beta(alpha, alpha, 100_000)
    ax.hist(lam, bins=50, histtype="step", density=True, label=f"α = {alpha:g}")
    rows.append({"α": alpha, "share with λ < 0.1 or λ > 0.9": np.mean((lam < 0.1) | (lam > 0.9)),
                 "mean share of the partner": np.minimum(lam, 1 - lam).mean()})
ax.set(xlabel="λ", ylabel="density", yscale="log", title="λ ~ Beta(α, α)")
ax.legend()
plt.show()
print(pd.DataFrame(rows).set_index("α").round(3))
print("Small α puts λ near 0 or 1 (almost no mixing; α -> 0 is no mixup); α = 1 is uniform; large α "
      "concentrates λ at 0.5 (every example an even blend of two).")
### END SOLUTION

# %% [markdown]
# ### Exercise 2 ★★ · Inputs and targets are mixed alike
#
# Feed `recipe.mixup(mixup_alpha, C, seed)` a batch you can read: C "segments" that are the
# rows of a C × C identity matrix, with labels 0 … C − 1. Read λ and each row's partner from
# the mixed inputs, and check that the soft targets are exactly the same blend. Repeat for
# 2,000 batches and compare the distribution of λ with Beta(α, α) (e.g. their means and
# variances: α/(2α) = 0.5 and 1/(4(2α + 1))).

# %%
### BEGIN SOLUTION
n_classes = len(class_names)
alpha = mixup_alpha if mixup_alpha > 0 else 0.5
transform = recipe.mixup(alpha, n_classes, seed)
identity, labels = torch.eye(n_classes), torch.arange(n_classes)
mixed, targets = transform(identity, labels)
print("inputs and targets mixed alike:", torch.allclose(mixed, targets))
lam = mixed.diagonal()  # row i keeps lam of itself (1 when its partner is itself)
partners = [int(j) for j in (mixed - torch.diag(lam)).argmax(dim=1)]
print(f"one batch: λ = {float(lam.max()):.3f}, partners of rows 0..{n_classes - 1}: {partners}")
lams = []
for _ in range(2_000):
    mixed, _ = transform(identity, labels)
    off_diagonal = mixed - torch.diag(mixed.diagonal())
    row = int(off_diagonal.sum(dim=1).argmax())  # a row whose partner is another row
    lams.append(float(mixed[row, row]))
lams = np.array(lams)
print(f"λ over 2,000 batches: mean {lams.mean():.3f} (Beta: 0.5), variance {lams.var():.4f} "
      f"(Beta: {1 / (4 * (2 * alpha + 1)):.4f})")
### END SOLUTION

# %% [markdown]
# ### Exercise 3 ★★ · Leaky selection, speaker-dependent and speaker-independent
#
# Every clean GLAM run here also scored its test part after every epoch, never using it
# (`extra["test_curve"]` of each fold). For every GLAM results file of this corpus (the
# committed ones and this run), compute the mean optimism of test-set selection: the test
# UA and WA at the epoch with the best (WA + UA) / 2 on the test part, minus those at the
# epoch chosen on validation. Is the optimism larger speaker-independently, and why could it
# be?

# %%
### BEGIN SOLUTION
from ser_common.experiment import repository_root
from ser_common.results import find_results, load_results

paths, _ = find_results(repository_root() / "results" / dataset, run.path.parent)  # committed runs and yours
rows = []
for path in paths:
    data = load_results(path)
    if data["paper"] != "glam":
        continue
    gains = []
    for record in data["folds"].values():
        curve = record["extra"].get("test_curve")
        if not curve or record.get("selected_epoch") is None:
            continue
        chosen, best = record["selected_epoch"] - 1, int(np.argmax(curve["wa_ua"]))
        gains.append((100 * (curve["ua"][best] - curve["ua"][chosen]), 100 * (curve["accuracy"][best] - curve["accuracy"][chosen])))
    if gains:
        gains = np.array(gains)
        rows.append({"file": path.name, "protocol": data["protocol"], "folds": len(gains),
                     "UA optimism (points)": gains[:, 0].mean(), "WA optimism (points)": gains[:, 1].mean()})
optimism = pd.DataFrame(rows).round(2) if rows else "no clean GLAM run with test curves here"
print("A speaker-independent test part is one speaker: smaller and noisier than a stratified tenth, and its scores "
      "swing more from epoch to epoch, so the best of 50 noisy epochs lies further above the chosen one.")
optimism
### END SOLUTION

# %% [markdown]
# ### Exercise 4 ★★★ · What dropping short utterances does to a score
#
# The official code drops every utterance shorter than one 1.8 s window, from the test sets
# too. Take this run's predictions (`run.fold(i)["extra"]["y_pred"]` for the utterances
# `extra["test_index"]` of `exp.manifest`) and score each fold twice: on all its test
# utterances, as here, and on only those of at least 1.8 s, as the official code would have
# reported for the same models. Which classes lose the most test utterances, and does the
# score go up or down?

# %%
### BEGIN SOLUTION
durations = exp.manifest["duration_s"].to_numpy()
long_enough = durations >= window_s
rows = []
for i in run.completed_folds:
    record = run.fold(i)
    test_index, y_pred = np.array(record["extra"]["test_index"]), np.array(record["extra"]["y_pred"])
    truth = y_utterance[test_index]
    kept = long_enough[test_index]
    scores_all = metrics.evaluate(truth, y_pred, len(class_names))
    row = {"fold": record["extra"]["name"], "UA all": 100 * scores_all["ua"], "WA all": 100 * scores_all["wa"],
           "test utterances dropped": int((~kept).sum())}
    if kept.any():
        scores_kept = metrics.evaluate(truth[kept], y_pred[kept], len(class_names))
        row.update({"UA ≥ 1.8 s": 100 * scores_kept["ua"], "WA ≥ 1.8 s": 100 * scores_kept["wa"]})
    rows.append(row)
dropping = pd.DataFrame(rows).set_index("fold")
lost = pd.Series(exp.manifest["label"][~long_enough]).value_counts(sort=False)
print("utterances the official rule drops, per class:", lost[lost > 0].to_dict())
if "UA ≥ 1.8 s" in dropping:
    print(f"mean over folds: UA {dropping['UA all'].mean():.2f} -> {dropping['UA ≥ 1.8 s'].mean():.2f}, "
          f"WA {dropping['WA all'].mean():.2f} -> {dropping['WA ≥ 1.8 s'].mean():.2f} (same models, fewer test utterances)")
dropping.round(2)
### END SOLUTION
