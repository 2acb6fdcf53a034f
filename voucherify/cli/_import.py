"""``voucherify events import FILE``: every row of an NDJSON or CSV file, tracked in bulk.

The order of work: flags, paths, the journal (locked for this run) and the keys are checked,
then the CSV header, then the settings (the SDK's check, which the bulk library runs before
the first row); only then is anything sent. :class:`Feed` hands the valid rows to
:func:`voucherify.bulk.track_events`, which runs in a background thread while this one draws
the progress and catches Ctrl-C. The first stops reading and sending, lets the calls in
flight end and prints the summary; the second exits at once, leaving the rows in flight
``sending`` in the journal (unknown to a rerun, which does not resend them). Results come
back by position; the feed maps them to file lines.

Malformed rows (unreadable, or refused by :func:`voucherify.bulk.check_item`) are reported
and never handed on, so the bulk library sees only rows it can send, and a row's journal key
is its position among those (:func:`voucherify.bulk.item_key`): the same file gives the same
keys on every run. Reading stops early on ``--on-error stop``, on a row whose position the
journal holds with another body (:meth:`voucherify.bulk.JournalRecords.conflicts`: the file
changed, and later rows would be sent again), on a refusal of the keys, or on Ctrl-C; the
bulk library then finishes what it holds and ends.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable, Iterable, Iterator, NoReturn, Optional, TextIO

from voucherify.bulk import (
    BulkResult,
    Journal,
    JournalInUseError,
    JournalRecords,
    Outcome,
    check_item,
    item_key,
    keys_refused,
    read_journal,
    track_events,
)
from voucherify.cli import _common, _input, _output
from voucherify.cli._common import FAILED, INTERRUPTED, KEYS_REFUSED, OK, USAGE, CliError
from voucherify.cli._input import Problem, Row
from voucherify.cli._output import Progress, RejectedFile, api_error, problem_error

if TYPE_CHECKING:
    from voucherify.bulk import ItemResult
    from voucherify.configuration import Configuration

_TICK = 0.1
"""Seconds between redraws of the progress line."""
_MESSAGES_SHOWN = 100
"""Row messages shown on stderr before the rest are only counted (``--rejected`` has all)."""


def run(args: argparse.Namespace, stderr: TextIO) -> int:
    """Import ``args.file``; see the module's docstring for the order of work."""
    file_format = _input.format_of(args.file, args.format)
    _check_paths(args)
    journal = None if args.dry_run else _locked_journal(args.journal)
    try:
        records = _records(args.journal, journal)
        configuration = None if args.dry_run else _common.configuration(args)
        total = None if args.file == "-" else _count(args.file, file_format)
        with _opened(args.file) as stream:
            rows = _input.read(stream, file_format)
            rejected = RejectedFile(args.rejected)
            try:
                run_ = _Run(args, stderr, rows, records, journal, rejected, total)
                if configuration is None:
                    return run_.dry_run()
                return run_.send(configuration)
            finally:
                rejected.close()
    finally:
        if journal is not None:
            journal.close()


def _locked_journal(path: Optional[str]) -> Optional[Journal]:
    """The journal, opened and locked for this run (no other run may use it meanwhile)."""
    if path is None:
        return None
    try:
        return Journal(path)
    except JournalInUseError as error:
        raise CliError(f"{error}: nothing was sent", USAGE) from None
    except OSError as error:
        raise CliError(f"cannot open the journal {path}: {error.strerror}") from None


def _records(path: Optional[str], journal: Optional[Journal]) -> JournalRecords:
    """What the journal holds (read under its lock when this run holds it); refused if the
    file is not a journal, so that nothing is appended to another kind of file."""
    if journal is not None:
        records = journal.records
    elif path is None:
        records = JournalRecords()
    else:
        try:
            records = read_journal(path)
        except OSError as error:
            raise CliError(f"cannot read the journal {path}: {error.strerror}") from None
    if not records.is_journal:
        raise CliError(f"{path} is not a journal of voucherify events import")
    return records


class _Run:
    """One import: the feed, the progress display, the rejected file and what came back."""

    def __init__(
        self,
        args: argparse.Namespace,
        stderr: TextIO,
        rows: Iterator[_input.Row],
        records: JournalRecords,
        journal: Optional[Journal],
        rejected: RejectedFile,
        total: Optional[int],
    ) -> None:
        self.args = args
        self.stderr = stderr
        self.records = records
        self.journal = journal
        self.rejected = rejected
        self.stop = threading.Event()
        """Set by Ctrl-C: the bulk library sends nothing more."""
        self.source = "stdin" if args.file == "-" else args.file
        mode = "none" if args.dry_run else args.progress
        self.progress = Progress(stderr, mode, total, args.progress_every, args.progress_rows)
        stop_on_malformed = args.on_error == "stop" and not args.dry_run
        self.feed = Feed(rows, records, stop_on_malformed, self._malformed)
        self.unknown_lines: list[int] = []
        self._lock = threading.Lock()
        self._messages = 0

    # -- a dry run ---------------------------------------------------------------------------

    def dry_run(self) -> int:
        """Check every row; send nothing; say what a real run would skip."""
        valid = 0
        earlier: collections.Counter[Optional[Outcome]] = collections.Counter()
        for index, body in enumerate(self.feed):
            self.feed.take(index)
            valid += 1
            earlier[self.records.finished(item_key(index, body))] += 1
        invalid = self.progress.counts[Outcome.INVALID]
        refused = sum(count for outcome, count in earlier.items() if outcome and outcome.refused)
        self._print(_output.dry_run_summary(
            self.source, valid, invalid, earlier[Outcome.SENT], refused, self.feed.stopped
        ))
        if self.feed.stop_code == USAGE:
            return USAGE
        return FAILED if invalid else OK

    # -- a real run --------------------------------------------------------------------------

    def send(self, configuration: Configuration) -> int:
        """Track every valid row; the exit code says how it went."""
        import voucherify

        configuration.connection_pool_maxsize = max(
            configuration.connection_pool_maxsize, self.args.concurrency
        )
        def work() -> BulkResult:
            with voucherify.ApiClient(configuration) as client:
                return track_events(
                    voucherify.EventsApi(client),
                    self.feed,
                    concurrency=self.args.concurrency,
                    max_rate=self.args.max_rate,
                    journal=self.journal,
                    resend_unknown=self.args.resend_unknown,
                    on_result=self._result,
                    stop=self.stop,
                )

        try:
            result, _ = _common.run_interruptible(
                work, "voucherify-import", self._interrupted, self._abandon,
                tick=self.progress.tick, tick_seconds=_TICK)
        except Exception as error:
            self.progress.finish()
            raise CliError(f"the import failed: {error}", FAILED) from None
        self.progress.finish()
        if result.stopped is not None:
            # The library's own reasons (settings refused, a wait over max_wait) come after
            # any the feed already holds (Ctrl-C, the keys refused).
            code = USAGE if result.settings_error is not None else FAILED
            self.feed.stop(_common.in_cli_terms(result.stopped), code)
        self._print(_output.import_summary(
            self.source,
            self.progress,
            result.rate_limited,
            self.feed.stopped,
            self.unknown_lines,
            self.args.journal,
            self.args.rejected,
            self.rejected.written,
        ))
        if self.rejected.failure is not None:
            self._print([self.rejected.failure])
        return self._exit_code()

    def _interrupted(self) -> None:
        self.feed.stop("interrupted (Ctrl-C)", INTERRUPTED)
        self.stop.set()
        self.progress.message(
            "interrupted: sending nothing more, waiting for the calls in flight to "
            "end (Ctrl-C again to exit at once)"
        )

    def _abandon(self) -> NoReturn:
        """Exit now, the calls in flight unfinished: their rows stay ``sending`` in the journal.

        ``os._exit``, because the workers are still in their calls: an interpreter shutting
        down around them could lock up on the streams they write. Every journal line is
        flushed to the operating system as it is written, so none is lost.
        """
        where = (
            f"they stay 'sending' in {self.args.journal}: a rerun reports them as unknown and "
            "does not send them again"
            if self.journal is not None
            else "they may have been recorded"
        )
        self.progress.message(
            f"interrupted again: exiting without waiting for the calls in flight; {where}"
        )
        self.stderr.flush()
        os._exit(INTERRUPTED)

    def _exit_code(self) -> int:
        code = self.feed.stop_code
        if code is not None and code in (USAGE, KEYS_REFUSED, INTERRUPTED):
            return code
        failed = self.progress.failed
        if failed or self.feed.stopped is not None or self.rejected.failure is not None:
            return FAILED
        return OK

    # -- what comes back, from worker threads ------------------------------------------------

    def _result(self, item: ItemResult) -> None:
        """Count one row's outcome and report it; never raises into the bulk library."""
        try:
            line, body = self.feed.take(item.index)
            outcome = item.outcome
            if keys_refused(item.error):
                # Not the row's fault: not sent (and journaled so), and the run stops.
                self.feed.stop(f"the API refused the keys: {item.error}", KEYS_REFUSED)
            elif item.earlier and outcome.refused:
                # Refused by an earlier run: not recorded, so not done; the journal keeps it
                # from being sent again with the same body.
                error = problem_error("rejected_earlier", "refused by an earlier run, per the "
                                      "journal; not sent again")
                error["status"] = self.records.statuses.get(item.key)
                self.rejected.write(line, body, error)
                self._row_message(line, f"{outcome.value}: {error['message']}")
            elif outcome.refused:
                self.rejected.write(line, body, api_error(item.error))
                self._row_message(line, f"{outcome.value}: {item.error}")
            elif outcome is Outcome.UNKNOWN:
                self.unknown_lines.append(line)
                why = item.error or "an earlier run sent it and got no reply (see --resend-unknown)"
                self._row_message(line, f"unknown: {why}")
            elif outcome is Outcome.NOT_SENT and item.error is not None:
                self._row_message(line, f"not sent: {item.error}")
            elif outcome is Outcome.SENT and item.error is not None:
                # A 2xx: recorded, and never sent again; only the reply was unusable.
                self._row_message(line, f"sent, but the reply could not be read: {item.error}")
            self.progress.count(outcome)
        except Exception as error:  # a bug here must not kill a worker thread
            self.progress.message(f"row {item.index + 1} sent: cannot report its result: {error!r}")

    def _malformed(self, row: _input.Row, problem: _input.Problem) -> None:
        self.rejected.write(row.line, row.body, problem_error(problem.key, problem.message))
        self._row_message(row.line, problem.message)
        self.progress.count(Outcome.INVALID)

    def _row_message(self, line: int, text: str) -> None:
        with self._lock:
            self._messages += 1
            shown = self._messages
        if shown <= _MESSAGES_SHOWN:
            self.progress.message(f"line {line}: {text}")
        elif shown == _MESSAGES_SHOWN + 1:
            self.progress.message(
                f"(over {_MESSAGES_SHOWN} row messages: the rest are only counted in the summary"
                + ("" if self.args.rejected is None else f", and written to {self.args.rejected}")
                + ")"
            )

    def _print(self, lines: list[str]) -> None:
        for line in lines:
            print(line, file=self.stderr)
        self.stderr.flush()


def _check_paths(args: argparse.Namespace) -> None:
    """Refuse a journal or rejected file that is the input or each other, before writing."""
    if args.resend_unknown and args.journal is None:
        raise CliError("--resend-unknown needs --journal PATH")
    named = {"--journal": args.journal, "--rejected": args.rejected}
    given = {flag: Path(path).resolve() for flag, path in named.items() if path is not None}
    source = None if args.file == "-" else Path(args.file).resolve()
    for flag, path in given.items():
        if path == source:
            raise CliError(f"{flag} {named[flag]} is the input file itself")
    if len(given) == 2 and given["--journal"] == given["--rejected"]:
        raise CliError("--journal and --rejected must be different files")
    if args.journal is not None and not args.dry_run:
        try:
            with open(args.journal, "a", encoding="utf-8"):
                pass
        except OSError as error:
            raise CliError(f"cannot write --journal {args.journal}: {error.strerror}") from None


@contextmanager
def _opened(path: str) -> Iterator[IO[bytes]]:
    if path == "-":
        yield sys.stdin.buffer
        return
    try:
        stream = open(path, "rb")  # noqa: SIM115
    except OSError as error:
        raise CliError(f"cannot read {path}: {error.strerror}") from None
    with stream:
        yield stream


def _count(path: str, file_format: str) -> Optional[int]:
    try:
        with open(path, "rb") as stream:
            return _input.count(stream, file_format)
    except OSError:
        return None  # reported when the file is opened for reading


# -- the feed ---------------------------------------------------------------------------------

OnMalformed = Callable[[Row, Problem], None]


class Feed:
    """An iterator of the valid rows' bodies; see the module's docstring."""

    def __init__(
        self,
        rows: Iterable[Row],
        journal: JournalRecords,
        stop_on_malformed: bool,
        on_malformed: OnMalformed,
    ) -> None:
        self._rows = rows
        self._journal = journal
        self._stop_on_malformed = stop_on_malformed
        self._on_malformed = on_malformed
        self._lock = threading.Lock()
        self._pending: dict[int, tuple[int, Any]] = {}
        self.handed = 0
        """How many rows were handed on; the next one's position."""
        self.stopped: Optional[str] = None
        """Why reading stopped before the end, or ``None``."""
        self.stop_code: Optional[int] = None

    def stop(self, reason: str, code: int) -> None:
        """Read no further; the first reason given is kept."""
        with self._lock:
            if self.stopped is None:
                self.stopped, self.stop_code = reason, code

    def take(self, index: int) -> tuple[int, Any]:
        """The line and body of the row handed on at ``index``, forgotten once taken."""
        with self._lock:
            return self._pending.pop(index)

    def __iter__(self) -> Iterator[Any]:
        # Workers of the bulk library pull from this one at a time; nothing raised here may
        # reach them, or a worker thread would die with the row it held.
        try:
            for row in self._rows:
                if self.stopped is not None:
                    return
                body = self._check(row)
                if body is not None:
                    yield body
        except Exception as error:
            self.stop(f"reading the input failed: {error}", FAILED)

    def _check(self, row: Row) -> Optional[Any]:
        problem = row.problem
        if problem is None:
            refusal = check_item(row.body)
            problem = None if refusal is None else Problem("invalid_body", str(refusal))
        if problem is not None:
            self._on_malformed(row, problem)
            if self._stop_on_malformed:
                self.stop(f"line {row.line} is malformed and --on-error is stop", FAILED)
            return None
        key = item_key(self.handed, row.body)
        if self._journal.conflicts(key):
            state = self._journal.state_at(self.handed) or "?"
            self.stop(
                f"line {row.line}: the journal holds another row as valid row "
                f"{self.handed + 1} (recorded as {state}): the input changed since the journal "
                "was written, and going on could send rows twice, so nothing more was sent. "
                "To resume this journal, put back the file it was written for; import new or "
                "fixed rows from a file of their own, with a journal of their own",
                USAGE,
            )
            return None
        with self._lock:
            self._pending[self.handed] = (row.line, row.body)
            self.handed += 1
        return row.body
