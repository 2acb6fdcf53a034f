"""Import stays light: names resolve lazily, and optional parts are never loaded by the core."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import voucherify
from voucherify.api.client_side_api import ClientSideApi
from voucherify.api.events_api import EventsApi


def loaded_after(code: str) -> set[str]:
    script = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out))


def test_import_voucherify_loads_no_models_api_transport_or_extras() -> None:
    modules = loaded_after("import voucherify")
    ours = {m for m in modules if m.startswith("voucherify")}
    assert ours == {"voucherify", "voucherify._lazy", "voucherify._version"}
    assert "pydantic.main" not in modules
    assert "urllib3" not in modules


def test_making_a_client_does_not_load_testing_or_extras() -> None:
    modules = loaded_after(
        "import voucherify\n"
        "c = voucherify.ApiClient(voucherify.Configuration())\n"
        "voucherify.EventsApi(c)\n"
        "import voucherify.rest, voucherify.models"
    )
    assert not any(m.startswith("voucherify.testing") for m in modules)
    assert not any(m.startswith("voucherify.aio") for m in modules)


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
