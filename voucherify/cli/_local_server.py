"""``voucherify local-server``: the stand-in of ``voucherify.testing``, served until Ctrl-C.

One implementation: this builds the arguments of ``python -m voucherify.testing serve`` and
runs it in this process. Its keys come from ``--app-id``/``--app-token``, else from
``VOUCHERIFY_APP_ID``/``VOUCHERIFY_APP_TOKEN`` (so that one environment serves both the
server and the client commands), else are generated and shown once on stderr (named by this
command's flags, which it shares with ``serve``). Settings the stand-in would refuse are
checked here first, so that the message names this command and its flag.
"""

from __future__ import annotations

import argparse
import os
from typing import Any, Optional

from voucherify.cli._common import APP_ID_ENV, TOKEN_ENV, CliError


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM; 0 then, 1 if the port cannot be had, 2 for bad input."""
    from voucherify.testing.__main__ import main as testing_main

    if args.host is not None or args.region is not None:
        raise CliError("--host and --region do not apply to local-server (it listens on 127.0.0.1)")
    app_id = args.app_id or os.environ.get(APP_ID_ENV) or None
    token = args.app_token or os.environ.get(TOKEN_ENV) or None
    _check(args, app_id, token)
    argv = ["serve", "--port", str(args.port)]
    keys = {"--app-id": app_id, "--app-token": token, "--client-app-id": args.client_app_id,
            "--client-token": args.client_token}
    for flag, value in keys.items():
        if value is not None:
            argv += [flag, value]  # an in-process list: not on any process's command line
    if args.rate_limit is not None:
        argv += ["--rate-limit", args.rate_limit]
    if args.events_file is not None:
        argv += ["--events-file", args.events_file]
    return testing_main(argv)


def _check(args: argparse.Namespace, app_id: Optional[str], token: Optional[str]) -> None:
    """Build the stand-in as ``serve`` would, without listening: its refusals, our names."""
    from voucherify.testing import LocalVoucherify

    if args.events_file is not None:
        try:
            LocalVoucherify(event_schemas=_events(args.events_file))
        except (TypeError, ValueError) as error:
            raise CliError(f"local-server: --events-file {args.events_file}: {error}") from None
    try:
        LocalVoucherify(app_id=app_id, app_token=token, client_app_id=args.client_app_id,
                        client_token=args.client_token)
    except (TypeError, ValueError) as error:
        text = str(error)
        for name in ("client_app_id", "client_token", "app_id", "app_token"):
            text = text.replace(name, "--" + name.replace("_", "-"))
        raise CliError(f"local-server: {text}") from None


def _events(path: str) -> Any:
    from voucherify.testing.__main__ import read_events

    try:
        return read_events(path)
    except OSError as error:
        raise CliError(f"local-server: cannot read --events-file {path}: {error.strerror}") \
            from None
    except ValueError as error:
        raise CliError(f"local-server: --events-file {error}") from None
