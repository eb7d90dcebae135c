"""Coursework: every lesson opens with objectives and a time estimate and ends with graded exercises,
and `make student` (tools/make_student.py) removes every worked solution.

Fast: notebooks are read, never executed.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"
SCRIPT = REPO / "tools" / "make_student.py"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
EXERCISE = re.compile(r"^###\s+Exercise\s+(\d+)\s+(★+)\s+·\s+\S", re.M)


def _tool():
    spec = importlib.util.spec_from_file_location("make_student", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_student = _tool()


def _cells(path: Path):
    return nbformat.read(path, as_version=4).cells


def _heading_index(cells, pattern: str) -> int | None:
    for index, cell in enumerate(cells):
        if cell.cell_type == "markdown" and re.search(pattern, cell.source, re.M):
            return index
    return None


def _notebook(path: Path, cells: list[tuple[str, str]]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(source) if kind == "markdown" else nbformat.v4.new_code_cell(source)
                for kind, source in cells]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def test_there_are_lesson_notebooks():
    assert [p.stem[:2] for p in NOTEBOOKS] == [f"{i:02d}" for i in range(len(NOTEBOOKS))] and len(NOTEBOOKS) >= 6


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_opens_with_objectives_prerequisites_and_time(notebook):
    cells = _cells(notebook)
    opening = _heading_index(cells, r"^\*\*Learning objectives\.\*\*")
    assert opening is not None, f"{notebook.name}: add a '**Learning objectives.**' block near the top"
    first_section = _heading_index(cells, r"^## 1\. ")
    assert first_section is None or opening < first_section, f"{notebook.name}: objectives must come before section 1"
    text = cells[opening].source
    objectives = re.findall(r"^\* ", text.split("**Prerequisites.**")[0], re.M)
    assert len(objectives) >= 3, f"{notebook.name}: list at least three learning objectives"
    assert "**Prerequisites.**" in text, f"{notebook.name}: state the prerequisites"
    time_estimate = re.search(r"\*\*Time \(computer\)\.\*\*(.*)", text, re.S)
    assert time_estimate, f"{notebook.name}: give a '**Time (computer).**' estimate"
    estimate = time_estimate.group(1)
    assert "synthetic" in estimate.lower() and "EMO-DB" in estimate, (
        f"{notebook.name}: the time estimate must cover the synthetic corpus and EMO-DB")
    assert re.search(r"\d+(?:\.\d+)?\s*(?:s|min|h)\b", estimate), f"{notebook.name}: the time estimate needs numbers"
    assert "DEMO_TIME" not in estimate, f"{notebook.name}: fill in the measured time"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_ends_with_graded_exercises_each_with_a_solution(notebook):
    cells = _cells(notebook)
    start = _heading_index(cells, r"^## Exercises\s*$")
    assert start is not None, f"{notebook.name}: end with an '## Exercises' section"
    assert _heading_index(cells[start + 1 :], r"^## (?!#)") is None, f"{notebook.name}: exercises must come last"
    exercises: list[tuple[int, int, list]] = []  # (number, stars, cells after the heading)
    for cell in cells[start + 1 :]:
        match = EXERCISE.search(cell.source) if cell.cell_type == "markdown" else None
        if match:
            exercises.append((int(match.group(1)), len(match.group(2)), []))
        elif exercises:
            exercises[-1][2].append(cell)
        else:
            assert cell.cell_type == "markdown", f"{notebook.name}: code before the first exercise"
    assert 3 <= len(exercises) <= 6, f"{notebook.name}: {len(exercises)} exercises; give 3 to 6"
    numbers, stars = [n for n, _, _ in exercises], [s for _, s, _ in exercises]
    assert numbers == list(range(1, len(exercises) + 1)), f"{notebook.name}: number the exercises 1, 2, ..."
    assert stars == sorted(stars) and stars[0] == 1 and stars[-1] == 3, (
        f"{notebook.name}: grade from ★ to ★★★, easiest first (got {stars})")
    for number, _, body in exercises:
        solutions = sum(len(make_student.solution_regions(c.source, c.cell_type, f"{notebook.name} ex. {number}"))
                        for c in body)
        assert solutions >= 1, f"{notebook.name}: exercise {number} has no worked solution between the markers"


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    written = make_student.make_student(NOTEBOOK_DIR, out)
    assert [target.name for target, _ in written] == [p.name for p in NOTEBOOKS]
    return out


def _solution_lines(cells) -> tuple[set[str], set[str]]:
    """Stripped lines inside solution regions, and the stripped lines everywhere else."""
    inside, outside = set(), set()
    for cell in cells:
        lines = cell.source.splitlines()
        regions = make_student.solution_regions(cell.source, cell.cell_type)
        covered = {i for r in regions for i in range(r.begin, r.end + 1)}
        for i, line in enumerate(lines):
            if i in covered:
                if all(i not in (r.begin, r.end) for r in regions):
                    inside.add(line.strip())
            else:
                outside.add(line.strip())
    return inside - {""}, outside


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_student_version_has_no_solution_text(notebook, student_dir):
    source = _cells(notebook)
    student_nb = nbformat.read(student_dir / notebook.name, as_version=4)
    nbformat.validate(student_nb)
    student = student_nb.cells
    assert [(c.cell_type, c.get("id")) for c in student] == [(c.cell_type, c.get("id")) for c in source]
    inside, outside = _solution_lines(source)
    only_in_solutions = inside - outside
    assert only_in_solutions, f"{notebook.name}: no solution text to check"
    student_lines = {line.strip() for cell in student for line in cell.source.splitlines()}
    leaked = sorted(only_in_solutions & student_lines)
    assert not leaked, f"{notebook.name}: solution lines left in the student version: {leaked[:5]}"
    text = "\n".join(cell.source for cell in student)
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    n_regions = sum(len(make_student.solution_regions(c.source, c.cell_type)) for c in source)
    assert text.count("raise NotImplementedError()") - sum(
        c.source.count("raise NotImplementedError()") for c in source) == n_regions
    for before, after in zip(source, student):  # cells without a solution are copied unchanged
        if not make_student.solution_regions(before.source, before.cell_type):
            assert after.source == before.source
        if after.cell_type == "code":
            assert after.outputs == [] and after.execution_count is None


def test_stub_keeps_indentation_and_the_code_around_it():
    source = "def f(x):\n    y = x + 1\n    ### BEGIN SOLUTION\n    return y * 2\n    ### END SOLUTION\n\nprint(f(1))"
    assert make_student.strip_solutions(source, "code") == (
        "def f(x):\n    y = x + 1\n    # YOUR CODE HERE\n    raise NotImplementedError()\n\nprint(f(1))")
    two = "### BEGIN SOLUTION\na = 1\n### END SOLUTION\nb = 2\n  ### BEGIN SOLUTION\n  c = 3\n  ### END SOLUTION\n"
    assert make_student.strip_solutions(two, "code") == (
        "# YOUR CODE HERE\nraise NotImplementedError()\nb = 2\n  # YOUR CODE HERE\n  raise NotImplementedError()\n")
    assert make_student.strip_solutions("no markers here", "code") == "no markers here"


def test_markdown_answers_are_replaced(tmp_path):
    source = _notebook(tmp_path / "src" / "00_demo.ipynb", [
        ("markdown", "Why?\n\n=== BEGIN SOLUTION ===\nBecause the folds share speakers.\n=== END SOLUTION ==="),
        ("code", "### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION"),
    ])
    (target, replaced), = make_student.make_student(source.parent, tmp_path / "out")
    cells = nbformat.read(target, as_version=4).cells
    assert replaced == 2
    assert cells[0].source == "Why?\n\nYOUR ANSWER HERE"
    assert cells[1].source == "# YOUR CODE HERE\nraise NotImplementedError()"


@pytest.mark.parametrize("kind, source, message", [
    ("code", "### BEGIN SOLUTION\nx = 1", "has no matching '### END SOLUTION'"),
    ("code", "x = 1\n### END SOLUTION", "without a '### BEGIN SOLUTION'"),
    ("code", "### BEGIN SOLUTION\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION", "is not closed"),
    ("markdown", "=== BEGIN SOLUTION ===\nan answer", "has no matching '=== END SOLUTION ==='"),
])
def test_unbalanced_markers_raise_naming_notebook_and_cell(tmp_path, kind, source, message):
    _notebook(tmp_path / "src" / "00_fine.ipynb", [("code", "### BEGIN SOLUTION\nok = 1\n### END SOLUTION")])
    _notebook(tmp_path / "src" / "01_broken.ipynb", [("markdown", "# A lesson"), (kind, source)])
    with pytest.raises(make_student.UnbalancedMarkers, match=re.escape(message)) as error:
        make_student.make_student(tmp_path / "src", tmp_path / "out")
    assert "01_broken.ipynb, cell 2" in str(error.value)
    assert not (tmp_path / "out").exists(), "nothing may be written when a notebook is broken"
    assert make_student.main([str(tmp_path / "src"), str(tmp_path / "out")]) == 1


def test_cli_refuses_to_overwrite_unless_asked(tmp_path, capsys):
    source = _notebook(tmp_path / "src" / "00_demo.ipynb", [("code", "### BEGIN SOLUTION\nx = 1\n### END SOLUTION")])
    (tmp_path / "src" / "GLOSSARY.md").write_text("**UA.** ...\n")
    out = tmp_path / "out"
    assert make_student.main([str(source.parent), str(out)]) == 0
    assert (out / "GLOSSARY.md").read_text() == "**UA.** ...\n"
    (out / "00_demo.ipynb").write_text("a teacher's edit")
    assert make_student.main([str(source.parent), str(out)]) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert (out / "00_demo.ipynb").read_text() == "a teacher's edit"
    assert make_student.main([str(source.parent), str(out), "--overwrite"]) == 0
    assert "YOUR CODE HERE" in (out / "00_demo.ipynb").read_text()
