"""How fast does GLAM train and predict on this CPU, and which faithful settings speed it up?

The official recipe (spec ``shared/papers/glam.md`` §4): batch 32, mixup alpha 0.5 (one
lambda per batch, partners = a permutation of the batch), Adam lr 1e-3 weight decay 1e-6,
fp32. Data: EMO-DB GLAM features (1.8 s segments every 0.2 s, 26 x 57 MFCC), speaker 03
held out; by default short utterances are *dropped* as GLAM's code does, which gives
2,700 training segments from 417 utterances (the official measurement used 2,701).

Settings (combine with ``+``): ``fp32`` (plain eager, the official way), ``channels_last``
(model and inputs in NHWC), ``compile`` (``torch.compile``, mode default, static shapes),
``bf16`` (``torch.autocast("cpu", dtype=torch.bfloat16)``). Timing:

* **steps**: every setting runs ``--steps`` real training steps (mixup, Adam) per round,
  the settings interleaved round by round (other processes share the CPU, so
  interleaving spreads their load over all settings); s/epoch = median step time x 85
  batches. bf16 settings are timed over ``--bf16-steps`` steps only (they are very slow on
  CPUs without native bf16 arithmetic) and extrapolated.
* **full epochs**: the baseline and the fastest setting, ``--full-epochs`` complete epochs
  each (shuffled, last batch of 12 included), interleaved.
* **inference**: ms per utterance of 6 segments at batch 1 (one forward of 6 segments,
  logits averaged) and at batch 64 utterances (384 segments per forward).
* **accuracy**: the baseline and the fastest setting trained ``--accuracy-epochs`` epochs
  with the full recipe (ExponentialLR 0.95), same seed, then held-out utterance accuracy
  (WA) and UA from segment logits averaged per utterance.

    .venv/bin/python benchmarks/bench_glam.py                       # ~15 min on a quiet 2-core machine
    .venv/bin/python benchmarks/bench_glam.py --threads 2 1 --accuracy-epochs 0
    .venv/bin/python benchmarks/bench_glam.py --save-features cache/glam_bench/emodb_glam.npz --only none
    .venv/bin/python benchmarks/bench_glam.py --features cache/glam_bench/emodb_glam.npz --only accuracy
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import shlex
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from papers.glam.model import build_glam, count_parameters  # noqa: E402

OFFICIAL_SECONDS_PER_EPOCH = 14.3  # the brief: official code, quiet 2-core machine, 2,701 segments
OFFICIAL_MS_PER_UTTERANCE = 11.8  # 6-segment utterance
BATCH = 32
MIXUP_ALPHA = 0.5
HELD_OUT_SPEAKER = "03"
SEGMENTS_PER_UTTERANCE = 6


# ----------------------------------------------------------------------------- output


class Tee:
    """print() to stdout and, optionally, a file (so the saved file is exactly what was shown)."""

    def __init__(self, path: str | None):
        self.file = open(path, "w") if path else None  # noqa: SIM115

    def __call__(self, *parts: object) -> None:
        line = " ".join(str(p) for p in parts)
        print(line, flush=True)
        if self.file:
            self.file.write(line + "\n")
            self.file.flush()


# ----------------------------------------------------------------------------- data


@dataclass
class Data:
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: np.ndarray
    utt_test: np.ndarray  # utterance id of every test segment
    n_classes: int
    description: str


def load_data(args: argparse.Namespace, out: Tee) -> Data:
    if args.features:
        z = np.load(args.features, allow_pickle=False)
        x, y, utt, spk, n_classes = z["x"], z["y"], z["utterance"], z["speaker"], int(z["n_classes"])
        source = f"EMO-DB GLAM features from {args.features}"
    else:
        try:
            from papers.glam.features import PRESET
            from ser_common import extract_features, load_manifest

            manifest = load_manifest("emodb", args.data_root)
            spec = PRESET.replace(short_policy=args.short_policy)
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the list of dropped short utterances
                x, y, seg = extract_features(manifest, spec, cache_dir=args.cache_dir, progress=False, n_jobs=1)
            utt, spk = seg["utterance"].to_numpy(), seg["speaker"].astype(str).to_numpy()
            n_classes = len(manifest["label"].cat.categories)
            source = f"EMO-DB GLAM features (short_policy={args.short_policy!r})"
        except Exception as error:  # noqa: BLE001 -- the benchmark still runs, and says so
            out(f"!! could not load EMO-DB features ({type(error).__name__}: {error}); using RANDOM data")
            rng = np.random.default_rng(0)
            n_utt, per = 458, 6
            x = rng.normal(-5.0, 30.0, size=(n_utt * per, 26, 57)).astype(np.float32)
            utt = np.repeat(np.arange(n_utt), per)
            y = np.repeat(rng.integers(0, 7, n_utt), per)
            spk = np.where(utt < 41, HELD_OUT_SPEAKER, "xx")
            n_classes, source = 7, "RANDOM data of the EMO-DB shape (no accuracy meaning)"
    if args.save_features:
        Path(args.save_features).parent.mkdir(parents=True, exist_ok=True)
        np.savez(args.save_features, x=x, y=y, utterance=utt, speaker=spk.astype(str), n_classes=n_classes)
    train = spk != HELD_OUT_SPEAKER
    description = (
        f"{source}: train {train.sum()} segments / {len(np.unique(utt[train]))} utterances, "
        f"held out speaker {HELD_OUT_SPEAKER}: {(~train).sum()} segments / {len(np.unique(utt[~train]))} utterances"
    )
    return Data(
        torch.from_numpy(np.ascontiguousarray(x[train], dtype=np.float32)).unsqueeze(1),
        torch.from_numpy(y[train].astype(np.int64)),
        torch.from_numpy(np.ascontiguousarray(x[~train], dtype=np.float32)).unsqueeze(1),
        y[~train].astype(np.int64),
        utt[~train],
        n_classes,
        description,
    )


# ----------------------------------------------------------------------------- settings and training


@dataclass(frozen=True)
class Setting:
    channels_last: bool = False
    compile: bool = False
    bf16: bool = False

    @staticmethod
    def parse(name: str) -> Setting:
        parts = set(name.split("+")) - {"fp32"}
        unknown = parts - {"channels_last", "compile", "bf16"}
        if unknown:
            raise SystemExit(f"unknown setting part(s) {sorted(unknown)} in {name!r}")
        return Setting("channels_last" in parts, "compile" in parts, "bf16" in parts)

    @property
    def name(self) -> str:
        parts = [p for p, on in (("channels_last", self.channels_last), ("compile", self.compile),
                                 ("bf16", self.bf16)) if on]
        return "+".join(parts) or "fp32"


class Trainer:
    """The official training step (mixup per batch, Adam) under one setting."""

    def __init__(self, setting: Setting, n_classes: int, seed: int):
        torch.manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        self.generator = torch.Generator().manual_seed(seed)
        self.setting = setting
        self.model = build_glam(n_classes)
        if setting.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        # dynamic=False: the last batch of an epoch (12) recompiles once instead of switching
        # every shape to slower dynamic kernels.
        self.forward = torch.compile(self.model, dynamic=False) if setting.compile else self.model
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3, weight_decay=1e-6)
        self.scheduler = torch.optim.lr_scheduler.ExponentialLR(self.optimizer, gamma=0.95)

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.setting.channels_last else x

    def step(self, x: torch.Tensor, y: torch.Tensor) -> float:
        self.model.train()
        lam = float(self.rng.beta(MIXUP_ALPHA, MIXUP_ALPHA))
        perm = torch.randperm(len(x), generator=self.generator)
        mixed = self._prepare(lam * x + (1.0 - lam) * x[perm])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.setting.bf16):
            logits = self.forward(mixed)
        logits = logits.float()
        loss = lam * F.cross_entropy(logits, y) + (1.0 - lam) * F.cross_entropy(logits, y[perm])
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def epoch(self, x: torch.Tensor, y: torch.Tensor) -> float:
        order = torch.randperm(len(x), generator=self.generator)
        start = time.perf_counter()
        for begin in range(0, len(order), BATCH):
            index = order[begin : begin + BATCH]
            self.step(x[index], y[index])
        self.scheduler.step()
        return time.perf_counter() - start

    @torch.inference_mode()
    def logits(self, x: torch.Tensor, batch: int = 384) -> torch.Tensor:
        self.model.eval()
        parts = []
        for begin in range(0, len(x), batch):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.setting.bf16):
                parts.append(self.forward(self._prepare(x[begin : begin + batch])).float())
        return torch.cat(parts)


def batches(data: Data, count: int, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``count`` full training batches of real data, drawn in a seeded shuffled order."""
    order = torch.randperm(len(data.x_train), generator=torch.Generator().manual_seed(seed))
    out = []
    for i in range(count):
        index = order[(i * BATCH) % (len(order) - BATCH) :][:BATCH]
        out.append((data.x_train[index], data.y_train[index]))
    return out


# ----------------------------------------------------------------------------- measurements


def time_steps(data: Data, settings: list[Setting], threads: int, args: argparse.Namespace, out: Tee,
               step_flops: float | None = None) -> dict:
    torch.set_num_threads(threads)
    n_batches = -(-len(data.x_train) // BATCH)
    work = batches(data, max(args.steps, args.bf16_steps), seed=1)
    trainers, first, results = {}, {}, {}
    for s in settings:
        trainers[s] = Trainer(s, data.n_classes, seed=0)
        start = time.perf_counter()
        trainers[s].step(*work[0])  # compiles for the compiled settings
        first[s] = time.perf_counter() - start
        for xb, yb in work[1 : 1 + args.warmup_steps]:
            trainers[s].step(xb, yb)
    per_step: dict[Setting, list[float]] = {s: [] for s in settings}
    cpu_step: dict[Setting, list[float]] = {s: [] for s in settings}
    for r in range(args.rounds):
        ordered = settings[r % len(settings):] + settings[: r % len(settings)]  # rotate who goes first
        for s in ordered:
            n = args.bf16_steps if s.bf16 else args.steps
            if s.bf16 and r > 0:
                continue  # one round of a few steps is enough to show the order of magnitude
            wall, cpu = time.perf_counter(), time.process_time()
            for xb, yb in work[:n]:
                trainers[s].step(xb, yb)
            per_step[s].append((time.perf_counter() - wall) / n)
            cpu_step[s].append((time.process_time() - cpu) / n)
    for s in settings:
        results[s] = {
            "s_per_epoch": statistics.median(per_step[s]) * n_batches,
            "best_s_per_epoch": min(per_step[s]) * n_batches,
            "cpu_s_per_epoch": min(cpu_step[s]) * n_batches,
            "first_step_s": first[s],
            "extrapolated_from": args.bf16_steps if s.bf16 else None,
        }
        # One thread: our own CPU time is what the epoch would take on a quiet core, whatever
        # else runs (waiting for the core is not counted). Two threads: spin-waits inflate CPU
        # time, so the fastest wall-clock round is the least-disturbed estimate.
        results[s]["score"] = results[s]["cpu_s_per_epoch" if threads == 1 else "best_s_per_epoch"]
    base = results[settings[0]]["s_per_epoch"]
    out(f"\n## training speed, threads={threads}: s/epoch = step time x {n_batches} batches "
        f"(median of {args.rounds} interleaved rounds of {args.steps} steps; bf16: {args.bf16_steps} steps, 1 round)")
    score_name = "CPU s" if threads == 1 else "best"
    base_score = results[settings[0]]["score"]
    out(f"{'setting':<24}{'median':>8}{'best':>8}{'CPU s':>8}{'vs fp32':>9}{'vs 14.3 s':>10}"
        f"{'GFLOP/s':>9}{'1st step s':>11}")
    for s in settings:
        r = results[s]
        note = f"  (extrapolated from {r['extrapolated_from']} steps)" if r["extrapolated_from"] else ""
        rate = f"{step_flops * n_batches / r['score'] / 1e9:>9.0f}" if step_flops else f"{'':>9}"
        out(f"{s.name:<24}{r['s_per_epoch']:>8.2f}{r['best_s_per_epoch']:>8.2f}{r['cpu_s_per_epoch']:>8.2f}"
            f"{base_score / r['score']:>8.2f}x{OFFICIAL_SECONDS_PER_EPOCH / r['score']:>9.2f}x"
            f"{rate}{r['first_step_s']:>11.1f}{note}")
    out(f"(s/epoch; median = median wall-clock round, best = fastest wall-clock round, CPU s = process CPU time of the"
        f" least-CPU round, all threads, spin-waits included. The ratios and GFLOP/s use '{score_name}'"
        f" ({'1 thread: CPU time is what a quiet core would take' if threads == 1 else 'the least-disturbed round'})."
        f" 1st step s includes torch.compile's compile time unless its cache was warm)")
    return results


def pick_best(table: dict, settings: list[Setting]) -> Setting:
    """The fastest setting by its score (see :func:`time_steps`); it must beat the baseline by
    >= 5% to be preferred over it (differences below that are noise here)."""
    baseline = settings[0]
    best = min(settings, key=lambda s: table[s]["score"])
    return best if table[best]["score"] < 0.95 * table[baseline]["score"] else baseline


def roofline(n_classes: int, threads: int, n_batches: int, out: Tee) -> float:
    """FLOPs of one training step and this CPU's sgemm rate: the fastest epoch fp32 could possibly take."""
    from torch.utils.flop_counter import FlopCounterMode

    torch.set_num_threads(threads)
    model = build_glam(n_classes)
    counter = FlopCounterMode(display=False)
    with counter:
        model(torch.zeros(BATCH, 1, 26, 57)).sum().backward()
    step_flops = counter.get_total_flops()
    clock = time.process_time if threads == 1 else time.perf_counter  # see time_steps on CPU time

    def matmul_rate(dtype: torch.dtype) -> float:
        a, b = torch.randn(2048, 2048, dtype=dtype), torch.randn(2048, 2048, dtype=dtype)
        a @ b
        rates = []
        for _ in range(5):
            start = clock()
            a @ b
            rates.append(2 * 2048**3 / (clock() - start))
        return max(rates)

    peak, peak_bf16 = matmul_rate(torch.float32), matmul_rate(torch.bfloat16)
    epoch_flops = step_flops * n_batches
    out(f"\n## roofline, threads={threads}: one training step (batch {BATCH}, forward + backward) = "
        f"{step_flops / 1e9:.1f} GFLOP, an epoch ({n_batches} steps) = {epoch_flops / 1e12:.2f} TFLOP")
    out(f"sgemm 2048^3 on {threads} thread(s): {peak / 1e9:.0f} GFLOP/s ({'CPU' if threads == 1 else 'wall'} time, "
        f"fastest of 5) -> an epoch needs >= {epoch_flops / peak:.1f} s at that rate for every FLOP"
        + (f", >= {epoch_flops / peak / 2:.1f} s on 2 cores scaling perfectly" if threads == 1 else "")
        + f"; the official {OFFICIAL_SECONDS_PER_EPOCH} s/epoch means {epoch_flops / OFFICIAL_SECONDS_PER_EPOCH / 1e9:.0f}"
        " GFLOP/s sustained")
    target = OFFICIAL_SECONDS_PER_EPOCH / 2
    out(f"bf16 matmul 2048^3 on {threads} thread(s): {peak_bf16 / 1e9:.0f} GFLOP/s -> an epoch needs >= "
        f"{epoch_flops / peak_bf16:.1f} s even with every FLOP in bf16 at that rate; the target <= {target:.2f} s "
        f"needs {epoch_flops / target / 1e9:.0f} GFLOP/s sustained")
    return step_flops


def time_full_epochs(data: Data, settings: list[Setting], threads: int, epochs: int, out: Tee) -> dict:
    torch.set_num_threads(threads)
    trainers = {s: Trainer(s, data.n_classes, seed=0) for s in settings}
    warm = batches(data, 2, seed=2)
    for t in trainers.values():  # compile both batch shapes (32 and the last 12) before timing
        t.step(*warm[0])
        t.step(warm[1][0][:len(data.x_train) % BATCH or BATCH], warm[1][1][:len(data.x_train) % BATCH or BATCH])
    times: dict[Setting, list[float]] = {s: [] for s in settings}
    for _ in range(epochs):
        for s in settings:
            times[s].append(trainers[s].epoch(data.x_train, data.y_train))
    out(f"\n## full epochs, threads={threads} ({len(data.x_train)} segments, batch {BATCH}, mixup, "
        f"{epochs} epoch(s) each, interleaved)")
    for s in settings:
        out(f"{s.name:<28} epochs s: {', '.join(f'{t:.2f}' for t in times[s])}   median {statistics.median(times[s]):.2f}")
    return {s: statistics.median(v) for s, v in times.items()}


def time_inference(data: Data, settings: list[Setting], threads: int, repeats: int, out: Tee) -> None:
    torch.set_num_threads(threads)
    clock = time.process_time if threads == 1 else time.perf_counter  # see time_steps on CPU time
    out(f"\n## inference, threads={threads}: ms per utterance of {SEGMENTS_PER_UTTERANCE} segments "
        f"(eval, inference_mode; median of {repeats} calls after 2 warm-up calls; "
        f"{'CPU' if threads == 1 else 'wall-clock'} time)")
    out(f"{'setting':<28}{'batch 1':>10}{'batch 64':>10}   (official: {OFFICIAL_MS_PER_UTTERANCE} ms at batch 1)")
    one = data.x_test[:SEGMENTS_PER_UTTERANCE]
    many = data.x_test[: 64 * SEGMENTS_PER_UTTERANCE]
    if len(many) < 64 * SEGMENTS_PER_UTTERANCE:
        many = data.x_train[: 64 * SEGMENTS_PER_UTTERANCE]
    for s in settings:
        trainer = Trainer(s, data.n_classes, seed=0)
        row = []
        for x, n_utt, reps in ((one, 1, repeats), (many, 64, max(3, repeats // 5))):
            for _ in range(2):
                trainer.logits(x, batch=len(x))
            times = []
            for _ in range(reps):
                start = clock()
                trainer.logits(x, batch=len(x)).view(n_utt, SEGMENTS_PER_UTTERANCE, -1).mean(1).argmax(1)
                times.append(clock() - start)
            row.append(1000 * statistics.median(times) / n_utt)
        out(f"{s.name:<28}{row[0]:>10.2f}{row[1]:>10.2f}")


def accuracy(data: Data, settings: list[Setting], threads: int, epochs: int, seeds: list[int], out: Tee) -> None:
    torch.set_num_threads(threads)
    out(f"\n## accuracy check, threads={threads}: {epochs} epochs of the full recipe (mixup 0.5, Adam 1e-3 wd 1e-6, "
        f"ExponentialLR 0.95), last epoch; held-out speaker {HELD_OUT_SPEAKER}, segment logits averaged per utterance")
    utterances = np.unique(data.utt_test)
    index = np.searchsorted(utterances, data.utt_test)
    y_utt = np.zeros(len(utterances), dtype=np.int64)
    y_utt[index] = data.y_test
    out(f"{'setting':<28}{'seed':>5}{'WA %':>8}{'UA %':>8}{'train s':>9}   (held out: {len(utterances)} utterances)")
    for seed in seeds:
        for s in settings:
            trainer = Trainer(s, data.n_classes, seed=seed)
            start = time.perf_counter()
            for _ in range(epochs):
                trainer.epoch(data.x_train, data.y_train)
            elapsed = time.perf_counter() - start
            logits = trainer.logits(data.x_test).numpy()
            summed = np.zeros((len(utterances), logits.shape[1]))
            np.add.at(summed, index, logits)
            predicted = (summed / np.bincount(index)[:, None]).argmax(1)
            wa = 100 * float((predicted == y_utt).mean())
            ua = 100 * float(np.mean([(predicted[y_utt == c] == c).mean() for c in np.unique(y_utt)]))
            out(f"{s.name:<28}{seed:>5}{wa:>8.1f}{ua:>8.1f}{elapsed:>9.0f}")


# ----------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--settings", nargs="+",
                        default=["fp32", "channels_last", "compile", "compile+channels_last", "bf16"],
                        help="first one is the baseline; parts joined by '+': channels_last, compile, bf16")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                        help="thread counts; the first gives the main table and picks the best setting (1 is the"
                             " robust choice on a shared machine), the others time the non-bf16 settings again")
    parser.add_argument("--steps", type=int, default=6, help="timed steps per setting per round")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--warmup-steps", type=int, default=3)
    parser.add_argument("--bf16-steps", type=int, default=2, help="timed steps of bf16 settings (slow on AVX2)")
    parser.add_argument("--full-epochs", type=int, default=1, help="complete epochs of baseline and best (0: skip)")
    parser.add_argument("--inference-repeats", type=int, default=30)
    parser.add_argument("--accuracy-epochs", type=int, default=10, help="0: skip the accuracy check")
    parser.add_argument("--accuracy-seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--accuracy-settings", nargs="+", default=None,
                        help="settings for the accuracy check (default: baseline and the fastest)")
    parser.add_argument("--only", choices=["all", "speed", "accuracy", "none"], default="all")
    parser.add_argument("--data-root", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "emodb"))
    parser.add_argument("--cache-dir", default="/tmp/glam_bench_cache")
    parser.add_argument("--short-policy", default="drop", choices=["drop", "tile", "pad"],
                        help="GLAM's default drops utterances shorter than 1.8 s (official 2,701 segments)")
    parser.add_argument("--features", default=None, help="an .npz written by --save-features (skips extraction)")
    parser.add_argument("--save-features", default=None)
    parser.add_argument("--output", default=None, help="also write everything printed to this file")
    parser.add_argument("--note", default=None, help="a line to print under the header (e.g. machine load)")
    return parser.parse_args()


def cpu_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def main() -> None:
    args = parse_args()
    out = Tee(args.output)
    out("$ " + " ".join(shlex.quote(a) for a in [".venv/bin/python", *sys.argv]))
    out(f"# GLAM speed, {datetime.datetime.now().isoformat(timespec='seconds')}, torch {torch.__version__}, "
        f"{os.cpu_count()} CPUs ({cpu_name()}, capability {torch.backends.cpu.get_cpu_capability()})")
    out(f"# load average at start: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if args.note:
        out(f"# {args.note}")
    data = load_data(args, out)
    out(f"# data: {data.description}")
    out(f"# model: GLAM, {count_parameters(build_glam(data.n_classes)):,} parameters ({data.n_classes} classes)")
    settings = [Setting.parse(n) for n in args.settings]
    baseline = settings[0]
    best = baseline
    if args.only in ("all", "speed"):
        started = time.perf_counter()
        n_batches = -(-len(data.x_train) // BATCH)
        step_flops = roofline(data.n_classes, args.threads[0], n_batches, out)
        main_table = time_steps(data, settings, args.threads[0], args, out, step_flops)
        best = pick_best(main_table, settings)
        for threads in args.threads[1:]:
            time_steps(data, [s for s in settings if not s.bf16], threads, args, out, step_flops)
        pair = [baseline] if best == baseline else [baseline, best]
        if args.full_epochs:
            full = time_full_epochs(data, pair, args.threads[0], args.full_epochs, out)
        time_inference(data, [s for s in settings if not s.bf16], args.threads[0], args.inference_repeats, out)
        b, f = main_table[baseline]["score"], main_table[best]["score"]
        fastest = min(settings, key=lambda s: main_table[s]["score"])
        out(f"\n## summary (threads={args.threads[0]}, scores of the main table)")
        out(f"fastest measured: {fastest.name} {main_table[fastest]['score']:.2f} s/epoch; "
            f"chosen (must beat fp32 by >= 5%): {best.name}: {f:.2f} s/epoch, {b / f:.2f}x the fp32 eager baseline "
            f"({b:.2f} s/epoch), {OFFICIAL_SECONDS_PER_EPOCH / f:.2f}x the official {OFFICIAL_SECONDS_PER_EPOCH} s/epoch "
            f"(target >= 2x, i.e. <= {OFFICIAL_SECONDS_PER_EPOCH / 2:.2f} s)")
        if args.full_epochs:
            out(f"full epochs: baseline {full[baseline]:.2f} s, {best.name} {full[best]:.2f} s "
                f"({full[baseline] / full[best]:.2f}x)")
        out(f"speed part took {time.perf_counter() - started:.0f} s")
    if args.only in ("all", "accuracy") and args.accuracy_epochs:
        names = args.accuracy_settings
        chosen = [Setting.parse(n) for n in names] if names else ([baseline] if best == baseline else [baseline, best])
        if chosen == [baseline] and not names:
            out("\n## accuracy check skipped: the chosen setting is the fp32 eager baseline itself"
                " (pass --accuracy-settings to compare others)")
        else:
            accuracy(data, chosen, args.threads[0], args.accuracy_epochs, args.accuracy_seeds, out)
    out(f"# load average at end: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
