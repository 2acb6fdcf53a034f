"""One item: the SDK's check of it and its journal key, each written once.

A key is ``"<position>:<digest>"``: the item's position in the input and a digest of its
content. :func:`key_position` reads the position back; nothing else parses a key.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Optional

from voucherify._pipeline.request import encode_body
from voucherify.api.events_api import TRACK_CUSTOM_EVENT
from voucherify.exceptions import ApiTypeError, ApiValueError, OpenApiException


def item_key(index: int, body: Any) -> str:
    """A journal key: the item's position and a digest of its content. Never raises.

    The digest is of the item's JSON with sorted keys. An item that has none (a cycle, keys
    of mixed types, nesting too deep, an integer too long for ``str``) is digested as the
    SDK would encode it, and one the SDK cannot encode either is keyed ``unencodable``:
    it is invalid, so it is never sent under that key.
    """
    try:
        if hasattr(body, "to_dict"):
            body = body.to_dict()
        text: Optional[bytes] = json.dumps(
            body, sort_keys=True, default=str, separators=(",", ":")
        ).encode("utf-8", "surrogatepass")
    except Exception:  # RecursionError too: anything the item does while being encoded
        try:
            text = encode_event(body)
        except Exception:
            text = None
    digest = "unencodable" if text is None else hashlib.sha256(text).hexdigest()[:16]
    return f"{index}:{digest}"


def key_position(key: str) -> Optional[int]:
    """The position :func:`item_key` put in ``key``, or ``None`` if it is not such a key."""
    position, separator, _ = key.partition(":")
    if not separator or not position.isdecimal():
        return None
    return int(position)


def encode_event(body: Any) -> bytes:
    """``body`` validated and encoded exactly as ``EventsApi.track_custom_event`` would send
    it; raises what that call raises for a bad body (``ApiValueError``, ``ApiTypeError``)."""
    payload = encode_body(TRACK_CUSTOM_EVENT, body)
    assert payload is not None  # the operation sends a body
    return payload


def check_item(body: Any) -> Optional[OpenApiException]:
    """Why the SDK would refuse to send ``body`` as an event, or ``None`` if it would not.

    It runs the checks a call runs on its body (the model, the 10 MiB limit), without I/O,
    so that a call's refusal is always about the settings and never mistaken for one
    about the item. Never raises: whatever the item does while being checked is reported.
    """
    try:
        encode_event(body)
    except (ApiValueError, ApiTypeError) as error:
        return error
    except Exception as error:  # RecursionError, a Mapping whose items() fail...
        return ApiValueError(f"the item cannot be encoded as JSON ({type(error).__name__})")
    return None
