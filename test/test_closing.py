"""``with`` support written once (``voucherify._closing.Closing``) for the client and the stand-ins.

Each ``with`` object gives itself, ends with its ``close`` however the block ends, and lets
the block's exception through; ``LocalVoucherify`` alone starts serving on entry.
"""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import pytest

import voucherify
from voucherify._closing import Closing
from voucherify.testing import LocalVoucherify
from voucherify.testing._process import LocalVoucherifyProcess

from conftest import make_configuration


class _Counted(Closing):
    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


def test_with_gives_the_object_and_closes_it_once() -> None:
    thing = _Counted()
    with thing as entered:
        assert entered is thing
        assert thing.closed == 0
    assert thing.closed == 1


def test_with_closes_on_an_exception_and_lets_it_through() -> None:
    thing = _Counted()
    with pytest.raises(KeyError, match="boom"), thing:
        raise KeyError("boom")
    assert thing.closed == 1


@pytest.mark.parametrize("cls", [voucherify.ApiClient, LocalVoucherify, LocalVoucherifyProcess])
def test_each_with_object_ends_through_the_one_exit(cls: type) -> None:
    assert issubclass(cls, Closing)
    assert cls.__exit__ is Closing.__exit__


def test_the_sync_client_closes_its_pools_when_the_block_raises() -> None:
    client = voucherify.ApiClient(make_configuration("http://127.0.0.1:9"))
    client.rest_client.pool_manager.connection_from_url("http://127.0.0.1:9")
    assert len(client.rest_client.pool_manager.pools) == 1
    with pytest.raises(RuntimeError, match="inside"), client as entered:
        assert entered is client
        raise RuntimeError("inside")
    assert len(client.rest_client.pool_manager.pools) == 0


def _serves(url: str) -> bool:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.request("GET", "/")
        connection.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        connection.close()


def test_local_voucherify_serves_inside_with_and_stops_on_close() -> None:
    server = LocalVoucherify()
    assert not server.running
    with server as entered:
        assert entered is server
        assert server.running and _serves(server.url)
        url = server.url
    assert not server.running and not _serves(url)
    server.start()
    server.close()  # the same as stop()
    assert not server.running


def test_local_voucherify_process_stops_when_the_block_raises() -> None:
    server = LocalVoucherify.start_process(startup_timeout=30)
    try:
        with pytest.raises(ValueError, match="inside"), server as entered:
            assert entered is server
            assert server.running and _serves(server.url)
            raise ValueError("inside")
        assert not server.running
        assert server.returncode == 0
    finally:
        server.stop()
