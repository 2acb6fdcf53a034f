"""Import stays light: names resolve lazily, and optional parts are never loaded by the core."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import voucherify
from voucherify.api.client_side_api import ClientSideApi
from voucherify.api.events_api import EventsApi

from user_mypy import user_mypy

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = sorted(
    ".".join(path.relative_to(ROOT).parent.parts)
    for path in (ROOT / "voucherify").rglob("__init__.py")
)
"""Every package of the SDK, found on disk so that a new one is checked too."""
SUBPROCESS_TIMEOUT = 60


def run_python(code: str) -> Any:
    """Run ``code`` in a fresh interpreter; what it printed, read as JSON."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=SUBPROCESS_TIMEOUT,
    )
    return json.loads(done.stdout)


def loaded_after(code: str) -> set[str]:
    return set(run_python(f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"))


def static_exports(package: str) -> dict[str, str]:
    """What static checkers see a package export, read from its ``__init__.py``: each
    ``from M import N as N`` (top level or under ``if TYPE_CHECKING:``) as ``N -> M`` (or
    ``N -> M.N`` when that is a module), and ``from M import *`` as each name of
    ``M.__all__``."""
    path = ROOT.joinpath(*package.split("."), "__init__.py")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    statements: list[ast.stmt] = []
    for node in tree.body:
        if not (isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"):
            statements.append(node)
            continue
        # An import there that is not a re-export would serve nobody.
        assert all(
            isinstance(inner, ast.ImportFrom)
            and all(a.name in ("*", a.asname) for a in inner.names)
            for inner in node.body
        ), f"{package}: every import under TYPE_CHECKING is `from M import N as N`"
        statements.extend(node.body)
    exports: dict[str, str] = {}
    for node in statements:
        if not isinstance(node, ast.ImportFrom) or node.module is None:
            continue
        for alias in node.names:
            if alias.name == "*":
                names = importlib.import_module(node.module).__all__
                exports.update(dict.fromkeys(names, node.module))
            elif alias.asname == alias.name:
                assert alias.name not in exports, f"{package}.{alias.name} is imported twice"
                submodule = ROOT.joinpath(*node.module.split("."), f"{alias.name}.py")
                exports[alias.name] = (
                    f"{node.module}.{alias.name}" if submodule.exists() else node.module
                )
    return exports


def _resolve(module: str, name: str) -> Any:
    """The object ``static_exports`` says ``name`` is, found without the package under
    test: the module itself when it is named ``name``."""
    found = importlib.import_module(module)
    return found if module.rsplit(".", 1)[-1] == name else getattr(found, name)


@pytest.mark.parametrize("package", PACKAGES)
def test_static_imports_and_runtime_exports_agree_exactly(package: str) -> None:
    """``__all__``, the lazy table and what mypy sees name the same things: the names are
    the same, and each resolves at run time to the very object the static import names."""
    exports = static_exports(package)
    module: ModuleType = importlib.import_module(package)
    names = getattr(module, "__all__", [])
    assert sorted(names) == sorted(exports)
    assert len(set(names)) == len(names)
    for name, source in exports.items():
        assert getattr(module, name) is _resolve(source, name), f"{package}.{name}"
    assert set(exports) <= set(dir(module))


@pytest.mark.parametrize("package", PACKAGES)
def test_every_exported_name_resolves_in_a_fresh_process(package: str) -> None:
    """Each name resolves on first use, with nothing loaded before (no import order luck),
    and ``dir()`` lists every name before any is used."""
    script = (
        f"import json, {package} as p\n"
        "listed = set(dir(p))\n"
        "names = getattr(p, '__all__', [])\n"
        "print(json.dumps([[n, n in listed, getattr(p, n) is not None] for n in names]))"
    )
    rows = run_python(script)
    assert sorted(name for name, _, _ in rows) == sorted(static_exports(package))
    assert all(listed and resolved for _, listed, resolved in rows), rows


@pytest.mark.parametrize("package", PACKAGES)
def test_importing_a_package_loads_none_of_what_it_exports(package: str) -> None:
    modules = loaded_after(f"import {package}")
    sources = set(static_exports(package).values()) - {"voucherify._version"}
    assert not sources & modules, sorted(sources & modules)


def test_import_voucherify_loads_no_models_api_transport_or_extras() -> None:
    modules = loaded_after("import voucherify")
    ours = {m for m in modules if m.startswith("voucherify")}
    assert ours == {"voucherify", "voucherify._lazy", "voucherify._version"}
    for library in ("pydantic", "pydantic_core", "urllib3", "aiohttp"):
        assert not any(m == library or m.startswith(f"{library}.") for m in modules), library


def test_import_voucherify_exceptions_alone_loads_no_models() -> None:
    """The hierarchy is a leaf: catching an SDK error needs neither models nor pydantic."""
    modules = loaded_after("import voucherify.exceptions")
    assert not any(m.startswith("voucherify.models") for m in modules)
    assert not any(m == "pydantic" or m.startswith("pydantic.") for m in modules)


def test_star_import_brings_every_exported_name() -> None:
    namespace: dict[str, Any] = {}
    exec("from voucherify import *", namespace)
    assert sorted(set(namespace) - {"__builtins__"}) == sorted(static_exports("voucherify"))


def test_users_mypy_strict_sees_every_exported_name_typed(tmp_path: Path) -> None:
    """A user's ``mypy --strict`` (no plugin) imports every exported name of every package,
    by ``from P import N`` and as ``P.N``, and sees none of them as ``Any`` (which is what a
    name missing from the static imports would be, through the module ``__getattr__``)."""
    pytest.importorskip("mypy")
    lines = []
    for index, package in enumerate(PACKAGES):
        names = sorted(static_exports(package))
        if not names:
            continue
        lines.append(f"import {package} as p{index}")
        lines.extend(f"from {package} import {name} as p{index}_{name}" for name in names)
        lines.extend(f"reveal_type(p{index}_{name})" for name in names)
        lines.extend(f"reveal_type(p{index}.{name})" for name in names)
    (tmp_path / "user_code.py").write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = user_mypy(tmp_path, ["user_code.py"])
    assert done.returncode == 0, done.stdout + done.stderr
    revealed = [line for line in done.stdout.splitlines() if "Revealed type is" in line]
    assert len(revealed) == sum(2 * len(static_exports(p)) for p in PACKAGES) > 100
    assert not [line for line in revealed if line.endswith('"Any"')], done.stdout


def test_making_a_client_does_not_load_testing_or_extras() -> None:
    modules = loaded_after(
        "import voucherify\n"
        "c = voucherify.ApiClient(voucherify.Configuration())\n"
        "voucherify.EventsApi(c)\n"
        "import voucherify.rest, voucherify.models"
    )
    assert not any(m.startswith("voucherify.testing") for m in modules)
    assert not any(m.startswith("voucherify.aio") for m in modules)
    for extra in ("voucherify.bulk", "voucherify.outbox", "voucherify.cli", "sqlite3"):
        assert not any(m == extra or m.startswith(f"{extra}.") for m in modules), extra


def test_every_public_name_resolves() -> None:
    for name in voucherify.__all__:
        assert getattr(voucherify, name) is not None
    assert set(voucherify.__all__) <= set(dir(voucherify))
    for module_name in ("configuration", "api_client", "rest", "exceptions", "api_response"):
        __import__(f"voucherify.{module_name}")
    from voucherify.api import ClientSideApi as Lazy  # noqa: F401
    from voucherify.exceptions import ApiException as FromExceptions
    from voucherify.rest import ApiException as FromRest

    assert FromRest is FromExceptions is voucherify.ApiException


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        voucherify.NoSuchThing  # noqa: B018
    except AttributeError as error:
        assert "NoSuchThing" in str(error)
    else:
        raise AssertionError("expected AttributeError")


def test_operations_are_plain_methods_without_per_call_signature_validation() -> None:
    # The official SDK wraps each method in pydantic's validate_call, re-checking the
    # signature on every call; ours are plain functions.
    for api in (EventsApi, ClientSideApi):
        for name, method in inspect.getmembers(api, inspect.isfunction):
            if name.startswith("track_"):
                assert not hasattr(method, "__wrapped__"), name
                assert not hasattr(method, "raw_function"), name
