"""No import cycle in the product's packages, and each module imports on its own.

A cycle makes the import order matter (whichever module comes first sees the other
half-initialised) and hides which piece is built on which. The graph is read from the
source: every import, at module level or deferred into a function (a deferred import
back is still a cycle, only a hidden one); not those under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("worker", "producers", "toky_ghl", "contract", "clients", "cli",
            "simulators")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for pkg in PACKAGES for p in sorted((REPO / pkg).rglob("*.py"))}


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import, at module level or in a function, except under ``if TYPE_CHECKING:``."""
    skipped = {id(n) for node in ast.walk(tree) if _is_type_checking(node)
               for n in ast.walk(node)}
    return [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)
            and id(node) not in skipped]


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _deepest_module(dotted: str) -> str | None:
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in MODULES:
            return ".".join(parts[:end])
    return None


def imported_by(name: str) -> set[str]:
    """The product's modules ``name`` imports: ``import a.b`` and ``from a import b`` name
    module ``a.b`` when it is one, else ``a`` (a name defined by package ``a``)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    needed: set[str] = set()
    for node in _imports(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [f"{base}.{alias.name}" for alias in node.names]
        for target in targets:
            found = _deepest_module(target)
            if found and found != name:
                needed.add(found)
    return needed


def cycles() -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    graph = {name: sorted(imported_by(name)) for name in MODULES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph)))
    for name in graph:
        if name not in index:
            visit(name)
    return found


def test_the_graph_sees_the_imports_it_must():
    # A sanity check of the reader: imports at module level, in functions, relative ones,
    # names from a package's __init__, and none under TYPE_CHECKING.
    assert "clients.ghl.errors" in imported_by("clients.ghl.transport")
    assert "worker.runtime" in imported_by("worker.celery")  # in a signal handler
    assert "worker.ratelimit.base" in imported_by("worker.ratelimit")
    assert "toky_ghl.settings" not in imported_by("worker.ratelimit.base")


def test_no_import_cycle_among_the_products_modules():
    assert cycles() == []


STANDALONE = """\
import importlib, os, sys
ours = sys.argv[1:]
tops = {name.split(".")[0] for name in ours}
for name in ours:  # load the libraries they use once ...
    importlib.import_module(name)
for name in [m for m in sys.modules if m.split(".")[0] in tops]:
    del sys.modules[name]  # ... and forget every module of ours
failed, running = [], {}
for name in ours:  # each first, in a child with none of ours imported yet (4 at a time)
    if len(running) == 4:
        pid, status = os.wait()
        if status:
            failed.append(running[pid])
        del running[pid]
    pid = os.fork()
    if pid == 0:
        try:
            importlib.import_module(name)
        except BaseException as exc:
            print(f"{name}: {type(exc).__name__}: {exc}", flush=True)
            os._exit(1)
        os._exit(0)
    running[pid] = name
for pid, name in running.items():
    if os.waitpid(pid, 0)[1]:
        failed.append(name)
print("failed:", sorted(failed))
"""


def test_every_module_imports_first_on_its_own():
    # Each module imported before any other of ours (in a forked child), in a fresh
    # interpreter: no module relies on another having been imported first.
    done = subprocess.run([sys.executable, "-c", STANDALONE, *MODULES], capture_output=True,
                          text=True, cwd=REPO, timeout=600)
    assert done.stdout.strip().splitlines()[-1:] == ["failed: []"], done.stdout + done.stderr
