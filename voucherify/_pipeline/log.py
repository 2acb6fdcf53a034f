"""The ``voucherify`` logger: one line per attempt, every credential masked.

Lines go through the standard ``logging`` module as usual. ``Configuration.debug`` (or
``VOUCHERIFY_LOG=info|debug``) turns them on for that configuration's clients without
touching any logger's level or handlers: the records are handed to the existing handlers,
or, when logging is not set up at all, to a stderr handler of this module's own that no
logger holds. Nothing here prints, and ``http.client``'s debug output stays off.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Mapping, Optional

logger = logging.getLogger("voucherify")

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}
"""Values of ``VOUCHERIFY_LOG``."""

_SECRET = frozenset({"x-app-token", "x-client-token", "authorization", "proxy-authorization",
                     "cookie"})
_IDENTIFIER = frozenset({"x-app-id", "x-client-application-id"})

_FALLBACK: list[logging.Handler] = []


def mask_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``headers`` safe to log: secrets hidden, application ids cut short."""
    masked = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower in _SECRET:
            masked[name] = "***"
        elif lower in _IDENTIFIER:
            masked[name] = value[:4] + "***" if len(value) > 8 else "***"
        else:
            masked[name] = value
    return masked


def enabled(level: int, forced: Optional[int]) -> bool:
    """Whether a line at ``level`` goes out, given a client's forced level (or ``None``)."""
    return (forced is not None and level >= forced) or logger.isEnabledFor(level)


def emit(level: int, forced: Optional[int], message: str, *args: Any) -> None:
    """Log ``message % args`` at ``level``; a client's forced level bypasses logger levels."""
    if logger.isEnabledFor(level):
        logger.log(level, message, *args)
        return
    if forced is None or level < forced:
        return
    record = logger.makeRecord(logger.name, level, __file__, 0, message, args, None)
    if logger.hasHandlers():
        logger.handle(record)
    else:
        _fallback_handler().handle(record)


def _fallback_handler() -> logging.Handler:
    if not _FALLBACK:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        _FALLBACK.append(handler)
    return _FALLBACK[0]
