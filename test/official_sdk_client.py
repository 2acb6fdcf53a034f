"""Drive the OFFICIAL ``voucherify`` package (PyPI, 6.1.1) against the local stand-in.

Runs inside ``.venv-official``, never in this repo's environment: both packages are named
``voucherify``, and this script must import the official one. ``test/test_official_sdk.py``
starts the stand-ins, runs this script once with ``python -I`` and reads its report.

Input comes only from the environment, so that no key ever shows up on a command line:
``OFFICIAL_SDK_PLAN`` holds a JSON document ``{"scenarios": [...]}``; each scenario has a
``name``, an ``api`` (``"events"`` or ``"client"``), the stand-in's ``host``, the ``keys``
to configure (header name to value), the request ``body`` and, for ``"client"``, the
``origin``. Scenarios run in the order given.

Output is ONE JSON document on stdout and nothing else:
``{"sdk": {"version", "file"}, "scenarios": {name: result}}``, where a result tells the
outcome (``"ok"`` or ``"exception"``), the response model's class and a few parsed fields,
or the exception's class, ``status``, ``Retry-After`` and raw ``body``, and whether that
body parses into the official ``Error`` model. Every key value is scrubbed from the output.

The calls follow the official docs: ``Configuration(host=...)``, ``api_key[...]``,
``ApiClient`` as a context manager, ``EventsApi.track_custom_event`` and
``ClientSideApi.track_custom_event_client_side``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import Any

import voucherify
from voucherify.models.error import Error

PLAN_VARIABLE = "OFFICIAL_SDK_PLAN"
MESSAGE_LIMIT = 500
"""How much of an unexpected exception's message to report."""


def call(scenario: dict[str, Any]) -> Any:
    """One API call, written as the official docs write it; returns the parsed reply."""
    configuration = voucherify.Configuration(host=scenario["host"])
    for name, value in scenario["keys"].items():
        configuration.api_key[name] = value
    with voucherify.ApiClient(configuration) as api_client:
        if scenario["api"] == "events":
            api_instance = voucherify.EventsApi(api_client)
            return api_instance.track_custom_event(events_create_request_body=scenario["body"])
        if scenario["api"] == "client":
            client_side = voucherify.ClientSideApi(api_client)
            return client_side.track_custom_event_client_side(
                scenario["origin"], client_events_create_request_body=scenario["body"]
            )
    raise ValueError(f"unknown api {scenario['api']!r}")


def parsed_reply(result: Any) -> dict[str, Any]:
    """What the official response model made of a 2xx reply."""
    customer = result.customer
    return {
        "outcome": "ok",
        "model": type(result).__name__,
        "model_module": type(result).__module__,
        "fields": {
            "object": result.object,
            "type": result.type,
            "customer.id": customer.id,
            "customer.source_id": customer.source_id,
            "customer.object": customer.object,
            "referral": result.referral,
            "loyalty": result.loyalty,
        },
    }


def parsed_error_body(body: Any) -> dict[str, Any]:
    """Whether an error body parses into the official ``Error`` model, and into what."""
    if not isinstance(body, str):
        return {"error_parses": False, "error": None, "error_failure": f"body is {body!r}"}
    try:
        error = Error.from_json(body)
    except Exception as exc:  # a parse failure is a finding to report, not a crash
        failure = f"{type(exc).__name__}: {str(exc)[:MESSAGE_LIMIT]}"
        return {"error_parses": False, "error": None, "error_failure": failure}
    if error is None:
        return {"error_parses": False, "error": None, "error_failure": "from_json gave None"}
    return {"error_parses": True, "error": error.to_dict(), "error_failure": None}


def raised(exc: Exception) -> dict[str, Any]:
    """What the official SDK raised: class, status, Retry-After and the body, parsed."""
    result: dict[str, Any] = {
        "outcome": "exception",
        "exception": type(exc).__name__,
        "exception_module": type(exc).__module__,
        "is_api_exception": isinstance(exc, voucherify.ApiException),
        "mro": [cls.__name__ for cls in type(exc).__mro__],
    }
    if isinstance(exc, voucherify.ApiException):
        headers = exc.headers or {}
        result.update(
            status=exc.status,
            reason=exc.reason,
            retry_after=headers.get("Retry-After"),
            body=exc.body,
            **parsed_error_body(exc.body),
        )
    else:
        result["message"] = str(exc)[:MESSAGE_LIMIT]
    return result


def run(scenario: dict[str, Any]) -> dict[str, Any]:
    try:
        return parsed_reply(call(scenario))
    except Exception as exc:  # every outcome, whatever it is, goes into the report
        return raised(exc)


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` with every key value replaced, longest first so no fragment survives."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        text = text.replace(secret, "<scrubbed>")
    return text


def main() -> int:
    plan = json.loads(os.environ[PLAN_VARIABLE])
    scenarios: list[dict[str, Any]] = plan["scenarios"]
    secrets = [value for scenario in scenarios for value in scenario["keys"].values() if value]
    report: dict[str, Any] = {
        "sdk": {"version": voucherify.__version__, "file": voucherify.__file__},
        "scenarios": {},
    }
    # Anything the SDK might print goes to stderr: stdout carries the report alone.
    with contextlib.redirect_stdout(sys.stderr):
        for scenario in scenarios:
            report["scenarios"][scenario["name"]] = run(scenario)
    sys.stdout.write(scrub(json.dumps(report, default=repr), secrets) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
