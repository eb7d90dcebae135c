"""Pictures for the TIM-Net lesson, drawn from a built model (not from a hand-made figure)."""

from __future__ import annotations

import keras
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from papers.tim_net.model import receptive_field, tab_dilations


def _box(ax, x, y, text, width=1.6, height=0.6, colour="#dde8f6"):
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height, boxstyle="round,pad=0.03",
                                facecolor=colour, edgecolor="#3b5b8c", lw=1))
    ax.text(x, y, text, ha="center", va="center", fontsize=8)


def _arrow(ax, start, end, colour="#3b5b8c"):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=8, color=colour, lw=0.8))


def draw_architecture(model: keras.Model, input_shape: tuple[int, int] | None = None):
    """A block diagram of a built TIM-Net: both TAB stacks with their dilations, pooling, fusion, classifier.

    The number of TABs and their dilations are read from the model's layers.
    """
    dilations = tab_dilations(model)
    steps, channels = input_shape or tuple(model.input_shape[1:])
    n_classes = model.output_shape[-1]
    n = len(dilations)
    figure, ax = plt.subplots(figsize=(2.0 + 1.75 * n, 5.2), layout="constrained")
    x_tabs = [3.2 + 1.75 * j for j in range(n)]
    rows = {"forward": 3.6, "backward": 2.0}
    _box(ax, 0.45, 2.8, f"MFCC\n{steps} x {channels}", width=0.9, colour="#f3e6c4")
    for label, y in rows.items():
        _box(ax, 1.65, y, ("" if label == "forward" else "reverse time\n") + "1x1 conv", width=1.1, colour="#e4e4e4")
        _arrow(ax, (0.9, 2.8), (1.1, y))
        previous = 2.2
        for j, (x, d) in enumerate(zip(x_tabs, dilations), start=1):
            _box(ax, x, y, f"TAB {j}\nk=2, d={d}")
            _arrow(ax, (previous, y), (x - 0.8, y))
            previous = x + 0.8
        ax.text(0.0, y + 0.45, label, fontsize=9, style="italic")
    for j, x in enumerate(x_tabs, start=1):
        _box(ax, x, 0.6, f"add + mean\nover time -> g{j}", width=1.5, height=0.55, colour="#e2f0d9")
        _arrow(ax, (x, rows["backward"] - 0.3), (x, 0.88))
        ax.plot([x + 0.55, x + 0.55], [rows["forward"] - 0.3, 0.88], color="#3b5b8c", lw=0.6, ls=":")
    x_fusion = x_tabs[-1] + 1.9
    _box(ax, x_fusion, 0.6, f"fusion\nsum_j w_j g_j\n({n} weights)", width=1.5, height=0.8, colour="#fbe0e0")
    # Every scale feeds the fusion: a bus under the g_j boxes collects all of them.
    for x in x_tabs:
        ax.plot([x, x], [0.32, 0.12], color="#3b5b8c", lw=0.8)
    ax.plot([x_tabs[0], x_fusion - 0.3], [0.12, 0.12], color="#3b5b8c", lw=0.8)
    _arrow(ax, (x_fusion - 0.3, 0.12), (x_fusion - 0.3, 0.2))
    _box(ax, x_fusion, 2.0, f"dense {channels}->{n_classes}\nsoftmax", width=1.5, colour="#fbe0e0")
    _arrow(ax, (x_fusion, 1.0), (x_fusion, 1.7))
    ax.set_xlim(-0.2, x_fusion + 1.0)
    ax.set_ylim(-0.05, 4.3)
    ax.axis("off")
    ax.set_title(f"TIM-Net as built: {n} TABs per direction, receptive field {receptive_field(n)} frames "
                 f"(input {steps} frames)", fontsize=10)
    return figure


def plot_receptive_fields(n_tab: int, n_frames: int, hop_seconds: float):
    """Receptive field (frames and seconds) after each TAB, against the input length."""
    depths = np.arange(1, n_tab + 1)
    fields = np.array([receptive_field(j) for j in depths])
    figure, ax = plt.subplots(figsize=(7, 3.2), layout="constrained")
    ax.bar(depths, fields, color=["tab:blue" if f < n_frames else "tab:green" for f in fields])
    ax.axhline(n_frames, color="tab:red", ls="--", label=f"input length: {n_frames} frames = {n_frames * hop_seconds:.2f} s")
    for depth, frames in zip(depths, fields):
        ax.text(depth, frames, f"{frames}\n{frames * hop_seconds:.2f} s", ha="center", va="bottom", fontsize=7)
    ax.set(yscale="log", xlabel="TAB depth j (dilation 2^(j-1))", ylabel="receptive field (frames)",
           title="what each scale g_j can see", xticks=depths)
    ax.legend(loc="upper left")
    return figure
