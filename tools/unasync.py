"""Write ``voucherify/aio/api/*.py`` from ``voucherify/api/*.py``: one source for each twin.

The sync API modules are the source. Each class is copied with a fixed set of rewrites: a
method that calls ``self.api_client`` becomes ``async def`` and awaits that call, imports of
the sync client and transport become the asyncio ones (whose ``RESTResponse`` is aiohttp's
reply), and what the sync module declares at module level (operations, body aliases) is
imported from it rather than declared again. Run it after changing an API module::

    python tools/unasync.py          # rewrite the generated files
    python tools/unasync.py --check  # exit 1, naming them, if any is not current
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path
from typing import Optional, Union

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIR = Path("voucherify/api")
TARGET_DIR = Path("voucherify/aio/api")
SKIPPED = frozenset({"__init__.py"})
"""Hand-written in both packages: the lazy export tables differ."""

MODULES = {
    "voucherify.api_client": "voucherify.aio.api_client",
    "voucherify.rest": "voucherify.aio.rest",
}
"""Sync modules whose asyncio counterparts the generated code imports instead."""
PACKAGES = {"voucherify.api.": "voucherify.aio.api."}
"""Sync packages whose modules map to the same name in the asyncio package."""

CLIENT = "api_client"
"""``self.<CLIENT>.<method>(...)`` is the call a generated method awaits."""

LINE_LENGTH = 100

Edit = tuple[int, int, int, int, str]
"""Replace from (line, column) to (line, column), 1-based lines as ``ast`` gives them."""


def async_module(name: str) -> str:
    """The module the generated code imports in place of sync module ``name``."""
    if name in MODULES:
        return MODULES[name]
    for sync, aio in PACKAGES.items():
        if name.startswith(sync):
            return aio + name[len(sync):]
    return name


def header(source: Path) -> str:
    return f"# Generated from {source.as_posix()} by tools/unasync.py: do not edit.\n"


def module_name(source: Path) -> str:
    return ".".join(source.with_suffix("").parts)


def _awaited_calls(function: ast.AST) -> list[tuple[ast.Call, bool]]:
    """The ``self.api_client...`` calls in ``function``, each with whether a ``.x`` follows."""
    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(function):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    calls = []
    for node in ast.walk(function):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Attribute)
            and node.func.value.attr == CLIENT
            and isinstance(node.func.value.value, ast.Name)
            and node.func.value.value.id == "self"
        ):
            calls.append((node, isinstance(parents.get(node), ast.Attribute)))
    return calls


def _class_edits(cls: ast.ClassDef) -> list[Edit]:
    edits: list[Edit] = []
    for function in cls.body:
        if not isinstance(function, ast.FunctionDef):
            continue
        calls = _awaited_calls(function)
        if not calls:
            continue
        line, col = function.lineno, function.col_offset
        edits.append((line, col, line, col, "async "))
        for call, followed in calls:
            assert call.end_lineno is not None and call.end_col_offset is not None
            start, end = (call.lineno, call.col_offset), (call.end_lineno, call.end_col_offset)
            if followed:  # (await f()).data, not await f().data
                edits.append((*start, *start, "(await "))
                edits.append((*end, *end, ")"))
            else:
                edits.append((*start, *start, "await "))
    return edits


def _apply(lines: list[str], first_line: int, edits: list[Edit]) -> str:
    """``lines`` (starting at source line ``first_line``) with ``edits`` made, back to front."""
    text = list(lines)
    for start_line, start_col, end_line, end_col, new in sorted(edits, reverse=True):
        assert start_line == end_line, "edits stay within one line"
        index = start_line - first_line
        line = text[index]
        text[index] = line[:start_col] + new + line[end_col:]
    return "".join(text)


def _used_names(nodes: list[ast.stmt]) -> set[str]:
    return {
        node.id for tree in nodes for node in ast.walk(tree) if isinstance(node, ast.Name)
    }


def _defined_names(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.Assign):
        return [target.id for target in node.targets if isinstance(target, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    if isinstance(node, ast.FunctionDef):
        return [node.name]
    return []


def _member_key(name: str) -> tuple[int, str]:
    """isort's order by type: CONSTANTS, then Classes, then functions."""
    kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return kind, name.lower()


def _from_import(module: str, names: list[str]) -> str:
    line = f"from {module} import {', '.join(names)}"
    if len(line) <= LINE_LENGTH:
        return line + "\n"
    return f"from {module} import (\n" + "".join(f"    {name},\n" for name in names) + ")\n"


def _alias(name: ast.alias) -> str:
    return name.name if name.asname is None else f"{name.name} as {name.asname}"


def _import_blocks(
    tree: ast.Module, lines: list[str], used: set[str], own: tuple[str, list[str]]
) -> list[list[tuple[str, str]]]:
    """The sync module's import blocks as ``(module, line)`` pairs: rewritten, pruned, sorted."""
    blocks: list[list[tuple[str, str]]] = []
    previous_end: Optional[int] = None
    for node in tree.body:
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if previous_end is None or lines[previous_end].strip() == "":
            blocks.append([])
        previous_end = node.end_lineno
        if isinstance(node, ast.Import):
            for name in node.names:
                if (name.asname or name.name).split(".")[0] in used:
                    blocks[-1].append((name.name, f"import {_alias(name)}\n"))
            continue
        module = node.module or ""
        if module == "__future__":
            blocks[-1].append((module, _from_import(module, [_alias(n) for n in node.names])))
            continue
        kept = [_alias(n) for n in node.names if (n.asname or n.name) in used]
        if kept:
            target = async_module(module)
            blocks[-1].append((target, _from_import(target, kept)))
    module, names = own
    if names:
        first_party = [block for block in blocks if block and block[0][0].startswith("voucherify")]
        if not first_party:
            blocks.append([])
            first_party = [blocks[-1]]
        first_party[0].append((module, _from_import(module, sorted(names, key=_member_key))))
    return [sorted(block, key=lambda entry: entry[0].lower()) for block in blocks if block]


def render(source: Path, text: str) -> str:
    """The asyncio twin of the sync module at ``source`` (relative to the root), as text."""
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    declared = [name for node in tree.body for name in _defined_names(node)]
    used = _used_names(list(classes))
    sync_module = module_name(source)
    own = (sync_module, [name for name in declared if name in used])
    out = [
        header(source),
        f'"""The asyncio twin of :mod:`{sync_module}`.\n\n'
        'The same classes and signatures; the methods that send are coroutines.\n"""\n',
    ]
    for block in _import_blocks(tree, lines, used, own):
        out.append("\n")
        out.extend(line for _, line in block)
    for cls in classes:
        first = cls.decorator_list[0].lineno if cls.decorator_list else cls.lineno
        assert cls.end_lineno is not None
        out.append("\n\n")
        out.append(_apply(lines[first - 1:cls.end_lineno], first, _class_edits(cls)))
    return "".join(out)


def targets(root: Path = ROOT) -> dict[Path, str]:
    """Every generated file (relative to ``root``) with the text it should have."""
    rendered = {}
    for path in sorted((root / SOURCE_DIR).glob("*.py")):
        if path.name in SKIPPED:
            continue
        source = path.relative_to(root)
        rendered[TARGET_DIR / path.name] = render(source, path.read_text(encoding="utf-8"))
    return rendered


def _differs(path: Path, text: str) -> bool:
    return not path.exists() or path.read_text(encoding="utf-8") != text


def stale(root: Path = ROOT) -> list[Path]:
    """The generated files that are missing or differ from what the sources give."""
    return [target for target, text in targets(root).items() if _differs(root / target, text)]


def write(root: Path = ROOT) -> list[Path]:
    """Rewrite the generated files that are not current; the ones written."""
    written = []
    for target, text in targets(root).items():
        if _differs(root / target, text):
            (root / target).write_text(text, encoding="utf-8")
            written.append(target)
    return written


def main(argv: Union[list[str], None] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    if args.check:
        out_of_date = stale()
        for target in out_of_date:
            print(f"{target.as_posix()} is not current: run python tools/unasync.py")
        return 1 if out_of_date else 0
    for target in write():
        print(f"wrote {target.as_posix()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
