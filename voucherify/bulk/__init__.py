"""voucherify.bulk: track thousands of events, paced, resumable, never sent twice.

:func:`track_events` sends event bodies through one :class:`voucherify.EventsApi` with
bounded concurrency. It paces itself by the API's rate-limit headers so that it slows down
before a 429, and when one comes anyway every worker waits out its ``Retry-After`` (a 429
was not processed, so that item is sent again), unless the wait is longer than the retry
policy's ``max_wait``. It reports each item as an :class:`Outcome`: sent, rejected (with the
parsed error), invalid, of unknown fate (sent, reply lost), not sent, or skipped; and stops
early on 401/403 or settings the SDK refuses. With a journal file (locked while a run uses
it), a rerun over the same input resumes where the last one ended, even after the process
was killed, and never sends an item of unknown fate again unless told to. See docs/bulk.md.
"""

from typing import TYPE_CHECKING

from voucherify._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "voucherify.bulk._item": (
            "check_item",
            "item_key",
        ),
        "voucherify.bulk._journal": (
            "Journal",
            "JournalInUseError",
            "JournalRecords",
            "read_journal",
        ),
        "voucherify.bulk._outcome": (
            "Outcome",
            "keys_refused",
            "outcome_of",
        ),
        "voucherify.bulk._send": ("refused_settings",),
        "voucherify.bulk._tracker": (
            "BulkResult",
            "ItemResult",
            "track_events",
        ),
    },
)

if TYPE_CHECKING:
    from voucherify.bulk._item import check_item as check_item
    from voucherify.bulk._item import item_key as item_key
    from voucherify.bulk._journal import Journal as Journal
    from voucherify.bulk._journal import JournalInUseError as JournalInUseError
    from voucherify.bulk._journal import JournalRecords as JournalRecords
    from voucherify.bulk._journal import read_journal as read_journal
    from voucherify.bulk._outcome import Outcome as Outcome
    from voucherify.bulk._outcome import keys_refused as keys_refused
    from voucherify.bulk._outcome import outcome_of as outcome_of
    from voucherify.bulk._send import refused_settings as refused_settings
    from voucherify.bulk._tracker import BulkResult as BulkResult
    from voucherify.bulk._tracker import ItemResult as ItemResult
    from voucherify.bulk._tracker import track_events as track_events
