"""``ser_common`` stays paper-free, and the README states its size as measured.

The size budget (2,500 code lines, issue 10) is printed by ``benchmarks/count_lines.py``;
this test keeps the README's figure equal to the measured one, so the docs never claim
a size the code does not have.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _count_lines():
    spec = importlib.util.spec_from_file_location("count_lines", REPO / "benchmarks" / "count_lines.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_ser_common_code_names_a_paper():
    _, named = _count_lines().count_package()
    assert named == [], f"ser_common code names a paper (move it to papers/<paper>/): {named}"


def test_counter_skips_docstrings_comments_and_blank_lines(tmp_path):
    source = tmp_path / "m.py"
    source.write_text('"""Doc\nstring."""\n\n# comment\nx = 1  # tim_net in a comment\n\n\ndef f():\n'
                      '    """glam doc."""\n    return {"a": 1,\n            "b": 2}\n')
    lines, named = _count_lines().count_file(source)
    assert lines == 4 and named == []
    source.write_text('glam = 1\n')
    assert _count_lines().count_file(source)[1] == ["m.py:1"]


def test_readme_states_the_measured_size():
    counts, _ = _count_lines().count_package()
    stated = re.search(r"`ser_common` is \*\*([\d,]+) lines of code\*\*", (REPO / "README.md").read_text())
    assert stated, "README: state the size as `ser_common` is **N lines of code** (python benchmarks/count_lines.py)"
    assert int(stated.group(1).replace(",", "")) == sum(counts.values()), "README's ser_common size is stale"


def test_statement_count_ignores_wrapping_and_docstrings(tmp_path):
    wrapped, flat = tmp_path / "wrapped.py", tmp_path / "flat.py"
    wrapped.write_text('"""Doc."""\n\n\ndef f(\n    a,\n    b,\n):\n    """Doc."""\n    return [\n        a,\n        b,\n    ]\n')
    flat.write_text('def f(a, b):\n    return [a, b]\n')
    counter = _count_lines()
    assert counter.count_file(wrapped)[0] == 8 and counter.count_file(flat)[0] == 2
    assert counter.count_statements(wrapped) == counter.count_statements(flat) == 2
