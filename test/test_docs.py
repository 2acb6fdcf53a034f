"""The README and docs/ hold true: their examples type-check and run, their tables are complete.

The code blocks are read from the Markdown files themselves, so an example that is edited
(or added) is checked as written.
"""

from __future__ import annotations

import ast
import builtins
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import voucherify
from voucherify._pipeline.operation import OPTION_NAMES
from voucherify.testing import LocalVoucherify

from user_mypy import user_mypy

ROOT = Path(__file__).resolve().parent.parent
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUN_TIMEOUT = 60

# What the docs' fragments take from the text around them, each with its type: a fragment
# gets the lines for the names it uses but does not bind.
CONTEXT = {
    "asyncio": "import asyncio",
    "os": "import os",
    "voucherify": "import voucherify",
    "aio": "from voucherify import aio",
    "RetryPolicy": "from voucherify.retry import RetryPolicy",
    "LocalVoucherify": "from voucherify.testing import LocalVoucherify",
    "configuration": "configuration = voucherify.Configuration()",
    "api_client": "api_client = voucherify.ApiClient(configuration)",
    "events_api": "events_api = voucherify.EventsApi(api_client)",
    "api_instance": "api_instance = voucherify.EventsApi(api_client)",
    "api": "api = voucherify.EventsApi(api_client)",
    "body": "body = voucherify.models.EventsCreateRequestBody(event='e', customer={})",
    "rows": "rows: list[dict[str, object]] = []",
    "server": "server = LocalVoucherify()",
}
NEEDS = {
    "configuration": ["voucherify"],
    "api_client": ["voucherify", "configuration"],
    "events_api": ["voucherify", "api_client"],
    "api_instance": ["voucherify", "api_client"],
    "api": ["voucherify", "api_client"],
    "body": ["voucherify"],
    "server": ["LocalVoucherify"],
}
# Inside a coroutine (a fragment with a top-level await), ``api`` is the async one.
ASYNC_CONTEXT = {**CONTEXT, "api": "api = aio.EventsApi(aio.ApiClient(configuration))"}
ASYNC_NEEDS = {**NEEDS, "api": ["aio", "configuration"]}


def python_blocks(path: Path) -> list[str]:
    """The ```python blocks of a Markdown file, in order."""
    return re.findall(r"^```python\n(.*?)^```", path.read_text(encoding="utf-8"), re.S | re.M)


def _free_names(tree: ast.AST) -> set[str]:
    """Names a block reads but binds nowhere (not counting builtins)."""
    loaded, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return loaded - bound - set(dir(builtins))


def _awaits_at_top_level(tree: ast.Module) -> bool:
    """Whether a block is lines from inside a coroutine (``await`` outside any function)."""
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Await, ast.AsyncWith, ast.AsyncFor)):
            return True
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            pending.extend(ast.iter_child_nodes(node))
    return False


def _is_pytest_module(tree: ast.Module) -> bool:
    """A block of pytest tests: their fixture arguments are untyped by pytest convention."""
    return any(
        isinstance(node, ast.FunctionDef) and node.name.startswith("test_") for node in tree.body
    )


def _context_lines(names: set[str], context: dict[str, str], needs: dict[str, list[str]]) -> str:
    order: list[str] = []

    def add(name: str) -> None:
        for dependency in needs.get(name, []):
            add(dependency)
        if name not in order:
            order.append(name)

    for name in sorted(names):
        assert name in context, f"a documented example uses {name!r}, which nothing defines"
        add(name)
    return "".join(context[name] + "\n" for name in order)


def user_modules() -> dict[str, str]:
    """Every documented example as a module a user could write, keyed by a module name.

    A fragment gets the lines that define what it uses from its surroundings; one with a
    top-level ``await`` becomes the body of a coroutine.
    """
    modules: dict[str, str] = {}
    for path in DOC_FILES:
        for index, block in enumerate(python_blocks(path)):
            name = f"{re.sub(r'[^0-9a-zA-Z]', '_', path.stem)}_{index}"
            tree = ast.parse(block)
            if _is_pytest_module(tree):
                continue
            free = _free_names(tree)
            if _awaits_at_top_level(tree):
                head = _context_lines(free, ASYNC_CONTEXT, ASYNC_NEEDS)
                modules[name] = (
                    head + "\n\nasync def _fragment() -> None:\n" + textwrap.indent(block, "    ")
                )
            else:
                modules[name] = _context_lines(free, CONTEXT, NEEDS) + block
    return modules


def test_documented_examples_pass_mypy_strict_without_the_pydantic_plugin(
    tmp_path: Path,
) -> None:
    """A user's ``mypy --strict`` with no plugin accepts the README's and the docs' examples.

    That covers the model constructors (``EventsCreateRequestBody(event=..., customer=
    Customer(...))``), ``from_dict``/``from_json`` returning the model itself, unknown reply
    fields read as attributes, and the sync and async clients.
    """
    pytest.importorskip("mypy")
    modules = user_modules()
    # The quickstart, the async example and at least one example per model must be among them.
    assert {"README_0", "README_2", "EventsCreateRequestBody_0", "Customer_0"} <= set(modules)
    assert len(modules) >= 30
    for name, source in modules.items():
        (tmp_path / f"{name}.py").write_text(source, encoding="utf-8")
    done = user_mypy(tmp_path, (f"{name}.py" for name in modules))
    assert "plugins" not in (tmp_path / "mypy.ini").read_text()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success: no issues found" in done.stdout


def test_mypy_check_catches_a_wrong_constructor_argument(tmp_path: Path) -> None:
    """The check above can fail: a wrong argument type in a model constructor is reported."""
    pytest.importorskip("mypy")
    (tmp_path / "bad.py").write_text(
        "from voucherify.models import Customer, EventsCreateRequestBody\n"
        "EventsCreateRequestBody(event=1, customer=Customer(source_id='x'))\n"
        "body: EventsCreateRequestBody = EventsCreateRequestBody.from_dict({})\n",
        encoding="utf-8",
    )
    done = user_mypy(tmp_path, ["bad.py"])
    assert done.returncode == 1, done.stdout + done.stderr
    assert 'Argument "event" to "EventsCreateRequestBody" has incompatible type "int"' in (
        done.stdout
    )
    assert "Found 1 error" in done.stdout


@pytest.mark.parametrize("doc", ["EventsApi.md", "ClientSideApi.md"])
def test_per_call_options_tables_list_every_option(doc: str) -> None:
    """Each option ``RequestOptions`` accepts has a row in the per-call options table."""
    text = (ROOT / "docs" / doc).read_text(encoding="utf-8")
    section = text.split("### Per-call options", 1)[1].split("\n#", 1)[0]
    rows = set(re.findall(r"^\| `(_\w+)` \|", section, re.M))
    assert rows == set(OPTION_NAMES)


def test_readme_client_side_snippet_runs_against_the_stand_in(tmp_path: Path) -> None:
    """The README's client-side example, run as written with only its host changed."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [b for b in python_blocks(ROOT / "README.md") if "ClientSideApi(" in b]
    assert len(blocks) == 1
    snippet = blocks[0]
    assert readme.index("Client-side tracking") < readme.index(snippet)
    production_host = 'host="https://api.voucherify.io"'
    assert snippet.count(production_host) == 1
    origin = "https://shop.example"
    with LocalVoucherify(allowed_origins=[origin]) as server:
        script = tmp_path / "client_side.py"
        script.write_text(snippet.replace(production_host, f"host={server.url!r}"))
        assert server.client_app_id is not None and server.client_token is not None
        env = dict(
            os.environ,
            VOUCHERIFY_CLIENT_APP_ID=server.client_app_id,
            VOUCHERIFY_CLIENT_TOKEN=server.client_token,
        )
        done = subprocess.run(
            [sys.executable, str(script)],
            env=env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("newsletter_subscribed cust_"), done.stdout
        (event,) = server.events
        assert event["event"] == "newsletter_subscribed"
        (request,) = server.requests
        assert request["path"] == "/client/v1/events"
        assert request["headers"]["origin"] == origin


def test_version_has_one_source() -> None:
    """``voucherify.__version__`` and the installed distribution's version are the same."""
    from importlib import metadata

    from voucherify._version import DISTRIBUTION, __version__

    assert voucherify.__version__ == __version__
    assert metadata.version(DISTRIBUTION) == __version__


def _texts_that_tell_users_what_to_install() -> dict[str, str]:
    paths = [*DOC_FILES, ROOT / "examples" / "seed_example.py", *sorted(
        (ROOT / "voucherify").rglob("*.py")
    )]
    return {str(path.relative_to(ROOT)): path.read_text(encoding="utf-8") for path in paths}


def test_no_install_line_names_the_official_distribution() -> None:
    """``pip install voucherify`` installs the official SDK: no text here may advise it.

    Only the README's Install section may name it, in prose, to say what not to do.
    """
    wrong = re.compile(r"pip install (-U |--upgrade )?[\"']?voucherify(?![-\w])")
    for name, full_text in _texts_that_tell_users_what_to_install().items():
        text = full_text
        if name == "README.md":
            install = text.split("\n## Install\n", 1)[1].split("\n## ", 1)[0]
            code = re.findall(r"^```.*?^```", install, flags=re.S | re.M)
            prose = re.sub(r"^```.*?^```", "", install, flags=re.S | re.M)
            assert wrong.search(prose), "the README says which package not to install"
            text = text.replace(install, "\n".join(code))
        found = [m.group(0) for m in wrong.finditer(text)]
        assert not found, f"{name}: {found}"


def test_distribution_metadata() -> None:
    """The installed distribution has its own name, the MIT license file, and project URLs."""
    from importlib import metadata

    from voucherify._version import DISTRIBUTION

    assert DISTRIBUTION != "voucherify"
    meta = metadata.metadata(DISTRIBUTION)
    assert meta["Name"] == DISTRIBUTION
    assert meta["License-Expression"] == "MIT"
    assert meta.get_all("License-File") == ["LICENSE"]
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL") or [])
    assert {"Homepage", "Documentation", "Changelog"} <= set(urls)
    assert all(url.startswith("https://") for url in urls.values())
    license_text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert license_text.startswith("MIT License")
    assert "the voucherify SDK authors" in license_text
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## {voucherify.__version__} " in changelog
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"pip install {DISTRIBUTION}" in readme
    assert "imported as\n`voucherify`" in readme or "imported as `voucherify`" in readme
