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
           "paired_tests", "per_class_recall", "speaker_drop", "unique_runs"]


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
    p_values = out.loc[tested, "p"].to_numpy(dtype=float)
    order, adjusted, running = np.argsort(p_values), np.empty(p_values.size), 0.0
    for rank, position in enumerate(order):
        running = max(running, min(1.0, (p_values.size - rank) * p_values[position]))
        adjusted[position] = running
    out["p (Holm)"] = None
    out.loc[tested, "p (Holm)"] = adjusted
    out["verdict"] = [
        "too few common folds (< 5)" if p is None or p != p else
        "beyond fold noise, also after Holm" if holm < 0.05 else
        "beyond fold noise (p < 0.05), not after Holm" if p < 0.05 else "within fold noise"
        for p, holm in zip(out["p"], out["p (Holm)"])]
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
