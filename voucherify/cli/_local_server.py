"""``voucherify local-server``: the stand-in of ``voucherify.testing``, served until Ctrl-C.

One implementation: this builds the arguments of ``python -m voucherify.testing serve`` and
runs it in this process. Its keys come from ``--app-id``/``--app-token``, else from
``VOUCHERIFY_APP_ID``/``VOUCHERIFY_APP_TOKEN`` (so that one environment serves both the
server and the client commands), else are generated and shown once on stderr.
"""

from __future__ import annotations

import argparse
import os

from voucherify.cli._errors import CliError
from voucherify.cli._secrets import TOKEN_ENV

APP_ID_ENV = "VOUCHERIFY_APP_ID"


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM; 0 then, 1 if the port cannot be had, 2 for bad input."""
    from voucherify.testing.__main__ import main as testing_main

    if args.host is not None or args.region is not None:
        raise CliError("--host and --region do not apply to local-server (it listens on 127.0.0.1)")
    argv = ["serve", "--port", str(args.port)]
    app_id = args.app_id or os.environ.get(APP_ID_ENV) or None
    token = args.app_token or os.environ.get(TOKEN_ENV) or None
    if app_id is not None:
        argv += ["--app-id", app_id]
    if token is not None:
        argv += ["--app-token", token]  # an in-process list: not on any process's command line
    if args.rate_limit is not None:
        argv += ["--rate-limit", args.rate_limit]
    if args.events_file is not None:
        argv += ["--events-file", args.events_file]
    return testing_main(argv)
