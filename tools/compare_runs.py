"""Did a re-run reproduce a committed run? Compare two results files fold by fold.

    .venv/bin/python tools/compare_runs.py results/emodb/RUN.json runs/repro/RUN.json [--tolerance 0.02]

Prints whether the two runs have the same identity (every parameter, the folds fingerprint
included) and, for every fold both recorded, UA and WA of each and their difference; then, for
runs on the same folds, the paired view of the difference (second − first) in UA, WA and macro-F1:
mean, the number of folds where the second run is better, and the two-sided Wilcoxon signed-rank
p-value (``ser_common.results.paired_test``). That is how two *different* runs on the same folds
(an ablation variant against its model) are compared in the README. Exit
status 0 when the identities match and every UA / WA difference is within ``--tolerance``
(as a fraction: 0.02 = 2 points), 1 otherwise. Run-to-run noise of the frameworks is not zero
on every path (XLA, reductions whose order depends on threads), so a tolerance of a few
points is an honest reproduction criterion for one fold; the mean over folds moves less.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ser_common.results import load_results, paired_test  # noqa: E402

IGNORED = {"results_dir", "results_path", "threads", "progress", "resume", "overwrite", "only_folds", "max_folds"}


def paired_summary(first: dict, second: dict) -> str:
    """One line per metric: second − first over the common folds, folds where second is better, Wilcoxon p."""
    try:
        tests = {metric: paired_test(second, first, metric) for metric in ("ua", "wa", "macro_f1")}
    except ValueError as error:  # other folds: a paired test would compare different test utterances
        return f"no paired test: {error}"
    except KeyError as error:
        return f"no paired test: a fold lacks the metric {error}"
    lines = ["paired over the common folds (second − first; Wilcoxon signed-rank, two-sided):"]
    for metric, test in tests.items():
        p_value = "n/a (fewer than 5 folds, or no difference)" if test["p_value"] is None else f"{test['p_value']:.3f}"
        better = sum(difference > 0 for difference in test["differences"])
        lines.append(f"  {metric:>8}  {100 * test['mean_difference']:+6.2f} points, second better in {better} of "
                     f"{test['n']} folds, p = {p_value}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("committed", type=Path)
    parser.add_argument("rerun", type=Path)
    parser.add_argument("--tolerance", type=float, default=0.02, help="largest |difference| of UA / WA per fold")
    args = parser.parse_args()
    a, b = load_results(args.committed), load_results(args.rerun)
    params_a = {k: v for k, v in a["params"].items() if k not in IGNORED}
    params_b = {k: v for k, v in b["params"].items() if k not in IGNORED}
    differing = sorted(k for k in params_a.keys() | params_b.keys() if params_a.get(k) != params_b.get(k))
    same_identity = not differing and all(a[k] == b[k] for k in ("paper", "dataset", "protocol", "seed"))
    print(f"identity: {'the same' if same_identity else 'DIFFERENT: ' + ', '.join(differing)}"
          f" (folds fingerprint {a['params'].get('folds_fingerprint')} vs {b['params'].get('folds_fingerprint')})")
    common = sorted(set(a["folds"]) & set(b["folds"]), key=int)
    worst = 0.0
    print(f"{'fold':>4}  {'UA committed':>12}  {'UA re-run':>9}  {'Δ UA':>6}  {'WA committed':>12}  {'WA re-run':>9}  {'Δ WA':>6}")
    for key in common:
        ma, mb = a["folds"][key]["metrics"], b["folds"][key]["metrics"]
        d_ua, d_wa = mb["ua"] - ma["ua"], mb["wa"] - ma["wa"]
        worst = max(worst, abs(d_ua), abs(d_wa))
        print(f"{int(key) + 1:>4}  {100 * ma['ua']:12.2f}  {100 * mb['ua']:9.2f}  {100 * d_ua:+6.2f}  "
              f"{100 * ma['wa']:12.2f}  {100 * mb['wa']:9.2f}  {100 * d_wa:+6.2f}")
    if not common:
        print("no fold was recorded by both runs")
        return 1
    mean = {m: [100 * sum(r["folds"][k]["metrics"][m] for k in common) / len(common) for r in (a, b)] for m in ("ua", "wa")}
    print(f"mean over the {len(common)} common folds: UA {mean['ua'][0]:.2f} vs {mean['ua'][1]:.2f}, "
          f"WA {mean['wa'][0]:.2f} vs {mean['wa'][1]:.2f}; largest per-fold difference {100 * worst:.2f} points")
    print(paired_summary(a, b))
    reproduced = same_identity and worst <= args.tolerance
    print("reproduced" if reproduced else f"NOT reproduced within {100 * args.tolerance:.1f} points")
    return 0 if reproduced else 1


if __name__ == "__main__":
    sys.exit(main())
