"""How fast does Light-SERNet train and predict on this machine, and what makes it faster?

Training epochs on real EMO-DB (Light-SERNet MFCC, 184 x 40; train rows = every speaker
but 03: 486 utterances, batch 32, focal loss, Adam 1e-4), for several variants:

=============  ============================================================================
``official``   the layered model, ``model.compile(...)`` + ``model.fit(batch_size=32)``,
               float32, TensorFlow's default allocator: how the official code trains
               (our stand-in; we do not run their code). No XLA: Keras 3's default
               ``jit_compile="auto"`` turns XLA off on a CPU-only machine
``fit_bfc``    the same with ``TF_CPU_ALLOCATOR_USE_BFC=true``
``step_xla``   layered model, one XLA-compiled training step (``tf.function(jit_compile=
               True)``) over in-memory numpy batches, as ``ser_common.keras_training``
``step_xla_bfc``  the same with the BFC allocator
``fused_xla_bfc`` the ``implementation="fused"`` build (paths as one matrix product with
               their BN folded in: same function, same parameters) + XLA step + BFC
``fused_bfc``  the fused build, compiled step without XLA, BFC
``bf16_xla``   ``mixed_bfloat16`` policy, fused build, XLA step, BFC
``bf16_fit``   ``mixed_bfloat16``, layered ``model.fit`` without XLA (only a few steps
               are timed and scaled to an epoch: it is very slow without native bf16)
=============  ============================================================================

Every variant lives in its own worker process (the allocator is a process-wide setting);
workers are warmed up one after the other, then the parent asks them for one epoch each
in turn, round after round, so whatever else runs on the machine slows all variants
alike. Each worker uses ``--threads`` intra-op threads (default 2). Reported: median
wall-clock seconds per epoch, median CPU seconds per epoch (the process's user + system
time: less sensitive to other load), and ratios to ``official`` and to the official
implementation's reference figure (4.8 s per epoch on a quiet 2-core machine).

Then: inference latency per utterance (batch 1 and 64) of the layered model, TFLite
batch-1 latencies and sizes, a probe of layout alternatives for the largest
convolution, and (``--accuracy-epochs N``) an accuracy check: the same seed trained N
epochs on the speaker-03 split with the official setting and with the recommended one,
test UA / WA of the last epoch.

    .venv/bin/python benchmarks/bench_light_sernet.py                      # ~10-15 min on 2 busy cores
    .venv/bin/python benchmarks/bench_light_sernet.py --variants official,fused_xla_bfc --rounds 3
    .venv/bin/python benchmarks/bench_light_sernet.py --only-accuracy --accuracy-epochs 40
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

OFFICIAL_SECONDS_PER_EPOCH = 4.8  # the official code on a quiet 2-core machine (4.7 s of training steps)
OFFICIAL_BATCH1_MS = 2.5

#: name -> (implementation, trainer, jit, policy, allocator, max_steps)
VARIANTS = {
    "official": ("layers", "fit", False, "float32", "default", None),
    "fit_bfc": ("layers", "fit", False, "float32", "bfc", None),
    "step_xla": ("layers", "step", True, "float32", "default", None),
    "step_xla_bfc": ("layers", "step", True, "float32", "bfc", None),
    "fused_xla_bfc": ("fused", "step", True, "float32", "bfc", None),
    "fused_bfc": ("fused", "step", False, "float32", "bfc", None),
    "bf16_xla": ("fused", "step", True, "mixed_bfloat16", "bfc", None),
    "bf16_fit": ("layers", "fit", False, "mixed_bfloat16", "bfc", 2),
    "bf16_step": ("fused", "step", False, "mixed_bfloat16", "bfc", None),
    "bf16_step_layers": ("layers", "step", False, "mixed_bfloat16", "bfc", None),
    "step_bfc": ("layers", "step", False, "float32", "bfc", None),
}
DEFAULT_VARIANTS = "official,fit_bfc,step_xla,step_xla_bfc,fused_xla_bfc,fused_bfc,bf16_xla,bf16_fit"
RECOMMENDED = "fused_xla_bfc"


def describe(name: str) -> str:
    impl, trainer, jit, policy, allocator, max_steps = VARIANTS[name]
    parts = [impl, "model.fit" if trainer == "fit" else "custom step", "XLA" if jit else "no XLA",
             "bf16" if "bfloat16" in policy else "fp32", "BFC alloc" if allocator == "bfc" else "default alloc"]
    if max_steps:
        parts.append(f"{max_steps} steps timed, scaled")
    return ", ".join(parts)


# --------------------------------------------------------------------------- #
# Data
# --------------------------------------------------------------------------- #
def load_emodb(cache_dir: Path):
    """(X, y, speaker) of real EMO-DB with Light-SERNet's MFCC; None if the corpus is not here."""
    root = REPO.parent / "shared" / "data" / "emodb"
    if not (root / "wav").is_dir():
        return None
    from ser_common import extract_features, load_manifest

    from papers.light_sernet.features import PRESET as spec

    manifest = load_manifest("emodb", root)
    x, y, rows = extract_features(manifest, spec, cache_dir=cache_dir, progress=False)
    return x.astype(np.float32), y.astype(np.int64), rows["speaker"].astype(str).to_numpy()


def synthetic(n: int = 535, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = np.clip(rng.normal(0.0, 3.0, size=(n, 184, 40)), -10, 10).astype(np.float32)
    y = rng.integers(0, 7, size=n)
    speaker = np.where(np.arange(n) < 49, "03", "08")
    return x, y, speaker


# --------------------------------------------------------------------------- #
# Worker: one variant, driven over stdin / stdout
# --------------------------------------------------------------------------- #
def worker(args) -> None:
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import keras

    from papers.light_sernet.losses import focal_loss
    from papers.light_sernet.model import build_light_sernet

    impl, trainer, jit, policy, _, max_steps = VARIANTS[args.worker]
    data = np.load(args.data)
    train = data["speaker"] != "03"
    x, y = data["x"][train], data["y"][train]
    x_test, y_test = data["x"][~train], data["y"][~train]
    n_classes = 7
    y1 = np.eye(n_classes, dtype=np.float32)[y]

    keras.utils.set_random_seed(args.seed)
    keras.mixed_precision.set_global_policy(policy)
    model = build_light_sernet(x.shape[1:], n_classes, seed=args.seed, implementation=impl)
    optimizer = keras.optimizers.Adam(1e-4)
    loss_fn = focal_loss(2.0)
    rng = np.random.default_rng(args.seed)
    batch = 32

    if trainer == "fit":
        model.compile(optimizer=optimizer, loss=loss_fn, jit_compile=jit)
        if max_steps:  # time a few steps only, scaled to an epoch
            x_fit, y_fit = x[: max_steps * batch], y1[: max_steps * batch]
        else:
            x_fit, y_fit = x, y1

        def epoch():
            model.fit(x_fit, y_fit, batch_size=batch, epochs=1, shuffle=True, verbose=0)
    else:
        weights = model.trainable_variables

        @tf.function(jit_compile=jit)
        def train_step(xb, yb):
            with tf.GradientTape() as tape:
                probs = model(xb, training=True)
                loss = loss_fn(yb, probs) + tf.add_n(model.losses)  # L2 on the body convolutions
            optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
            return loss

        def epoch():
            order = rng.permutation(len(x))
            if max_steps:
                order = order[: max_steps * batch]
            for i in range(0, len(order), batch):
                idx = order[i : i + batch]
                loss = train_step(x[idx], y1[idx])
            float(loss)

    scale = len(x) / (max_steps * batch) if max_steps else 1.0

    def timed():
        start, cpu = time.perf_counter(), time.process_time()
        epoch()
        return {"wall": (time.perf_counter() - start) * scale, "cpu": (time.process_time() - cpu) * scale}

    def evaluate():
        probs = np.concatenate([np.asarray(model.predict_on_batch(x_test[i : i + 64]), dtype=np.float32)
                                for i in range(0, len(x_test), 64)])
        pred = probs.argmax(1)
        recalls = [np.mean(pred[y_test == c] == c) for c in np.unique(y_test)]
        return {"ua": 100 * float(np.mean(recalls)), "wa": 100 * float(np.mean(pred == y_test))}

    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        command = line.split()
        if not command:
            continue
        if command[0] == "epoch":
            print(json.dumps(timed()), flush=True)
        elif command[0] == "train":  # accuracy check: N epochs from the seeded start, test scores per epoch
            curve = []
            for _ in range(int(command[1])):
                epoch()
                curve.append(evaluate())
            print(json.dumps({"curve": curve}), flush=True)
        elif command[0] == "quit":
            break


class Worker:
    def __init__(self, name: str, data: Path, threads: int, seed: int):
        allocator = VARIANTS[name][4]
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_NUM_INTRAOP_THREADS=str(threads),
                   TF_NUM_INTEROP_THREADS=str(threads), PYTHONUNBUFFERED="1")
        env["TF_CPU_ALLOCATOR_USE_BFC"] = "true" if allocator == "bfc" else "false"
        self.name = name
        self.log = data.parent / f"{name}.log"
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--worker", name, "--data", str(data), "--threads", str(threads),
             "--seed", str(seed)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(data.parent / f"{name}.log", "w"),
            text=True, env=env)
        self.ask(None)  # wait until ready

    def ask(self, command: str | None) -> dict:
        if command is not None:
            self.process.stdin.write(command + "\n")
            self.process.stdin.flush()
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"worker {self.name} died; its log: {self.log}")
            if line.startswith("{"):
                return json.loads(line)

    def close(self) -> None:
        try:
            self.process.stdin.write("quit\n")
            self.process.stdin.flush()
            self.process.wait(timeout=30)
        except Exception:  # noqa: BLE001
            self.process.kill()


# --------------------------------------------------------------------------- #
# Parent: timing table, inference, TFLite, layout probe, accuracy
# --------------------------------------------------------------------------- #
def time_training(names, data, args, out):
    workers, first = {}, {}
    for name in names:  # start and warm up one at a time, so compiles do not overlap
        start = time.perf_counter()
        workers[name] = Worker(name, data, args.threads, args.seed)
        warm = [workers[name].ask("epoch") for _ in range(args.warmup)]
        first[name] = (time.perf_counter() - start, warm[0]["wall"])
        out(f"  warmed up {name:15s} (start + {args.warmup} epochs: {first[name][0]:.0f} s)")
    times = {name: [] for name in names}
    for _ in range(args.rounds):
        for name in names:
            if VARIANTS[name][5] and len(times[name]) >= 2:  # scaled partial epochs: two are enough
                continue
            times[name].append(workers[name].ask("epoch"))
    for w in workers.values():
        w.close()
    return times, first


def latency_rows(x, threads: int, repeats: int):
    import keras
    import tensorflow as tf

    from papers.light_sernet.deploy import TFLiteClassifier, to_tflite
    from papers.light_sernet.model import build_light_sernet

    model = build_light_sernet(x.shape[1:], 7, seed=0)
    rows = []
    for jit in (False, True):
        forward = tf.function(lambda t: model(t, training=False), jit_compile=jit)
        for batch in (1, 64):
            xb = tf.constant(x[:batch])
            forward(xb)
            times = []
            for _ in range(repeats if batch == 1 else max(5, repeats // 5)):
                start = time.perf_counter()
                forward(xb).numpy()
                times.append(time.perf_counter() - start)
            rows.append((f"tf.function{' (XLA)' if jit else ''}, batch {batch}", 1000 * float(np.median(times)) / batch))
    model.predict_on_batch(x[:1])
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict_on_batch(x[:1])
        times.append(time.perf_counter() - start)
    rows.append(("Keras predict_on_batch, batch 1", 1000 * float(np.median(times))))
    sizes = []
    for kind in ("float32", "float16", "int8"):
        blob = to_tflite(model, kind, representative=x[:200] if kind == "int8" else None)
        classifier = TFLiteClassifier(blob, num_threads=1)
        rows.append((f"TFLite {kind}, batch 1, 1 thread", classifier.latency_ms(x, repeats)))
        sizes.append((kind, classifier.size_bytes))
    del keras
    return rows, sizes


def layout_probe(threads: int):
    """The L1 convolution (B 32, 92 x 20 x 96 -> 64, 3 x 3) forward + both gradients, XLA, in three layouts."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    kernel = tf.Variable(rng.normal(size=(3, 3, 96, 64)).astype(np.float32) * 0.05)
    rows = []
    for name, shape, fmt in [("NHWC, time x coefficients (92 x 20)", (32, 92, 20, 96), "NHWC"),
                             ("NHWC, coefficients x time (20 x 92)", (32, 20, 92, 96), "NHWC"),
                             ("NCHW (channels first)", (32, 96, 92, 20), "NCHW")]:
        x = tf.constant(rng.normal(size=shape).astype(np.float32))

        @tf.function(jit_compile=True)
        def step(x, fmt=fmt):
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = tf.reduce_sum(tf.nn.conv2d(x, kernel, 1, "SAME", data_format=fmt))
            return tape.gradient(loss, [x, kernel])

        step(x)
        cpu = []
        for _ in range(6):
            start = time.process_time()
            [g.numpy() for g in step(x)]
            cpu.append(time.process_time() - start)
        rows.append((name, 1000 * float(np.median(cpu))))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", default=DEFAULT_VARIANTS, help=f"comma-separated, from {sorted(VARIANTS)}")
    parser.add_argument("--rounds", type=int, default=3, help="timed epochs per variant (interleaved)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed epochs per variant (compile)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=50, help="inference repeats")
    parser.add_argument("--accuracy-epochs", type=int, default=0,
                        help="also train official vs recommended this many epochs and report test UA / WA")
    parser.add_argument("--accuracy-variants", default=f"official,{RECOMMENDED}")
    parser.add_argument("--only-accuracy", action="store_true")
    parser.add_argument("--skip-inference", action="store_true")
    parser.add_argument("--synthetic", action="store_true", help="random inputs instead of EMO-DB")
    parser.add_argument("--output", default=None, help="also write the printed report here")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--data", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    lines: list[str] = []

    def out(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    import keras
    import tensorflow as tf

    # The parent's own TensorFlow work (roofline, inference, TFLite) uses the workers' thread count;
    # TensorFlow only accepts this before its first operation.
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    out("$ .venv/bin/python benchmarks/bench_light_sernet.py " + " ".join(sys.argv[1:]))
    out(f"# Light-SERNet speed, {datetime.datetime.now():%Y-%m-%d %H:%M}, TF {tf.__version__}, "
        f"Keras {keras.__version__}, {os.cpu_count()} CPUs ({_cpu_name()}), {args.threads} threads per worker")
    load = os.getloadavg()
    out(f"# load average at start: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
        "(other processes shared these cores: compare variants with each other, not with other runs)")

    tmp = Path(tempfile.mkdtemp(prefix="bench_light_sernet_"))
    loaded = None if args.synthetic else load_emodb(tmp / "features")
    if loaded is None:
        loaded = synthetic()
        out("# data: SYNTHETIC random MFCC-like inputs (EMO-DB not found or --synthetic)")
    else:
        out("# data: real EMO-DB, Light-SERNet MFCC 184 x 40; train = speakers != 03")
    x, y, speaker = loaded
    data = tmp / "data.npz"
    np.savez(data, x=x, y=y, speaker=np.asarray(speaker, dtype=str))
    out(f"# {int(np.sum(speaker != '03'))} training utterances, {int(np.sum(speaker == '03'))} test, batch 32")

    if not args.only_accuracy:
        names = [n.strip() for n in args.variants.split(",") if n.strip()]
        unknown = [n for n in names if n not in VARIANTS]
        if unknown:
            raise SystemExit(f"unknown variants {unknown}; choose from {sorted(VARIANTS)}")
        roofline(int(np.sum(speaker != "03")), x.shape[1:], args.threads, out)
        out(f"\n## training: {args.warmup} warm-up epoch(s), then {args.rounds} interleaved rounds")
        times, first = time_training(names, data, args, out)
        out(f"\n{'variant':15s} {'setting':62s} {'wall s/epoch':>12s} {'cpu s/epoch':>11s} "
            f"{'vs official':>11s} {'vs 4.8 s':>8s} {'first (s)':>9s}")
        base = float(np.median([t["wall"] for t in times["official"]])) if "official" in times else None
        base_cpu = float(np.median([t["cpu"] for t in times["official"]])) if "official" in times else None
        for name in names:
            wall = float(np.median([t["wall"] for t in times[name]]))
            cpu = float(np.median([t["cpu"] for t in times[name]]))
            ratio = f"{base / wall:10.2f}x" if base else "          -"
            out(f"{name:15s} {describe(name):62s} {wall:12.2f} {cpu:11.2f} {ratio:>11s} "
                f"{OFFICIAL_SECONDS_PER_EPOCH / wall:7.2f}x {first[name][1]:9.1f}")
        out("(wall = median wall-clock seconds per epoch of 486 utterances; cpu = median process CPU seconds;")
        out(" 'vs official' = wall-clock speed-up over the official-style row measured in this run;")
        out(" 'vs 4.8 s' = speed-up over the official code's figure from a quiet machine; first = first epoch incl. compile)")
        if base:
            for name in names:
                cpu = float(np.median([t["cpu"] for t in times[name]]))
                out(f"  cpu-time ratio official / {name}: {base_cpu / cpu:.2f}x")
        out("  per-epoch wall times: " + "; ".join(
            f"{n} " + " ".join(f"{t['wall']:.1f}" for t in times[n]) for n in names))

        if not args.skip_inference:
            out(f"\n## inference, layered model, {args.threads} threads (ms per utterance, median)")
            rows, sizes = latency_rows(x, args.threads, args.repeats)
            for name, ms in rows:
                out(f"  {name:40s} {ms:8.2f} ms")
            out(f"  (official: {OFFICIAL_BATCH1_MS} ms at batch 1 through a tf.function, quiet machine)")
            out("\n## TFLite file sizes")
            for kind, size in sizes:
                out(f"  {kind:8s} {size:>10,d} bytes = {size / 1e6:.3f} MB = {size / 2**20:.3f} MiB")
            out("  the paper's '0.88 MB' = 463,431 weights x 2 bytes = 0.884 MiB: the float16 weights (in MiB)")
            out("\n## layout probe: L1 conv (32 x 92 x 20 x 96 -> 64, 3x3) forward + both gradients, XLA, CPU ms")
            for name, ms in layout_probe(args.threads):
                out(f"  {name:40s} {ms:8.1f} ms")

    if args.accuracy_epochs:
        out(f"\n## accuracy check: seed {args.seed}, {args.accuracy_epochs} epochs, speaker 03 held out "
            "(test scores of the last epoch; max over epochs is leaky, shown for reference)")
        for name in [n.strip() for n in args.accuracy_variants.split(",") if n.strip()]:
            start = time.perf_counter()
            w = Worker(name, data, args.threads, args.seed)
            curve = w.ask(f"train {args.accuracy_epochs}")["curve"]
            w.close()
            last = curve[-1]
            tail = curve[-5:]
            out(f"  {name:15s} last epoch UA {last['ua']:6.2f} WA {last['wa']:6.2f} | mean of last 5: "
                f"UA {np.mean([c['ua'] for c in tail]):6.2f} WA {np.mean([c['wa'] for c in tail]):6.2f} | "
                f"max UA {max(c['ua'] for c in curve):6.2f} ({time.perf_counter() - start:.0f} s)")
            out("    UA per epoch: " + " ".join(f"{c['ua']:.0f}" for c in curve))
    shutil.rmtree(tmp, ignore_errors=True)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text("\n".join(lines) + "\n")


def roofline(n_train: int, input_shape: tuple, threads: int, out) -> None:
    """The epoch's arithmetic against this CPU's matrix-product rates in fp32 and bf16 (TensorFlow).

    A training step costs about three forward passes (forward, then gradients of the inputs
    and of the weights), so an epoch is ~``3 x 2 x MACs x n_train`` FLOPs; no TensorFlow schedule
    of that work beats the figure divided by the rate TensorFlow reaches on one large product
    (convolutions rarely get that close). Measure on quiet cores: the rates are wall-clock.
    """
    import tensorflow as tf

    from papers.light_sernet.model import expected_macs

    epoch_flops = 3 * 2 * expected_macs((*input_shape, 1)) * n_train
    rates = {}
    for dtype in (tf.float32, tf.bfloat16):
        a = tf.random.normal((2048, 2048), dtype=tf.float32)
        a = tf.cast(a, dtype)
        product = tf.function(lambda m: tf.matmul(m, m))
        product(a).numpy()
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            product(a).numpy()
            best = min(best, time.perf_counter() - start)
        rates[dtype.name] = 2 * 2048**3 / best
    out(f"\n## roofline, {threads} threads: an epoch = 3 x 2 x {expected_macs((*input_shape, 1)):,} MACs x {n_train} "
        f"utterances = {epoch_flops / 1e9:.0f} GFLOP")
    for name, rate in rates.items():
        out(f"  {name:9s} matmul 2048^3: {rate / 1e9:5.0f} GFLOP/s -> an epoch needs >= {epoch_flops / rate:.2f} s")
    out(f"  the target <= {OFFICIAL_SECONDS_PER_EPOCH / 2:.1f} s/epoch needs "
        f"{epoch_flops / (OFFICIAL_SECONDS_PER_EPOCH / 2) / 1e9:.0f} GFLOP/s sustained")


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                flags = Path("/proc/cpuinfo").read_text()
                extra = ("AVX-512" + (" BF16" if "avx512_bf16" in flags else "") + (" AMX" if "amx_tile" in flags else "")
                         if "avx512f" in flags else "AVX2, no AVX-512/AMX" if "avx2" in flags else "")
                return f"{line.split(':', 1)[1].strip()}, {extra}"
    except OSError:
        pass
    return platform.processor() or platform.machine()


if __name__ == "__main__":
    main()
