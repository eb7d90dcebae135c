"""Tables of results files: ``python -m ser_common.report results/*/*.json``.

:func:`leaderboard` is the table of ``notebooks/05_leaderboard`` and of the README: one
row per results file with finished folds, grouped by (corpus, protocol), with a "same
folds" letter (rows with one letter were tested on the same utterances fold by fold),
leaky selections marked, and the paper's number of the same corpus, protocol and
selection beside ours. The README's table is written by ``make results-table``
(``--readme README.md``) between ``<!-- results-table -->`` and ``<!-- /results-table -->``,
and a test fails when it is stale, so every number in it comes from a results JSON.
"""

from __future__ import annotations

import argparse
import re
import string
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ser_common.results import _format_percent, _normalised_name, load_reference, load_results, summary_table

START, END = "<!-- results-table -->", "<!-- /results-table -->"
_BLOCK = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)

#: The columns of the README table (the notebook adds its measured ones).
COLUMNS = ("corpus", "protocol", "same folds", "model", "selection", "folds run", "epochs", "params", "UA", "WA",
           "macro_f1", "s/epoch", "paper UA / WA", "Δ UA / WA", "file")

#: Identity keys that have their own column, or that say nothing about the model: never used to tell rows apart.
_NOT_VARIANTS = {"dataset", "protocol", "selection", "folds_fingerprint", "n_utterances", "skipped_files"}


def markdown(table: pd.DataFrame) -> str:
    """A pandas table as a GitHub markdown table (no extra dependency)."""
    header = "| " + " | ".join(map(str, table.columns)) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    body = ["| " + " | ".join("" if v is None or v != v else str(v) for v in row) + " |"
            for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def _paper_entry(data: dict) -> dict | None:
    """The first published entry of the same corpus, protocol and selection (``compare_with_paper``'s rule)."""
    try:
        entries = load_reference(data["paper"])["entries"]
    except FileNotFoundError:
        return None
    return next((e for e in entries if _normalised_name(e["dataset"]) == _normalised_name(data["dataset"])
                 and e["protocol"] == data["protocol"] and e["selection"] == data["params"].get("selection")), None)


def _delta(ours: float | None, published: float | None) -> str:
    return "–" if ours is None or published is None else f"{ours - published:+.2f}"


def leaderboard(paths: Sequence[str | Path]) -> pd.DataFrame:
    """One row per results file with at least one finished fold (the others in ``attrs["left_out"]``).

    Formatted columns :data:`COLUMNS`, plus numbers for plots and tests: ``ua_mean``,
    ``ua_std``, ``wa_mean``, ``macro_f1_mean`` (percent), ``paper_ua``, ``paper_wa``,
    ``leaky``, ``fingerprint``, ``paper_label``, ``path``. Rows are sorted by corpus,
    protocol and UA (best first). A model name shared by runs of one corpus and protocol
    that differ in a setting gets that setting appended, e.g. ``CkTIM-Net (n_tab=3)``.
    """
    loaded = [(Path(path), load_results(path)) for path in paths]
    kept = [path for path, data in loaded if data["folds"]]
    if not kept:
        return pd.DataFrame(columns=[*COLUMNS, "ua_mean"])
    datas = [data for _, data in loaded if data["folds"]]
    table = summary_table(kept).rename(columns={"dataset": "corpus"})
    table.attrs["left_out"] = [path.name for path, data in loaded if not data["folds"]]
    table["path"] = [str(path) for path in kept]
    for key in ("ua", "wa", "macro_f1"):
        table[f"{key}_mean"] = [100 * d["aggregate"][key]["mean"] if key in d["aggregate"] else None for d in datas]
    table["ua_std"] = [100 * d["aggregate"]["ua"]["std"] for d in datas]
    table["fingerprint"] = table.pop("folds")
    table["leaky"] = [d["params"].get("selection") == "best_test_leaky" for d in datas]
    table.loc[table["leaky"], "selection"] += " ⚠ LEAKY"
    table.loc[table["epochs"].isna() & (table["selection"] == "last"), "selection"] = "none"
    # Tell apart the runs of one model that differ in a setting (e.g. CkTIM-Net's n_tab), where
    # they meet: rows are only compared within a corpus and protocol.
    groups = [(name, d["paper"], d["dataset"], d["protocol"]) for name, d in zip(table["model"], datas)]
    for i, data in enumerate(datas):
        same = [d for d, group in zip(datas, groups) if group == groups[i]]
        keys = sorted({k for d in same for k in set(d["params"]) | set(data["params"])
                       if k not in _NOT_VARIANTS and d["params"].get(k) != data["params"].get(k)})
        if keys:
            settings = ", ".join(f"{k}={data['params'].get(k)}" for k in keys)
            table.loc[i, "model"] = f"{groups[i][0]} ({settings})"
    entries = [_paper_entry(d) or {} for d in datas]
    for key in ("label", "ua", "wa"):
        table[f"paper_{key}"] = [e.get(key) for e in entries]
    table["paper UA / WA"] = [f"{_format_percent(e.get('ua'))} / {_format_percent(e.get('wa'))}" if e else ""
                              for e in entries]
    table["Δ UA / WA"] = [" / ".join(_delta(ours, e.get(k)) for k, ours in (("ua", row.ua_mean), ("wa", row.wa_mean)))
                          if e else "" for e, row in zip(entries, table.itertuples())]
    table["s/epoch"] = table.pop("median s/epoch")
    table["s/epoch by device"] = table.pop("median s/epoch by device")
    table["params"] = [f"{int(v):,}" if pd.notna(v) else "–" for v in table["params"]]
    table["epochs"] = [int(v) if pd.notna(v) else "–" for v in table["epochs"]]
    table = table.sort_values(["corpus", "protocol", "ua_mean"], ascending=[True, True, False], kind="stable")
    # one letter per fingerprint within a corpus, in order of appearance (a missing fingerprint gets one too)
    codes = table.groupby("corpus")["fingerprint"].transform(lambda fingerprints: pd.factorize(
        fingerprints, use_na_sentinel=False)[0])
    table["same folds"] = [string.ascii_uppercase[code % 26] for code in codes]
    return table[[*COLUMNS, *(c for c in table.columns if c not in COLUMNS)]].reset_index(drop=True)


def _epoch_time_cell(median: float | None, by_device: dict[str, float]) -> str:
    """The median s/epoch; one per device, each named, when the folds ran on more than one machine or a GPU."""
    known = set(by_device) - {"unrecorded"}  # folds recorded before devices were: show them only beside a GPU
    if len(known) > 1 or "cuda" in known:
        return ", ".join(f"{seconds:g} ({device})" for device, seconds in sorted(by_device.items(), key=lambda i: i[1]))
    return "" if median is None or pd.isna(median) else f"{median:g}"


def readme_block(paths: Sequence[str | Path]) -> str:
    """The README's generated block, markers included."""
    table = leaderboard(sorted(Path(p) for p in paths))
    lines = [
        START,
        "<!-- generated by `make results-table` from results/*/*.json; edit ser_common/report.py, not this table -->",
        "UA, WA and macro-F1 in %, mean ± std over the folds run. Compare rows only within one corpus and protocol;",
        "rows with the same **same folds** letter were tested on the same utterances fold by fold (paired tests in",
        "`notebooks/05_leaderboard`). ⚠ LEAKY: the epoch was chosen on the test fold. *s/epoch*: median wall time",
        "per epoch inside the runs, per device when folds ran on more than one (this CPU unless a GPU, `cuda`, is",
        "named; cores shared with other runs; the benchmarks below measure speed). *paper*: the",
        "published number of the same corpus, protocol and selection (`papers/<paper>/reference.json`);",
        "Δ = ours − paper.",
        "",
        markdown(table[list(COLUMNS)].assign(**{"s/epoch": [
            _epoch_time_cell(median, by_device) for median, by_device in zip(table["s/epoch"], table["s/epoch by device"])]})),
    ]
    if table.attrs.get("left_out"):
        lines += ["", "Not in the table (no finished fold yet): " + ", ".join(f"`{n}`" for n in table.attrs["left_out"])
                  + "."]
    return "\n".join([*lines, END])


def update_readme(readme: Path, paths: Sequence[str | Path]) -> bool:
    """Rewrite the block between the markers; True if the file changed."""
    text = readme.read_text(encoding="utf-8")
    if not _BLOCK.search(text):
        raise ValueError(f"{readme} has no {START} ... {END} block to fill")
    new = _BLOCK.sub(lambda _: readme_block(paths), text, count=1)
    if new != text:
        readme.write_text(new, encoding="utf-8")
    return new != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", type=Path, help="results JSON files")
    parser.add_argument("--columns", nargs="*", help="only these columns (default: all)")
    parser.add_argument("--leaderboard", action="store_true", help="the leaderboard table instead of the summary")
    parser.add_argument("--readme", type=Path, help="rewrite this file's results-table block")
    parser.add_argument("--check", action="store_true", help="with --readme: only check; exit 1 if it is stale")
    args = parser.parse_args(argv)
    if args.readme and args.check:
        current = _BLOCK.search(args.readme.read_text(encoding="utf-8"))
        if current is None or current.group(0) != readme_block(args.paths):
            print(f"{args.readme}: the results table is stale; run `make results-table`")
            return 1
    elif args.readme:
        changed = update_readme(args.readme, args.paths)
        print(f"{args.readme}: " + ("results table updated" if changed else "up to date"))
    else:
        table = leaderboard(args.paths)[list(COLUMNS)] if args.leaderboard else summary_table(args.paths)
        print(markdown(table[args.columns] if args.columns else table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
