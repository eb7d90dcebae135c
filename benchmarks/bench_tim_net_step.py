"""Seconds per TIM-Net training epoch with ``ser_common.keras_training.fit``, one TF thread.

Small on purpose, so that two commits can be compared interleaved on one machine (run it
from each checkout in turn; timings from different days or machines do not compare)::

    for round in 1 2 3; do for tree in /work/old /work/main; do
        (cd $tree && PYTHONPATH=$PWD /work/main/.venv/bin/python /work/main/benchmarks/bench_tim_net_step.py $tree)
    done; done

Two optional arguments after the label compare settings of one checkout the same way:
``PRECISION`` (``float32``, the default, or ``mixed_bfloat16``: a Keras policy, the matrix
products in bf16, which only pays on a CPU whose oneDNN kernels use AMX or AVX-512 BF16) and
``xla`` / ``no-xla`` (default ``xla``)::

    for round in 1 2; do for p in float32 mixed_bfloat16; do for x in xla no-xla; do
        .venv/bin/python benchmarks/bench_tim_net_step.py "$p $x" $p $x
    done; done; done
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)

from papers.tim_net.model import build_tim_net  # noqa: E402
from ser_common import keras_training  # noqa: E402


def main() -> None:
    label = sys.argv[1] if len(sys.argv) > 1 else "this checkout"
    precision = sys.argv[2] if len(sys.argv) > 2 else "float32"
    xla = (sys.argv[3] if len(sys.argv) > 3 else "xla") == "xla"
    keras.mixed_precision.set_global_policy(precision)
    rng = np.random.default_rng(0)
    x = rng.normal(0, 30, (481, 188, 39)).astype(np.float32)
    y = rng.integers(0, 7, 481)
    model = build_tim_net(x.shape[1:], 7, implementation="fused", seed=0)
    result = keras_training.fit(
        model, (x, y), epochs=7, batch_size=64, optimizer=keras.optimizers.Adam(1e-3, beta_1=0.93, beta_2=0.98),
        label_smoothing=0.1, jit_compile=xla, seed=0, progress=False,
    )
    times = result.history["time_s"]
    print(label, "median s/epoch", round(float(np.median(times[2:])), 3), [round(t, 2) for t in times])


if __name__ == "__main__":
    main()
