"""``python -m voucherify.testing``: serve the stand-in, or run a command against it.

``serve`` prints the server's URL on one line and serves until Ctrl-C (or SIGTERM). Keys
come from the flags, else from the environment variables ``VOUCHERIFY_LOCAL_APP_ID``,
``VOUCHERIFY_LOCAL_APP_TOKEN``, ``VOUCHERIFY_LOCAL_CLIENT_APP_ID`` and
``VOUCHERIFY_LOCAL_CLIENT_TOKEN`` (which keep them out of the process list), else are
generated; only generated keys are printed (on stderr). ``--rate-limit N/SECONDS``,
``--client-rate-limit N/SECONDS`` and ``--events-file PATH`` (a JSON object of event names
to metadata schemas) set limits and definitions. With ``VOUCHERIFY_LOCAL_ADMIN_TOKEN`` set,
it also answers the admin API under ``/_local/`` (see ``voucherify.testing._admin``); that is
how :meth:`LocalVoucherify.start_process` drives it. :func:`main`, :func:`parse_rate_limit`
and :func:`read_events` are public: the ``voucherify local-server`` command serves through them.

``run -- CMD ARGS...`` starts a server whose app id and app token are one random key, runs
``CMD`` with the variables that :meth:`voucherify.Configuration.from_env` reads in its
environment (``VOUCHERIFY_HOST``, ``VOUCHERIFY_APP_ID``, ``VOUCHERIFY_APP_TOKEN``,
``VOUCHERIFY_CLIENT_APP_ID``, ``VOUCHERIFY_CLIENT_TOKEN``; ``VOUCHERIFY_REGION`` removed), and
``API_KEY`` (the key, for older scripts), and exits with ``CMD``'s exit code. No key is
printed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
from types import FrameType
from typing import Any, Callable, Optional, Sequence

from voucherify.configuration import REGION_ENV, environment_for
from voucherify.testing._admin import KEY_ENV, TOKEN_ENV, AdminApi
from voucherify.testing._local import LocalVoucherify

PROG = "python -m voucherify.testing"

_LIMIT = re.compile(r"([0-9]+)/(\S+)\Z")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Parse ``argv`` (default: the process's arguments), run the subcommand, return its code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.subcommand == "run":
        command = list(args.command)
        if command[:1] == ["--"]:
            command = command[1:]
        if not command:
            parser.error("run needs a command: run -- CMD ARGS...")
        return run(command)
    return serve(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="A local Voucherify stand-in.")
    commands = parser.add_subparsers(dest="subcommand", required=True, metavar="COMMAND")

    serve_parser = commands.add_parser("serve", help="serve until Ctrl-C")
    serve_parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve_parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one")
    serve_parser.add_argument("--app-id", help="X-App-Id to accept (default: random)")
    serve_parser.add_argument("--app-token", help="X-App-Token to accept (default: random)")
    serve_parser.add_argument("--client-app-id", help="X-Client-Application-Id to accept")
    serve_parser.add_argument("--client-token", help="X-Client-Token to accept")
    serve_parser.add_argument(
        "--allowed-origin",
        action="append",
        metavar="ORIGIN",
        help="origin client-side calls may come from; repeat for more (default: any)",
    )
    serve_parser.add_argument(
        "--rate-limit",
        type=parse_rate_limit,
        metavar="N/SECONDS",
        help="allow N calls to /v1/events per SECONDS (default: no limit)",
    )
    serve_parser.add_argument(
        "--client-rate-limit",
        type=parse_rate_limit,
        metavar="N/SECONDS",
        help="allow N calls to /client/v1/events per SECONDS per IP (the real API: 5/5)",
    )
    serve_parser.add_argument(
        "--events-file",
        metavar="PATH",
        help='JSON event definitions, like {"signed_up": {"plan": "string", "age": "number?"}}',
    )
    serve_parser.add_argument(
        "--exit-on-eof",
        action="store_true",
        help="also stop when standard input closes (for a parent process that owns the server)",
    )

    run_parser = commands.add_parser(
        "run", help="run a command against a fresh server", usage=f"{PROG} run -- CMD [ARGS...]"
    )
    run_parser.add_argument("command", nargs=argparse.REMAINDER, help="the command to run")
    return parser


def serve(args: argparse.Namespace) -> int:
    """Serve until interrupted; keys not given are generated and shown on stderr."""
    keys = {name: _pop_env(env) for name, env in KEY_ENV.items()}
    admin_token = _pop_env(TOKEN_ENV)
    for name in keys:
        given = getattr(args, name)
        if given is not None:
            keys[name] = given
    try:
        schemas = None if args.events_file is None else read_events(args.events_file)
        server = LocalVoucherify(
            host=args.host,
            port=args.port,
            allowed_origins=args.allowed_origin,
            rate_limit=args.rate_limit,
            client_rate_limit=args.client_rate_limit,
            event_schemas=schemas,
            **keys,
        )
        if admin_token is not None:
            server._serve_admin_api(AdminApi(server, admin_token))
    except (OSError, TypeError, ValueError) as exc:
        print(f"{PROG} serve: {_describe(exc)}", file=sys.stderr)
        return 2
    stopped = threading.Event()
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        try:
            server.start()
        except OSError as exc:
            print(f"cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
            return 1
        print(server.url, flush=True)
        # Throwaway keys of a local server: shown only when generated, so they can be used.
        for name, given in keys.items():
            if given is None:
                flag = "--" + name.replace("_", "-")
                print(f"generated {flag} {getattr(server, name)}", file=sys.stderr, flush=True)
        if args.exit_on_eof:
            threading.Thread(target=_wait_for_eof, args=(stopped,), daemon=True).start()
        while not stopped.wait(0.5):
            pass
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        # Stopping already: a SIGTERM now must not break off the cleanup with a traceback.
        signal.signal(signal.SIGTERM, _ignore)
        server.stop()
        _restore(signal.SIGTERM, previous)


def parse_rate_limit(text: str) -> tuple[int, float]:
    """``N/SECONDS``, like ``100/60`` or ``5/0.5``; ``argparse.ArgumentTypeError`` if not.

    Public for the ``voucherify local-server`` command, which checks its flag with it.
    """
    match = _LIMIT.match(text.strip())
    try:
        if match is None:
            raise ValueError
        requests, seconds = int(match.group(1)), float(match.group(2))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not N/SECONDS, like 100/60") from None
    if requests < 1 or not math.isfinite(seconds) or seconds <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: N and SECONDS must be above 0")
    return requests, seconds


def read_events(path: str) -> Any:
    """The event definitions in ``path``: a JSON object of names to metadata schemas.

    ``OSError`` if the file cannot be read, ``ValueError`` (naming ``path``) if it does not
    hold such an object. Public for the ``voucherify local-server`` command.
    """
    with open(path, encoding="utf-8") as file:
        try:
            schemas = json.load(file)
        except ValueError as exc:
            raise ValueError(f"{path} is not JSON: {exc}") from None
    if not isinstance(schemas, dict):
        raise ValueError(
            f"{path} must hold a JSON object of event names to metadata schemas, like "
            '{"signed_up": {"plan": "string"}}'
        )
    return schemas


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return str(exc)


def _pop_env(name: str) -> Optional[str]:
    """Take a setting out of the environment, so that nothing started later inherits it."""
    return os.environ.pop(name, None) or None


def _wait_for_eof(stopped: threading.Event) -> None:
    """Set ``stopped`` once standard input closes: the owning parent is gone or done.

    It reads the file descriptor itself: a thread blocked in ``sys.stdin``'s buffered reader
    would hold that reader's lock, and the interpreter aborts at exit when it cannot get it.
    """
    try:
        descriptor = sys.stdin.fileno()
        while os.read(descriptor, 4096):
            pass
    except (AttributeError, OSError, ValueError):
        pass  # no standard input at all counts as closed
    stopped.set()


def run(command: Sequence[str]) -> int:
    """Run ``command`` against a fresh server and return its exit code (128+N if killed by N)."""
    key = secrets.token_hex(16)
    with LocalVoucherify(app_id=key, app_token=key) as server:
        env = dict(os.environ, API_KEY=key)
        env.pop(REGION_ENV, None)  # it would conflict with the host
        env.update(environment_for(server.url, {
            "X-App-Id": server.app_id,
            "X-App-Token": server.app_token,
            "X-Client-Application-Id": server.client_app_id,
            "X-Client-Token": server.client_token,
        }))
        try:
            child = subprocess.Popen(list(command), env=env)
        except OSError as exc:
            print(f"cannot run {command[0]!r}: {exc.strerror}", file=sys.stderr)
            return 127

        def forward(signum: int, frame: Optional[FrameType]) -> None:
            child.send_signal(signum)

        # Ctrl-C reaches the child too (same process group): let it decide when to exit.
        handlers: dict[int, Callable[[int, Optional[FrameType]], None]] = {
            signal.SIGINT: _ignore,
            signal.SIGTERM: forward,
        }
        previous = {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}
        try:
            code = child.wait()
        finally:
            for signum, handler in previous.items():
                _restore(signum, handler)
    return 128 - code if code < 0 else code


def _interrupt(signum: int, frame: Optional[FrameType]) -> None:
    raise KeyboardInterrupt


def _ignore(signum: int, frame: Optional[FrameType]) -> None:
    pass


def _restore(signum: int, handler: Any) -> None:
    # ``None`` means the handler was not installed from Python; it cannot be put back.
    if handler is not None:
        signal.signal(signum, handler)


if __name__ == "__main__":
    sys.exit(main())
