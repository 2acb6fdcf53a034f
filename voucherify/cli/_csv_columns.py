"""CSV columns: which header names map to which field of the event body, and how cells convert.

A column is named by its field's path: ``event``, ``customer.source_id``,
``customer.address.city``, ``referral.code``, ``loyalty.code``... Cells are strings. Free-form
metadata goes in ``metadata.<key>`` (and ``customer.metadata.<key>``), where a suffix
``:number``, ``:boolean`` or ``:json`` converts the cell (``:string``, the default, does
not). An empty cell sets nothing. An unknown or repeated column is an error for the whole
file, raised before any row is read.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from voucherify.cli._errors import CliError

CUSTOMER_FIELDS = (
    "id", "source_id", "name", "description", "email", "phone", "birthdate", "birthday",
)
ADDRESS_FIELDS = ("city", "state", "line_1", "line_2", "country", "postal_code")

FIELDS: dict[str, tuple[str, ...]] = {
    "event": ("event",),
    **{f"customer.{name}": ("customer", name) for name in CUSTOMER_FIELDS},
    **{f"customer.address.{name}": ("customer", "address", name) for name in ADDRESS_FIELDS},
    "referral.code": ("referral", "code"),
    "referral.referrer_id": ("referral", "referrer_id"),
    "loyalty.code": ("loyalty", "code"),
}
"""Columns of fixed fields, all strings, by header name."""

FREE_FORM: dict[str, tuple[str, ...]] = {
    "metadata.": ("metadata",),
    "customer.metadata.": ("customer", "metadata"),
}
"""Header prefixes of free-form objects: the rest of the name is the key."""

_KNOWN = (
    "event, customer.<" + "|".join(CUSTOMER_FIELDS) + ">, customer.address.<"
    + "|".join(ADDRESS_FIELDS) + ">, referral.code, referral.referrer_id, loyalty.code, "
    "metadata.<key>[:number|:boolean|:json], customer.metadata.<key>[:type]"
)

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\Z")


class CellError(ValueError):
    """A cell that its column's type cannot convert; the message names the column."""


def _string(text: str) -> str:
    return text


def _number(text: str) -> Any:
    text = text.strip()
    if not _NUMBER.match(text):
        raise ValueError("not a number")
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def _boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered not in ("true", "false"):
        raise ValueError("not true or false")
    return lowered == "true"


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        raise ValueError(f"not JSON ({error})") from None
    except RecursionError:
        raise ValueError("not JSON the SDK can send (nested too deeply)") from None


CONVERTERS: dict[str, Callable[[str], Any]] = {
    "string": _string,
    "number": _number,
    "boolean": _boolean,
    "json": _json,
}


@dataclass(frozen=True)
class Column:
    """One CSV column: its header name, the body path it sets and how its cells convert."""

    name: str
    path: tuple[str, ...]
    convert: Callable[[str], Any]

    def value(self, cell: str) -> Any:
        try:
            return self.convert(cell)
        except ValueError as error:
            raise CellError(f"column {self.name}: {error}") from None


def columns(header: Sequence[str]) -> list[Column]:
    """The columns a header names; :class:`CliError` for an unknown, nameless or repeated one."""
    found: list[Column] = []
    owners: dict[tuple[str, ...], str] = {}
    for number, raw in enumerate(header, start=1):
        name = raw.strip()
        if not name:
            raise CliError(f"CSV column {number} has no name in the header")
        column = _column(name)
        if column is None:
            raise CliError(f"unknown CSV column {name!r} (column {number}); known: {_KNOWN}")
        if column.path in owners:
            raise CliError(
                f"CSV columns {owners[column.path]!r} and {name!r} set the same field"
            )
        owners[column.path] = name
        found.append(column)
    return found


def _column(name: str) -> Optional[Column]:
    if name in FIELDS:
        return Column(name, FIELDS[name], _string)
    for prefix, parent in FREE_FORM.items():
        if name.startswith(prefix):
            key, type_name = name[len(prefix):], "string"
            if ":" in key:
                key, type_name = key.rsplit(":", 1)
            if key and type_name in CONVERTERS:
                return Column(name, (*parent, key), CONVERTERS[type_name])
    return None


def body(row_columns: Sequence[Column], cells: Sequence[str]) -> dict[str, Any]:
    """The event body one row describes, empty cells left out; :class:`CellError` if a cell
    does not convert or the row has more cells than the header has columns."""
    if len(cells) > len(row_columns):
        raise CellError(f"{len(cells)} cells, but the header has {len(row_columns)} columns")
    built: dict[str, Any] = {}
    for column, cell in zip(row_columns, cells):
        if cell == "":
            continue
        target = built
        for part in column.path[:-1]:
            target = target.setdefault(part, {})
        target[column.path[-1]] = column.value(cell)
    return built
