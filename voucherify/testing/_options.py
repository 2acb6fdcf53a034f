"""The stand-in's settings, checked once for both the in-process server and the child one.

``LocalVoucherify`` and ``LocalVoucherifyProcess`` both take these keywords; keeping them
here lets either module use them without importing the other.
"""

from __future__ import annotations

import secrets
from typing import Iterable, Mapping, Optional

from typing_extensions import TypedDict

from voucherify.testing._endpoints import normalize_origin


class ServerOptions(TypedDict, total=False):
    """The keywords :class:`LocalVoucherify` takes, for code that passes them on."""

    host: str
    port: int
    app_id: Optional[str]
    app_token: Optional[str]
    client_app_id: Optional[str]
    client_token: Optional[str]
    allowed_origins: Optional[Iterable[str]]
    rate_limit: Optional[tuple[int, float]]
    client_rate_limit: Optional[tuple[int, float]]
    event_schemas: Optional[Mapping[str, Mapping[str, str]]]


def normalized_origins(allowed_origins: Optional[Iterable[str]]) -> Optional[frozenset[str]]:
    """The ``allowed_origins`` setting, each origin normalized; ``None`` allows any."""
    if isinstance(allowed_origins, str):
        raise TypeError("allowed_origins must be an iterable of origins, not one string")
    if allowed_origins is None:
        return None
    return frozenset(normalize_origin(origin) for origin in allowed_origins)


def make_key(value: Optional[str], name: str) -> str:
    """``value`` checked as a key; a random one (32 hex digits) when it is ``None``."""
    if value is None:
        return secrets.token_hex(16)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    return value
