"""voucherify.outbox: track an event without waiting for the API, lose none, send none twice.

:class:`Outbox` stores each event durably before :meth:`Outbox.track` returns (an SQLite
file in WAL mode) and delivers it through the SDK's own client, from a background thread
(:meth:`Outbox.start`) or the calling one (:meth:`Outbox.deliver`). Any number of processes
of one host may share the file: each event is claimed by one worker, and all of them pace
themselves on one shared view of the project's rate limit. Every event is in one
:class:`State`; an event whose call may have reached the API is never sent again unless an
operator resends it. See docs/outbox.md.
"""

from typing import TYPE_CHECKING

from voucherify._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "voucherify.outbox._delivery": ("DeliveryReport",),
        "voucherify.outbox._errors": ("OutboxError", "OutboxFullError"),
        "voucherify.outbox._outbox": ("Outbox",),
        "voucherify.outbox._records": ("OutboxEvent", "OutboxStats", "State"),
        "voucherify.outbox._store": ("SCHEMA_VERSION",),
    },
)

if TYPE_CHECKING:
    from voucherify.outbox._delivery import DeliveryReport as DeliveryReport
    from voucherify.outbox._errors import OutboxError as OutboxError
    from voucherify.outbox._errors import OutboxFullError as OutboxFullError
    from voucherify.outbox._outbox import Outbox as Outbox
    from voucherify.outbox._records import OutboxEvent as OutboxEvent
    from voucherify.outbox._records import OutboxStats as OutboxStats
    from voucherify.outbox._records import State as State
    from voucherify.outbox._store import SCHEMA_VERSION as SCHEMA_VERSION
