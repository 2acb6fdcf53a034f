"""Keep the secret key out of everything the command line prints.

The SDK never puts a key in its messages; this is the second line of defence for the
messages the command line writes itself, argparse's included (``unrecognized arguments:
--app-tokn SECRET`` would echo a mistyped flag's value).
"""

from __future__ import annotations

import os
from typing import Sequence

from voucherify.configuration import KEY_ENV

TOKEN_ENV = KEY_ENV["X-App-Token"]
_SECRET_ENV = (TOKEN_ENV, KEY_ENV["X-Client-Token"])

_MASK = "***"


def secrets_in(argv: Sequence[str]) -> list[str]:
    """The values that may be secrets: the tokens from the environment, and any argument
    given to an option whose name looks like a token's (``--app-token``, or a typo of it)."""
    found = [os.environ.get(name, "") for name in _SECRET_ENV]
    for position, arg in enumerate(argv):
        name, equals, value = arg.partition("=")
        if not (name.startswith("-") and "tok" in name.lower()):
            continue
        if equals:
            found.append(value)
        elif position + 1 < len(argv):
            found.append(argv[position + 1])
    # Longest first, so that a secret containing another is masked whole.
    return sorted({value for value in found if len(value) >= 4}, key=len, reverse=True)


def redact(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every occurrence of each secret replaced by ``***``."""
    for secret in secrets:
        text = text.replace(secret, _MASK)
    return text
