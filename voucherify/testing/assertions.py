"""One-line checks of what a :class:`LocalVoucherify` recorded, with messages that show it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional

_MISSING = object()

if TYPE_CHECKING:
    from voucherify.testing._state import RecordedEvent


def _matches(
    recorded: RecordedEvent,
    event: str,
    customer_source_id: Optional[str],
    customer_id: Optional[str],
    metadata: Optional[Mapping[str, Any]],
) -> bool:
    body = recorded["body"]
    customer = body.get("customer") or {}
    if recorded["event"] != event:
        return False
    if customer_source_id is not None and customer.get("source_id") != customer_source_id:
        return False
    if customer_id is not None and recorded["customer_id"] != customer_id:
        return False
    if metadata is not None:
        sent = body.get("metadata") or {}
        if any(sent.get(key, _MISSING) != value for key, value in metadata.items()):
            return False
    return True


def assert_event_tracked(
    server: Any,
    event: str,
    *,
    customer_source_id: Optional[str] = None,
    customer_id: Optional[str] = None,
    metadata: Optional[Mapping[str, Any]] = None,
    times: Optional[int] = None,
) -> list[RecordedEvent]:
    """Assert that ``server`` recorded ``event`` (for that customer, with that metadata).

    ``server`` is anything with an ``events`` list: a ``LocalVoucherify``, in-process or not.
    ``metadata`` matches when every given key has the given value; other keys may be there
    too. ``times`` asks for an exact count; without it, at least one is enough. Returns the
    matching events; the failure message lists everything that was tracked instead.
    """
    recorded: list[RecordedEvent] = server.events
    found = [
        r for r in recorded
        if _matches(r, event, customer_source_id, customer_id, metadata)
    ]
    if (times is None and found) or (times is not None and len(found) == times):
        return found
    wanted = _describe_wanted(event, customer_source_id, customer_id, metadata)
    count = f"exactly {times} time(s)" if times is not None else "at least once"
    seen = "\n".join(f"  - {_describe(r)}" for r in recorded) or "  (no events at all)"
    raise AssertionError(
        f"expected {wanted} to be tracked {count}, found {len(found)}; tracked:\n{seen}"
    )


def _describe_wanted(
    event: str,
    customer_source_id: Optional[str],
    customer_id: Optional[str],
    metadata: Optional[Mapping[str, Any]],
) -> str:
    parts = [repr(event)]
    if customer_source_id is not None:
        parts.append(f"customer.source_id={customer_source_id!r}")
    if customer_id is not None:
        parts.append(f"customer_id={customer_id!r}")
    if metadata is not None:
        parts.append(f"metadata ⊇ {dict(metadata)!r}")
    return " ".join(parts)


def _describe(recorded: RecordedEvent) -> str:
    customer = recorded["body"].get("customer") or {}
    text = f"{recorded['event']!r} customer_id={recorded['customer_id']!r}"
    if customer.get("source_id") is not None:
        text += f" source_id={customer['source_id']!r}"
    if recorded["body"].get("metadata"):
        text += f" metadata={recorded['body']['metadata']!r}"
    return text
