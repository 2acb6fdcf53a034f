"""The ``voucherify`` command (also ``python -m voucherify.cli``): its grammar, then parse,
run, exit code.

Connection options (``--host``, ``--region``, ``--app-id``, ``--app-token``, ``--debug``) go
before or after the subcommand. No default shows a key: keys come from the environment.
Parse errors raise :class:`UsageError` instead of printing, and every message this prints
passes through :func:`voucherify.cli._common.redact`, so that a secret key never reaches the
terminal, even when argparse echoes a mistyped option's value.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any, Callable, NoReturn, Optional, Sequence, TextIO

from voucherify.cli import _common
from voucherify.cli._common import INTERRUPTED, USAGE, CliError, UsageError, redact, secrets_in


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line ``argv`` (default: the process's) and return its exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    secrets = secrets_in(arguments)
    stdout, stderr = sys.stdout, sys.stderr
    try:
        args = build().parse_args(arguments)
        _common.warn_if_token_on_command_line(args, stderr)
        return _dispatch(args, stdout, stderr, secrets)
    except UsageError as error:
        stderr.write(redact(error.usage, secrets))
        print(redact(error.message, secrets), file=stderr)
        return USAGE
    except CliError as error:
        print(redact(f"{PROG}: {error.message}", secrets), file=stderr)
        return error.code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=stderr)
        return INTERRUPTED
    except SystemExit as exit_:  # --help and --version end parsing this way
        return exit_.code if isinstance(exit_.code, int) else 0


def _dispatch(
    args: argparse.Namespace, stdout: TextIO, stderr: TextIO, secrets: Sequence[str]
) -> int:
    if args.run == "outbox":
        from voucherify.cli import _outbox

        return _outbox.run(args, stdout, stderr, secrets)
    if args.run == "track":
        from voucherify.cli import _track

        return _track.run(args, stdout)
    if args.run == "import":
        from voucherify.cli import _import

        return _import.run(args, stderr)
    from voucherify.cli import _local_server

    return _local_server.run(args)


# -- the grammar -----------------------------------------------------------------------------

PROG = "voucherify"

CONCURRENCY = 8
PROGRESS_EVERY = 10.0
PROGRESS_ROWS = 1000


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that raises :class:`UsageError` rather than exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: error: {message}", self.format_usage())


def build() -> Parser:
    """The parser of ``voucherify``'s whole command line."""
    parser = Parser(
        prog=PROG,
        description="Track Voucherify custom events from the command line.",
        epilog="Keys: set VOUCHERIFY_APP_ID and VOUCHERIFY_APP_TOKEN. See docs/cli.md.",
    )
    parser.add_argument(
        "--version", action="version", version=f"{PROG} {_version()}",
        help="print the SDK's version and exit",
    )
    _connection_options(parser, None)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    events = commands.add_parser("events", help="track custom events")
    actions = events.add_subparsers(dest="action", required=True, metavar="ACTION")
    _track(actions.add_parser("track", help="track one event and print the reply as JSON"))
    _import(actions.add_parser("import", help="track every row of an NDJSON or CSV file"))
    _outbox(commands.add_parser(
        "outbox", help="look into an outbox, resend or discard its events, deliver them",
        description="Operate an outbox (voucherify.outbox): TARGET is its file. See "
        "docs/outbox.md.",
    ))
    _local_server(
        commands.add_parser("local-server", help="serve the local stand-in until Ctrl-C")
    )
    return parser


def _connection_options(parser: argparse.ArgumentParser, default: Optional[str]) -> None:
    """The options every API command takes; ``default`` is ``SUPPRESS`` on subcommands, so
    that a value given before the subcommand is not overwritten by an absent one after it."""
    group = parser.add_argument_group("connection (also from the environment)")
    group.add_argument(
        "--host", default=default, metavar="URL",
        help="API base URL, e.g. a dedicated cluster [VOUCHERIFY_HOST]",
    )
    group.add_argument(
        "--region", default=default,
        help="shared cluster: eu (default), us or asia [VOUCHERIFY_REGION]",
    )
    group.add_argument(
        "--app-id", default=default, metavar="ID",
        help="application id, sent as X-App-Id [VOUCHERIFY_APP_ID]",
    )
    group.add_argument(
        "--app-token", default=default, metavar="TOKEN",
        help="secret key, sent as X-App-Token; prefer VOUCHERIFY_APP_TOKEN, since "
        "command-line arguments are visible to other users",
    )
    group.add_argument(
        "--debug", action="store_true", default=default,
        help="log every attempt to stderr, keys masked",
    )


def _track(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(run="track")
    parser.add_argument("--event", required=True, metavar="NAME", help="the event's name")
    parser.add_argument(
        "--customer-source-id", required=True, metavar="ID", help="your id of the customer"
    )
    parser.add_argument(
        "--metadata", type=_json_object, metavar="JSON",
        help='the event\'s metadata, a JSON object like \'{"plan": "pro"}\'',
    )
    parser.add_argument("--referral-code", metavar="CODE", help="the referral code redeemed")
    parser.add_argument("--referrer-id", metavar="ID", help="the referrer (with --referral-code)")
    parser.add_argument("--loyalty-code", metavar="CODE", help="the loyalty card's code")
    _connection_options(parser, argparse.SUPPRESS)


def _import(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(run="import")
    parser.add_argument("file", metavar="FILE", help="NDJSON or CSV file; - reads stdin")
    parser.add_argument(
        "--format", choices=("ndjson", "csv"),
        help="the input's format (default: from the extension: .ndjson, .jsonl, .csv)",
    )
    parser.add_argument(
        "--concurrency", type=_positive_int, default=CONCURRENCY, metavar="N",
        help=f"calls in flight at once (default {CONCURRENCY})",
    )
    parser.add_argument(
        "--max-rate", type=_positive_float, metavar="R",
        help="at most R calls per second (default: as fast as the API's rate limit allows)",
    )
    parser.add_argument(
        "--journal", metavar="PATH",
        help="record each row's fate in PATH; a rerun with it resumes where this run ended",
    )
    parser.add_argument(
        "--resend-unknown", action="store_true",
        help="with --journal: send again rows whose earlier call may have been recorded",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="check every row, send nothing, report"
    )
    parser.add_argument(
        "--on-error", choices=("skip", "stop"), default="skip",
        help="on a malformed row: report it and go on (skip, the default), or send nothing "
        "further (stop)",
    )
    parser.add_argument(
        "--rejected", metavar="PATH",
        help="write each row the API rejected or that was invalid to PATH, as NDJSON",
    )
    parser.add_argument(
        "--progress", choices=("auto", "tty", "plain", "none"), default="auto",
        help="progress on stderr: one updating line (tty), a line now and then (plain), "
        "or none; auto picks tty on a terminal, else plain",
    )
    parser.add_argument(
        "--progress-every", type=_positive_float, default=PROGRESS_EVERY, metavar="SECONDS",
        help=f"plain progress: a line every SECONDS (default {PROGRESS_EVERY:g})...",
    )
    parser.add_argument(
        "--progress-rows", type=_positive_int, default=PROGRESS_ROWS, metavar="N",
        help=f"...or every N rows, whichever comes first (default {PROGRESS_ROWS})",
    )
    _connection_options(parser, argparse.SUPPRESS)


def _outbox(parser: argparse.ArgumentParser) -> None:
    from voucherify.cli._outbox import LIST_LIMIT, STATES, duration, event_id

    parser.set_defaults(run="outbox")
    actions = parser.add_subparsers(dest="outbox_action", required=True, metavar="ACTION")

    def action(name: str, text: str) -> argparse.ArgumentParser:
        sub = actions.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        sub.add_argument("target", metavar="TARGET", help="the outbox file")
        return sub

    action("init", "create the outbox if missing (or check it) and print its schema version")
    action("status", "print the counts by state, the oldest pending event's age, the caps "
           "and the workers, as JSON")
    listing = action("list", "print events, oldest first, one JSON object a line")
    listing.add_argument("--state", choices=STATES, help="only events in this state")
    listing.add_argument(
        "--limit", type=_count, default=LIST_LIMIT, metavar="N",
        help=f"at most N events (default {LIST_LIMIT})",
    )
    listing.add_argument(
        "--after", metavar="ID", type=event_id,
        help="start after the event ID (to page on: the last id printed)",
    )
    for name, text in (
        ("resend", "move unknown or rejected events back to pending, to be sent again "
                   "(exit 1 if any id was not moved)"),
        ("discard", "set pending, unknown or rejected events aside for good "
                    "(exit 1 if any id was not moved)"),
    ):
        action(name, text).add_argument(
            "ids", nargs="+", type=event_id, metavar="ID", help="an event's id"
        )
    purge = action("purge", "delete delivered and discarded events last changed before a "
                   "time; print how many")
    purge.add_argument(
        "--older-than", type=duration, required=True, metavar="DURATION",
        help="seconds, or a number with s, m, h or d: 30m, 12h, 7d",
    )
    deliver = action("deliver", "send what is pending and print a summary as JSON; Ctrl-C "
                     "stops after the call in flight")
    deliver.add_argument(
        "--follow", action="store_true",
        help="keep delivering new events until Ctrl-C (or --max-seconds)",
    )
    deliver.add_argument(
        "--max-seconds", type=_positive_float, metavar="N", help="stop after N seconds"
    )
    deliver.add_argument(
        "--max-rate", type=_positive_float, metavar="R",
        help="at most R calls per second; the pace is kept in the outbox, so workers of other "
        "processes with a rate of their own share it (default: as fast as the API's rate "
        "limit allows)",
    )
    _connection_options(deliver, argparse.SUPPRESS)


def _local_server(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(run="local-server")
    parser.add_argument(
        "--port", type=_port, default=0, metavar="N", help="port on 127.0.0.1 (default: any free)"
    )
    keys = (  # the server's keys: the two API keys come from the environment too
        ("--app-id", "ID", argparse.SUPPRESS,
         "X-App-Id to accept [VOUCHERIFY_APP_ID, else random]"),
        ("--app-token", "TOKEN", argparse.SUPPRESS,
         "X-App-Token to accept [VOUCHERIFY_APP_TOKEN, else random]"),
        ("--client-app-id", "ID", None,
         "X-Client-Application-Id to accept, for client-side calls [default: random]"),
        ("--client-token", "TOKEN", None,
         "X-Client-Token to accept, for client-side calls [default: random]"),
    )
    for flag, metavar, default, text in keys:
        parser.add_argument(flag, default=default, metavar=metavar, help=text)
    parser.add_argument(
        "--rate-limit", type=_rate_limit, metavar="N/SECONDS",
        help="allow N calls per SECONDS, then answer 429 (default: no limit)",
    )
    parser.add_argument(
        "--events-file", metavar="PATH",
        help='define events: a JSON object like {"signed_up": {"plan": "string"}}',
    )


def _version() -> str:
    import platform

    from voucherify import __version__

    return f"{__version__} (Python {platform.python_version()})"


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not JSON ({error})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError('must be a JSON object, like \'{"plan": "pro"}\'')
    return value


def _checked(
    convert: Callable[[str], Any], noun: str, accept: Callable[[Any], bool], rule: str
) -> Callable[[str], Any]:
    """An argparse ``type``: ``convert`` the text, which must then pass ``accept``."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"{text!r}: {rule}")
        return value

    return parse


_port = _checked(int, "a whole number", lambda value: 0 <= value <= 65535,
                 "a port is 0 to 65535 (0: any free one)")
_count = _checked(int, "a whole number", lambda value: value >= 0, "must be 0 or more")
_positive_int = _checked(int, "a whole number", lambda value: value >= 1, "must be at least 1")
_positive_float = _checked(float, "a number", lambda value: math.isfinite(value) and value > 0,
                           "must be a number above 0")


def _rate_limit(text: str) -> str:
    """``N/SECONDS``, checked by the stand-in's own parser and passed on to it as given."""
    from voucherify.testing.__main__ import parse_rate_limit

    parse_rate_limit(text)
    return text


if __name__ == "__main__":
    sys.exit(main())
