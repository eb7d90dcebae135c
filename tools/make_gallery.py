"""Render the executed runs under results/ as a static HTML gallery (`make html`).

    python tools/make_gallery.py [RESULTS_DIR] [OUT_DIR]      # defaults: results build/html

Every ``RESULTS_DIR/**/*.ipynb`` is converted with nbconvert's HTML exporter as it is, outputs
included; nothing is executed. Pages go to ``OUT_DIR/<corpus>/<name>.html`` and
``OUT_DIR/index.html`` links them, grouped by corpus (the folder under RESULTS_DIR), each
titled by the notebook's first markdown heading and listed with the parameters papermill
injected, so two runs of one notebook (say TIM-Net's paper protocol and its
speaker-independent run) can be told apart.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.M)
PARAMETER = re.compile(r"^([A-Za-z_]\w*)\s*=\s*(.+)$", re.M)


def notebook_title(nb: nbformat.NotebookNode, fallback: str) -> str:
    """The text of the first markdown heading, without markdown emphasis or code marks."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = HEADING.search(cell.source)
            if match:
                return re.sub(r"[*`]", "", match.group(1)).strip() or fallback
    return fallback


def injected_parameters(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """The ``name = value`` lines of papermill's injected-parameters cell (empty when there is none)."""
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            return PARAMETER.findall(cell.source)
    return []


def executed_notebooks(results_dir: Path) -> list[Path]:
    return sorted(p for p in results_dir.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def build_gallery(results_dir: Path, out_dir: Path) -> Path:
    """Render every executed notebook under ``results_dir`` into ``out_dir``; return the index path."""
    results_dir, out_dir = Path(results_dir), Path(out_dir)
    notebooks = executed_notebooks(results_dir)
    if not notebooks:
        raise SystemExit(f"no executed notebooks (*.ipynb) under {results_dir}")
    exporter = HTMLExporter(template_name="lab")
    groups: dict[str, list[tuple[str, str, str, list[tuple[str, str]]]]] = {}
    for path in notebooks:
        relative = path.relative_to(results_dir)
        corpus = relative.parent.as_posix() if relative.parent != Path(".") else "(top level)"
        nb = nbformat.read(path, as_version=4)
        title = notebook_title(nb, path.stem)
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": f"{title} ({path.name})"}})
        page = out_dir / relative.with_suffix(".html")
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(body, encoding="utf-8")
        groups.setdefault(corpus, []).append((page.relative_to(out_dir).as_posix(), title,
                                              f"{results_dir.name}/{relative.as_posix()}", injected_parameters(nb)))
        print(f"{path} -> {page}")
    index = out_dir / "index.html"
    index.write_text(_index_html(groups), encoding="utf-8")
    print(f"gallery: {index} ({len(notebooks)} notebooks)")
    return index


def _index_html(groups: dict[str, list[tuple[str, str, str, list[tuple[str, str]]]]]) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>ser-notebooks: executed runs</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
        "line-height:1.45}li{margin:.6rem 0}code{font-size:.85em}.params{color:#555;font-size:.85em}</style>",
        "</head><body>",
        "<h1>ser-notebooks: executed runs</h1>",
        "<p>The notebooks in <code>results/</code>, rendered as they were executed (nothing was re-run to "
        "make these pages). Each run's results JSON sits beside its notebook in the repository.</p>",
    ]
    for corpus in sorted(groups):
        parts.append(f'<h2 id="{e(corpus)}">{e(corpus)}</h2>')
        parts.append("<ul>")
        for href, title, source, parameters in groups[corpus]:
            shown = ", ".join(f"{name} = {value}" for name, value in parameters)
            parts.append(
                f'<li><a href="{e(href)}">{e(title)}</a> <code>{e(source)}</code>'
                + (f'<br><span class="params">parameters: {e(shown)}</span>' if shown else "")
                + "</li>"
            )
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results_dir", nargs="?", default="results", type=Path)
    parser.add_argument("out_dir", nargs="?", default="build/html", type=Path)
    args = parser.parse_args(argv)
    build_gallery(args.results_dir, args.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
