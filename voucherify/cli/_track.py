"""``voucherify events track``: one event, the API's reply printed as JSON on stdout."""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from voucherify.bulk import keys_refused
from voucherify.cli import _common
from voucherify.cli._common import FAILED, KEYS_REFUSED, OK, USAGE, CliError


def body_from(args: argparse.Namespace) -> dict[str, Any]:
    """The request body the flags describe; only the flags given are sent."""
    body: dict[str, Any] = {
        "event": args.event,
        "customer": {"source_id": args.customer_source_id},
    }
    if args.metadata is not None:
        body["metadata"] = args.metadata
    if args.referral_code is not None or args.referrer_id is not None:
        referral = {"code": args.referral_code, "referrer_id": args.referrer_id}
        body["referral"] = {name: value for name, value in referral.items() if value is not None}
    if args.loyalty_code is not None:
        body["loyalty"] = {"code": args.loyalty_code}
    return body


def run(args: argparse.Namespace, stdout: TextIO) -> int:
    """Track the event; bad input exits 2, refused keys 3, any other failure 1."""
    import voucherify

    body = body_from(args)
    configuration = _common.configuration(args)
    with voucherify.ApiClient(configuration) as client:
        try:
            reply = voucherify.EventsApi(client).track_custom_event(
                events_create_request_body=body
            )
        except (voucherify.ApiValueError, voucherify.ApiTypeError) as error:
            raise CliError(_common.in_cli_terms(str(error)), USAGE) from None
        except voucherify.OpenApiException as error:
            raise CliError(str(error), KEYS_REFUSED if keys_refused(error) else FAILED) \
                from None
    print(json.dumps(reply.to_dict(), indent=2, ensure_ascii=False), file=stdout, flush=True)
    return OK
