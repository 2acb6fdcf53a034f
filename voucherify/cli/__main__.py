"""The ``voucherify`` command (also ``python -m voucherify.cli``): parse, run, exit code.

Every message this prints passes through :func:`voucherify.cli._secrets.redact`, so that a
secret key never reaches the terminal, even when argparse echoes a mistyped option's value.
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence, TextIO

from voucherify.cli import _connection
from voucherify.cli._errors import INTERRUPTED, USAGE, CliError, UsageError
from voucherify.cli._parser import PROG, build
from voucherify.cli._secrets import redact, secrets_in


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line ``argv`` (default: the process's) and return its exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    secrets = secrets_in(arguments)
    stdout, stderr = sys.stdout, sys.stderr
    try:
        args = build().parse_args(arguments)
        _connection.warn_if_token_on_command_line(args, stderr)
        return _dispatch(args, stdout, stderr)
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


def _dispatch(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    if args.run == "track":
        from voucherify.cli import _track

        return _track.run(args, stdout)
    if args.run == "import":
        from voucherify.cli import _import

        return _import.run(args, stderr)
    from voucherify.cli import _local_server

    return _local_server.run(args)


if __name__ == "__main__":
    sys.exit(main())
