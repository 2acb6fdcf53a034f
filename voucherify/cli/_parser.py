"""The command line's grammar: argparse parsers for every command and option.

Connection options (``--host``, ``--region``, ``--app-id``, ``--app-token``, ``--debug``) go
before or after the subcommand. No default shows a key: keys come from the environment.
Errors raise :class:`UsageError` instead of printing, so that the caller can mask secrets.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any, NoReturn, Optional

from voucherify.cli._errors import UsageError

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


def _local_server(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(run="local-server")
    parser.add_argument(
        "--port", type=_port, default=0, metavar="N", help="port on 127.0.0.1 (default: any free)"
    )
    parser.add_argument(
        "--app-id", default=argparse.SUPPRESS, metavar="ID",
        help="X-App-Id to accept [VOUCHERIFY_APP_ID, else random]",
    )
    parser.add_argument(
        "--app-token", default=argparse.SUPPRESS, metavar="TOKEN",
        help="X-App-Token to accept [VOUCHERIFY_APP_TOKEN, else random]",
    )
    parser.add_argument(
        "--client-app-id", metavar="ID",
        help="X-Client-Application-Id to accept, for client-side calls [default: random]",
    )
    parser.add_argument(
        "--client-token", metavar="TOKEN",
        help="X-Client-Token to accept, for client-side calls [default: random]",
    )
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

    from voucherify._version import __version__

    return f"{__version__} (Python {platform.python_version()})"


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: a port is 0 to 65535 (0: any free one)")
    return value


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not JSON ({error})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError('must be a JSON object, like \'{"plan": "pro"}\'')
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be at least 1")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r}: must be a number above 0")
    return value


def _rate_limit(text: str) -> str:
    """``N/SECONDS``, checked by the stand-in's own parser and passed on to it as given."""
    from voucherify.testing.__main__ import parse_rate_limit

    parse_rate_limit(text)
    return text
