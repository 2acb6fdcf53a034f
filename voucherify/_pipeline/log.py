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
from typing import Any, Mapping, NamedTuple, Optional

logger = logging.getLogger("voucherify")

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}
"""Values of ``VOUCHERIFY_LOG``."""

_SECRET = frozenset({"x-app-token", "x-client-token", "authorization", "proxy-authorization",
                     "cookie"})
IDENTIFIERS = frozenset({"x-app-id", "x-client-application-id"})
"""Key headers that only name an application: logged cut to four characters."""
_MASK = "***"

_FALLBACK: list[logging.Handler] = []


class Secrets(NamedTuple):
    """What a request's log lines must hide, gathered when its headers are built."""

    names: frozenset[str] = frozenset()
    """Lower-case names of headers that carry keys: the configured key names, those of
    ``_request_auth`` and of the client's ``header_name``."""
    values: tuple[str, ...] = ()
    """The keys themselves (with and without prefix): a header holding one is masked
    whatever its name."""
    identifiers: frozenset[str] = frozenset()
    """Those of ``values`` that are only application ids (no secret key has the same text):
    under an application id's own header they are cut short rather than hidden."""


NO_SECRETS = Secrets()


def mask_headers(headers: Mapping[str, str], secrets: Secrets = NO_SECRETS) -> dict[str, str]:
    """A copy of ``headers`` safe to log: a header is masked when its name is a key's, or
    when its value holds a key's value, whatever its name. An application id under its own
    header is cut to four characters, unless it holds a secret key."""
    masked = {}
    for name, value in headers.items():
        lower = name.lower()
        held = [secret for secret in secrets.values if secret in value]
        if lower in IDENTIFIERS and all(secret in secrets.identifiers for secret in held):
            masked[name] = value[:4] + _MASK if len(value) > 8 else _MASK
        elif lower in _SECRET or lower in secrets.names or held:
            masked[name] = _MASK
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
