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
#       feature_set: egemaps
#     test:
#       feature_set: egemaps
#       latency_repeats: 3
# ---

# %% [markdown]
# # 05 · Leaderboard: every model on the same folds, with the same metrics
#
# A leaderboard in a paper is one column of numbers. Behind each number are choices that
# change it by more than the gaps between the rows: which utterances were in the test folds,
# whether the test speakers were heard in training, and whether the epoch was chosen on the
# test data. This lesson puts every run of this repository (the committed ones in
# `results/<corpus>/` and your own in `$SER_RUNS_DIR/<corpus>/`) in one table, and only side
# by side where they are comparable:
#
# * rows are grouped by **corpus and protocol**, and a **same folds** letter marks the runs
#   that were tested on exactly the same utterances fold by fold;
# * selections that looked at the test fold are marked **⚠ LEAKY**;
# * the paper's own number appears only where its protocol and selection are ours;
# * a **paired test** over the folds says whether a gap between two models is larger than
#   the noise between folds; runs on different folds are paired utterance by utterance;
# * the cost of each model, parameters, compute per utterance, training time per epoch, and
#   latency measured here and now on this machine, sits next to its accuracy.
#
# A **classical baseline** joins the deep models on the same folds: openSMILE functionals
# (ComParE, 6,373 per utterance) and a linear classifier, the recipe of a decade of
# paralinguistics challenges. Every deep model here has to beat it.
#
# It reads the committed EMO-DB results by default and runs without any audio;
# with the corpus (`data_dir`) it also computes the classical rows.

# %% [markdown]
# ## Before you start
#
# **Learning objectives.** After this lesson you can
#
# * read a results table critically: which rows may be compared, and which may not;
# * tell two runs made on the same folds from two runs that only share a protocol name, with
#   a fingerprint of the test parts;
# * decide whether a difference of a few points is real, with a paired test over folds (or,
#   across different folds, over utterances grouped by speaker) and a correction for testing
#   many pairs;
# * put accuracy next to cost (parameters, FLOPs, latency) and say what each cost measures;
# * explain why a per-speaker normalisation helps a speaker-independent classical baseline so
#   much, and why its numbers need a label.
#
# **Prerequisites.** Lesson 00 (UA, WA, speaker-dependent and speaker-independent splits);
# lesson 01 (a run's results file, protocols and the leaky selection). Any of lessons 02–04
# helps. Terms are defined in the [glossary](GLOSSARY.md).
#
# **Time (computer).** Measured on 2 CPU cores shared with training runs (load average about
# 10): on EMO-DB with the corpus, about 2 min once the classical rows exist (most of it
# rebuilding and timing the 11 architectures; CkTIM-Net with 6 TABs needs about 0.3–0.5 s
# per utterance), 6 min when the 8 classical rows are computed (3 min of it), plus a few
# minutes the very first time for the ComParE extraction of 535 files (then cached).
# Without the corpus: under 2 min. The synthetic corpus with the quick settings: about
# 1.5 min, most of it the eGeMAPS extraction of its 252 files.

# %% tags=["parameters"]
dataset = "emodb"  # the corpus whose runs are compared (committed runs: results/<dataset>/)
data_dir = None  # the corpus audio (classical rows, GLAM's segments per utterance); None: $SER_DATA_DIR/<dataset>
results_dirs = None  # extra folders to scan (a path or a list); None: $SER_RUNS_DIR/<dataset> (./runs/<dataset>)
results_dir = None  # where new classical rows are written; None: $SER_RUNS_DIR/<dataset>
classical = True  # compute the classical rows on the same folds (needs the corpus audio; skipped without it)
feature_set = "compare"  # compare (openSMILE ComParE, 6,373) | egemaps (openSMILE eGeMAPS, 88) | librosa (322)
latency_repeats = 20  # timed batch-1 calls per model (fewer for a slow model: about 3 s each at most)
threads = 1  # CPU threads for the latency measurements and the classical fits (1 is steadiest on a shared machine)
progress = True

# %%
import os

from ser_common.corpora import CORPORA
from ser_common.params import Bool, Choice, Int, Path as PathRule, check_parameters

params = check_parameters(globals(), {
    "dataset": Choice(*CORPORA), "data_dir": PathRule(), "results_dir": PathRule(), "classical": Bool(),
    "feature_set": Choice("compare", "egemaps", "librosa"), "latency_repeats": Int(min=1), "threads": Int(min=1),
    "progress": Bool()})
if results_dirs is None:
    results_dirs = [os.path.join(os.environ.get("SER_RUNS_DIR", "runs"), dataset)]
elif isinstance(results_dirs, (str, os.PathLike)):
    results_dirs = [results_dirs]
# Threads are fixed before PyTorch or TensorFlow start (they read these once).
for variable in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
    os.environ[variable] = str(threads)
os.environ["TF_NUM_INTEROP_THREADS"] = "1"

# %%
# %matplotlib inline
import time
import warnings
from collections import Counter
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display
from threadpoolctl import threadpool_limits

from papers import leaderboard as lb
from papers.classical import recipe as classical_recipe
from papers.classical import runs as classical_runs
from ser_common import report, results, splits
from ser_common.experiment import repository_root

threadpool_limits(threads)
plt.rcParams["figure.dpi"] = 90
pd.set_option("display.max_colwidth", 80)
committed = repository_root() / "results" / dataset

# %% [markdown]
# ## 1. The runs
#
# Every notebook writes one JSON results file per run (`ser_common.results`): its identity
# (paper, corpus, protocol, every setting that can change a result, and a fingerprint of the
# folds), then every finished fold with its metrics, confusion matrix, predictions and epoch
# times. A leaderboard is nothing more than a careful reading of these files. The same run
# found twice (say, a copy in your runs folder) is counted once.

# %%
folders = [committed, *map(Path, results_dirs)]
found, skipped = results.find_results(*folders)
for line in skipped:
    print(f"not a results file, left out: {line}")
paths = [p for p in found if results.load_results(p)["dataset"] == dataset]
paths, duplicates = lb.unique_runs(paths)
for line in duplicates:
    print(f"counted once: {line}")
print(f"{len(paths)} run(s) on {dataset} in " + ", ".join(str(f) for f in folders if f.is_dir()))

# %% [markdown]
# ## 2. A classical baseline, on exactly the same folds
#
# **Features.** openSMILE's ComParE 2016 set: 65 frame-level descriptors (loudness, MFCCs,
# spectral shape, voicing, pitch, jitter, shimmer, …) and their deltas, each summarised over
# the whole utterance by about 50 *functionals* (means, percentiles, slopes, …): one vector of
# 6,373 numbers per utterance, whatever its length. **Classifier.** A linear SVM or a
# logistic regression, classes weighted by their frequency, `C = 1` (nothing is tuned, so
# nothing is selected on any data), after **standardisation** fitted on the training part.
#
# **The folds.** The deep notebooks build their folds with `ser_common.splits.PROTOCOLS`
# over the manifest in `load_manifest`'s order; so does `papers/classical/runs.py`, with the
# deep runs' `folds` and `seed`: the leaderboard's own (10 folds, seed 46), plus those of any
# deep run that used others (Light-SERNet's notebook defaults to the official seed 42), so
# every deep run of a shared protocol has classical rows on its folds
# (`classical_runs.leaderboard_folds`). A validation part is not needed (nothing is
# selected), so it goes back into training; the *test* parts are exactly theirs. The check:
# the *fingerprint* of the test parts (a hash of every fold's test indices and of the file
# names, `splits.fingerprint`) must equal the `folds_fingerprint` each deep run recorded.
#
# **Per-speaker z-score.** Each speaker's features standardised with that speaker's own mean
# and spread removes much of "who is speaking" from the features. It uses no label, but it
# does use the **test speaker's** unlabeled utterances, all of them, before classifying any:
# a setting (transductive, speaker-adaptive) that none of the papers uses and that a deployed
# system has only after collecting enough speech of each user. Those rows are labelled
# "per-speaker z-score (test speaker's stats)" and are a deviation from every paper's recipe.

# %%
manifest, X_functionals = None, None
settings = classical_recipe.LEADERBOARD
if not classical:
    print("classical=False: the classical rows are read from the results files, not computed")
else:
    try:
        manifest = classical_runs.corpus(dataset, data_dir)
    except (FileNotFoundError, ValueError) as error:
        print(f"the corpus audio is not here, so the classical rows are not computed (committed ones are still "
              f"shown):\n{str(error).splitlines()[0]}")

if manifest is not None:
    deep_runs = [data for path in paths if (data := results.load_results(path))["paper"] != "classical"]
    fold_grid = classical_runs.leaderboard_folds(manifest, settings["protocols"], deep_runs)
    covered = {fingerprint for _, _, fingerprint in fold_grid}
    recorded = Counter((data["protocol"], data["params"].get("folds_fingerprint")) for data in deep_runs)
    checks = [{"protocol": protocol, **fold_settings, "classical fingerprint": ours,
               "deep runs on the same folds": recorded[(protocol, ours)],
               "deep runs on folds without classical rows": sum(
                   n for (p, fp), n in recorded.items() if p == protocol and fp not in covered)}
              for protocol, fold_settings, ours in fold_grid]
    display(pd.DataFrame(checks))

# %% [markdown]
# One line per set of folds the classical rows are computed on; every deep run of a shared
# protocol should be counted in one line's "deep runs on the same folds". A run counted under
# "folds without classical rows" recorded a fingerprint these folds do not reproduce (files
# left out of its manifest, or another corpus version): its row stays in the table, but no
# paired test joins it with the classical rows.
#
# The features are cached (`$SER_CACHE_DIR/classical`); the first ComParE extraction of
# EMO-DB takes a few minutes. Each row is one results file written fold by fold, like every
# deep run, and a row already in `results/<corpus>/` is read back rather than recomputed.

# %%
classical_paths = []
if manifest is not None:
    from papers.classical.features import default_cache_dir, functionals

    start = time.perf_counter()
    X_functionals = functionals(manifest["path"].tolist(), feature_set, cache_dir=default_cache_dir() / "classical")
    print(f"{feature_set} functionals {X_functionals.shape} in {time.perf_counter() - start:.1f} s")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)  # sklearn's "ill-conditioned" notes on tiny corpora
        for protocol, fold_settings, _ in fold_grid:
            for model in settings["models"]:
                for normalisation in settings["normalisations"]:
                    start = time.perf_counter()
                    run = classical_runs.run_row(
                        manifest, X_functionals, dataset=dataset, protocol=protocol, model=model,
                        normalisation=normalisation, feature_set=feature_set, C=settings["C"], **fold_settings,
                        results_dir=results_dir or Path(os.environ.get("SER_RUNS_DIR", "runs")) / dataset,
                        resume_from=(committed,))
                    classical_paths.append(run.path)
                    ua = run.aggregate["ua"]
                    if progress:
                        print(f"{protocol:20s} {run.data['model']['name']:70s} UA {100 * ua['mean']:5.2f} ± "
                              f"{100 * ua['std']:5.2f}  ({time.perf_counter() - start:.1f} s) -> {run.path}")
    paths, _ = lb.unique_runs([*paths, *classical_paths])

# %% [markdown]
# ## 3. The leaderboard
#
# One row per run with at least one finished fold (`ser_common.report.leaderboard`, the code
# that also writes the README's table). How to read it:
#
# * **Compare rows only within one corpus and protocol.** `paper_10fold` and
#   `stratified_10fold` are speaker-dependent: the test speakers were heard in training.
#   `speaker_independent` is leave-one-speaker-out: every test speaker is new.
# * **same folds**: rows with the same letter were tested on the same utterances fold by fold
#   (equal fingerprints). Within a protocol, rows with different letters used different folds.
# * **folds run**: a row with 3 of 10 folds is a mean over 3 test folds, not a 10-fold result.
# * **⚠ LEAKY**: the epoch was chosen on the test fold (a paper's protocol reproduced, not a
#   clean estimate). **none**: nothing was selected (the classical rows' `C` is fixed).
# * **paper UA / WA**: the published number of the same corpus, protocol and selection
#   (`papers/<paper>/reference.json`), and Δ = ours − paper. An empty cell means no published
#   number is comparable, not that the paper did worse.

# %%
table = report.leaderboard(paths)
if table.attrs.get("left_out"):
    print("no finished fold yet, not in the table:", ", ".join(table.attrs["left_out"]))
shown = [c for c in report.COLUMNS if c not in ("corpus", "file")]
for (corpus, protocol), group in table.groupby(["corpus", "protocol"], sort=False):
    description = splits.PROTOCOLS.get(protocol)
    display(Markdown(f"**{corpus} · {protocol}**" + (f": {description.description}" if description else "")))
    display(group[[c for c in shown if c != "protocol"]].style.hide(axis="index")
            .format({"s/epoch": "{:.2f}"}, na_rep="–"))

# %% [markdown]
# ## 4. What a model costs
#
# * **params**: trainable parameters, as the run recorded them (checked below against a
#   model rebuilt from the run's settings). For the linear classifiers: their weights in the
#   original feature space (one vector per class, or per pair of classes for libsvm's
#   one-vs-one SVM).
# * **MFLOPs**: millions of floating-point operations of one forward pass, 2 per
#   multiply-accumulate of the convolutions, matrix products and dense layers (element-wise
#   operations left out). TIM-Net and Light-SERNet by their arithmetic
#   (`papers/tim_net/model.py: macs_per_utterance`, `papers/light_sernet/model.py:
#   expected_macs`), the PyTorch models counted by `torch.utils.flop_counter` on one forward
#   pass. A CkTIM-Net forward pass also *generates* its kernels (a small network evaluated at
#   every kernel position): that is counted, although a deployed model could generate them
#   once. GLAM sees an utterance as overlapping 1.8 s segments: its cost is per segment times
#   the corpus's mean number of segments per utterance (per segment when the corpus is absent).
#   The classical rows count the classifier only; the openSMILE extraction is far costlier.
# * **s/epoch**: the median training time per epoch inside the runs (from their results
#   files). The runs shared 2 CPU cores with other runs, so this is a rough guide only.
# * **latency ms**: measured here, now, on this machine, for every architecture: a model
#   rebuilt at the run's settings (fresh weights: the time does not depend on them), one
#   utterance at a time (batch 1), median over repeated calls, `threads` CPU thread(s), with
#   the features already computed (MFCCs take a few ms; openSMILE's ComParE much longer).
#   All in one process, so the column compares the models with each other, not with
#   another machine.

# %%
print(f"load average of this machine (1, 5, 15 min): {', '.join(f'{x:.1f}' for x in os.getloadavg())} on "
      f"{os.cpu_count()} cores; above the core count, other processes compete with the measurements")
durations = manifest["duration_s"].to_numpy() if manifest is not None else None
cost_rows, built = [], {}
for row in table.itertuples():
    data = results.load_results(row.path)
    if data["paper"] == "classical":
        continue
    shape = lb.input_shape(data)
    key = (data["paper"], data["model"].get("name"), shape,
           tuple(sorted((k, str(v)) for k, v in data["params"].items()
                        if k in ("n_tab", "model", "variant", "omega_0", "hidden_scale", "kernel_generator",
                                 "generator_activation", "input_type", "duration_s", "dropout", "l2"))))
    if key not in built:
        model, framework = lb.build_model(data, shape)
        per_utterance = lb.examples_per_utterance(data, durations)
        n_params = lb.count_parameters(model, framework)
        start = time.perf_counter()
        latency = lb.latency_ms(model, framework, shape, latency_repeats, batch=max(1, round(per_utterance or 1)))
        built[key] = {"framework": framework, "rebuilt params": n_params,
                      "MFLOPs": lb.mflops(data, model, framework, shape) * (per_utterance or 1),
                      "MFLOPs per": "utterance" if per_utterance is not None else "1.8 s segment",
                      "latency ms": latency}
        if progress:
            print(f"{row.model:32s} {framework:6s} input {shape}, {built[key]['MFLOPs']:8.1f} MFLOPs, "
                  f"{latency:8.2f} ms ({time.perf_counter() - start:.1f} s to measure)")
        del model
    cost_rows.append({"path": row.path, **built[key], "recorded params": data["model"].get("param_count")})

# %% [markdown]
# The classical rows: the fitted pipeline (imputation, standardisation, the exact projection
# onto the training rows' span, the classifier) predicting one utterance's functionals. With
# the corpus here it is fitted on the first fold's training part; without it, on random
# numbers of the same shape (the time depends on the shapes, not on the values).

# %%
from papers.classical.model import build_classifier, per_speaker_zscore

for row in table.itertuples():
    data = results.load_results(row.path)
    if data["paper"] != "classical":
        continue
    p = data["params"]
    n_features = p["features"]["n_features"]
    first = next(iter(data["folds"].values()))
    n_train = first["extra"]["n_train"]
    if X_functionals is not None and p["feature_set"] == feature_set and len(manifest) == p["n_utterances"]:
        train = np.setdiff1d(np.arange(len(manifest)), first["extra"]["test_index"])
        features = per_speaker_zscore(X_functionals, manifest["speaker"].astype(str).to_numpy()) \
            if p["normalisation"] == "speaker" else X_functionals
        X_fit, y_fit = features[train], manifest["label"].cat.codes.to_numpy()[train]
    else:
        rng = np.random.default_rng(0)
        X_fit, y_fit = rng.normal(size=(n_train, n_features)), np.arange(n_train) % len(data["class_names"])
    pipeline = build_classifier(p["model"], p["C"], project=n_features > n_train).fit(X_fit, y_fit)
    cost_rows.append({"path": row.path, "framework": "sklearn", "rebuilt params": data["model"].get("param_count"),
                      "MFLOPs": data["model"].get("mflops"), "MFLOPs per": "utterance (classifier only)",
                      "latency ms": lb.latency_ms(pipeline, "sklearn", (n_features,), latency_repeats),
                      "recorded params": data["model"].get("param_count")})

costs = pd.DataFrame(cost_rows, columns=["path", "framework", "rebuilt params", "recorded params", "MFLOPs",
                                         "MFLOPs per", "latency ms"])
mismatch = costs[costs["rebuilt params"] != costs["recorded params"]]
assert mismatch.empty, f"a rebuilt model has another parameter count than its run recorded:\n{mismatch}"
board = table.merge(costs, on="path", how="left")
board[["corpus", "protocol", "same folds", "model", "UA", "params", "MFLOPs", "MFLOPs per", "s/epoch",
       "latency ms"]].style.hide(axis="index").format({"MFLOPs": "{:.2f}", "s/epoch": "{:.2f}",
                                                       "latency ms": "{:.2f}"}, na_rep="–")

# %% [markdown]
# Parameters, FLOPs and latency rank the models differently. A continuous kernel costs few
# parameters per *position* but is as long as the input, so CkTIM-Net does over a hundred
# times the arithmetic of a TIM-Net with as many TABs; GLAM runs its whole network on every
# 1.8 s segment, several per utterance; the linear classifiers are almost free once their
# features exist. Latency at batch 1 also pays for every call into the framework, which
# favours a few large operations over many small ones, and on a shared machine it moves
# with the load (printed above the table).

# %% [markdown]
# ## 5. Is a gap real? Paired tests on the same folds
#
# Two models on the same folds meet the same test utterances in every fold, so the fold's
# difficulty cancels in their per-fold *difference*. The Wilcoxon signed-rank test
# (`ser_common.results.paired_test`) asks whether those differences are centred on zero; it
# needs at least 5 common folds (with 5 the smallest possible two-sided p is 2/2⁵ = 0.0625, so
# 6 or more are needed for p < 0.05; with 10 folds the smallest is 2/2¹⁰ ≈ 0.002, reached
# when one model wins on every fold). Testing many pairs at once, some small p-values appear
# by chance: `p (Holm)` corrects for the number of pairs tested (Holm's step-down method:
# the smallest p is multiplied by the number of tests, the next by one less, …). With
# dozens of pairs and 10 folds, even a model that wins on every fold cannot pass the
# correction: 10 folds support a few planned comparisons, not a whole league table. "Within
# fold noise" does not mean "equal": with 10 folds only large, consistent gaps are detectable.

# %%
pairs = lb.paired_tests(table)
if pairs.empty:
    print("no two runs share their folds")
else:
    display(pairs.style.hide(axis="index").format({"A − B (UA, points)": "{:+.2f}", "p": "{:.4f}",
                                                   "p (Holm)": "{:.4f}"}, na_rep="–"))
    print(pairs["verdict"].value_counts().to_string())

# %% [markdown]
# ### Different folds: pair the utterances instead
#
# Runs on different folds (different letters in one protocol) cannot be paired fold by fold.
# But a cross-validation tests every utterance exactly once, by a model that never heard it,
# and every results file keeps each fold's test indices and predictions. So two complete
# runs can be paired **utterance by utterance**, whatever their folds:
# `lb.out_of_fold_predictions` puts each run's predictions back in corpus order (and checks
# them against every fold's recorded confusion matrix), and `lb.utterance_paired_test` writes
# the UA difference as a sum over utterances of weight × (A right − B right).
#
# * **p**: a sign-flip test. If A and B were interchangeable, each unit's share of the
#   difference would be as likely to count for B as for A. Utterances of one speaker are not
#   independent (same voice, same recording session), so the units are **speakers**: with 10
#   speakers all 2¹⁰ sign patterns are tried, and the smallest possible p is 2/1024 ≈ 0.002.
#   `p (utterances)` treats every utterance as independent: smaller, and too optimistic.
# * **95 % CI**: a bootstrap over speakers of A's UA minus B's.
# * **same model**: one model on two fold sets (only its seed, i.e. its folds, differs): the
#   gap a change of folds alone makes. These rows calibrate the others.
#
# Pairs that a fold-wise test above already covers (one of the two models also ran on the
# other's folds) are left out; so are runs whose folds do not test every utterance (a
# protocol of repeated random splits, or a run with folds still missing).

# %%
if manifest is None:
    print("pairing utterances needs the corpus labels in manifest order: the corpus is not here (or classical=False)")
else:
    labels = manifest["label"].cat.codes.to_numpy()
    speakers = manifest["speaker"].astype(str).to_numpy()
    across = lb.utterance_paired_tests(table, labels, groups=speakers)
    across.insert(across.columns.get_loc("p"), "p (utterances)", lb.utterance_paired_tests(table, labels)["p"])
    print(f"{len(across.attrs['left_out'])} run(s) not paired, their folds do not test every utterance once:")
    for line in across.attrs["left_out"]:
        print("  ", line)
    if across.empty:
        print("no two complete runs of one protocol used different folds")
    else:
        calibration_first = across.sort_values("same model", ascending=False, kind="stable")
        display(calibration_first.drop(columns=["corpus"]).style.hide(axis="index").format(
            {"A − B (UA, points)": "{:+.2f}", "p (utterances)": "{:.4f}", "p": "{:.4f}", "p (Holm)": "{:.4f}"}))

# %% [markdown]
# Read the **same model** rows first: one model on two fold sets, so their gap is the change
# of folds alone, and their p should be large. A gap between two different models that is
# well beyond those, with a speaker-level p that survives Holm, is a difference between the
# models rather than between their folds. Compare the two p columns on one row: the same gap
# looks far more certain when correlated utterances are counted as independent evidence.

# %% [markdown]
# ## 6. Pictures
#
# ### Accuracy against size and speed
#
# Both x axes are logarithmic: the models span four orders of magnitude. Marker shape is the
# protocol (compare points of one shape only); hollow markers are leaky selections.

# %%
markers = {"paper_10fold": "s", "stratified_10fold": "o", "speaker_independent": "^"}
fig, axes = plt.subplots(1, 2, figsize=(13, 4.8), sharey=True, layout="constrained")
numeric_params = pd.to_numeric(board["params"].str.replace(",", ""), errors="coerce")
colours = {model: plt.cm.tab20(i % 20) for i, model in enumerate(dict.fromkeys(board["model"]))}
for ax, x, label in ((axes[0], numeric_params, "trainable parameters"),
                     (axes[1], board["latency ms"], "latency per utterance, batch 1 (ms, this machine)")):
    for i, row in board.iterrows():
        if not np.isfinite(x[i]):
            continue
        ax.scatter(x[i], row["ua_mean"], s=60, marker=markers.get(row["protocol"], "D"),
                   facecolors="none" if row["leaky"] else colours[row["model"]], edgecolors=colours[row["model"]])
    ax.set(xscale="log", xlabel=label)
    ax.grid(alpha=0.3)
axes[0].set_ylabel("UA (%), mean over the folds run")
handles = [plt.Line2D([], [], marker=m, ls="", color="gray", label=p) for p, m in markers.items()
           if p in set(board["protocol"])]
handles += [plt.Line2D([], [], marker="o", ls="", color=c, label=m) for m, c in colours.items()]
fig.legend(handles=handles, loc="outside right", fontsize=8)
plt.show()

# %% [markdown]
# ### Which emotions each model gets right
#
# Recall of every class, from the confusion matrices summed over each run's folds. One panel
# per group of runs on the same folds: only there do the rows share their test utterances.

# %%
groups = [(key, group) for key, group in table.groupby(["corpus", "same folds"], sort=False) if len(group) >= 1]
fig, axes = plt.subplots(len(groups), 1, figsize=(9, 1.2 + 0.42 * sum(len(g) for _, g in groups) + 0.9 * len(groups)),
                         squeeze=False, layout="constrained",
                         height_ratios=[len(g) + 1.5 for _, g in groups])
for ax, ((corpus, letter), group) in zip(axes[:, 0], groups):
    recall = lb.per_class_recall(group["path"])
    image = ax.imshow(recall.to_numpy(), vmin=0, vmax=100, cmap="viridis", aspect="auto")
    for (i, j), value in np.ndenumerate(recall.to_numpy()):
        ax.text(j, i, f"{value:.0f}", ha="center", va="center", fontsize=7, color="white" if value < 60 else "black")
    ax.set_yticks(range(len(group)), [f"{m} · {f} folds" for m, f in zip(group["model"], group["folds run"])],
                  fontsize=7)
    ax.set_xticks(range(recall.shape[1]), recall.columns, fontsize=8)
    ax.set_title(f"{corpus} · {group['protocol'].iloc[0]} · same folds {letter}", fontsize=9)
fig.colorbar(image, ax=axes[:, 0], label="recall (%)", shrink=0.6)
plt.show()

# %% [markdown]
# ### What testing on new speakers costs
#
# UA of every model that was run both speaker-dependent (stratified 10-fold, else the
# paper's 10-fold) and speaker-independent (leave-one-speaker-out), same settings otherwise.

# %%
drop = lb.speaker_drop(table)
if drop.empty:
    print("no model was run both speaker-dependent and speaker-independent on this corpus")
else:
    display(drop.style.hide(axis="index"))
    fig, ax = plt.subplots(figsize=(8, 1 + 0.45 * len(drop)), layout="constrained")
    for i, (_, row) in enumerate(drop.iterrows()):
        dependent, independent = row["UA speaker-dependent"], row["UA speaker-independent"]
        ax.plot([independent, dependent], [i, i], color="gray", lw=2)
        ax.scatter(dependent, i, color="tab:blue", zorder=3, label="speaker-dependent" if i == 0 else None)
        ax.scatter(independent, i, color="tab:red", zorder=3, label="speaker-independent" if i == 0 else None)
        ax.text(max(dependent, independent) + 0.8, i, f"{independent - dependent:+.1f}", va="center", fontsize=8)
    ax.set_yticks(range(len(drop)), drop["model"], fontsize=8)
    ax.set(xlabel="UA (%)", title="from heard voices to new voices")
    ax.legend(loc="lower left", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    plt.show()

# %% [markdown]
# ## 7. The README's table is generated
#
# The README's results table is this table (without the columns measured here), written by
# `make results-table` (`python -m ser_common.report --readme README.md results/*/*.json`):
# a test fails when it differs from what the committed results files give, so no number in it
# is typed by hand.

# %%
print("\n".join(report.readme_block(sorted(committed.glob("*.json"))).splitlines()[:14]) if committed.is_dir()
      else f"no committed results for {dataset}")

# %% [markdown]
# ## What to remember
#
# * A number means something only with its protocol, its selection and its folds: compare
#   rows within one corpus and protocol, pair them fold by fold only on the same folds.
# * Runs on different folds can still be paired through their out-of-fold predictions, one
#   utterance at a time; group the utterances by speaker, they are not independent.
# * With 10 folds the spread between folds is several points: a gap of one or two points
#   between two models is usually fold noise; a paired test says so.
# * Speaker-dependent numbers overstate what a model does for a new voice, for deep and
#   classical models alike.
# * A linear model on classical functionals is a strong baseline on a small corpus, and
#   per-speaker normalisation (using the test speaker's unlabeled speech) is the strongest
#   speaker-independent recipe here — a setting no paper used, so it is labelled as such.
# * Size, compute and latency are three different costs; report the one your use needs.

# %% [markdown]
# ## Exercises
#
# Graded from ★ (a few lines, using what this notebook computed) to ★★★ (a small study of
# your own). Each exercise is followed by a worked solution; the student version made by
# `make student` (see the README, "For teachers") replaces every solution with a stub to fill in (`# YOUR CODE HERE`).
# Words in *italics* are defined in the [glossary](GLOSSARY.md).

# %% [markdown]
# ### Exercise 1 ★ · Does the ranking depend on the metric?
#
# Within every (corpus, protocol) group of `table`, rank the rows by UA and by macro-F1
# (`macro_f1_mean`). Which rows change place? Why can *UA* and *macro-F1* disagree, although
# both weigh every class equally?

# %%
### BEGIN SOLUTION
changed = []
for (corpus, protocol), group in table.groupby(["corpus", "protocol"]):
    by_ua = group.sort_values("ua_mean", ascending=False)["model"].tolist()
    by_f1 = group.sort_values("macro_f1_mean", ascending=False)["model"].tolist()
    for model in by_ua:
        if by_ua.index(model) != by_f1.index(model):
            changed.append({"corpus": corpus, "protocol": protocol, "model": model,
                            "rank by UA": by_ua.index(model) + 1, "rank by macro-F1": by_f1.index(model) + 1})
print(pd.DataFrame(changed).to_string(index=False) if changed else "the same order by both metrics in every group")
print("UA averages the recalls only; macro-F1 averages F1 = harmonic mean of recall and precision, so a model "
      "that over-predicts one class (high recall there, low precision) loses more F1 than UA.")
### END SOLUTION

# %% [markdown]
# ### Exercise 2 ★★ · The spread between folds is not the uncertainty of the mean
#
# The table shows mean ± *std* over folds. For every row with at least 3 folds, compute the
# standard error of the mean (std / √(n − 1) with the population std the table uses) and a
# 95 % t-interval of the mean UA. Which pairs of rows in the same group have overlapping
# intervals? Why is overlap a weaker test than the paired test of section 5?

# %%
### BEGIN SOLUTION
from scipy import stats

from itertools import combinations

rows = []
for _, row in table.iterrows():
    n = int(row["folds run"])
    if n < 3:
        continue
    half = stats.t.ppf(0.975, n - 1) * row["ua_std"] / np.sqrt(n - 1)  # population std -> standard error
    rows.append({"protocol": row["protocol"], "model": row["model"], "folds": n, "UA": round(row["ua_mean"], 2),
                 "95% CI": f"[{row['ua_mean'] - half:.1f}, {row['ua_mean'] + half:.1f}]",
                 "low": row["ua_mean"] - half, "high": row["ua_mean"] + half})
intervals = pd.DataFrame(rows, columns=["protocol", "model", "folds", "UA", "95% CI", "low", "high"])
print(intervals.drop(columns=["low", "high"]).to_string(index=False))
overlapping = sum(a["low"] <= b["high"] and b["low"] <= a["high"]
                  for _, g in intervals.groupby("protocol") for (_, a), (_, b) in combinations(g.iterrows(), 2))
print(f"{overlapping} overlapping pair(s). Overlap ignores that both models met the same hard and easy folds; "
      "the paired test removes that shared fold difficulty, so it can detect gaps the intervals cannot.")
### END SOLUTION

# %% [markdown]
# ### Exercise 3 ★★ · Paired against unpaired
#
# Take the two best rows of the largest group of runs on the same folds. Test their per-fold
# UA with the paired Wilcoxon test (`results.paired_test`) and with an unpaired Mann–Whitney U
# test (`scipy.stats.mannwhitneyu`) on the same numbers. Compare the p-values and explain the
# difference. Then shuffle one model's fold order and run both tests again: which test
# changes, and why?

# %%
### BEGIN SOLUTION
from scipy.stats import mannwhitneyu, wilcoxon

largest = table.groupby(["corpus", "fingerprint"]).size().idxmax()
group = table[(table["corpus"] == largest[0]) & (table["fingerprint"] == largest[1])]
if len(group) < 2:
    print("no two runs share their folds here")
else:
    a, b = (results.load_results(p) for p in group["path"].iloc[:2])
    common = sorted(set(a["folds"]) & set(b["folds"]), key=int)
    ua_a = np.array([a["folds"][k]["metrics"]["ua"] for k in common])
    ua_b = np.array([b["folds"][k]["metrics"]["ua"] for k in common])
    print(f"{group['model'].iloc[0]} vs {group['model'].iloc[1]} on {len(common)} common folds")
    print("paired  :", results.paired_test(a, b))
    print("unpaired: p =", mannwhitneyu(ua_a, ua_b).pvalue)
    if len(common) >= 5:
        shuffled = np.random.default_rng(0).permutation(ua_b)
        print("after shuffling B's folds: paired p =", wilcoxon(ua_a - shuffled).pvalue,
              " unpaired p =", mannwhitneyu(ua_a, shuffled).pvalue)
    print("The unpaired test sees two clouds of fold scores whose spread (fold difficulty) hides the gap; the "
          "paired one looks at per-fold differences, where fold difficulty cancels. Shuffling breaks the pairing: "
          "only the paired test changes.")
### END SOLUTION

# %% [markdown]
# ### Exercise 4 ★★ · Which new voice is hardest?
#
# In the speaker-independent rows every fold tests one speaker (the fold's `extra["name"]`).
# Make a table speakers × models of UA. Which speaker is hardest for most models? Do the
# models agree on the order of the speakers (Spearman correlation between two rows)?

# %%
### BEGIN SOLUTION
loso = table[table["protocol"] == "speaker_independent"]
per_speaker = {}
for row in loso.itertuples():
    data = results.load_results(row.path)
    per_speaker[row.model] = {fold["extra"].get("name", key): 100 * fold["metrics"]["ua"]
                              for key, fold in data["folds"].items()}
speakers_table = pd.DataFrame(per_speaker).round(1)
if speakers_table.empty:
    print("no speaker-independent run on this corpus")
else:
    print(speakers_table.to_string())
    print("hardest speaker per model:", speakers_table.idxmin().value_counts().to_dict())
    complete = speakers_table.dropna()
    if complete.shape[1] >= 2 and len(complete) >= 3:
        rho = complete.corr(method="spearman")
        upper = rho.to_numpy()[np.triu_indices_from(rho, 1)]
        print(f"mean Spearman correlation between models: {upper.mean():.2f}")
### END SOLUTION

# %% [markdown]
# ### Exercise 5 ★★ · Two ways to pair the same two runs
#
# Take the two best complete runs of the largest group on the same folds (complete: every
# utterance tested once, `lb.out_of_fold_predictions` accepts them). Pair them fold by fold
# (`results.paired_test`) and utterance by utterance with speakers as units
# (`lb.utterance_paired_test(..., groups=speakers)`). Do the two tests agree on the gap and
# on whether it is real? What are the units of each test, and which one could you still use
# if the two runs had used different folds? (Needs the corpus labels.)

# %%
### BEGIN SOLUTION
def is_complete(path) -> bool:
    try:
        lb.out_of_fold_predictions(results.load_results(path), labels)
        return True
    except ValueError:
        return False


if manifest is None:
    print("needs the corpus labels (data_dir, classical=True)")
else:
    usable = table[[is_complete(path) for path in table["path"]]]
    sizes = usable.groupby(["corpus", "fingerprint"]).size()
    if sizes.empty or sizes.max() < 2:
        print("no two complete runs share their folds here")
    else:
        corpus_name, fingerprint = sizes.idxmax()
        group = usable[(usable["corpus"] == corpus_name) & (usable["fingerprint"] == fingerprint)]
        a, b = (results.load_results(path) for path in group["path"].iloc[:2])
        by_fold = results.paired_test(a, b)
        by_speaker = lb.utterance_paired_test(a, b, labels, groups=speakers)
        print(f"{group['model'].iloc[0]} vs {group['model'].iloc[1]}")
        print(f"fold by fold    : {100 * by_fold['mean_difference']:+.2f} UA points (mean of per-fold UA), "
              f"{by_fold['n']} folds, p = {by_fold['p_value']}")
        print(f"speaker by speaker: {100 * by_speaker['difference']:+.2f} UA points (UA of the pooled predictions), "
              f"{by_speaker['units']} speakers, p = {by_speaker['p_value']:.4f}, 95 % CI "
              f"[{100 * by_speaker['ci_low']:+.2f}, {100 * by_speaker['ci_high']:+.2f}]")
        print("Both pair the same predictions, grouped differently: the fold test's units are the folds, the other's "
              "the speakers (in a stratified protocol every fold holds every speaker). The gaps differ a little "
              "because a mean of per-fold UAs is not the UA of the pooled predictions. Only the utterance test "
              "still works when the two runs used different folds.")
### END SOLUTION


# %% [markdown]
# ### Exercise 6 ★★★ · A row of your own, on the same folds
#
# Add a classical row: an RBF-kernel SVM (`model="svm_rbf"`) on the same functionals with
# the global standardisation, speaker-independent, with `papers.classical.runs.run_row`.
# Check that its folds fingerprint equals the other speaker-independent rows', put it in the
# leaderboard, and test it against the linear SVM row. Is a non-linear kernel worth it
# here? (Needs the corpus audio.)

# %%
### BEGIN SOLUTION
import tempfile

if X_functionals is None:
    print("needs the corpus audio (data_dir) and classical=True")
else:
    fold_settings = settings["protocols"]["speaker_independent"]
    mine = classical_runs.run_row(manifest, X_functionals, dataset=dataset, protocol="speaker_independent",
                                  model="svm_rbf", normalisation="global", feature_set=feature_set,
                                  results_dir=tempfile.mkdtemp(), **fold_settings)
    extended = report.leaderboard([*paths, mine.path])
    si = extended[extended["protocol"] == "speaker_independent"]
    print(si[["same folds", "model", "folds run", "UA", "WA"]].to_string(index=False))
    same = si[si["fingerprint"] == mine.data["params"]["folds_fingerprint"]]
    print(f"\nsame folds as {len(same) - 1} other speaker-independent row(s)")
    linear = same[same["model"] == classical_runs.model_info("svm", "global", feature_set, 1, 2)["name"]]
    if len(linear):
        test = results.paired_test(mine, results.load_results(linear["path"].iloc[0]))
        print(f"RBF − linear SVM: {100 * test['mean_difference']:+.2f} UA points over {test['n']} folds, "
              f"p = {test['p_value']}")
### END SOLUTION
