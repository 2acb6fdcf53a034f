"""The lines an import ends with, on stderr: counts per outcome, waits, time, rate, advice."""

from __future__ import annotations

from typing import Optional, Sequence

from voucherify.bulk import Outcome
from voucherify.cli._progress import Progress

_MEANING = {
    Outcome.SENT: "recorded by the API",
    Outcome.REJECTED: "refused by the API",
    Outcome.INVALID: "malformed, not sent",
    Outcome.UNKNOWN: "sent, reply lost: may have been recorded",
    Outcome.NOT_SENT: "certainly not recorded: a rerun with the journal sends them",
    Outcome.SKIPPED: "sent by an earlier run, per the journal",
}
_ORDER = (Outcome.SENT, Outcome.SKIPPED, Outcome.REJECTED, Outcome.INVALID, Outcome.UNKNOWN,
          Outcome.NOT_SENT)
"""The summary's order of the bulk library's outcomes."""
_LINES_SHOWN = 20


def import_summary(
    source: str,
    progress: Progress,
    rate_limited: int,
    stopped: Optional[str],
    unknown_lines: Sequence[int],
    journal: Optional[str],
    rejected_path: Optional[str],
    rejected_written: int,
) -> list[str]:
    """The summary of a run that sent rows."""
    elapsed = progress.elapsed()
    done = progress.done
    rate = done / elapsed if elapsed > 0 else 0.0
    lines = [f"{source}: {done} rows in {elapsed:.1f}s ({rate:.1f} rows/s)"]
    for outcome in _ORDER:
        label = outcome.value.replace("_", " ")
        lines.append(f"  {label:<9}{progress.counts[outcome]:>8}  {_MEANING[outcome]}")
    lines.append(f"  429 replies waited out: {rate_limited}")
    if stopped is not None:
        lines.append(f"stopped: {stopped}")
        if progress.total is not None and done < progress.total:
            lines.append(f"  {progress.total - done} rows of the input were not read")
    if unknown_lines:
        lines.append("unknown rows, to check by hand: " + _some(unknown_lines))
    if rejected_path is not None:
        lines.append(f"{rejected_written} rejected or invalid rows written to {rejected_path}")
    counts = progress.counts
    if counts[Outcome.NOT_SENT] or counts[Outcome.UNKNOWN] or stopped is not None:
        if journal is not None:
            lines.append(
                f"to resume, run the same command again: --journal {journal} skips what was "
                "done" + (" and leaves unknown rows alone unless --resend-unknown"
                          if counts[Outcome.UNKNOWN] else "")
            )
        else:
            lines.append("with --journal PATH, a rerun would resume where this run ended")
    return lines


def dry_run_summary(
    source: str, valid: int, invalid: int, sent: int, refused: int, stopped: Optional[str]
) -> list[str]:
    """The summary of a dry run: what was checked, and what a real run would do."""
    lines = [
        f"dry run: {source}: {valid + invalid} rows, {valid} valid, {invalid} invalid; "
        "nothing was sent"
    ]
    if sent or refused:
        lines.append(
            f"  per the journal, {sent} valid rows were sent and {refused} refused by an "
            "earlier run: a run sends neither again, skipping the sent ones and counting the "
            "refused ones as refused"
        )
    if stopped is not None:
        lines.append(f"stopped: {stopped}")
    return lines


def _some(numbers: Sequence[int]) -> str:
    shown = ", ".join(str(number) for number in sorted(numbers)[:_LINES_SHOWN])
    more = len(numbers) - _LINES_SHOWN
    return f"lines {shown}" + (f" and {more} more" if more > 0 else "")
