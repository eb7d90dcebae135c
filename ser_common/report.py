"""Print a markdown table of results files: ``python -m ser_common.report results/emodb/*.json``.

The README's results table is made with this command, so every number in it comes from a
results JSON written by a notebook run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from ser_common.results import summary_table


def markdown(table: pd.DataFrame) -> str:
    """A pandas table as a GitHub markdown table (no extra dependency)."""
    header = "| " + " | ".join(map(str, table.columns)) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    body = ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("paths", nargs="+", type=Path, help="results JSON files")
    parser.add_argument("--columns", nargs="*", help="only these columns (default: all)")
    args = parser.parse_args(argv)
    table = summary_table(args.paths)
    if args.columns:
        table = table[args.columns]
    print(markdown(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
