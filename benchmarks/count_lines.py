"""How thin is ``ser_common``? Code lines per module, and any paper named in code.

A line counts when it holds code: blank lines, comments and docstrings do not count.
Line counts move when code is merely re-wrapped, so the statements (``ast`` statement
nodes other than docstrings) are printed beside them: wrapping cannot change that count.
A paper is "named" when a code token (not a docstring or comment) matches
``tim_?net|cktim|glam|light_?sernet``: the helper must stay paper-agnostic.

    python benchmarks/count_lines.py          # exit status 1 when over budget or a paper is named
"""

from __future__ import annotations

import ast
import io
import re
import sys
import tokenize
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ser_common"
BUDGET = 2500
PAPER = re.compile(r"tim_?net|cktim|glam|light_?sernet", re.I)
_LAYOUT = (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER)
_STATEMENT_START = (tokenize.INDENT, tokenize.NEWLINE, tokenize.DEDENT, tokenize.NL)


def count_file(path: Path) -> tuple[int, list[str]]:
    """Code lines in one file, and ``"file:line"`` for each code token that names a paper."""
    lines, named, previous = set(), [], tokenize.INDENT
    for token in tokenize.generate_tokens(io.StringIO(path.read_text()).readline):
        if token.type == tokenize.STRING and previous in _STATEMENT_START:
            previous = token.type  # a docstring (or another bare string statement): not code
            continue
        if token.type not in _LAYOUT:
            lines.update(range(token.start[0], token.end[0] + 1))
            if PAPER.search(token.string):
                named.append(f"{path.name}:{token.start[0]}")
        if token.type not in (tokenize.COMMENT, tokenize.NL):
            previous = token.type
    return len(lines), named


def count_statements(path: Path) -> int:
    """Statements in one file (every ``ast`` statement node, docstrings excluded): blind to line wrapping."""
    nodes = ast.walk(ast.parse(path.read_text()))
    return sum(isinstance(node, ast.stmt) and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                                                   and isinstance(node.value.value, str)) for node in nodes)


def count_package(package: Path = PACKAGE) -> tuple[dict[str, int], list[str]]:
    """Code lines per module of ``package`` and every place where code names a paper."""
    counts, named = {}, []
    for path in sorted(package.glob("*.py")):
        counts[path.name], found = count_file(path)
        named += found
    return counts, named


def main() -> int:
    counts, named = count_package()
    statements = {path.name: count_statements(path) for path in sorted(PACKAGE.glob("*.py"))}
    print(" lines  statements  module")
    for name, lines in sorted(counts.items(), key=lambda item: -item[1]):
        print(f"{lines:6d}  {statements[name]:10d}  {name}")
    total = sum(counts.values())
    print(f"{total:6d}  {sum(statements.values()):10d}  total (budget {BUDGET} lines)")
    for place in named:
        print(f"names a paper: {place}")
    return int(total > BUDGET or bool(named))


if __name__ == "__main__":
    sys.exit(main())
