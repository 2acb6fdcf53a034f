"""Reading an import's input into rows, each with the file line it starts on.

NDJSON: one JSON object a line; blank lines are skipped, and a line of JSON that is not an
object (an array, a string, null...) is malformed. CSV: a header of column names, then one
event a record; the header is line 1, and a record with a quoted line break starts on its
first line. Bytes that are not UTF-8 are kept (as surrogate escapes) so that the row is
reported, with its line, by the SDK's check rather than ending the run.

**CSV columns.** A column is named by its field's path: ``event``, ``customer.source_id``,
``customer.address.city``, ``referral.code``, ``loyalty.code``... Cells are strings.
Free-form metadata goes in ``metadata.<key>`` (and ``customer.metadata.<key>``), where a
suffix ``:number``, ``:boolean`` or ``:json`` converts the cell (``:string``, the default,
does not). An empty cell sets nothing. An unknown or repeated column is an error for the
whole file, raised before any row is read.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass
from typing import IO, Any, Callable, Iterator, Optional, Sequence

from voucherify.cli._common import CliError

FORMATS = {".ndjson": "ndjson", ".jsonl": "ndjson", ".csv": "csv"}
"""Formats by file extension."""

_MAX_CELL = 10 * 1024 * 1024
"""The API's body limit: no cell of a sendable row is longer, so csv may read cells that long."""


@dataclass(frozen=True)
class Problem:
    """Why a row is malformed: a short machine key and the message to show."""

    key: str
    """``invalid_json``, ``invalid_cell``, or ``invalid_body`` (the SDK refused the body)."""
    message: str


@dataclass(frozen=True)
class Row:
    """One row of the input: the line it starts on, and its body or what made it unreadable."""

    line: int
    body: Any
    """The event body; for an unreadable row, its text (NDJSON) or cells by column (CSV)."""
    problem: Optional[Problem] = None


_NOT_AN_OBJECT = Problem("invalid_body", "invalid EventsCreateRequestBody: must be an object")
"""An NDJSON line that is JSON but not an object: no event body, whatever the SDK says."""


def format_of(path: str, given: Optional[str]) -> str:
    """The input's format: ``given``, else from the file's extension."""
    if given is not None:
        return given
    if path == "-":
        raise CliError("reading standard input: give its format with --format ndjson or csv")
    for extension, name in FORMATS.items():
        if path.lower().endswith(extension):
            return name
    raise CliError(f"cannot tell the format of {path}: give --format ndjson or csv")


def read(stream: IO[bytes], file_format: str) -> Iterator[Row]:
    """The rows of ``stream``; for CSV the header is read and checked before this returns."""
    if file_format == "csv":
        return _csv_rows(stream)
    return _ndjson_rows(stream)


def count(stream: IO[bytes], file_format: str) -> int:
    """How many rows ``stream`` holds, read quickly without checking them."""
    if file_format == "csv":
        csv.field_size_limit(max(csv.field_size_limit(), _MAX_CELL))
        records = csv.reader(_text(stream))
        try:
            return max(0, sum(1 for record in records if any(record)) - 1)
        except csv.Error:
            return 0
    return sum(1 for line in stream if line.strip())


def _ndjson_rows(stream: IO[bytes]) -> Iterator[Row]:
    for number, raw in enumerate(stream, start=1):
        text = raw.decode("utf-8", "surrogateescape")
        if number == 1:
            text = text.removeprefix("\ufeff")
        if not text.strip():
            continue
        text = text.rstrip("\r\n")
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            yield Row(number, text, Problem("invalid_json", f"not JSON: {error.msg} at column "
                                                            f"{error.colno}"))
        except (ValueError, RecursionError) as error:
            message = "nested too deeply" if isinstance(error, RecursionError) else str(error)
            yield Row(number, text, Problem("invalid_json", f"not JSON: {message}"))
        else:
            yield Row(number, value, None if isinstance(value, dict) else _NOT_AN_OBJECT)


def _csv_rows(stream: IO[bytes]) -> Iterator[Row]:
    csv.field_size_limit(max(csv.field_size_limit(), _MAX_CELL))
    records = csv.reader(_text(stream), strict=True)
    header: list[str] = []
    try:
        while not any(header):
            header = next(records)
    except StopIteration:
        raise CliError("the CSV input is empty: it needs a header of column names") from None
    except csv.Error as error:
        raise CliError(f"the CSV header cannot be read: {error}") from None
    row_columns = columns(header)
    return _csv_records(records, row_columns)


def _csv_records(records: Any, row_columns: list[Column]) -> Iterator[Row]:
    names = [column.name for column in row_columns]
    last_line = records.line_num
    while True:
        first_line = last_line + 1
        try:
            cells = next(records)
        except StopIteration:
            return
        except csv.Error as error:
            last_line = records.line_num
            yield Row(first_line, None, Problem("invalid_cell", f"not CSV: {error}"))
            continue
        last_line = records.line_num
        if not any(cells):
            continue  # a blank line, or one of empty cells only
        try:
            yield Row(first_line, body(row_columns, cells))
        except CellError as error:
            yield Row(first_line, dict(zip(names, cells)), Problem("invalid_cell", str(error)))


def _text(stream: IO[bytes]) -> io.TextIOWrapper:
    return io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")


# -- CSV columns -----------------------------------------------------------------------------

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
