"""No import cycle between first-party modules, counting the imports inside functions.

Every `import` and `from ... import` statement of every module is an edge, wherever it
stands (a lazy import inside a function still ties the two modules together). Celery's
lazy `.delay` imports go through `monitor_site.enqueue`, which sends a task by its name.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("access", "alerts_app", "models_app", "frontend", "monitor_site", "demo")
EXCLUDED = ("migrations",)  # generated, and only ever imported by Django's migration loader
# Strongly connected groups of modules that are allowed for now, each with the reason.
KNOWN_CYCLES: set[frozenset] = set()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def first_party_files() -> dict[str, Path]:
    """{dotted module name: its file} over PACKAGES, without EXCLUDED."""
    files = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if any(part == "migrations" for part in path.parts) or any(
                relative == skip or relative.startswith(skip + "/") for skip in EXCLUDED
            ):
                continue
            files[module_name(path)] = path
    return files


def absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module a (possibly relative) `from ... import` names."""
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def targets(node: ast.AST, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The first-party modules one import statement loads: `from pkg import name` is
    `pkg.name` when that is a module, else `pkg`; `import a.b` is `a.b`."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        source = absolute(node, module, is_package)
        names = [
            f"{source}.{alias.name}" if f"{source}.{alias.name}" in known else source
            for alias in node.names
        ]
    found = set()
    for name in names:
        while name and name not in known:  # `import a.b.c` where c is a function: a.b
            name = name.rpartition(".")[0]
        if name:
            found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    files = first_party_files()
    known = set(files)
    graph = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        is_package = path.name == "__init__.py"
        edges = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                edges |= targets(node, module, is_package, known)
        graph[module] = edges - {module}
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components (iterative), the groups of mutually
    reachable modules; a group of more than one module holds a cycle."""
    index, low, stack, on_stack, groups, counter = {}, {}, [], set(), [], [0]
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.add(member)
                        if member == node:
                            break
                    groups.append(group)
            elif child not in index:
                index[child] = low[child] = counter[0]
                counter[0] += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return groups


def a_cycle(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """One concrete cycle inside a strongly connected group: a -> b -> ... -> a."""
    start = min(group)
    paths, seen = [[start]], {start}
    while paths:
        path = paths.pop(0)
        for child in sorted(graph[path[-1]] & group):
            if child == start:
                return [*path, start]
            if child not in seen:
                seen.add(child)
                paths.append([*path, child])
    return [start]


def test_imports_inside_functions_relative_ones_and_submodules_are_edges():
    known = {
        "alerts_app",
        "alerts_app.tasks",
        "alerts_app.outbox",
        "alerts_app.checks",
        "alerts_app.checks.base",
        "alerts_app.checks.drift",
        "models_app",
    }
    tree = ast.parse(
        "from .base import verdict\n"
        "from . import base\n"
        "from alerts_app import outbox, kinds\n"
        "import alerts_app.checks.base.verdict\n"
        "def later():\n"
        "    from alerts_app.tasks import deliver_task\n"
    )
    edges = set().union(
        *(
            targets(node, "alerts_app.checks.drift", False, known)
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
        )
    )
    assert edges == {
        "alerts_app.checks.base",
        "alerts_app.outbox",
        "alerts_app",
        "alerts_app.tasks",
    }


def test_the_graph_covers_the_first_party_packages_and_the_demo():
    graph = import_graph()
    assert "monitor_site.enqueue" in graph["alerts_app.outbox"]
    assert "models_app.models" in graph["models_app.series"]
    assert {module.partition(".")[0] for module in graph} == set(PACKAGES)
    assert "demo.replay" in graph and "alerts_app.lifecycle" in graph["demo.replay"]
    assert not any(".migrations" in module for module in graph)


def test_no_import_cycle_between_first_party_modules():
    graph = import_graph()
    cycles = [
        " -> ".join(a_cycle(graph, group))
        for group in strongly_connected(graph)
        if len(group) > 1 and frozenset(group) not in KNOWN_CYCLES
    ]
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_models_app_does_not_import_alerts_app_or_frontend():
    graph = import_graph()
    upward = sorted(
        f"{module} -> {target}"
        for module, edges in graph.items()
        if module.startswith("models_app")
        for target in edges
        if target.startswith(("alerts_app", "frontend"))
    )
    assert not upward, "\n".join(upward)
