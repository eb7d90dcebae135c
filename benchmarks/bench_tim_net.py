"""How fast does TIM-Net train and predict on this machine?

Prints seconds per training epoch on EMO-DB-sized data (481 utterances of 188 x 39,
batch 64: one training fold of the 10-fold protocol), median of several epochs after
warm-up, for

* ``baseline``: the layer-by-layer build trained with plain ``model.fit`` and no XLA,
  the way the official code trains (our stand-in for it: we do not run their code);
* ``ours``: the fused build trained by ``ser_common.keras_training.fit`` with an
  XLA-compiled step (what the notebook uses);

plus the ratio, per-utterance inference latency at batch 1 and batch 64, and the projected
wall time of the whole paper protocol (10 folds x 500 epochs) two ways: one fold after the
other on 2 threads, and two folds at once on 1 thread each (``--parallel``: two copies of
this script really run side by side, so their contention is in the figure).

The official code is not run here. Its figure is an outside measurement (a quiet 2-core
machine, TF 2.21 / Keras 3, EMO-DB fold 1): 1.77 s per epoch with its per-epoch validation
and checkpoint, 1.46 s for the training steps alone, about 2.5 h for the protocol. The
``baseline`` row is *not* a stand-in for it (it is slower than the real official code).

    .venv/bin/python benchmarks/bench_tim_net.py            # ~3 minutes on 2 cores
    .venv/bin/python benchmarks/bench_tim_net.py --epochs 4 --skip-baseline --parallel
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from papers.tim_net.model import build_tim_net  # noqa: E402
from ser_common import keras_training  # noqa: E402

OFFICIAL_SECONDS_PER_EPOCH = 1.77  # outside measurement of the official code, quiet 2-core machine (see above)
OFFICIAL_PROTOCOL_HOURS = 2.5
TARGET_PROTOCOL_MINUTES = 50


def cpu_model() -> str:
    """The CPU's model name and its wide-vector extensions: XLA's CPU code depends on them, so
    figures from machines with and without AVX-512 / AMX are not comparable."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    flags = set(next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), []))
    wide = [flag for flag in ("avx2", "avx512f", "avx512_bf16", "amx_tile") if flag in flags]
    return f"{name} ({', '.join(wide) or 'no AVX2'})"


def make_data(n: int, steps: int, n_mfcc: int, n_classes: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    # Raw MFCC-like scale (TIM-Net uses no normalisation; c0 is large and negative).
    x = rng.normal(0.0, 30.0, size=(n, steps, n_mfcc)).astype(np.float32)
    y = rng.integers(0, n_classes, size=n)
    return x, y


def optimizer():
    return keras.optimizers.Adam(1e-3, beta_1=0.93, beta_2=0.98)


def time_baseline(x, y, n_classes, epochs: int) -> list[float]:
    model = build_tim_net(x.shape[1:], n_classes, implementation="layers", seed=0)
    model.compile(optimizer=optimizer(), loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1))
    y1 = np.eye(n_classes, dtype=np.float32)[y]
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        model.fit(x, y1, batch_size=64, epochs=1, verbose=0, shuffle=True)
        times.append(time.perf_counter() - start)
    return times


def time_ours(x, y, n_classes, epochs: int, implementation: str, jit: bool) -> tuple[list[float], float]:
    model = build_tim_net(x.shape[1:], n_classes, implementation=implementation, seed=0)
    start = time.perf_counter()
    result = keras_training.fit(
        model, (x, y), epochs=epochs, batch_size=64, optimizer=optimizer(), label_smoothing=0.1,
        jit_compile=jit, seed=0, progress=False,
    )
    total = time.perf_counter() - start
    return result.epoch_times, total


def latency(model, x, batch: int, repeats: int) -> float:
    """Median seconds per utterance for a compiled inference call at this batch size."""
    forward = tf.function(lambda t: model(t, training=False), jit_compile=True)
    xb = tf.constant(x[:batch])
    forward(xb)  # compile
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        forward(xb).numpy()
        times.append(time.perf_counter() - start)
    return float(np.median(times)) / batch


def report_protocol(how: str, seconds: float) -> None:
    """The projected protocol wall time against the official 2.5 h and the 50-minute target."""
    print(f"paper protocol (10 folds x 500 epochs), {how}: {seconds / 60:.0f} min = "
          f"{seconds / 3600 / OFFICIAL_PROTOCOL_HOURS:.2f} of the official ~{OFFICIAL_PROTOCOL_HOURS} h "
          f"(target <= {TARGET_PROTOCOL_MINUTES} min: {'met' if seconds <= 60 * TARGET_PROTOCOL_MINUTES else 'NOT met'}; "
          "steps only, per-epoch overhead and feature extraction not included)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=8, help="timed epochs per variant (after 2 warm-up epochs)")
    parser.add_argument("--n-train", type=int, default=481)
    parser.add_argument("--steps", type=int, default=188)
    parser.add_argument("--classes", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=50, help="inference repeats")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--also-layers-xla", action="store_true", help="also time the layered build with XLA")
    parser.add_argument("--threads", type=int, default=None, help="TensorFlow intra-op threads (default: all)")
    parser.add_argument("--parallel", action="store_true", help="also run two 1-thread copies side by side")
    parser.add_argument("--only-ours", action="store_true", help=argparse.SUPPRESS)  # a --parallel copy
    args = parser.parse_args()
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    if args.only_ours:
        times, _ = time_ours(*make_data(args.n_train, args.steps, 39, args.classes), args.classes,
                             args.epochs + 2, "fused", True)
        print(f"S_PER_EPOCH {float(np.median(times[2:])):.4f}")
        return

    print(f"# TIM-Net speed, {datetime.date.today()}, TF {tf.__version__}, Keras {keras.__version__}, "
          f"{os.cpu_count()} CPUs, {cpu_model()}")
    x, y = make_data(args.n_train, args.steps, 39, args.classes)
    warmup = 2
    rows = []
    if not args.skip_baseline:
        times = time_baseline(x, y, args.classes, args.epochs + warmup)
        rows.append(("baseline: layers + model.fit, no XLA", float(np.median(times[warmup:])), times[0]))
    variants = [("fused", True)] + ([("layers", True)] if args.also_layers_xla else [])
    for implementation, jit in variants:
        times, _ = time_ours(x, y, args.classes, args.epochs + warmup, implementation, jit)
        rows.append((f"ours: {implementation} + compiled step (XLA)", float(np.median(times[warmup:])), times[0]))
    print(f"\n{'variant':45s} {'s/epoch (median)':>17s} {'first epoch (incl. compile)':>28s}")
    for name, median, first in rows:
        print(f"{name:45s} {median:17.3f} {first:28.1f}")
    ours = next(median for name, median, _ in rows if name.startswith("ours: fused"))
    if not args.skip_baseline:
        print(f"\nspeed-up over the baseline: {rows[0][1] / ours:.2f}x")
    print(f"speed-up over the official code's {OFFICIAL_SECONDS_PER_EPOCH} s/epoch (outside measurement): "
          f"{OFFICIAL_SECONDS_PER_EPOCH / ours:.2f}x")
    report_protocol("one fold after the other", 10 * 500 * ours)
    if args.parallel:
        import subprocess

        command = [sys.executable, __file__, "--only-ours", "--threads", "1", "--epochs", str(args.epochs),
                   "--n-train", str(args.n_train), "--steps", str(args.steps), "--classes", str(args.classes)]
        copies = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(2)]
        per_epoch = [float(c.communicate()[0].split("S_PER_EPOCH")[-1]) for c in copies]
        print(f"two 1-thread copies side by side: {per_epoch[0]:.3f} and {per_epoch[1]:.3f} s/epoch")
        report_protocol("two folds at once, 1 thread each", 10 * 500 * max(per_epoch) / 2)

    model = build_tim_net((args.steps, 39), args.classes, seed=0)
    x_inf = x[:64]
    print(f"\ninference latency per utterance: batch 1 {1000 * latency(model, x_inf, 1, args.repeats):.2f} ms, "
          f"batch 64 {1000 * latency(model, x_inf, 64, args.repeats):.3f} ms")
    model.predict_on_batch(x_inf[:1])  # the first call traces the function: leave it out
    start = time.perf_counter()
    for _ in range(10):
        model.predict_on_batch(x_inf[:1])
    print(f"(Keras predict_on_batch, batch 1: {100 * (time.perf_counter() - start):.1f} ms per call)")


if __name__ == "__main__":
    main()
