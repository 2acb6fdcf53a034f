# The official docs' "Track Custom Event" example, unchanged except for the host line, which
# reads VOUCHERIFY_HOST so that the example can run against the local stand-in:
#
#     python -m voucherify.testing run -- python examples/seed_example.py
#
# `run` starts a local server and sets VOUCHERIFY_HOST and API_KEY for the command.
# The code is kept as the docs print it (unused imports, long lines), hence:
# ruff: noqa: E501, F401, I001, UP031
import os
import voucherify
from voucherify.models.events_create_request_body import EventsCreateRequestBody
from voucherify.models.events_create_response_body import EventsCreateResponseBody
from voucherify.rest import ApiException
from pprint import pprint

configuration = voucherify.Configuration(host=os.environ.get("VOUCHERIFY_HOST", "https://api.voucherify.io"))
configuration.api_key['X-App-Id'] = os.environ["API_KEY"]
# configuration.api_key_prefix['X-App-Id'] = 'Bearer'
configuration.api_key['X-App-Token'] = os.environ["API_KEY"]

with voucherify.ApiClient(configuration) as api_client:
    api_instance = voucherify.EventsApi(api_client)
    events_create_request_body = {"event": "event-name", "customer": {"source_id": "referee-source_id"},
                                  "referral": {"code": "voucher-code", "referrer_id": "referrer-source_id"}}
    try:
        api_response = api_instance.track_custom_event(events_create_request_body=events_create_request_body)
        pprint(api_response)
    except Exception as e:
        print("Exception when calling EventsApi->track_custom_event: %s\n" % e)
