"""What a source file imports, read with `ast` (imports inside functions included)."""

import ast
from pathlib import Path


def imported_modules(path: Path) -> set[str]:
    """Every module named by an import in `path`, and `module.name` for each
    `from module import name` (so a test can look for a class as well as a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found
