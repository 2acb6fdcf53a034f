"""``voucherify``, the command line: track one event, import many, serve a local stand-in.

``voucherify events track`` tracks one event and prints the API's reply as JSON;
``voucherify events import FILE`` sends every row of an NDJSON or CSV file through
:func:`voucherify.bulk.track_events` (paced, journaled, resumable);
``voucherify local-server`` runs :mod:`voucherify.testing`'s stand-in. Also runs as
``python -m voucherify.cli``. Standard library only (argparse); see ``docs/cli.md``.
"""
