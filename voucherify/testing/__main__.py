"""``python -m voucherify.testing``: serve the stand-in, or run a command against it.

``serve`` prints the server's URL on one line and serves until Ctrl-C (or SIGTERM).
``run -- CMD ARGS...`` starts a server whose app id and app token are one random key, runs
``CMD`` with ``VOUCHERIFY_HOST`` (the URL) and ``API_KEY`` (the key) in its environment, and
exits with ``CMD``'s exit code. The key is never printed.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
from types import FrameType
from typing import Any, Callable, Optional, Sequence

from voucherify.testing._local import LocalVoucherify

PROG = "python -m voucherify.testing"


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

    run_parser = commands.add_parser(
        "run", help="run a command against a fresh server", usage=f"{PROG} run -- CMD [ARGS...]"
    )
    run_parser.add_argument("command", nargs=argparse.REMAINDER, help="the command to run")
    return parser


def serve(args: argparse.Namespace) -> int:
    """Serve until interrupted; keys not given are generated and shown on stderr."""
    server = LocalVoucherify(
        host=args.host,
        port=args.port,
        app_id=args.app_id,
        app_token=args.app_token,
        client_app_id=args.client_app_id,
        client_token=args.client_token,
        allowed_origins=args.allowed_origin,
    )
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        try:
            server.start()
        except OSError as exc:
            print(f"cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
            return 1
        print(server.url, flush=True)
        # Throwaway keys of a local server: shown only when generated, so they can be used.
        for flag, given, value in (
            ("--app-id", args.app_id, server.app_id),
            ("--app-token", args.app_token, server.app_token),
            ("--client-app-id", args.client_app_id, server.client_app_id),
            ("--client-token", args.client_token, server.client_token),
        ):
            if given is None:
                print(f"generated {flag} {value}", file=sys.stderr, flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()
        _restore(signal.SIGTERM, previous)


def run(command: Sequence[str]) -> int:
    """Run ``command`` against a fresh server and return its exit code (128+N if killed by N)."""
    key = secrets.token_hex(16)
    with LocalVoucherify(app_id=key, app_token=key) as server:
        env = dict(os.environ, VOUCHERIFY_HOST=server.url, API_KEY=key)
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
