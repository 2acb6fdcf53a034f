"""Event definitions with metadata schemas, as a Voucherify project keeps them.

A definition maps each metadata property to a type name: ``string``, ``number``,
``boolean``, ``date`` (``YYYY-MM-DD``) or ``datetime`` (ISO 8601 with ``Z`` or an offset);
a ``?`` suffix makes the property optional (absent or ``null``). Properties a definition
does not name are allowed.

With no definitions at all, any event name is accepted. Once one event is defined, an
undefined name is refused with 400 ``event_not_defined``: the real API's key for that case
is not documented, so this key is the stand-in's own choice.
"""

from __future__ import annotations

import datetime
import re
import threading
from dataclasses import dataclass
from typing import Any, Mapping, NoReturn, Optional

from voucherify.exceptions import PicklableException
from voucherify.testing._validation import EVENT_MAX_LENGTH

TYPES = ("string", "number", "boolean", "date", "datetime")

_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})\Z")
_DATETIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,][0-9]+)?)?"
    r"(?:[Zz]|[+-]([0-9]{2})(?::?([0-9]{2}))?)\Z"
)

_RULES = {
    "string": "should be string",
    "number": "should be number",
    "boolean": "should be boolean",
    "date": 'should match format "date" (YYYY-MM-DD)',
    "datetime": 'should match format "date-time" (ISO 8601 with Z or an offset)',
}


@dataclass(frozen=True)
class Property:
    """One metadata property of a definition."""

    type: str
    optional: bool

    def spec(self) -> str:
        """The type name as written in a definition: ``"number?"``."""
        return self.type + ("?" if self.optional else "")


class SchemaError(PicklableException, ValueError):
    """A body breaks the project's definitions; ``key`` and ``details`` go into the 400."""

    def __init__(self, key: str, message: str, details: str) -> None:
        super().__init__(details)
        self.key = key
        self.message = message
        self.details = details


def parse_definition(name: str, metadata: Optional[Mapping[str, str]]) -> dict[str, Property]:
    """Check one definition's event name and metadata schema; ``ValueError`` if malformed."""
    if not isinstance(name, str) or not 1 <= len(name) <= EVENT_MAX_LENGTH:
        raise ValueError(f"an event name is a string of 1 to {EVENT_MAX_LENGTH} characters")
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise TypeError("metadata maps property names to type names, like {'plan': 'string'}")
    properties: dict[str, Property] = {}
    for prop, spec in metadata.items():
        if not isinstance(prop, str) or not prop:
            raise ValueError(f"event {name!r}: a property name is a non-empty string")
        optional = isinstance(spec, str) and spec.endswith("?")
        type_name = spec[:-1] if optional else spec
        if type_name not in TYPES:
            raise ValueError(
                f"event {name!r}, property {prop!r}: type {spec!r} is not one of "
                f"{', '.join(TYPES)} (optionally followed by '?')"
            )
        properties[prop] = Property(type_name, optional)
    return properties


class EventSchemas:
    """The project's event definitions; safe to use from several threads."""

    def __init__(self, schemas: Optional[Mapping[str, Optional[Mapping[str, str]]]] = None):
        self._lock = threading.Lock()
        self._definitions: dict[str, dict[str, Property]] = {}
        if schemas is not None:
            if not isinstance(schemas, Mapping):
                raise TypeError("event_schemas maps event names to metadata schemas")
            for name, metadata in schemas.items():
                self.define(name, metadata)

    def define(self, name: str, metadata: Optional[Mapping[str, str]] = None) -> None:
        """Define (or redefine) event ``name`` with a metadata schema (``None``: any metadata)."""
        properties = parse_definition(name, metadata)
        with self._lock:
            self._definitions[name] = properties

    def definitions(self) -> dict[str, dict[str, str]]:
        """Every definition, in the form :meth:`define` takes."""
        with self._lock:
            return {
                name: {prop: p.spec() for prop, p in properties.items()}
                for name, properties in self._definitions.items()
            }

    def check(self, event: str, metadata: Optional[Mapping[str, Any]]) -> None:
        """Raise :class:`SchemaError` if ``event`` is undefined or ``metadata`` breaks its schema.

        ``metadata`` is the body's ``metadata`` object (``None`` when absent).
        """
        with self._lock:
            if not self._definitions:
                return
            properties = self._definitions.get(event)
        if properties is None:
            raise SchemaError(
                "event_not_defined",
                "Event not defined",
                f"Event '{event}' is not defined in the project's event schema",
            )
        values = metadata or {}
        for prop, expected in properties.items():
            value = values.get(prop)
            if value is None and expected.optional:
                continue
            if prop not in values:
                _invalid(".metadata", f"should have required property '{prop}'")
            if not _matches(expected.type, value):
                _invalid(f".metadata.{prop}", _RULES[expected.type])


def _invalid(path: str, rule: str) -> NoReturn:
    raise SchemaError(
        "metadata_validation_failed", "Metadata validation failed", f"Property {path} {rule}"
    )


def _matches(type_name: str, value: Any) -> bool:
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if type_name == "boolean":
        return isinstance(value, bool)
    if not isinstance(value, str):
        return False
    if type_name == "date":
        return _is_date(value)
    return _is_datetime(value)


def _is_date(text: str) -> bool:
    match = _DATE.match(text)
    return match is not None and _valid_date(*match.groups())


def _is_datetime(text: str) -> bool:
    match = _DATETIME.match(text)
    if match is None:
        return False
    year, month, day, hour, minute, second, offset_hours, offset_minutes = match.groups()
    return (
        _valid_date(year, month, day)
        and int(hour) <= 23
        and int(minute) <= 59
        and int(second or 0) <= 60  # 60: a leap second
        and int(offset_hours or 0) <= 23
        and int(offset_minutes or 0) <= 59
    )


def _valid_date(year: str, month: str, day: str) -> bool:
    try:
        datetime.date(int(year), int(month), int(day))
    except ValueError:
        return False
    return True
