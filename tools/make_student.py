"""Make the student version of the lesson notebooks: every worked solution replaced by a stub (`make student`).

    python tools/make_student.py [SOURCE_DIR] [OUT_DIR] [--overwrite]   # defaults: notebooks build/student

Every ``SOURCE_DIR/NN_*.ipynb`` is copied to ``OUT_DIR`` with its solutions removed, the way
nbgrader's ``ClearSolutions`` does it:

* in a **code** cell, the lines from ``### BEGIN SOLUTION`` to ``### END SOLUTION`` (both
  markers included) become nbgrader's stub, indented like the ``BEGIN`` line::

      # YOUR CODE HERE
      raise NotImplementedError()

* in a **markdown** cell, the lines from ``=== BEGIN SOLUTION ===`` to ``=== END SOLUTION ===``
  become ``YOUR ANSWER HERE``.

Everything else is kept as it is (the exercise texts, the lesson's code, cell ids and
metadata); outputs and execution counts are cleared. The markdown files of SOURCE_DIR (the
glossary the notebooks link to) are copied too.

The notebooks are checked before anything is written: a ``BEGIN`` without its ``END`` (or
an ``END`` without a ``BEGIN``, or two ``BEGIN`` in a row) stops the tool with an error
naming the notebook and the cell; so does an output file that already exists, unless
``--overwrite`` is given. Needs only the standard library and nbformat.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import NamedTuple

import nbformat

CODE_BEGIN, CODE_END = "### BEGIN SOLUTION", "### END SOLUTION"
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
TEXT_BEGIN, TEXT_END = "=== BEGIN SOLUTION ===", "=== END SOLUTION ==="
TEXT_STUB = ("YOUR ANSWER HERE",)
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"


class UnbalancedMarkers(ValueError):
    """A solution region that does not open and close exactly once."""


class Region(NamedTuple):
    """One solution region of a cell: lines ``begin`` .. ``end`` (0-based, the marker lines)."""

    begin: int
    end: int
    indent: str


def _markers(cell_type: str) -> tuple[str, str, tuple[str, ...]] | None:
    if cell_type == "code":
        return CODE_BEGIN, CODE_END, CODE_STUB
    if cell_type == "markdown":
        return TEXT_BEGIN, TEXT_END, TEXT_STUB
    return None


def solution_regions(source: str, cell_type: str, where: str = "cell") -> list[Region]:
    """The solution regions of one cell's source, checked for balance.

    ``where`` names the cell in the error message (notebook and cell number).

    Raises
    ------
    UnbalancedMarkers
        For a ``BEGIN`` inside an open region, an ``END`` outside one, or a region left open.
    """
    markers = _markers(cell_type)
    if markers is None:
        return []
    begin_marker, end_marker, _ = markers
    regions, open_at, indent = [], None, ""
    for number, line in enumerate(source.splitlines()):
        stripped = line.strip()
        if stripped.startswith(begin_marker):
            if open_at is not None:
                raise UnbalancedMarkers(f"{where}: {begin_marker!r} on line {number + 1} while the solution opened on "
                                        f"line {open_at + 1} is not closed (missing {end_marker!r})")
            open_at, indent = number, line[: len(line) - len(line.lstrip())]
        elif stripped.startswith(end_marker):
            if open_at is None:
                raise UnbalancedMarkers(f"{where}: {end_marker!r} on line {number + 1} without a {begin_marker!r} "
                                        "before it")
            regions.append(Region(open_at, number, indent))
            open_at = None
    if open_at is not None:
        raise UnbalancedMarkers(f"{where}: {begin_marker!r} on line {open_at + 1} has no matching {end_marker!r}")
    return regions


def strip_solutions(source: str, cell_type: str, where: str = "cell") -> str:
    """``source`` with every solution region replaced by the stub (indented like its ``BEGIN`` line)."""
    regions = solution_regions(source, cell_type, where)
    if not regions:
        return source
    stub = _markers(cell_type)[2]
    lines = source.splitlines()
    out: list[str] = []
    position = 0
    for region in regions:
        out += lines[position : region.begin]
        out += [region.indent + line for line in stub]
        position = region.end + 1
    out += lines[position:]
    return "\n".join(out) + ("\n" if source.endswith("\n") else "")


def _describe(path: Path, index: int, cell) -> str:
    cell_id = cell.get("id")
    return f"{path.name}, cell {index + 1} ({cell.cell_type}{f', id {cell_id}' if cell_id else ''})"


def student_notebook(path: Path) -> tuple[nbformat.NotebookNode, int]:
    """The student version of one notebook, and how many solutions it replaced.

    Raises
    ------
    UnbalancedMarkers
        Naming the notebook and the cell.
    """
    nb = nbformat.read(path, as_version=4)
    replaced = 0
    for index, cell in enumerate(nb.cells):
        where = _describe(path, index, cell)
        regions = solution_regions(cell.source, cell.cell_type, where)
        if regions:
            cell.source = strip_solutions(cell.source, cell.cell_type, where)
            replaced += len(regions)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.validate(nb)
    return nb, replaced


def make_student(source_dir: Path, out_dir: Path, *, overwrite: bool = False) -> list[tuple[Path, int]]:
    """Write the student version of every ``source_dir/NN_*.ipynb`` to ``out_dir``.

    Every notebook is converted (and checked) before the first file is written, and no
    existing file is replaced without ``overwrite``; so an error leaves ``out_dir`` as it was.
    Returns ``(written notebook, solutions replaced)`` pairs.

    Raises
    ------
    FileNotFoundError
        No notebook in ``source_dir``.
    UnbalancedMarkers
        A notebook's solution markers do not pair up.
    FileExistsError
        An output file exists and ``overwrite`` is false.
    """
    source_dir, out_dir = Path(source_dir), Path(out_dir)
    sources = sorted(source_dir.glob(NOTEBOOK_GLOB))
    if not sources:
        raise FileNotFoundError(f"no notebook {NOTEBOOK_GLOB} in {source_dir}")
    converted = [(out_dir / path.name, *student_notebook(path)) for path in sources]
    extras = [(out_dir / path.name, path) for path in sorted(source_dir.glob("*.md"))]
    targets = [target for target, *_ in converted] + [target for target, _ in extras]
    existing = [target for target in targets if target.exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{len(existing)} file(s) already in {out_dir} (e.g. {existing[0].name}); nothing written. "
                              "Pass --overwrite (make student OVERWRITE=1) to replace them, or remove the folder.")
    out_dir.mkdir(parents=True, exist_ok=True)
    for target, nb, _ in converted:
        nbformat.write(nb, target)
    for target, path in extras:
        shutil.copyfile(path, target)
    return [(target, replaced) for target, _, replaced in converted]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source_dir", nargs="?", type=Path, default=Path("notebooks"),
                        help="folder of the lesson notebooks (default: notebooks)")
    parser.add_argument("out_dir", nargs="?", type=Path, default=Path("build/student"),
                        help="where the student notebooks go (default: build/student)")
    parser.add_argument("--overwrite", action="store_true", help="replace files already in OUT_DIR")
    args = parser.parse_args(argv)
    try:
        written = make_student(args.source_dir, args.out_dir, overwrite=args.overwrite)
    except (UnbalancedMarkers, FileExistsError, FileNotFoundError) as error:
        print(f"make_student: {error}", file=sys.stderr)
        return 1
    for target, replaced in written:
        print(f"{target}: {replaced} solution(s) replaced by stubs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
