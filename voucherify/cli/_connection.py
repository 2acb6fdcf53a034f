"""Where the API is and which keys to send: flags first, then the environment.

The host comes from ``--host`` or ``--region`` (else ``VOUCHERIFY_HOST`` or
``VOUCHERIFY_REGION``, else the European cluster); the keys from ``--app-id`` and
``--app-token`` (else ``VOUCHERIFY_APP_ID`` and ``VOUCHERIFY_APP_TOKEN``). Everything the
SDK would refuse at the first call (a missing key, a plain-http host off this machine, a key
with a line break) is refused here, before any row is read, naming the flag and the variable.
"""

from __future__ import annotations

import argparse
import os
from typing import Optional, TextIO
from urllib.parse import urlsplit

from voucherify.cli._errors import CliError
from voucherify.cli._secrets import TOKEN_ENV
from voucherify.configuration import Configuration
from voucherify.exceptions import ApiValueError

HOST_ENV = "VOUCHERIFY_HOST"
REGION_ENV = "VOUCHERIFY_REGION"
APP_ID_ENV = "VOUCHERIFY_APP_ID"

TOKEN_ON_COMMAND_LINE = (
    "warning: a secret key given with --app-token is visible to other users of this machine "
    f"(in ps and /proc); prefer the environment variable {TOKEN_ENV}"
)


def warn_if_token_on_command_line(args: argparse.Namespace, stderr: TextIO) -> None:
    """Accept ``--app-token``, but say once why the environment is the better place."""
    if args.app_token is not None:
        print(TOKEN_ON_COMMAND_LINE, file=stderr, flush=True)


def keys(args: argparse.Namespace) -> tuple[str, str]:
    """The application id and secret key; a missing one is an error naming flag and variable."""
    app_id = args.app_id or _env(APP_ID_ENV)
    token = args.app_token or _env(TOKEN_ENV)
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
    """A :class:`Configuration` for the chosen host and keys, checked before any I/O."""
    app_id, token = keys(args)
    host, region = _host_or_region(args)
    try:
        config = Configuration(host=host) if region is None else Configuration(region=region)
    except ApiValueError as error:
        raise CliError(f"{error} (--region / {REGION_ENV})") from None
    config.api_key["X-App-Id"] = app_id
    config.api_key["X-App-Token"] = token
    config.debug = bool(args.debug)
    _check_host(config.host)
    return config


def _host_or_region(args: argparse.Namespace) -> tuple[Optional[str], Optional[str]]:
    if args.host is not None and args.region is not None:
        raise CliError("give either --host or --region, not both")
    host = args.host
    region = args.region
    if host is None and region is None:
        host, region = _env(HOST_ENV), _env(REGION_ENV)
        if host is not None and region is not None:
            raise CliError(f"{HOST_ENV} and {REGION_ENV} are both set; unset one")
    return host, region


def _check_host(host: str) -> None:
    from voucherify._pipeline.urls import sends_in_clear

    parts = urlsplit(host)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CliError(
            f"the host {host!r} (--host / {HOST_ENV}) must be an http:// or https:// URL"
        )
    if parts.query or parts.fragment:
        raise CliError(f"the host {host!r} must not have a query string or fragment")
    if sends_in_clear(host):
        raise CliError(
            f"refusing to send the keys over plain http:// to {parts.hostname}, which is not "
            "this machine; use https://"
        )


def _env(name: str) -> Optional[str]:
    return os.environ.get(name) or None
