"""Speed of the PyTorch TIM-Net and CkTIM-Net on EMO-DB-sized input (CPU or GPU).

For each model and TAB count it prints: trainable parameters, training seconds per epoch
(``--n-train`` random utterances of 39 x ``--length``, batch 64, Adam lr 0.01, median of
``--repeats`` epochs after one warm-up epoch, through ``ser_common.torch_training.fit``)
and per-utterance inference latency at batch 1 and batch 64 (eval mode, no grad, median of
``--repeats`` calls after a warm-up call).

Other processes sharing the cores make CPU numbers noisy: compare numbers from one run.
With two OpenMP threads on two busy cores every parallel op waits for a descheduled
thread (we saw 2-5x slower epochs), so ``--threads 1`` gives steadier numbers there.

    python benchmarks/bench_cktim_net.py --threads 2 --repeats 3
    python benchmarks/bench_cktim_net.py --fft-sweep          # justify CKConv's fft="auto" rule
    python benchmarks/bench_cktim_net.py --compare-direct     # CkTIM with the direct path (before FFT)
    python benchmarks/bench_cktim_net.py --compile --tabs 1   # does torch.compile pay off on this CPU?
    python benchmarks/bench_cktim_net.py --generators conv kan --tabs 1   # SIREN vs KAN kernel generator

Channels-last memory format is a 4-D (NCHW) convolution option; these models are 1-D
convolutions over (batch, channels, time), so it does not apply.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import inspect
import io
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from papers.cktim_net.ckconv import causal_conv_full, prefer_fft  # noqa: E402
from papers.cktim_net.model import build_cktim, build_tim, count_parameters  # noqa: E402
from ser_common.torch_training import fit, pick_device  # noqa: E402

N_CLASSES = 7
BATCH = 64


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    parser.add_argument("--repeats", type=int, default=3, help="timed epochs / inference calls per cell (median)")
    parser.add_argument("--n-train", type=int, default=481, help="training utterances per epoch (EMO-DB 9/10 fold)")
    parser.add_argument("--length", type=int, default=188, help="frames per utterance")
    parser.add_argument("--tabs", type=int, nargs="+", default=[1, 3, 6], help="TAB counts to measure")
    parser.add_argument("--models", nargs="+", default=["tim", "cktim"], choices=["tim", "cktim"])
    parser.add_argument("--generators", nargs="+", default=["conv"], choices=["conv", "kan"],
                        help="CkTIM kernel generators to time: conv (SIREN-style, default) and/or kan")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or mps")
    parser.add_argument("--compare-direct", action="store_true",
                        help="also time CkTIM with TAB 1 on the direct (non-FFT) convolution path")
    parser.add_argument("--compile", action="store_true",
                        help="also time each model wrapped in torch.compile (compilation falls in the warm-up)")
    parser.add_argument("--fft-sweep", action="store_true", help="only time causal_conv_full, direct vs FFT")
    args = parser.parse_args()
    if args.repeats < 1 or args.n_train < 1 or args.length < 2:
        parser.error("--repeats and --n-train must be >= 1 and --length >= 2")
    return args


def timed_calls(call, repeats: int) -> list[float]:
    """Seconds of ``repeats`` calls after one warm-up call (first-call allocations, lazy init)."""
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def _adam_argument(model: torch.nn.Module) -> dict:
    """Adam lr 0.01 in the form ``fit`` takes: an ``optimizer_factory`` or (newer API) an ``optimizer``."""
    if "optimizer_factory" in inspect.signature(fit).parameters:
        return {"optimizer_factory": lambda params: torch.optim.Adam(params, lr=0.01)}
    return {"optimizer": torch.optim.Adam(model.parameters(), lr=0.01)}


def train_seconds_per_epoch(model: torch.nn.Module, x: np.ndarray, y: np.ndarray, repeats: int, device) -> float:
    with contextlib.redirect_stdout(io.StringIO()):  # keep the table clean of per-epoch lines
        result = fit(model, (x, y), epochs=1 + repeats, batch_size=BATCH, **_adam_argument(model),
                     device=device, progress=False, seed=0)
    return statistics.median(result.history["time_s"][1:])  # epoch 1 is the warm-up


def inference_seconds_per_utterance(model: torch.nn.Module, x: torch.Tensor, batch: int, repeats: int) -> float:
    model.eval()
    sample = x[:batch]

    def call() -> None:
        with torch.no_grad():
            model(sample)
        if sample.device.type == "cuda":
            torch.cuda.synchronize()

    return statistics.median(timed_calls(call, repeats)) / batch


def model_table(args: argparse.Namespace) -> None:
    device = pick_device(args.device)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.n_train, 39, args.length)).astype(np.float32)
    y = rng.integers(0, N_CLASSES, size=args.n_train)
    x_device = torch.from_numpy(x[:BATCH]).to(device)

    configs = []
    for name in args.models:
        generators = args.generators if name == "cktim" else ["conv"]
        configs += [(name, tabs, {} if generator == "conv" else {"kernel_generator": generator})
                    for generator in generators for tabs in args.tabs]
    if args.compare_direct:
        configs.append(("cktim", 1, {"fft": False}))
    if args.compile:
        configs += [(name, tabs, {"compile": True}) for name, tabs, options in list(configs) if not options]
    both = "kan" in args.generators and "cktim" in args.models
    names = {"tim": "TIM (PyTorch)", "cktim": "CkTIM-SIREN" if both else "CkTIM"}
    header = f"{'model':<22}{'TABs':>5}{'params':>12}{'train s/epoch':>15}{'ms/utt @1':>12}{'ms/utt @64':>12}"
    print(header)
    print("-" * len(header))
    for name, tabs, options in configs:
        torch.manual_seed(0)
        options = dict(options)
        compiled = options.pop("compile", False)
        model = build_tim(N_CLASSES, n_tab=tabs) if name == "tim" else build_cktim(N_CLASSES, n_tab=tabs, **options)
        if options.get("kernel_generator") == "kan":
            label = "CkTIM-KAN"
        else:
            label = names[name] + (" fft=False" if "fft" in options else "")
        params = count_parameters(model)
        if compiled:
            model = torch.compile(model)
            label += " compiled"
        train_s = train_seconds_per_epoch(model, x, y, args.repeats, device)
        latency_1 = inference_seconds_per_utterance(model, x_device, 1, args.repeats)
        latency_64 = inference_seconds_per_utterance(model, x_device, BATCH, args.repeats)
        print(f"{label:<22}{tabs:>5}{params:>12,}{train_s:>15.2f}{1e3 * latency_1:>12.2f}{1e3 * latency_64:>12.2f}",
              flush=True)


def fft_sweep(args: argparse.Namespace) -> None:
    """Direct / FFT time ratio of causal_conv_full (39 -> 39, kernel as long as the input)."""
    lengths = [16, 32, 64, 128, args.length]
    print("direct time / FFT time (>1: FFT faster), best of repeats; forward / forward+backward; "
          "* = fft='auto' picks the FFT")
    print(f"{'batch':>6}" + "".join(f"{'L=' + str(n):>18}" for n in lengths))
    for batch in (1, 2, 4, 16, 64):
        cells = []
        for length in lengths:
            x = torch.randn(batch, 39, length, requires_grad=True)
            kernel = torch.randn(39, 39, length, requires_grad=True)
            ratios = []
            for backward in (False, True):
                times = []
                for use_fft in (False, True):
                    def call(use_fft=use_fft, backward=backward):
                        if backward:
                            causal_conv_full(x, kernel, use_fft).sum().backward()
                        else:
                            with torch.no_grad():
                                causal_conv_full(x, kernel, use_fft)
                    # Best of several: a short kernel timing is easily inflated by other processes.
                    times.append(min(timed_calls(call, max(args.repeats, 5))))
                ratios.append(times[0] / times[1])
            mark = "*" if prefer_fft(batch, length) else " "
            cells.append(f"{ratios[0]:.2f}/{ratios[1]:.2f}{mark}")
        print(f"{batch:>6}" + "".join(f"{c:>18}" for c in cells), flush=True)


def main() -> None:
    args = parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__} | threads {torch.get_num_threads()} | device {args.device} | "
          f"{datetime.datetime.now().isoformat(timespec='seconds')}")
    print(f"input: {args.n_train} x 39 x {args.length}, batch {BATCH}, Adam lr 0.01, median of {args.repeats}")
    if args.fft_sweep:
        fft_sweep(args)
    else:
        model_table(args)


if __name__ == "__main__":
    main()
