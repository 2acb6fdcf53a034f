"""pytest fixtures for apps that track Voucherify events, with no network and no real keys.

Registered through the ``pytest11`` entry point, so installing ``voucherify`` makes them
available; nothing here starts or imports a server until a test asks for a fixture.

- ``voucherify_server``: a running :class:`~voucherify.testing.LocalVoucherify`, new for each
  test; options come from ``@pytest.mark.voucherify(rate_limit=(10, 60.0), ...)``.
- ``voucherify_configuration``, ``voucherify_api_client``, ``voucherify_events_api``,
  ``voucherify_client_side_api``: SDK objects aimed at it, with its keys.
- ``voucherify_env``: points code that builds its own client at it, through the
  ``VOUCHERIFY_*`` environment variables and the default ``Configuration``.
- ``assert_event_tracked``: ``assert_event_tracked("signed_up", customer_source_id="u1")``.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Callable, Iterator

import pytest

if TYPE_CHECKING:
    import voucherify
    from voucherify.testing import LocalVoucherify, RecordedEvent

ENV_VARIABLES = (
    "VOUCHERIFY_HOST",
    "VOUCHERIFY_APP_ID",
    "VOUCHERIFY_APP_TOKEN",
    "VOUCHERIFY_CLIENT_APP_ID",
    "VOUCHERIFY_CLIENT_TOKEN",
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "voucherify(**options): keyword arguments for the LocalVoucherify that the "
        "voucherify_server fixture starts (rate_limit, event_schemas, allowed_origins, ...)",
    )


@pytest.fixture
def voucherify_server(request: pytest.FixtureRequest) -> Iterator[LocalVoucherify]:
    """A local Voucherify stand-in on 127.0.0.1, running for the length of one test."""
    from voucherify.testing import LocalVoucherify

    marker = request.node.get_closest_marker("voucherify")
    options: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    with LocalVoucherify(**options) as server:
        yield server


@pytest.fixture
def voucherify_configuration(voucherify_server: LocalVoucherify) -> voucherify.Configuration:
    """A ``Configuration`` with the stand-in's URL and its server- and client-side keys."""
    import voucherify

    configuration = voucherify.Configuration(host=voucherify_server.url)
    configuration.api_key["X-App-Id"] = voucherify_server.app_id
    configuration.api_key["X-App-Token"] = voucherify_server.app_token
    configuration.api_key["X-Client-Application-Id"] = voucherify_server.client_app_id
    configuration.api_key["X-Client-Token"] = voucherify_server.client_token
    return configuration


@pytest.fixture
def voucherify_api_client(
    voucherify_configuration: voucherify.Configuration,
) -> Iterator[voucherify.ApiClient]:
    """An ``ApiClient`` for the stand-in, closed after the test."""
    import voucherify

    with voucherify.ApiClient(voucherify_configuration) as client:
        yield client


@pytest.fixture
def voucherify_events_api(voucherify_api_client: voucherify.ApiClient) -> voucherify.EventsApi:
    """``EventsApi`` on the stand-in."""
    import voucherify

    return voucherify.EventsApi(voucherify_api_client)


@pytest.fixture
def voucherify_client_side_api(
    voucherify_api_client: voucherify.ApiClient,
) -> voucherify.ClientSideApi:
    """``ClientSideApi`` on the stand-in."""
    import voucherify

    return voucherify.ClientSideApi(voucherify_api_client)


@pytest.fixture
def voucherify_env(
    voucherify_server: LocalVoucherify,
    voucherify_configuration: voucherify.Configuration,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[LocalVoucherify]:
    """Aim code that makes its own client at the stand-in, and undo it after the test.

    Sets ``VOUCHERIFY_HOST``, ``VOUCHERIFY_APP_ID``, ``VOUCHERIFY_APP_TOKEN``,
    ``VOUCHERIFY_CLIENT_APP_ID`` and ``VOUCHERIFY_CLIENT_TOKEN``, and makes
    ``voucherify_configuration`` the default that ``voucherify.ApiClient()`` uses.
    """
    import voucherify

    values = (
        voucherify_server.url,
        voucherify_server.app_id,
        voucherify_server.app_token,
        voucherify_server.client_app_id,
        voucherify_server.client_token,
    )
    for name, value in zip(ENV_VARIABLES, values):
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(voucherify.Configuration, "_default", voucherify_configuration)
    monkeypatch.setattr(voucherify.ApiClient, "_default", None)
    yield voucherify_server
    default_client = voucherify.ApiClient.__dict__.get("_default")
    if isinstance(default_client, voucherify.ApiClient):
        default_client.close()


@pytest.fixture
def assert_event_tracked(
    voucherify_server: LocalVoucherify,
) -> Callable[..., list[RecordedEvent]]:
    """:func:`voucherify.testing.assert_event_tracked`, bound to ``voucherify_server``."""
    from voucherify.testing import assert_event_tracked as check

    return functools.partial(check, voucherify_server)
