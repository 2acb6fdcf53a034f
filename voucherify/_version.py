"""The package version, kept apart so that build tools read it without importing the package.

This is the one source of the version: ``pyproject.toml`` reads it, and so do
``voucherify.__version__``, the ``User-Agent`` and the command line's ``--version``.
"""

__version__ = "0.1.0"

DISTRIBUTION = "voucherify-events"
"""The name this package has on the package index (``pip install voucherify-events``).

It is imported as ``voucherify``, as is the official SDK (distribution ``voucherify``), so
the two replace each other in an environment and must not be installed side by side.
"""
