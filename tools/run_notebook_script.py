"""Run a paired notebook's py:percent twin as a script, with papermill-style parameter overrides.

For a machine without a Jupyter stack (the lent GPU machine that trained GLAM): the same cells run in order, the
overrides are applied right after the cell tagged ``parameters`` (as papermill injects them).
Usage: python tools/run_notebook_script.py notebooks/03_glam.py '{"dataset": "emodb", ...}'
"""
import json
import os
import re
import sys
import time

os.environ.setdefault("MPLBACKEND", "Agg")
path, overrides = sys.argv[1], json.loads(sys.argv[2])
source = open(path, encoding="utf-8").read()
cells = re.split(r"^# %%", source, flags=re.M)[1:]
namespace = {"__name__": "__main__", "display": print}
start = time.time()
for number, cell in enumerate(cells):
    header, _, body = cell.partition("\n")
    if "[markdown]" in header:
        continue
    exec(compile(body, f"{path}:cell{number}", "exec"), namespace)
    if 'tags=["parameters"]' in header:
        namespace.update(overrides)
        print("parameters:", overrides, flush=True)
print(f"finished {path} in {time.time() - start:.0f} s", flush=True)
