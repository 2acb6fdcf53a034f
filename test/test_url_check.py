"""One URL check: hosts the SDK cannot connect to as written are refused before any I/O (in
a call, a bulk run and the CLI), the plain-http check reads a URL as the transport does, and
a URL's credentials never show in a repr, a report, a log line or a message."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest
import yarl
from urllib3.util.url import parse_url

import voucherify
from voucherify._pipeline.urls import is_loopback, parse_checked, redact_url
from voucherify.api.events_api import TRACK_CUSTOM_EVENT
from voucherify.bulk import Outcome, track_events
from voucherify.bulk._journal import read_entries
from voucherify.cli.__main__ import main

from conftest import APP_TOKEN, EXAMPLE_RESPONSE, MINIMAL_BODY, make_configuration
from rawserver import RawServer, reply

OK = reply(b"200 OK", json.dumps(EXAMPLE_RESPONSE).encode())
PASSWORD = "pw_SECRET_in_url_9931"


@pytest.fixture
def server() -> Iterator[RawServer]:
    with RawServer(OK) as running:
        yield running


def call(configuration: voucherify.Configuration, **options: Any) -> Any:
    with voucherify.ApiClient(configuration) as client:
        return voucherify.EventsApi(client).track_custom_event(
            events_create_request_body=MINIMAL_BODY, _retries=0, **options
        )


# -- item 5: a host that cannot be connected to as written ------------------------------------

UNUSABLE = [
    "http://127.0.0.1:{port} ",
    "http://127.0.0.1 :{port}",
    "http://127.0.0.1:{port}#",
    "http://127.0.0.1:{port}?",
    "http://127.0.0.1:{port}/?x=1",
    "http://127.0.0.1:99999",
    "http://127.0.0.1:0",
    "http://127.0.0.1:{port}:{port}",
    "http://127.0.0.1:x{port}",
    "127.0.0.1:{port}",
    "//127.0.0.1:{port}",
    "http:/127.0.0.1:{port}",
    "http://[127.0.0.1]:{port}",
    "http://[::1:{port}",
    "http://127.0.0.1:{port}/a%zz",
    "http://",
    "https://:443",
]


@pytest.mark.parametrize("template", UNUSABLE)
def test_unusable_host_is_refused_before_anything_is_sent(
    template: str, server: RawServer
) -> None:
    host = template.format(port=server.port)
    with pytest.raises(voucherify.ApiValueError, match=r"configuration\.host"):
        call(make_configuration(host))
    assert server.connections == 0


@pytest.mark.parametrize("host", [None, 42, b"http://127.0.0.1", ["http://127.0.0.1"]])
def test_a_host_that_is_not_a_string_is_a_type_error(host: Any) -> None:
    configuration = make_configuration("http://127.0.0.1:9")
    configuration.host = host
    with pytest.raises(voucherify.ApiTypeError, match=r"configuration\.host must be a string"):
        call(configuration)


@pytest.mark.parametrize(
    "template", ["http://127.0.0.1:{port} ", "http://127.0.0.1:{port}?", "http://127.0.0.1:99999"]
)
def test_bulk_run_with_an_unusable_host_stops_as_settings_refused(
    template: str, server: RawServer, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.ndjson"
    configuration = make_configuration(template.format(port=server.port))
    rows = [{"event": "e", "customer": {"source_id": f"c{n}"}} for n in range(30)]
    with voucherify.ApiClient(configuration) as client:
        result = track_events(voucherify.EventsApi(client), rows, concurrency=2, journal=journal)
    assert result.stopped is not None and "configuration.host" in result.stopped
    assert result.counts[Outcome.SENT] == result.counts[Outcome.UNKNOWN] == 0
    assert result.unknown == []
    states: dict[str, str] = {}
    for entry in read_entries(journal):
        states[entry["key"]] = entry["state"]
    assert set(states.values()) <= {"not_sent"}
    assert server.connections == 0


@pytest.mark.parametrize(
    "template", ["http://127.0.0.1:{port} ", "http://127.0.0.1:{port}#", "http://127.0.0.1:99999"]
)
def test_cli_import_with_an_unusable_host_is_refused_before_reading_rows(
    template: str,
    server: RawServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("VOUCHERIFY_REGION", raising=False)
    monkeypatch.setenv("VOUCHERIFY_HOST", template.format(port=server.port))
    monkeypatch.setenv("VOUCHERIFY_APP_ID", "app-id")
    monkeypatch.setenv("VOUCHERIFY_APP_TOKEN", APP_TOKEN)
    data = tmp_path / "rows.ndjson"
    data.write_text("".join(
        json.dumps({"event": "e", "customer": {"source_id": f"c{n}"}}) + "\n" for n in range(5)
    ))
    journal = tmp_path / "journal.ndjson"
    code = main(["events", "import", str(data), "--journal", str(journal)])
    err = capsys.readouterr().err
    assert code == 2
    assert "cannot be connected to as written" in err and "VOUCHERIFY_HOST" in err
    assert not journal.exists() or not [e for e in read_entries(journal)]
    assert server.connections == 0


# -- item 7: the plain-http check reads a URL as the transport does ---------------------------

TRICKY = [
    "http://127.0.0.1:{port}\\@evil.example",
    "http://evil.example\\@127.0.0.1:{port}",
    "http://evil.example#@127.0.0.1:{port}",
    "http://evil.example?@127.0.0.1:{port}",
    "http://127.0.0.1:{port}@evil.example",
    "http://evil.example@127.0.0.1:{port}",
    "http://127.0.0.1:{port}\t.evil.example",
    "http://127.0.0.1\t:{port}",
    "http://127\u30020\u30020\u30021:{port}",
    "http://127\uff0e0\uff0e0\uff0e1:{port}",
    "http://0x7f.1:{port}",
    "http://127.1:{port}",
    "http://0177.0.0.1:{port}",
    "http://2130706433:{port}",
    "http://[::ffff:127.0.0.1]:{port}",
    "http://[::ffff:7f00:1]:{port}",
    "http://[::1%25lo]:{port}",
    "http://localhost.:{port}",
    "http://LOCALHOST:{port}",
    "HTTP://127.0.0.1:{port}",
    "http://127.0.0.1:{port}/prefix/",
    "http://127.0.0.1:0{port}",
    "http:\\\\127.0.0.1:{port}",
    "http://127.0.0.1%2f@evil.example:{port}",
]


def _parsers_hosts(url: str) -> set[str]:
    """The host each parser in play reads from ``url`` (those that can read it)."""
    hosts = set()
    for read in (
        lambda: parse_url(url).host,
        lambda: urlsplit(url).hostname,
        lambda: yarl.URL(url).raw_host,
    ):
        try:
            host = read()
        except ValueError:
            continue
        hosts.add((host or "").strip("[]").lower())
    return hosts


@pytest.mark.parametrize("template", TRICKY)
def test_tricky_url_is_refused_or_really_goes_to_this_machine(
    template: str, server: RawServer
) -> None:
    host = template.format(port=server.port)
    configuration = make_configuration(host)
    try:
        with voucherify.ApiClient(configuration) as client:
            client._prepare(TRACK_CUSTOM_EVENT, MINIMAL_BODY, (), {})
    except voucherify.ApiValueError as refused:
        assert PASSWORD not in str(refused)
        assert server.connections == 0
        return
    # Accepted: every parser must read it as this machine before anything is sent, so that
    # even a broken check cannot make this test talk to another host.
    hosts = _parsers_hosts(host)
    assert hosts and all(is_loopback(name) for name in hosts), hosts
    assert call(configuration).object == "event"
    assert server.requests == 1


def test_accepted_urls_read_the_same_by_every_parser() -> None:
    accepted = [
        "https://api.voucherify.io",
        "https://US1.api.voucherify.io:443/",
        "https://gateway.example.com/voucherify/",
        "https://xn--bcher-kva.example/a%20b/",
        "http://127.0.0.1:8080",
        "http://[::1]:8080/x",
        "https://[2001:db8::1]/",
        "https://my_service:8443",
    ]
    for url in accepted:
        parsed = parse_checked(url, "host")
        assert _parsers_hosts(url) == {parsed.host}, url
        assert parse_url(url).port == urlsplit(url).port == parsed.port
        assert yarl.URL(url).explicit_port == parsed.port


# -- item 8: credentials inside URLs ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        f"https://user:{PASSWORD}@api.example/x",
        f"user:{PASSWORD}@api.example",
        f"http://u:{PASSWORD}@h\\@evil",
        f"http://u:pa {PASSWORD}@h:99999",
        f"http://u:{PASSWORD}@h/a@b",
    ],
)
def test_redact_url_hides_credentials_in_any_string(text: str) -> None:
    assert PASSWORD not in redact_url(text)
    assert redact_url("https://api.example/x") == "https://api.example/x"


@pytest.mark.parametrize(
    "host",
    [
        f"https://user:{PASSWORD}@api.example",
        f"http://user:{PASSWORD}@127.0.0.1:9",
        f"http://user:{PASSWORD} x@127.0.0.1:9",
        f"http://user:{PASSWORD}@127.0.0.1:99999",
        f"http://user:{PASSWORD}@[::1",
    ],
)
def test_credentials_in_the_host_never_show(
    host: str, caplog: pytest.LogCaptureFixture
) -> None:
    configuration = make_configuration(host)
    configuration.debug = True
    for text in (repr(configuration), str(configuration), configuration.to_debug_report()):
        assert PASSWORD not in text
    with caplog.at_level(logging.DEBUG, logger="voucherify"), pytest.raises(
        voucherify.ApiValueError
    ) as refused:
        call(configuration)
    assert PASSWORD not in str(refused.value) and PASSWORD not in repr(refused.value)
    assert all(PASSWORD not in record.getMessage() for record in caplog.records)


def test_credentials_in_the_proxy_never_show(caplog: pytest.LogCaptureFixture) -> None:
    with RawServer(OK) as proxy:
        configuration = make_configuration("http://events.example")
        configuration.allow_insecure_http = True
        configuration.debug = True
        configuration.proxy = f"http://proxy-user:{PASSWORD}@127.0.0.1:{proxy.port}"
        for text in (repr(configuration), configuration.to_debug_report()):
            assert PASSWORD not in text and f"127.0.0.1:{proxy.port}" in text
        with caplog.at_level(logging.DEBUG, logger="voucherify"):
            assert call(configuration).object == "event"
    assert proxy.requests == 1
    assert all(PASSWORD not in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    "proxy",
    [
        f"http://proxy-user:{PASSWORD} @127.0.0.1:3128",
        f"http://proxy-user:{PASSWORD}@127.0.0.1:99999",
        f"proxy-user:{PASSWORD}@127.0.0.1:3128",
        f"http://proxy-user:{PASSWORD}@127.0.0.1:3128\\x",
    ],
)
def test_an_unusable_proxy_is_refused_without_its_password(proxy: str) -> None:
    configuration = make_configuration("http://events.example")
    configuration.allow_insecure_http = True
    configuration.proxy = proxy
    with pytest.raises(voucherify.ApiValueError, match=r"configuration\.proxy") as refused:
        call(configuration)
    assert PASSWORD not in str(refused.value)


def test_an_unusable_environment_proxy_is_refused_without_its_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"http://u:{PASSWORD}@127.0.0.1:99999")
    with pytest.raises(voucherify.ApiValueError, match="HTTPS_PROXY") as refused:
        call(make_configuration("https://api.voucherify.io"))
    assert PASSWORD not in str(refused.value)


def test_cli_never_quotes_a_host_with_credentials(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("VOUCHERIFY_REGION", raising=False)
    monkeypatch.setenv("VOUCHERIFY_APP_ID", "app-id")
    monkeypatch.setenv("VOUCHERIFY_APP_TOKEN", APP_TOKEN)
    for host in (f"https://u:{PASSWORD}@api.example", f"http://u:{PASSWORD}@h:99999"):
        monkeypatch.setenv("VOUCHERIFY_HOST", host)
        code = main(["events", "track", "--event", "e", "--customer-source-id", "c"])
        captured = capsys.readouterr()
        assert code == 2
        assert PASSWORD not in captured.err + captured.out
