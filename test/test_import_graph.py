"""No import cycle inside ``voucherify/``, and the exception hierarchy stays a leaf.

The graph has an edge ``a -> b`` for every import of package module ``b`` that module ``a``
runs: at module level and inside functions (a lazy import that dodges a cycle at import
time is still the cycle), absolute or relative, ``import b`` or ``from b import x`` (and
``from pkg import b`` when ``b`` is a submodule). Not counted: imports under
``if TYPE_CHECKING:``, which never run (they serve annotations), the implicit import of a
module's parent package (always complete before the child starts), and the names a lazy
``__init__`` resolves on first use (strings, looked up once the package is loaded).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _modules(root: Path, package: str) -> dict[str, Path]:
    """Every module of ``package`` (under ``root``) by dotted name."""
    found = {}
    for path in (root / package).rglob("*.py"):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    return ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """The import statements that can run: everywhere but under ``if TYPE_CHECKING:``."""
    found: list[ast.Import | ast.ImportFrom] = []
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif isinstance(node, ast.If) and _is_type_checking(node):
            pending.extend(node.orelse)
        else:
            pending.extend(ast.iter_child_nodes(node))
    return found


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Each module of ``package`` and the package modules it imports at run time."""
    modules = _modules(root, package)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
                continue
            base = node.module or ""
            if node.level:
                anchor = here.split(".")[: len(here.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets.add(base)
            targets.update(f"{base}.{alias.name}" for alias in node.names)
        graph[name] = {target for target in targets if target in modules} - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (each one holds a cycle),
    found by Tarjan's algorithm without recursion."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_no_import_cycle_inside_the_package() -> None:
    graph = import_graph(ROOT, "voucherify")
    assert len(graph) > 80  # every module was read
    assert cycles(graph) == []


def test_exceptions_imports_nothing_of_the_models() -> None:
    """``exceptions`` is a leaf: parsing an error body is the response step's job."""
    graph = import_graph(ROOT, "voucherify")
    assert not {m for m in graph["voucherify.exceptions"] if m.startswith("voucherify.models")}
    assert "voucherify.models.error" in graph["voucherify._pipeline.response"]


def test_the_check_finds_cycles_of_every_kind_it_counts(tmp_path: Path) -> None:
    """A cycle through a function-level import, a relative import, ``from pkg import mod``
    or a longer ring is found; one closed only under TYPE_CHECKING is not."""
    files = {
        "pkg/__init__.py": "",
        "pkg/a.py": "def f():\n    from pkg.b import x\n",
        "pkg/b.py": "from . import a\nx = 1\n",
        "pkg/c.py": "import pkg.d\n",
        "pkg/d.py": "from pkg import e\n",
        "pkg/e.py": "from .sub.f import y\n",
        "pkg/sub/__init__.py": "",
        "pkg/sub/f.py": "from ..c import z\ny = 1\n",
        "pkg/g.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.h\n",
        "pkg/h.py": "import pkg.g\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    found = cycles(import_graph(tmp_path, "pkg"))
    assert sorted(found) == [["pkg.a", "pkg.b"], ["pkg.c", "pkg.d", "pkg.e", "pkg.sub.f"]]
