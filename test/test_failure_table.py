"""The one table both transports classify failures by (voucherify._pipeline.failures)."""

from __future__ import annotations

import errno
import ssl

import pytest

import voucherify
from voucherify._pipeline.failures import CASES, Kind, Phase, describe, transport_error


def test_every_phase_and_kind_has_a_case() -> None:
    assert set(CASES) == {(phase, kind) for phase in Phase for kind in Kind}


@pytest.mark.parametrize("kind", list(Kind))
def test_the_class_depends_on_the_kind_and_request_sent_on_the_phase(kind: Kind) -> None:
    # Both clients must raise the same class for the same fault, even where aiohttp cannot
    # tell connecting, tunnelling and the handshake apart.
    classes = {CASES[(phase, kind)].exception for phase in Phase}
    assert len(classes) == 1, classes
    for phase in Phase:
        error = transport_error(phase, kind)
        assert error.request_sent is (None if phase is Phase.SENT else False)
        assert ("the request was not sent" in str(error)) is (phase is not Phase.SENT)


def test_a_detail_never_carries_the_libraries_text() -> None:
    wrapped = ConnectionRefusedError(errno.ECONNREFUSED, "http://user:pw@proxy.example refused")
    outer = OSError("Cannot connect to http://user:pw@proxy.example")
    outer.__cause__ = wrapped
    assert describe(outer) == "Connection refused (ECONNREFUSED)"
    tls = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number at https://x")
    tls.reason = "WRONG_VERSION_NUMBER"  # type: ignore[misc]
    assert describe(tls) == "WRONG_VERSION_NUMBER"
    assert describe(RuntimeError("https://user:pw@x")) == "RuntimeError"


def test_the_exception_classes_are_the_documented_ones() -> None:
    assert CASES[(Phase.TLS, Kind.TLS)].exception is voucherify.ApiSSLException
    assert CASES[(Phase.PROXY, Kind.REFUSED_BY_PROXY)].exception is (
        voucherify.ApiConnectionException
    )
    assert CASES[(Phase.SENT, Kind.TIMEOUT)].exception is voucherify.ApiTimeoutException
