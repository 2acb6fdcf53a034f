"""The strict contract's rules for an event body, written apart from the SDK's models.

The point of the stand-in is to check the SDK against an independent reading of the
contract, so nothing here imports the SDK. The first broken rule is reported in the API's
wording, naming the property path: ``Property .referral should have required property 'code'``.
Unknown properties are accepted, as a newer API would accept them.
"""

from __future__ import annotations

import datetime
import json
import re
from typing import Any, NoReturn

from voucherify.exceptions import PicklableException

EVENT_MAX_LENGTH = 300

CUSTOMER_STRINGS = ("id", "source_id", "name", "description", "email", "phone")
CUSTOMER_DATES = ("birthdate", "birthday")
ADDRESS_STRINGS = ("city", "state", "line_1", "line_2", "country", "postal_code")

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")


class PayloadError(PicklableException, ValueError):
    """The body breaks a rule; ``details`` says which, for the 400 reply."""

    def __init__(self, details: str) -> None:
        super().__init__(details)
        self.details = details


def parse_json(raw: bytes) -> Any:
    """Decode a JSON body, refusing text that is not strict JSON (``NaN``, bad UTF-8...)."""
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise PayloadError("Request body should be valid JSON") from None


def check_event_body(body: Any) -> None:
    """Raise :class:`PayloadError` for the first rule ``body`` breaks."""
    _expect_object(body, "")
    event = _require(body, "event", "")
    _expect_string(event, ".event")
    if len(event) < 1:
        _fail(".event", "should NOT be shorter than 1 characters")
    if len(event) > EVENT_MAX_LENGTH:
        _fail(".event", f"should NOT be longer than {EVENT_MAX_LENGTH} characters")
    _check_customer(_require(body, "customer", ""), ".customer")
    if "referral" in body:
        _check_coded(body["referral"], ".referral", optional_strings=("referrer_id",))
    if "loyalty" in body:
        _check_coded(body["loyalty"], ".loyalty", optional_strings=())
    if "metadata" in body:
        _expect_object(body["metadata"], ".metadata")


def _check_customer(customer: Any, path: str) -> None:
    _expect_object(customer, path)
    for name in CUSTOMER_STRINGS:
        if name in customer:
            _expect_string(customer[name], f"{path}.{name}")
    for name in CUSTOMER_DATES:
        if name in customer:
            _expect_date(customer[name], f"{path}.{name}")
    address = customer.get("address")
    if address is not None:
        _expect_object(address, f"{path}.address", or_null=True)
        for name in ADDRESS_STRINGS:
            if name in address:
                _expect_string(address[name], f"{path}.address.{name}")
    if "metadata" in customer:
        _expect_object(customer["metadata"], f"{path}.metadata")


def _check_coded(value: Any, path: str, optional_strings: tuple[str, ...]) -> None:
    """``referral`` and ``loyalty``: an object with a required string ``code``."""
    _expect_object(value, path)
    _expect_string(_require(value, "code", path), f"{path}.code")
    for name in optional_strings:
        if name in value:
            _expect_string(value[name], f"{path}.{name}")


def _require(obj: dict[str, Any], name: str, path: str) -> Any:
    if name not in obj:
        _fail(path, f"should have required property '{name}'")
    return obj[name]


def _expect_object(value: Any, path: str, *, or_null: bool = False) -> None:
    if not isinstance(value, dict):
        _fail(path, "should be object or null" if or_null else "should be object")


def _expect_string(value: Any, path: str) -> None:
    if not isinstance(value, str):
        _fail(path, "should be string")


def _expect_date(value: Any, path: str) -> None:
    _expect_string(value, path)
    if _DATE.match(value):
        try:
            datetime.date.fromisoformat(value)
        except ValueError:
            pass
        else:
            return
    _fail(path, 'should match format "date" (YYYY-MM-DD)')


def _fail(path: str, rule: str) -> NoReturn:
    where = f"Property {path}" if path else "Request body"
    raise PayloadError(f"{where} {rule}")


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")
