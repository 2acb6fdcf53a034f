"""Reading an input file into rows, each with the file line it starts on.

NDJSON: one JSON object a line; blank lines are skipped, and a line of JSON that is not an
object (an array, a string, null...) is malformed. CSV: a header of column names
(``_csv_columns``), then one event a record; the header is line 1, and a record with a
quoted line break starts on its first line. Bytes that are not UTF-8 are kept (as surrogate
escapes) so that the row is reported, with its line, by the SDK's check rather than ending
the run.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import IO, Any, Iterator, Optional

from voucherify.cli import _csv_columns
from voucherify.cli._errors import CliError

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
    row_columns = _csv_columns.columns(header)
    return _csv_records(records, row_columns)


def _csv_records(records: Any, row_columns: list[_csv_columns.Column]) -> Iterator[Row]:
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
            yield Row(first_line, _csv_columns.body(row_columns, cells))
        except _csv_columns.CellError as error:
            yield Row(first_line, dict(zip(names, cells)), Problem("invalid_cell", str(error)))


def _text(stream: IO[bytes]) -> io.TextIOWrapper:
    return io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
