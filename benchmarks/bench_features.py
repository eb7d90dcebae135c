"""Feature extraction speed on real EMO-DB: cold (nothing cached) vs cached reload.

Extracts the TIM-Net preset (22,050 Hz, 39 MFCC, 188 frames) for all 535 EMO-DB files
into a fresh cache folder, then loads the same features again from the cache, and prints
both times and their ratio, and what the cache key costs: a BLAKE2b digest of every file's
bytes (so edited content is never served stale). Targets (2 cores): cold < 30 s, cached < 1 s.

    .venv/bin/python benchmarks/bench_features.py                       # ../shared/data/emodb
    .venv/bin/python benchmarks/bench_features.py --data-dir /path/to/emodb --preset light_sernet
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import importlib  # noqa: E402

from ser_common import extract_features, load_manifest  # noqa: E402
from ser_common.features import file_digest  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "emodb"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--preset", default="tim_net", help="a paper folder: papers/<preset>/features.py PRESET")
    parser.add_argument("--n-jobs", type=int, default=-1)
    parser.add_argument("--repeats", type=int, default=3, help="cached reloads (median reported)")
    args = parser.parse_args()

    spec = importlib.import_module(f"papers.{args.preset}.features").PRESET
    manifest = load_manifest("emodb", args.data_dir)
    print(f"# feature extraction, {datetime.date.today()}, {len(manifest)} EMO-DB files, preset {args.preset}, "
          f"{os.cpu_count()} CPUs, n_jobs={args.n_jobs}")
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        X, y, _ = extract_features(manifest, spec, cache_dir=cache, n_jobs=args.n_jobs, progress=False)
        cold = time.perf_counter() - start
        reloads = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            X_again, _, _ = extract_features(manifest, spec, cache_dir=cache, n_jobs=args.n_jobs,
                                             progress=False)
            reloads.append(time.perf_counter() - start)
    cached = sorted(reloads)[len(reloads) // 2]
    start = time.perf_counter()
    for path in manifest["path"]:
        file_digest(path)
    hashing = time.perf_counter() - start
    assert (X_again == X).all()
    print(f"features: {X.shape}, {X.nbytes / 2**20:.1f} MiB")
    print(f"cold extraction : {cold:7.2f} s   (target < 30 s)")
    print(f"cached reload   : {cached:7.3f} s   (target < 1 s; median of {args.repeats})")
    print(f"ratio cold / cached: {cold / cached:.0f}x")
    print(f"content digests of all {len(manifest)} files (part of every cached reload): {hashing:.3f} s")


if __name__ == "__main__":
    main()
