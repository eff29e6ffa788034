"""OCMF is a library of its own: it imports only the standard library and `cryptography`, never
Django or a project module, so that anyone can check signed meter values with it alone."""

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent.parent / "ocmf"
ALLOWED = set(sys.stdlib_module_names) | {"cryptography"}


def imported_tops(path: Path) -> set[str]:
    tops = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            tops |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level:
            tops.add(node.module.split(".")[0])
    return tops


def test_ocmf_imports_only_the_standard_library_and_cryptography():
    files = sorted(PACKAGE.glob("*.py"))
    assert files
    outside = {str(path.name): sorted(imported_tops(path) - ALLOWED) for path in files}
    assert {name: tops for name, tops in outside.items() if tops} == {}
