"""voucherify/aio/api/ is generated from voucherify/api/ by tools/unasync.py, and kept current.

The asyncio API classes are not written by hand: a change to a sync API module that is not
regenerated fails here, and what the generator makes of a new operation is checked on a
module of its own.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import shutil
import subprocess
import sys
import typing
from pathlib import Path

import aiohttp
import pytest
import urllib3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import unasync  # noqa: E402

SYNC_MODULES = ["voucherify.api._base", "voucherify.api.events_api",
                "voucherify.api.client_side_api"]


def test_every_generated_file_is_current() -> None:
    assert unasync.stale() == [], "run: python tools/unasync.py"


def test_every_sync_api_module_has_its_generated_twin() -> None:
    sources = {path.name for path in (ROOT / "voucherify/api").glob("*.py")}
    generated = {path.name for path in unasync.targets()}
    assert generated == sources - {"__init__.py"}
    for name in generated:
        text = (ROOT / "voucherify/aio/api" / name).read_text(encoding="utf-8")
        assert text.startswith(
            f"# Generated from voucherify/api/{name} by tools/unasync.py: do not edit.\n"
        )


def test_check_names_a_stale_file_and_a_rerun_makes_it_current(tmp_path: Path) -> None:
    for folder in ("voucherify/api", "voucherify/aio/api"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    source = tmp_path / "voucherify/api/events_api.py"
    source.write_text(
        source.read_text(encoding="utf-8").replace(
            "Not idempotent: each successful call records one more event.",
            "Not idempotent: every successful call records one event more.",
        ),
        encoding="utf-8",
    )
    assert unasync.stale(tmp_path) == [Path("voucherify/aio/api/events_api.py")]
    assert unasync.write(tmp_path) == [Path("voucherify/aio/api/events_api.py")]
    assert unasync.stale(tmp_path) == []
    generated = (tmp_path / "voucherify/aio/api/events_api.py").read_text(encoding="utf-8")
    assert "every successful call records one event more" in generated


def test_the_check_command_fails_on_a_hand_edit(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "tools", tmp_path / "tools")
    for folder in ("voucherify/api", "voucherify/aio/api"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    target = tmp_path / "voucherify/aio/api/client_side_api.py"
    target.write_text(target.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    script = str(tmp_path / "tools/unasync.py")
    checked = subprocess.run([sys.executable, script, "--check"], capture_output=True,
                             text=True, timeout=60, check=False)
    assert checked.returncode == 1
    assert "voucherify/aio/api/client_side_api.py is not current" in checked.stdout
    subprocess.run([sys.executable, script], timeout=60, check=True, capture_output=True)
    again = subprocess.run([sys.executable, script, "--check"], capture_output=True,
                           text=True, timeout=60, check=False)
    assert again.returncode == 0, again.stdout


@pytest.mark.parametrize("sync_name", SYNC_MODULES)
def test_async_classes_have_the_sync_signatures_with_coroutine_methods(sync_name: str) -> None:
    sync_module = importlib.import_module(sync_name)
    aio_module = importlib.import_module(unasync.async_module(sync_name))
    classes = [value for value in vars(sync_module).values()
               if inspect.isclass(value) and value.__module__ == sync_name]
    assert classes
    for sync_class in classes:
        aio_class = getattr(aio_module, sync_class.__name__)
        sync_methods = {name for name in vars(sync_class) if not name.startswith("_")}
        assert {name for name in vars(aio_class) if not name.startswith("_")} == sync_methods
        for name in sync_methods:
            sync_method, aio_method = getattr(sync_class, name), getattr(aio_class, name)
            assert inspect.iscoroutinefunction(aio_method), name
            assert inspect.signature(aio_method) == inspect.signature(sync_method)
            assert aio_method.__doc__ == sync_method.__doc__
        assert inspect.signature(aio_class.__init__) == inspect.signature(sync_class.__init__)


def test_the_raw_variants_name_each_transports_reply_type() -> None:
    from voucherify.aio.api.events_api import EventsApi as AsyncEventsApi
    from voucherify.api.events_api import EventsApi

    name = "track_custom_event_without_preload_content"
    assert typing.get_type_hints(getattr(EventsApi, name))["return"] is urllib3.BaseHTTPResponse
    assert typing.get_type_hints(getattr(AsyncEventsApi, name))["return"] is (
        aiohttp.ClientResponse
    )


def test_the_operations_are_declared_once_and_shared() -> None:
    from voucherify.aio.api import client_side_api as aio_client_side
    from voucherify.aio.api import events_api as aio_events
    from voucherify.api import client_side_api, events_api

    assert aio_events.TRACK_CUSTOM_EVENT is events_api.TRACK_CUSTOM_EVENT
    assert aio_client_side.TRACK_CUSTOM_EVENT_CLIENT_SIDE is (
        client_side_api.TRACK_CUSTOM_EVENT_CLIENT_SIDE
    )
    for module in (aio_events, aio_client_side):
        assert "Operation(" not in Path(module.__file__ or "").read_text(encoding="utf-8")


NEW_API = '''"""``CustomersApi``: a module of the shape a next API class has."""

from __future__ import annotations

from typing import Any, Optional

from typing_extensions import Unpack

from voucherify._pipeline.operation import Operation, RequestOptions
from voucherify.api._base import BaseApi
from voucherify.api_response import ApiResponse
from voucherify.models.customer import Customer
from voucherify.rest import RESTResponse

GET_CUSTOMER: Operation[Any] = Operation(name="CustomersApi.get_customer", method="GET",
                                         path="/v1/customers/{id}")


def _unused_helper() -> None:
    """Declared here and not used by the class: the twin does not import it."""


class CustomersApi(BaseApi):
    """Customers."""

    def get_customer(
        self, customer_id: str, expand: Optional[str] = None, **options: Unpack[RequestOptions]
    ) -> Customer:
        """Get one customer."""
        return self.api_client.call_operation(
            GET_CUSTOMER, None, (customer_id, expand), options
        ).data

    def get_customer_with_http_info(
        self, customer_id: str, **options: Unpack[RequestOptions]
    ) -> ApiResponse[Customer]:
        """With the status and headers."""
        response = self.api_client.call_operation(GET_CUSTOMER, None, (customer_id,), options)
        return response

    def get_customer_without_preload_content(
        self, customer_id: str, **options: Unpack[RequestOptions]
    ) -> RESTResponse:
        """Unread."""
        return self.api_client.call_operation_raw(GET_CUSTOMER, None, (customer_id,), options)

    def describe(self) -> str:
        """Sends nothing, so it stays a plain method."""
        return "customers"
'''


def test_a_new_api_module_gets_awaited_methods_and_shared_declarations() -> None:
    text = unasync.render(Path("voucherify/api/customers_api.py"), NEW_API)
    tree = ast.parse(text)
    imports = {
        node.module: [alias.name for alias in node.names]
        for node in tree.body
        if isinstance(node, ast.ImportFrom)
    }
    assert imports["voucherify.api.customers_api"] == ["GET_CUSTOMER"]
    assert imports["voucherify.aio.api._base"] == ["BaseApi"]
    assert imports["voucherify.aio.rest"] == ["RESTResponse"]
    assert "voucherify.api._base" not in imports and "voucherify.rest" not in imports
    assert "Operation" not in imports["voucherify._pipeline.operation"]
    (cls,) = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    kinds = {node.name: type(node) for node in cls.body if isinstance(node, ast.AST)
             and hasattr(node, "name")}
    assert kinds == {
        "get_customer": ast.AsyncFunctionDef,
        "get_customer_with_http_info": ast.AsyncFunctionDef,
        "get_customer_without_preload_content": ast.AsyncFunctionDef,
        "describe": ast.FunctionDef,
    }
    awaited = [ast.unparse(node.value) for node in ast.walk(cls) if isinstance(node, ast.Await)]
    assert sorted(awaited) == [
        "self.api_client.call_operation(GET_CUSTOMER, None, (customer_id, expand), options)",
        "self.api_client.call_operation(GET_CUSTOMER, None, (customer_id,), options)",
        "self.api_client.call_operation_raw(GET_CUSTOMER, None, (customer_id,), options)",
    ]
    data = [node for node in ast.walk(cls) if isinstance(node, ast.Attribute)
            and node.attr == "data"]
    assert len(data) == 1 and isinstance(data[0].value, ast.Await)
    assert text.startswith(
        "# Generated from voucherify/api/customers_api.py by tools/unasync.py: do not edit.\n"
    )
    ruff = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--stdin-filename",
         str(ROOT / "voucherify/aio/api/customers_api.py"), "-"],
        input=text, capture_output=True, text=True, timeout=60, check=False, cwd=ROOT,
    )
    assert ruff.returncode == 0, ruff.stdout
