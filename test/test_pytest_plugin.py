"""The pytest plugin, used the way an app's test suite would: loaded by its entry point."""

from __future__ import annotations

import pytest

APP = '''
import os
import voucherify

def on_sign_up(events_api, user_id, plan):
    """The app's code under test: tracks one event per sign-up."""
    events_api.track_custom_event(events_create_request_body={
        "event": "signed_up",
        "customer": {"source_id": user_id},
        "metadata": {"plan": plan},
    })

def client_from_environment():
    configuration = voucherify.Configuration(host=os.environ["VOUCHERIFY_HOST"])
    configuration.api_key["X-App-Id"] = os.environ["VOUCHERIFY_APP_ID"]
    configuration.api_key["X-App-Token"] = os.environ["VOUCHERIFY_APP_TOKEN"]
    return voucherify.ApiClient(configuration)
'''


def run(pytester: pytest.Pytester, tests: str) -> pytest.RunResult:
    pytester.makepyfile(app=APP, test_app=tests)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v")


def test_fixtures_and_assertion_helper_in_an_app_test_suite(pytester: pytest.Pytester) -> None:
    result = run(pytester, '''
from app import on_sign_up

def test_sign_up_is_tracked(voucherify_events_api, assert_event_tracked, voucherify_server):
    on_sign_up(voucherify_events_api, "u-1", "pro")
    events = assert_event_tracked("signed_up", customer_source_id="u-1",
                                  metadata={"plan": "pro"}, times=1)
    assert events[0]["customer_id"].startswith("cust_")
    assert len(voucherify_server.requests) == 1

def test_each_test_gets_a_fresh_server(voucherify_server):
    assert voucherify_server.events == []

def test_failure_message_lists_what_was_tracked(voucherify_events_api, assert_event_tracked):
    on_sign_up(voucherify_events_api, "u-2", "free")
    assert_event_tracked("signed_up", customer_source_id="u-3")
''')
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "*expected 'signed_up' customer.source_id='u-3' to be tracked at least once, found 0*",
        "*'signed_up' customer_id='cust_*' source_id='u-2' metadata={'plan': 'free'}*",
    ])


def test_marker_passes_options_to_the_server(pytester: pytest.Pytester) -> None:
    result = run(pytester, '''
import pytest
import voucherify

BODY = {"event": "e", "customer": {"source_id": "u"}}

@pytest.mark.voucherify(allowed_origins=["https://shop.example"])
def test_origin_allow_list(voucherify_client_side_api, voucherify_server):
    voucherify_client_side_api.track_custom_event_client_side("https://shop.example", BODY)
    with pytest.raises(voucherify.ForbiddenException):
        voucherify_client_side_api.track_custom_event_client_side("https://evil.example", BODY)
    assert len(voucherify_server.events) == 1
''')
    result.assert_outcomes(passed=1)


def test_env_fixture_points_self_made_clients_at_the_server(pytester: pytest.Pytester) -> None:
    result = run(pytester, '''
import os
import voucherify
from app import client_from_environment, on_sign_up

def test_env(voucherify_env, assert_event_tracked):
    with client_from_environment() as client:
        on_sign_up(voucherify.EventsApi(client), "u-9", "pro")
    on_sign_up(voucherify.EventsApi(), "u-10", "free")   # the default client
    assert_event_tracked("signed_up", customer_source_id="u-9")
    assert_event_tracked("signed_up", customer_source_id="u-10")
    assert os.environ["VOUCHERIFY_HOST"] == voucherify_env.url

def test_env_is_restored_afterwards():
    assert "VOUCHERIFY_HOST" not in os.environ
    assert voucherify.Configuration.get_default().host == "https://api.voucherify.io"
''')
    result.assert_outcomes(passed=2)


def test_plugin_is_registered_but_inert_when_unused(pytester: pytest.Pytester) -> None:
    result = run(pytester, '''
import sys

def test_nothing_loaded(request):
    assert request.config.pluginmanager.has_plugin("voucherify")
    loaded = {m for m in sys.modules if m.startswith("voucherify")}
    # Only the package shells and the plugin itself: no server, models or transport.
    assert loaded == {
        "voucherify", "voucherify._lazy", "voucherify._version",
        "voucherify.testing", "voucherify.testing.pytest_plugin",
    }, sorted(loaded)
''')
    result.assert_outcomes(passed=1)
