"""Where the API is and which keys to send: flags first, then the environment.

The host comes from ``--host`` or ``--region`` (else ``VOUCHERIFY_HOST`` or
``VOUCHERIFY_REGION``, else the European cluster); the keys from ``--app-id`` and
``--app-token`` (else ``VOUCHERIFY_APP_ID`` and ``VOUCHERIFY_APP_TOKEN``). The environment is
read by :meth:`Configuration.from_env`, the one reader of those names. A missing key, or one
with a line break, is refused here, naming the flag and the variable; the host is checked by
the SDK's own check (never quoting it: it may hold a password), whose message names
``configuration.host``, which :func:`in_cli_terms` turns into the flag and the variable.
"""

from __future__ import annotations

import argparse
from typing import TextIO

from voucherify.cli._errors import CliError
from voucherify.cli._secrets import TOKEN_ENV
from voucherify.configuration import HOST_ENV, KEY_ENV, REGION_ENV, Configuration
from voucherify.exceptions import ApiValueError

APP_ID_ENV = KEY_ENV["X-App-Id"]
_HOST = f"the host (--host / {HOST_ENV})"
"""How the host is named here, where the library's messages say ``configuration.host``."""

TOKEN_ON_COMMAND_LINE = (
    "warning: a secret key given with --app-token is visible to other users of this machine "
    f"(in ps and /proc); prefer the environment variable {TOKEN_ENV}"
)


def warn_if_token_on_command_line(args: argparse.Namespace, stderr: TextIO) -> None:
    """Accept ``--app-token``, but say once why the environment is the better place."""
    if args.app_token is not None:
        print(TOKEN_ON_COMMAND_LINE, file=stderr, flush=True)


def keys(args: argparse.Namespace, config: Configuration) -> tuple[str, str]:
    """The application id and secret key, from the flags or else from ``config`` (which
    :meth:`Configuration.from_env` filled); a missing one is an error naming both."""
    app_id = args.app_id or config.api_key.get("X-App-Id")
    token = args.app_token or config.api_key.get("X-App-Token")
    if app_id is None:
        raise CliError(f"no application id: give --app-id or set {APP_ID_ENV}")
    if token is None:
        raise CliError(f"no secret key: set {TOKEN_ENV} (or give --app-token)")
    sources = {f"--app-id / {APP_ID_ENV}": app_id, f"--app-token / {TOKEN_ENV}": token}
    for where, value in sources.items():
        if any(char in value for char in "\r\n\0"):
            raise CliError(f"the key from {where} contains a line break or NUL")
    return app_id, token


def configuration(args: argparse.Namespace) -> Configuration:
    """A :class:`Configuration` for the chosen host and keys; the SDK checks the host at the
    first call (for an import, before the first row), before any I/O."""
    if args.host is not None and args.region is not None:
        raise CliError("give either --host or --region, not both")
    try:
        config = Configuration.from_env(host=args.host, region=args.region)
    except ApiValueError as error:
        suffix = f" (--region / {REGION_ENV})" if args.region is not None else ""
        raise CliError(f"{error}{suffix}") from None
    app_id, token = keys(args, config)
    config.api_key["X-App-Id"] = app_id
    config.api_key["X-App-Token"] = token
    config.debug = bool(args.debug)
    return config


def in_cli_terms(message: str) -> str:
    """The SDK's ``message`` with the settings it names called as this command sets them."""
    return message.replace("configuration.host", _HOST)
