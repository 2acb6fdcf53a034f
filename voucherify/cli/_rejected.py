"""The ``--rejected`` file: every row the API refused or that was malformed, one JSON a line.

``{"line": N, "row": <body>, "error": {"status", "key", "message", "details", "request_id"}}``
where ``line`` is the row's line in the input and ``status`` is ``null`` for a row that was
never sent. Fix the rows, and import them from a new file.
"""

from __future__ import annotations

import json
import threading
from typing import IO, Any, Optional

from voucherify.cli._errors import CliError
from voucherify.exceptions import ApiException, OpenApiException


def api_error(error: Optional[OpenApiException]) -> dict[str, Any]:
    """The ``error`` object of a row the API refused (or the bulk library found invalid)."""
    if isinstance(error, ApiException):
        return {
            "status": error.status,
            "key": error.key,
            "message": error.message or str(error),
            "details": error.details,
            "request_id": error.request_id,
        }
    return problem_error("invalid_body", str(error))


def problem_error(key: str, message: str) -> dict[str, Any]:
    """The ``error`` object of a row that was not sent because it is malformed."""
    return {"status": None, "key": key, "message": message, "details": None, "request_id": None}


class RejectedFile:
    """Appends rejected rows to a file (or nowhere, without a path); safe across threads."""

    def __init__(self, path: Optional[str]) -> None:
        self.path = path
        self.written = 0
        self.failure: Optional[str] = None
        """Why writing stopped (a full disk, say); the import reports it at the end."""
        self._lock = threading.Lock()
        self._file: Optional[IO[str]] = None
        if path is not None:
            try:
                self._file = open(path, "w", encoding="utf-8")  # noqa: SIM115
            except OSError as error:
                raise CliError(f"cannot write --rejected {path}: {error.strerror}") from None

    def write(self, line: int, row: Any, error: dict[str, Any]) -> None:
        if self._file is None:
            return
        try:
            text = json.dumps({"line": line, "row": row, "error": error}, default=str)
        except (ValueError, TypeError, RecursionError):  # a row only the SDK could read
            text = json.dumps({"line": line, "row": None, "error": error}, default=str)
        with self._lock:
            if self.failure is not None:
                return
            try:
                self._file.write(text + "\n")
                self._file.flush()
                self.written += 1
            except OSError as failure:
                self.failure = f"writing {self.path} failed: {failure.strerror}"

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
