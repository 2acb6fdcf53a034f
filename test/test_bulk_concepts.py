"""bulk owns its concepts and the CLI uses them: one Outcome, one decision of what a failure
means (keys refused or not), one journal loader, and no private imports from cli/."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import voucherify
import voucherify.bulk
from voucherify.bulk import (
    Journal,
    JournalRecords,
    Outcome,
    item_key,
    keys_refused,
    outcome_of,
    read_journal,
    track_events,
)
from voucherify.testing import LocalVoucherify, faults

PACKAGE = Path(voucherify.__file__).parent


def rows(count: int) -> list[dict[str, Any]]:
    return [{"event": "imported", "customer": {"source_id": f"c{n}"}} for n in range(count)]


def api_for(server: LocalVoucherify, token: str = "") -> voucherify.EventsApi:
    configuration = voucherify.Configuration(host=server.url)
    configuration.api_key["X-App-Id"] = server.app_id
    configuration.api_key["X-App-Token"] = token or server.app_token
    configuration.retries = False
    return voucherify.EventsApi(voucherify.ApiClient(configuration))


@pytest.fixture
def server() -> Iterator[LocalVoucherify]:
    with LocalVoucherify() as running:
        yield running


# -- one Outcome, one decision of what a failure means ---------------------------------------


def test_outcome_groups_are_the_documented_ones() -> None:
    assert {outcome for outcome in Outcome if outcome.done} == {Outcome.SENT, Outcome.SKIPPED}
    assert {outcome for outcome in Outcome if outcome.final} == {
        Outcome.SENT, Outcome.REJECTED, Outcome.INVALID,
    }
    assert {outcome for outcome in Outcome if outcome.refused} == {
        Outcome.REJECTED, Outcome.INVALID,
    }


def _error_of(events_api: voucherify.EventsApi) -> voucherify.ApiException:
    with pytest.raises(voucherify.ApiException) as raised:
        events_api.track_custom_event(events_create_request_body=rows(1)[0])
    return raised.value


@pytest.mark.parametrize(("reply", "outcome", "refused"), [
    (faults.status(401), Outcome.NOT_SENT, True),
    (faults.status(403), Outcome.NOT_SENT, True),
    (faults.status(400), Outcome.REJECTED, False),
    (faults.status(404), Outcome.REJECTED, False),
    (faults.status(503), Outcome.UNKNOWN, False),
])
def test_outcome_of_a_real_reply(
    server: LocalVoucherify, reply: faults.Fault, outcome: Outcome, refused: bool
) -> None:
    server.inject(reply)
    error = _error_of(api_for(server))
    assert outcome_of(error) is outcome
    assert keys_refused(error) is refused


def test_wrong_keys_are_refused_keys_and_a_refused_connection_is_not_sent() -> None:
    with LocalVoucherify() as running:
        wrong = _error_of(api_for(running, token="not-the-token"))
        port = running.port
    assert keys_refused(wrong) and outcome_of(wrong) is Outcome.NOT_SENT
    configuration = voucherify.Configuration(host=f"http://127.0.0.1:{port}")
    configuration.api_key.update({"X-App-Id": "a", "X-App-Token": "b"})
    configuration.retries = False
    closed = _error_of(voucherify.EventsApi(voucherify.ApiClient(configuration)))
    assert isinstance(closed, voucherify.ApiTransportException)
    assert not keys_refused(closed) and outcome_of(closed) is Outcome.NOT_SENT
    assert not keys_refused(None) and not keys_refused(ValueError("x"))


# -- one journal loader ----------------------------------------------------------------------


def test_read_journal_gives_what_a_run_recorded(server: LocalVoucherify, tmp_path: Path) -> None:
    journal = tmp_path / "run.journal"
    items: list[Any] = rows(4)
    items[1] = {"event": "e"}  # invalid: no customer
    server.inject(faults.status(404))  # the first call (item 0) is refused
    result = track_events(api_for(server), items, concurrency=1, journal=journal)

    records = read_journal(journal)

    by_index = {index: item_key(index, item) for index, item in enumerate(items)}
    assert records.keys == by_index
    assert records.state(by_index[1]) == "invalid"
    assert records.finished(by_index[1]) is Outcome.INVALID
    refused = [item.key for item in result.rejected if item.outcome is Outcome.REJECTED]
    assert len(refused) == 1 and records.statuses[refused[0]] == 404
    assert records.finished(refused[0]) is Outcome.REJECTED
    assert all(records.finished(key) in (Outcome.SENT, Outcome.REJECTED, Outcome.INVALID)
               for key in by_index.values())
    assert records.state_at(1) == "invalid" and records.state_at(9) is None
    assert not records.conflicts(by_index[2])
    assert records.conflicts(item_key(2, {"event": "another", "customer": {"source_id": "x"}}))
    assert not records.conflicts(item_key(9, items[0]))
    assert records.is_journal


def test_a_sending_line_without_an_outcome_is_not_finished(tmp_path: Path) -> None:
    journal = tmp_path / "killed.journal"
    key = item_key(0, rows(1)[0])
    journal.write_text(json.dumps({"key": key, "state": "sending"}) + "\n" + '{"key": "0:ab')
    records = read_journal(journal)
    assert records.state(key) == "sending" and records.finished(key) is None
    assert records.is_journal  # a line cut short by a kill is passed over


def test_journal_records_follow_the_run_that_holds_the_lock(
    server: LocalVoucherify, tmp_path: Path
) -> None:
    path = tmp_path / "held.journal"
    journal = Journal(path)
    try:
        assert journal.records.states == {}
        track_events(api_for(server), rows(3), journal=journal)
        held = journal.records
    finally:
        journal.close()
    assert held.states == read_journal(path).states
    assert set(held.states.values()) == {"sent"}


@pytest.mark.parametrize("content", [
    "a,b,c\n1,2,3\n",  # text, no record
    '{"key": "no-position", "state": "sent"}\n',  # a record no run writes
])
def test_a_file_that_is_not_a_journal_says_so(tmp_path: Path, content: str) -> None:
    path = tmp_path / "other.txt"
    path.write_text(content)
    assert not read_journal(path).is_journal


def test_a_missing_journal_has_no_records(tmp_path: Path) -> None:
    records = read_journal(tmp_path / "none.journal")
    assert isinstance(records, JournalRecords)
    assert (records.states, records.keys, records.is_journal) == ({}, {}, True)


# -- bulk's public names, and the CLI using only public names --------------------------------


def test_bulk_exports_resolve_and_leave_journal_internals_out() -> None:
    for name in voucherify.bulk.__all__:
        assert getattr(voucherify.bulk, name) is not None, name
    assert {"FINAL_STATES", "read_entries", "SENDING"}.isdisjoint(voucherify.bulk.__all__)


def _imports(path: Path) -> list[tuple[str, str]]:
    """Each ``(module, name)`` a file imports from the package (name ``""`` for a module)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("voucherify"):
            found += [(node.module or "", alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names]
    return found


def test_the_cli_imports_no_private_name_of_another_package() -> None:
    bad = []
    for path in sorted((PACKAGE / "cli").glob("*.py")):
        for module, name in _imports(path):
            if module.startswith("voucherify.cli") or not module.startswith("voucherify"):
                continue
            parts = module.split(".")[1:] + ([name] if name else [])
            if any(part.startswith("_") and not part.endswith("__") for part in parts):
                bad.append(f"{path.name}: {module} {name}")
    assert bad == []


def test_refused_keys_are_decided_in_one_place() -> None:
    """Only the exceptions, the package's exports and bulk's decision name 401/403's classes."""
    allowed = {"exceptions.py", "__init__.py", "bulk/_outcome.py"}
    naming = set()
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith("testing/") or relative in allowed:
            continue
        text = path.read_text(encoding="utf-8")
        if "UnauthorizedException" in text or "ForbiddenException" in text:
            naming.add(relative)
    assert naming == set()


def test_outcome_values_are_not_spelled_out_in_the_cli_or_the_journal() -> None:
    values = {outcome.value for outcome in Outcome}
    spelled = []
    for path in [*(PACKAGE / "cli").glob("*.py"), PACKAGE / "bulk" / "_journal.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in values:
                spelled.append(f"{path.name}:{node.lineno} {node.value!r}")
    assert spelled == []


def test_the_testing_command_parsers_the_cli_uses_are_public(tmp_path: Path) -> None:
    from voucherify.testing.__main__ import parse_rate_limit, read_events

    assert parse_rate_limit("100/60") == (100, 60.0)
    events = tmp_path / "events.json"
    events.write_text('{"signed_up": {"plan": "string"}}')
    assert read_events(str(events)) == {"signed_up": {"plan": "string"}}
    events.write_text("[1]")
    with pytest.raises(ValueError, match="must hold a JSON object"):
        read_events(str(events))


@pytest.mark.parametrize("command", [
    ["events", "track", "--event", "e", "--customer-source-id", "c"],
    ["events", "import", "rows.ndjson", "--journal", "rows.journal"],
])
@pytest.mark.parametrize(("host", "says"), [
    ("http://api.example", "plain http://"),
    ("http://u:pw-never-shown@127.0.0.1:99999", "cannot be connected to as written"),
])
def test_the_sdk_s_host_check_speaks_in_the_cli_s_terms(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    command: list[str], host: str, says: str,
) -> None:
    from voucherify.cli.__main__ import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "rows.ndjson").write_text(json.dumps(rows(1)[0]) + "\n")
    monkeypatch.delenv("VOUCHERIFY_REGION", raising=False)
    monkeypatch.setenv("VOUCHERIFY_HOST", host)
    monkeypatch.setenv("VOUCHERIFY_APP_ID", "app-id")
    monkeypatch.setenv("VOUCHERIFY_APP_TOKEN", "app-token-value")

    code = main(command)

    err = capsys.readouterr().err
    assert code == 2
    assert says in err and "--host / VOUCHERIFY_HOST" in err
    assert "configuration." not in err and "pw-never-shown" not in err
    assert not read_journal(tmp_path / "rows.journal").states
