"""What ``notebooks/05_leaderboard`` measures beside the results files: model cost and paired tests.

The table itself is :func:`ser_common.report.leaderboard` (the README's table too). This
module adds what a results file cannot hold because it depends on the machine or needs
a model: every architecture is rebuilt from its run's recorded settings
(:func:`build_model`), its input shape derived from the run's feature spec
(:func:`input_shape`), its compute counted (:func:`mflops`) and its batch-1 latency
measured here and now (:func:`latency_ms`), so that the column compares like with like.
Frameworks are imported only when a model of theirs is built.
"""

from __future__ import annotations

import importlib
import itertools
import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ser_common.results import load_results, paired_test

__all__ = ["build_model", "count_parameters", "examples_per_utterance", "input_shape", "latency_ms", "mflops",
           "out_of_fold_predictions", "paired_tests", "per_class_recall", "speaker_drop", "unique_runs",
           "utterance_paired_test", "utterance_paired_tests"]


def unique_runs(paths: Sequence[str | Path]) -> tuple[list[Path], list[str]]:
    """One file per run identity (a run found in two folders counts once: the one with most folds)."""
    best: dict[str, tuple[int, Path]] = {}
    dropped = []
    for path in paths:
        data = load_results(path)
        key = json.dumps([data.get(k) for k in ("notebook", "paper", "dataset", "protocol", "params", "seed")],
                         sort_keys=True)
        if key in best:
            keep, drop = sorted([best[key], (len(data["folds"]), Path(path))], key=lambda item: -item[0])
            dropped.append(f"{drop[1]} (same run as {keep[1]})")
            best[key] = keep
        else:
            best[key] = (len(data["folds"]), Path(path))
    return sorted(path for _, path in best.values()), dropped


def input_shape(data: dict) -> tuple[int, ...]:
    """One example's feature shape, from the run's own feature spec (a silent signal is enough)."""
    spec = importlib.import_module(f"papers.{data['paper']}.features").feature_spec(data["params"])
    length = spec.segment_length if spec.segmented else spec.length_for(data["dataset"])
    return tuple(spec.transform(np.zeros(length, np.float32)).shape)


def build_model(data: dict, shape: tuple[int, ...]):
    """``(model, framework)`` for a deep run, built at the run's settings (fresh weights)."""
    p, paper, n_classes = data["params"], data["paper"], len(data["class_names"])
    if paper == "tim_net":
        from papers.tim_net.model import build_tim_net

        return build_tim_net(shape, n_classes, n_tab=p["n_tab"], dropout=p["dropout"], seed=0), "keras"
    if paper == "light_sernet":
        from papers.light_sernet.model import build_light_sernet

        return build_light_sernet(shape, n_classes, dropout=p["dropout"], l2=p["l2"], seed=0), "keras"
    if paper == "cktim_net":
        from papers.cktim_net.model import build_cktim, build_tim

        if p["model"] == "tim":
            return build_tim(n_classes, n_tab=p["n_tab"], dropout=p["dropout"], keras_init=False), "torch"
        return build_cktim(n_classes, n_tab=p["n_tab"], omega_0=p["omega_0"], entry_omega_0=p["entry_omega_0"],
                           hidden_scale=p["hidden_scale"], kernel_generator=p["kernel_generator"],
                           generator_activation=p["generator_activation"], dropout=p["dropout"]), "torch"
    if paper == "glam":
        from papers.glam.model import build_glam

        return build_glam(n_classes, shape, variant=p["variant"]), "torch"
    raise ValueError(f"no builder for paper {paper!r} (the classical rows are measured separately)")


def count_parameters(model, framework: str) -> int:
    """Trainable parameters (compare with the ``param_count`` the run recorded)."""
    if framework == "torch":
        return sum(t.numel() for t in model.parameters() if t.requires_grad)
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def mflops(data: dict, model, framework: str, shape: tuple[int, ...]) -> float:
    """Millions of FLOPs (2 per multiply-accumulate) of one forward pass on one example.

    TIM-Net and Light-SERNet: their arithmetic (``macs_per_utterance``, ``expected_macs``);
    PyTorch models: counted by ``torch.utils.flop_counter`` on one batch-1 forward pass
    in eval mode (convolutions and matrix products; element-wise operations are not
    counted, as in the arithmetic). For GLAM the example is one 1.8 s segment.
    """
    n_classes = len(data["class_names"])
    if data["paper"] == "tim_net":
        from papers.tim_net.model import macs_per_utterance

        return 2 * macs_per_utterance(shape[0], data["params"]["n_tab"], n_classes, n_mfcc=shape[1]) / 1e6
    if data["paper"] == "light_sernet":
        from papers.light_sernet.model import expected_macs

        return 2 * expected_macs(shape, n_classes) / 1e6
    if framework != "torch":
        raise ValueError(f"no FLOP count for {data['paper']!r}")
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    model.eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(torch.zeros(1, *shape))
    return counter.get_total_flops() / 1e6


def latency_ms(model, framework: str, shape: tuple[int, ...], repeats: int = 20, warmup: int = 2, *,
               batch: int = 1, budget_s: float = 3.0) -> float:
    """Median milliseconds of one forward pass on one utterance (its features given, their extraction not timed).

    PyTorch: eval mode under ``torch.inference_mode``. Keras: the model called in a
    ``tf.function`` (traced during the warm-up). ``framework="sklearn"``: the fitted
    pipeline's ``predict`` on one row. ``batch``: examples per utterance (GLAM's segments
    go through together). At most ``repeats`` timed calls, fewer (but at least 3) once
    ``budget_s`` seconds are spent, so a slow model does not hold the notebook up.
    """
    x = np.random.default_rng(0).normal(size=(batch, *shape)).astype(np.float32)
    if framework == "torch":
        import torch

        model.eval()
        tensor = torch.from_numpy(x)

        def call():
            with torch.inference_mode():
                model(tensor)
    elif framework == "keras":
        import tensorflow as tf

        forward = tf.function(lambda t: model(t, training=False))
        tensor = tf.constant(x)

        def call():
            forward(tensor).numpy()
    else:
        def call():
            model.predict(x)
    for _ in range(warmup):
        call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
        if len(times) >= 3 and sum(times) > budget_s:
            break
    return 1000 * float(np.median(times))


def examples_per_utterance(data: dict, durations_s: Sequence[float] | None) -> float | None:
    """Mean examples one utterance becomes: 1, or for a segmented spec (GLAM) its mean number of segments.

    Needs the corpus's durations for a segmented spec (``None`` without them).
    """
    spec = importlib.import_module(f"papers.{data['paper']}.features").feature_spec(data["params"])
    if not spec.segmented:
        return 1.0
    if durations_s is None:
        return None
    samples = np.round(np.asarray(durations_s, dtype=float) * spec.sample_rate).astype(int)
    counts = np.where(samples < spec.segment_length, 1, 1 + (samples - spec.segment_length) // spec.segment_hop)
    if spec.short_policy == "drop":
        counts = counts[samples >= spec.segment_length]
    return float(counts.mean())


def paired_tests(table: pd.DataFrame, metric: str = "ua") -> pd.DataFrame:
    """Every pair of rows on the same folds (one corpus): Wilcoxon signed-rank over the folds both ran.

    ``p (Holm)`` adjusts the p-values for the number of pairs tested (Holm's step-down), so
    a claim that survives it stays honest when many pairs are tested at once.
    """
    rows = []
    for (corpus, fingerprint), group in table.groupby(["corpus", "fingerprint"], sort=False):
        for (_, a), (_, b) in itertools.combinations(group.iterrows(), 2):
            result = paired_test(load_results(a["path"]), load_results(b["path"]), metric)
            rows.append({"corpus": corpus, "protocol": a["protocol"], "same folds": a["same folds"],
                         "model A": a["model"], "model B": b["model"], "folds paired": result["n"],
                         f"A − B ({metric.upper()}, points)": round(100 * result["mean_difference"], 2),
                         "p": result["p_value"]})
    out = pd.DataFrame(rows, columns=["corpus", "protocol", "same folds", "model A", "model B", "folds paired",
                                      f"A − B ({metric.upper()}, points)", "p"])
    tested = out["p"].notna().to_numpy()
    out["p (Holm)"] = None
    out.loc[tested, "p (Holm)"] = _holm(out.loc[tested, "p"].to_numpy(dtype=float))
    out["verdict"] = [
        "too few common folds (< 5)" if p is None or p != p else
        "beyond fold noise, also after Holm" if holm < 0.05 else
        "beyond fold noise (p < 0.05), not after Holm" if p < 0.05 else "within fold noise"
        for p, holm in zip(out["p"], out["p (Holm)"])]
    return out


def _holm(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment: the smallest p times the number of tests, the next times one less, ..."""
    order, adjusted, running = np.argsort(p_values), np.empty(p_values.size), 0.0
    for rank, position in enumerate(order):
        running = max(running, min(1.0, (p_values.size - rank) * p_values[position]))
        adjusted[position] = running
    return adjusted


def out_of_fold_predictions(data: dict, y_true: Sequence[int]) -> np.ndarray:
    """Every utterance's prediction, made by the fold that tested it, in corpus (manifest) order.

    ``y_true`` is the corpus's labels in manifest order (``load_manifest``). Each fold's
    recorded ``test_index`` / ``y_pred`` must reproduce its recorded confusion matrix with
    these labels, which catches a manifest in another order or of another corpus version.
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    n_classes, predicted = len(data["class_names"]), np.full(len(y_true), -1, dtype=np.int64)
    if data["params"].get("n_utterances", len(y_true)) != len(y_true):
        raise ValueError(f"the run was made on {data['params']['n_utterances']} utterances, the labels given have "
                         f"{len(y_true)}: pass the labels of the run's own manifest")
    for key, fold in sorted(data["folds"].items(), key=lambda item: int(item[0])):
        extra = fold.get("extra", {})
        if "test_index" not in extra or "y_pred" not in extra:
            raise ValueError(f"fold {key} did not record its test_index / y_pred (a results file from before they "
                             "were stored): re-run that fold")
        index, pred = np.asarray(extra["test_index"], dtype=np.int64), np.asarray(extra["y_pred"], dtype=np.int64)
        if (predicted[index] >= 0).any():
            raise ValueError(f"fold {key} tests utterances another fold already tested: not a cross-validation")
        confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
        np.add.at(confusion, (y_true[index], pred), 1)
        if not np.array_equal(confusion, np.asarray(fold["confusion"])):
            raise ValueError(f"fold {key}: its predictions with these labels do not give its recorded confusion "
                             "matrix; the labels are in another order (another manifest or corpus version)")
        predicted[index] = pred
    if (predicted < 0).any():
        raise ValueError(f"{int((predicted < 0).sum())} of {len(y_true)} utterances were never tested "
                         f"({len(data['folds'])} folds recorded): every fold must be run")
    return predicted


def utterance_paired_test(first: dict, second: dict, y_true: Sequence[int], groups: Sequence | None = None,
                          n_resamples: int = 10_000, seed: int = 0) -> dict:
    """Two runs compared on the same utterances through their out-of-fold predictions; any folds.

    A paired test over folds needs the same folds. With different folds, every utterance
    was still predicted once by each run, by a model that had not seen it, so the two
    runs can be paired utterance by utterance. UA is a weighted sum of correct answers
    (weight ``1 / (classes × size of the utterance's class)``), so its difference is a sum
    over utterances of weight × (A right − B right).

    ``p_value``: a sign-flip (permutation) test: under "A and B are interchangeable", each
    unit's contribution to the difference is as likely to flip sign. ``ci_low`` /
    ``ci_high``: a 95 % percentile bootstrap over units of A's UA minus B's. The units are
    utterances, or the ``groups`` (e.g. speakers) when given: utterances of one speaker are
    not independent, so grouped units give the more honest, wider answer (with few groups
    every sign pattern is enumerated, and the smallest possible p is ``2 / 2**groups``).
    ``a_only`` / ``b_only``: utterances only A (only B) got right.
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    a, b = out_of_fold_predictions(first, y_true), out_of_fold_predictions(second, y_true)
    if list(first["class_names"]) != list(second["class_names"]):
        raise ValueError("the two runs name their classes differently; they cannot be paired")
    n_classes = len(first["class_names"])
    units = np.arange(len(y_true)) if groups is None else np.unique(np.asarray(groups), return_inverse=True)[1]
    n_units = int(units.max()) + 1
    # Per unit and class: utterances, and how many each run got right.
    size, right_a, right_b = (np.zeros((n_units, n_classes)) for _ in range(3))
    np.add.at(size, (units, y_true), 1)
    np.add.at(right_a, (units, y_true), a == y_true)
    np.add.at(right_b, (units, y_true), b == y_true)

    def ua(weights: np.ndarray, right: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.nanmean((weights @ right) / (weights @ size), axis=-1)

    ua_first, ua_second = float(ua(np.ones(n_units), right_a)), float(ua(np.ones(n_units), right_b))
    observed = ua_first - ua_second
    per_class = size.sum(axis=0)
    present = per_class > 0  # UA averages the recalls of the classes present
    contribution = ((right_a - right_b)[:, present] / per_class[present]).sum(axis=1) / present.sum()
    rng = np.random.default_rng(seed)
    if 2 ** min(n_units, 30) <= n_resamples:
        signs = 1.0 - 2 * ((np.arange(2 ** n_units)[:, None] >> np.arange(n_units)) & 1)
    else:
        signs = 1.0 - 2 * rng.integers(0, 2, size=(n_resamples, n_units))
    extreme = np.abs(signs @ contribution) >= abs(observed) - 1e-12
    exact = len(signs) == 2 ** n_units  # every sign pattern (the observed one included), else a random sample
    p_value = float(extreme.mean() if exact else (1 + extreme.sum()) / (1 + len(signs)))
    n_boot = min(n_resamples, 2000)  # each bootstrap sample: how often every unit is drawn
    picks = rng.integers(0, n_units, size=(n_boot, n_units)) + n_units * np.arange(n_boot)[:, None]
    draws = np.bincount(picks.ravel(), minlength=n_boot * n_units).reshape(n_boot, n_units).astype(float)
    low, high = np.nanpercentile(ua(draws, right_a) - ua(draws, right_b), [2.5, 97.5])
    return {"n": len(y_true), "units": n_units, "ua_first": ua_first, "ua_second": ua_second,
            "difference": observed, "ci_low": float(low),
            "ci_high": float(high), "p_value": p_value, "a_only": int(np.sum((a == y_true) & (b != y_true))),
            "b_only": int(np.sum((b == y_true) & (a != y_true)))}


#: Identity keys that only say which folds a run used: two runs equal apart from these are one model on two fold sets.
FOLD_KEYS = ("seed", "folds_fingerprint")


def _model_key(data: dict) -> str:
    return json.dumps([data["paper"], {k: v for k, v in data["params"].items() if k not in FOLD_KEYS}], sort_keys=True)


def utterance_paired_tests(table: pd.DataFrame, y_true: Sequence[int], groups: Sequence | None = None) -> pd.DataFrame:
    """Pairs of rows (one corpus and protocol) on *different* folds that no fold-wise test covers, utterance by utterance.

    A pair is left to :func:`paired_tests` when one of its models also ran on the other's
    folds. What remains: models that never met on the same folds, and each model against
    itself on another fold set (``same model`` is true), which shows how large a gap a
    change of folds alone makes. Rows whose folds did not test every utterance are left out
    (``attrs["left_out"]``). ``p (Holm)`` corrects for the pairs tested here.
    """
    complete, left_out = {}, []
    for row in table.itertuples():
        data = load_results(row.path)
        try:
            out_of_fold_predictions(data, y_true)
            complete[row.path] = data
        except ValueError as error:
            left_out.append(f"{row.model} ({row.protocol}): {error}")
    usable = table[table["path"].isin(complete)]
    rows = []
    for (corpus, protocol), group in usable.groupby(["corpus", "protocol"], sort=False):
        on_folds = {(_model_key(complete[path]), fingerprint) for path, fingerprint in zip(group["path"], group["fingerprint"])}
        for (_, a), (_, b) in itertools.combinations(group.iterrows(), 2):
            key_a, key_b = _model_key(complete[a["path"]]), _model_key(complete[b["path"]])
            if a["fingerprint"] == b["fingerprint"] or key_a != key_b and (
                    (key_a, b["fingerprint"]) in on_folds or (key_b, a["fingerprint"]) in on_folds):
                continue
            result = utterance_paired_test(complete[a["path"]], complete[b["path"]], y_true, groups)
            rows.append({"corpus": corpus, "protocol": protocol, "model A": a["model"], "folds A": a["same folds"],
                         "model B": b["model"], "folds B": b["same folds"], "same model": key_a == key_b,
                         "A − B (UA, points)": round(100 * result["difference"], 2),
                         "95 % CI": f"[{100 * result['ci_low']:+.2f}, {100 * result['ci_high']:+.2f}]",
                         "only A right": result["a_only"], "only B right": result["b_only"], "p": result["p_value"]})
    out = pd.DataFrame(rows, columns=["corpus", "protocol", "model A", "folds A", "model B", "folds B", "same model",
                                      "A − B (UA, points)", "95 % CI", "only A right", "only B right", "p"])
    out["p (Holm)"] = _holm(out["p"].to_numpy(dtype=float))
    out.attrs["left_out"] = left_out
    return out


def per_class_recall(paths: Sequence[str | Path]) -> pd.DataFrame:
    """Recall of every class (percent), from the confusion matrices summed over each run's folds."""
    rows = {}
    for path in paths:
        data = load_results(path)
        confusion = sum(np.asarray(fold["confusion"], dtype=float) for fold in data["folds"].values())
        with np.errstate(invalid="ignore", divide="ignore"):
            rows[str(path)] = 100 * np.diag(confusion) / confusion.sum(axis=1)
        columns = data["class_names"]
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns)


#: Speaker-dependent protocols, in the order preferred for the drop to speaker-independent.
SPEAKER_DEPENDENT = ("stratified_10fold", "paper_10fold")


def speaker_drop(table: pd.DataFrame) -> pd.DataFrame:
    """UA of each model speaker-dependent vs speaker-independent (same corpus, same settings otherwise)."""
    rows = []
    for (corpus, model), group in table.groupby(["corpus", "model"], sort=False):
        independent = group[group["protocol"] == "speaker_independent"]
        dependent = next((group[group["protocol"] == p] for p in SPEAKER_DEPENDENT
                          if (group["protocol"] == p).any()), None)
        if dependent is None or independent.empty:
            continue
        sd, si = dependent.iloc[0], independent.iloc[0]
        rows.append({"corpus": corpus, "model": model, "speaker-dependent protocol": sd["protocol"],
                     "UA speaker-dependent": round(sd["ua_mean"], 2), "UA speaker-independent": round(si["ua_mean"], 2),
                     "drop (points)": round(sd["ua_mean"] - si["ua_mean"], 2),
                     "folds (SD / SI)": f"{sd['folds run']} / {si['folds run']}"})
    return pd.DataFrame(rows)
