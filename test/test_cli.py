"""The ``voucherify`` command line against the local stand-in: in-process and as a process."""

from __future__ import annotations

import collections
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest

import voucherify
from voucherify.cli.__main__ import main
from voucherify.testing import LocalVoucherify, faults

from conftest import cli_environment

APP_ID = "app-cli-0001"
TOKEN = "sk_cli_SECRET_do_not_leak_7731"
WRONG_TOKEN = "sk_cli_WRONG_also_secret_5120"
TRACK = ["events", "track", "--event", "signed_up", "--customer-source-id", "user-1"]


@pytest.fixture
def server() -> Iterator[LocalVoucherify]:
    with LocalVoucherify(app_id=APP_ID, app_token=TOKEN) as running:
        yield running


@pytest.fixture
def env(server: LocalVoucherify, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The stand-in's URL and keys in this process's environment, and as a dict for children."""
    return cli_environment(monkeypatch, server.url, APP_ID, TOKEN)


@dataclass
class Run:
    code: int
    out: str
    err: str


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> Run:
    """Run ``main(argv)`` in this process and capture what it printed."""
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def spawn(env: dict[str, str], *argv: str, stdin: Optional[str] = None) -> Run:
    """Run ``python -m voucherify.cli argv`` as a child process."""
    done = subprocess.run(
        [sys.executable, "-m", "voucherify.cli", *argv],
        env=env, input=stdin, capture_output=True, text=True, timeout=60, check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def ndjson(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n"
                            for row in rows))
    return path


def events_file(tmp_path: Path, count: int, name: str = "events.ndjson") -> Path:
    return ndjson(tmp_path / name, [
        {"event": "signed_up", "customer": {"source_id": f"user-{n}"}} for n in range(count)
    ])


def source_ids(server: LocalVoucherify) -> collections.Counter[str]:
    return collections.Counter(event["body"]["customer"]["source_id"] for event in server.events)


def count_of(err: str, outcome: str) -> int:
    match = re.search(rf"^  {outcome} +(\d+)", err, re.MULTILINE)
    assert match, f"no {outcome!r} count in:\n{err}"
    return int(match.group(1))


# -- events track ----------------------------------------------------------------------------


def test_track_prints_the_reply_as_json_and_the_server_records_it(
    server: LocalVoucherify, env: dict[str, str]
) -> None:
    run = spawn(env, *TRACK, "--metadata", '{"plan": "pro", "seats": 3, "trial": false}')

    assert run.code == 0, run.err
    reply = json.loads(run.out)
    assert reply["object"] == "event"
    assert reply["type"] == "signed_up"
    assert reply["customer"]["source_id"] == "user-1"
    assert reply["customer"]["id"] == server.events[0]["customer_id"]
    assert server.events[0]["body"] == {
        "event": "signed_up",
        "customer": {"source_id": "user-1"},
        "metadata": {"plan": "pro", "seats": 3, "trial": False},
    }


def test_track_sends_referral_and_loyalty_and_takes_options_on_either_side(
    server: LocalVoucherify, env: dict[str, str], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("VOUCHERIFY_APP_ID")
    before = cli(capsys, "--app-id", APP_ID, *TRACK, "--referral-code", "REF-1",
                 "--referrer-id", "cust_ref", "--loyalty-code", "LC-9")
    after = cli(capsys, *TRACK, "--app-id", APP_ID)

    assert (before.code, after.code) == (0, 0), before.err + after.err
    assert server.events[0]["body"]["referral"] == {"code": "REF-1", "referrer_id": "cust_ref"}
    assert server.events[0]["body"]["loyalty"] == {"code": "LC-9"}
    assert "referral" not in server.events[1]["body"]


@pytest.mark.parametrize("metadata", ["[1, 2]", "not json", '"plan"'])
def test_track_bad_metadata_is_a_usage_error_naming_the_flag(
    server: LocalVoucherify, env: dict[str, str], capsys: pytest.CaptureFixture[str],
    metadata: str,
) -> None:
    run = cli(capsys, *TRACK, "--metadata", metadata)

    assert run.code == 2
    assert "--metadata" in run.err
    assert run.out == ""
    assert server.requests == []


def test_track_input_the_sdk_refuses_exits_2_and_an_api_error_exits_1(
    server: LocalVoucherify, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    no_code = cli(capsys, *TRACK, "--referrer-id", "cust_ref")
    long_name = cli(capsys, "events", "track", "--event", "x" * 301, "--customer-source-id", "u")
    server.inject(faults.status(404))
    refused = cli(capsys, *TRACK)

    assert no_code.code == 2
    assert "referral.code: is required" in no_code.err
    assert long_name.code == 2
    assert "event: at most 300 characters" in long_name.err
    assert refused.code == 1
    assert refused.err.count("\n") == 1 and "(404)" in refused.err
    assert len(server.requests) == 1


def test_missing_keys_name_the_flag_and_the_environment_variable(
    server: LocalVoucherify, env: dict[str, str], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("VOUCHERIFY_APP_ID")
    monkeypatch.delenv("VOUCHERIFY_APP_TOKEN")
    no_id = cli(capsys, *TRACK)
    no_token = cli(capsys, *TRACK, "--app-id", APP_ID)

    assert no_id.code == 2
    assert "--app-id" in no_id.err and "VOUCHERIFY_APP_ID" in no_id.err
    assert no_token.code == 2
    assert "VOUCHERIFY_APP_TOKEN" in no_token.err and "--app-token" in no_token.err
    assert server.requests == []


def test_host_and_region_errors_are_usage_errors(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    both = cli(capsys, "--region", "us", *TRACK, "--host", "https://api.example")
    unknown = cli(capsys, *TRACK, "--region", "mars")
    in_clear = cli(capsys, *TRACK, "--host", "http://api.example")

    assert (both.code, unknown.code, in_clear.code) == (2, 2, 2)
    assert "--host or --region" in both.err
    assert "mars" in unknown.err and "--region" in unknown.err
    assert "plain http://" in in_clear.err


def test_the_token_is_never_printed(
    server: LocalVoucherify, env: dict[str, str], tmp_path: Path
) -> None:
    data = events_file(tmp_path, 20)
    closed = dict(env, VOUCHERIFY_HOST="http://127.0.0.1:9")  # nothing listens on port 9
    wrong = dict(env, VOUCHERIFY_APP_TOKEN=WRONG_TOKEN)
    runs = {
        "debug": spawn(env, "--debug", *TRACK),
        "debug, refused connection": spawn(closed, *TRACK, "--debug"),
        "token on the command line": spawn(env, *TRACK, "--app-token", TOKEN),
        "mistyped token flag": spawn(env, *TRACK, "--app-tokn", TOKEN),
        "wrong token, import": spawn(wrong, "events", "import", str(data), "--debug"),
        "help": spawn(env, "events", "import", "--help"),
    }

    assert runs["debug"].code == 0
    assert "attempt=1" in runs["debug"].err  # the SDK's attempt log is on
    assert runs["debug, refused connection"].code == 1
    assert runs["token on the command line"].code == 0
    assert "visible to other users" in runs["token on the command line"].err
    assert runs["mistyped token flag"].code == 2
    assert "--app-tokn" in runs["mistyped token flag"].err
    assert runs["wrong token, import"].code == 3
    for name, run in runs.items():
        for secret in (TOKEN, WRONG_TOKEN):
            assert secret not in run.out + run.err, name


# -- events import: NDJSON, CSV, malformed rows ----------------------------------------------


def test_import_of_1000_ndjson_rows_records_each_exactly_once(
    server: LocalVoucherify, env: dict[str, str], tmp_path: Path
) -> None:
    data = events_file(tmp_path, 1000)

    run = spawn(env, "events", "import", str(data), "--progress-rows", "250")

    assert run.code == 0, run.err
    assert source_ids(server) == {f"user-{n}": 1 for n in range(1000)}
    assert count_of(run.err, "sent") == 1000
    for outcome in ("skipped", "rejected", "invalid", "unknown", "not sent"):
        assert count_of(run.err, outcome) == 0
    assert "429 replies waited out: 0" in run.err
    assert re.search(r"1000 rows in [\d.]+s \([\d.]+ rows/s\)", run.err)
    # Not a terminal: plain progress lines, no carriage returns.
    assert len(re.findall(r"^progress: \d+/1000 rows", run.err, re.MULTILINE)) >= 3
    assert "\r" not in run.err


def test_plain_progress_also_comes_every_few_seconds(
    server: LocalVoucherify, env: dict[str, str], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = events_file(tmp_path, 12)

    run = cli(capsys, "events", "import", str(data), "--max-rate", "20",
              "--progress-every", "0.2", "--progress-rows", "1000")

    assert run.code == 0, run.err
    lines = re.findall(r"^progress: (\d+)/12 rows \(\d+%\), sent \d+, failed 0, [\d.]+ rows/s",
                       run.err, re.MULTILINE)
    assert len(lines) >= 2
    assert [int(done) for done in lines] == sorted(int(done) for done in lines)


def test_import_csv_maps_columns_to_nested_fields_and_typed_metadata(
    server: LocalVoucherify, env: dict[str, str], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "orders.csv"
    data.write_text(
        "event,customer.source_id,customer.name,customer.email,customer.address.city,"
        "customer.address.country,customer.metadata.tier,loyalty.code,referral.code,"
        "referral.referrer_id,metadata.amount:number,metadata.vip:boolean,metadata.tags:json,"
        "metadata.note\n"
        'order_paid,c-1,Ada Lovelace,ada@example.com,London,GB,gold,LC-1,,,12.5,TRUE,'
        '"[""a"", ""b""]","two\nlines"\n'
        "order_paid,c-2,,,,,,,REF-9,cust_ref,3,false,,\n"
        "\n"
        "order_paid,c-3,,,,,,,,,twelve,,,\n"
        "order_paid,c-4,,,,,,,,,,maybe,,\n",
        encoding="utf-8",
    )

    run = cli(capsys, "events", "import", str(data))

    assert run.code == 1  # two rows are malformed
    bodies = {event["body"]["customer"]["source_id"]: event["body"] for event in server.events}
    assert bodies == {
        "c-1": {
            "event": "order_paid",
            "customer": {
                "source_id": "c-1", "name": "Ada Lovelace", "email": "ada@example.com",
                "address": {"city": "London", "country": "GB"}, "metadata": {"tier": "gold"},
            },
            "loyalty": {"code": "LC-1"},
            "metadata": {"amount": 12.5, "vip": True, "tags": ["a", "b"], "note": "two\nlines"},
        },
        "c-2": {
            "event": "order_paid",
            "customer": {"source_id": "c-2"},
            "referral": {"code": "REF-9", "referrer_id": "cust_ref"},
            "metadata": {"amount": 3, "vip": False},
        },
    }
    # The header is line 1; the first row spans lines 2-3; line 5 is blank.
    assert "line 6: column metadata.amount:number: not a number" in run.err
    assert "line 7: column metadata.vip:boolean: not true or false" in run.err
    assert count_of(run.err, "invalid") == 2


@pytest.mark.parametrize(
    ("header", "named"),
    [
        ("event,customer.source_id,customer.shoe_size", "'customer.shoe_size'"),
        ("event,customer.email:number", "'customer.email:number'"),
        ("event,metadata.x:date", "'metadata.x:date'"),
        ("event,metadata.n,metadata.n:number", "set the same field"),
    ],
)
def test_a_bad_csv_header_is_refused_before_anything_is_sent(
    server: LocalVoucherify, env: dict[str, str], tmp_path: Path,
    capsys: pytest.CaptureFixture[str], header: str, named: str,
) -> None:
    data = tmp_path / "bad.csv"
    data.write_text(header + "\n" + ",".join(["signed_up"] * header.count(",")) + ",x\n")

    run = cli(capsys, "events", "import", str(data), "--rejected", str(tmp_path / "r.ndjson"))

    assert run.code == 2
    assert named in run.err
    assert server.requests == []


MIXED = [
    {"event": "signed_up", "customer": {"source_id": "ok-1"}},
    {"event": "signed_up", "customer": {"source_id": "ok-2"}},
    '{"event": "signed_up", "customer": ',
    {"customer": {"source_id": "no-event"}},
    "",
    {"event": "x" * 301, "customer": {"source_id": "long"}},
    {"event": "signed_up", "customer": {"source_id": 5}},
    {"event": "signed_up", "customer": {"source_id": "ok-3"}},
    [1, 2],
]
"""Lines 1-2 valid; 3 not JSON; 4 no event; 5 blank; 6 a 301-character name; 7 a number for
a string; 8 valid; 9 not an object."""


def test_malformed_rows_are_reported_by_line_and_skipped(
    server: LocalVoucherify, env: dict[str, str], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = ndjson(tmp_path / "mixed.ndjson", MIXED)

    run = cli(capsys, "events", "import", str(data))

    assert run.code == 1
    assert set(source_ids(server)) == {"ok-1", "ok-2", "ok-3"}
    assert re.search(r"^line 3: not JSON: .* at column \d+$", run.err, re.MULTILINE)
    assert "line 4: invalid EventsCreateRequestBody: event: is required" in run.err
    assert "line 6: invalid EventsCreateRequestBody: event: at most 300 characters" in run.err
    assert "line 7: invalid EventsCreateRequestBody: customer.source_id: must be a string" \
        in run.err
    assert "line 9: invalid EventsCreateRequestBody: must be an object" in run.err
    assert count_of(run.err, "sent") == 3
    assert count_of(run.err, "invalid") == 5


def test_on_error_stop_sends_nothing_after_the_first_malformed_row(
    server: LocalVoucherify, env: dict[str, str], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = ndjson(tmp_path / "mixed.ndjson", MIXED)

    run = cli(capsys, "events", "import", str(data), "--on-error", "stop")

    assert run.code == 1
    assert set(source_ids(server)) == {"ok-1", "ok-2"}
    assert "line 3: not JSON" in run.err
    assert "line 4:" not in run.err and "line 6:" not in run.err
    assert "stopped: line 3 is malformed and --on-error is stop" in run.err


def test_dry_run_sends_nothing_and_reports_invalid_lines(
    server: LocalVoucherify, env: dict[str, str], tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("VOUCHERIFY_APP_TOKEN")  # a dry run needs no keys
    data = ndjson(tmp_path / "mixed.ndjson", MIXED)
    clean = events_file(tmp_path, 5, "clean.ndjson")

    run = cli(capsys, "events", "import", str(data), "--dry-run", "--on-error", "stop")
    fine = cli(capsys, "events", "import", str(clean), "--dry-run")

    assert server.requests == []
    assert run.code == 1
    for line in (3, 4, 6, 7, 9):  # every row checked, --on-error stop or not
        assert f"line {line}: " in run.err
    assert "8 rows, 3 valid, 5 invalid; nothing was sent" in run.err
    assert fine.code == 0
    assert "5 rows, 5 valid, 0 invalid" in fine.err


def test_rejected_file_holds_refused_and_invalid_rows_with_their_lines(
    server: LocalVoucherify, env: dict[str, str], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = ndjson(tmp_path / "in.ndjson", [
        {"event": "signed_up", "customer": {"source_id": "fine"}},
        {"event": "signed_up", "customer": {"id": "cust_does_not_exist"}},
        {"event": "referred", "customer": {"source_id": "r"}, "referral": {"referrer_id": "x"}},
        "{oops",
    ])
    rejected = tmp_path / "rejected.ndjson"
    journal = tmp_path / "journal"
    command = ["events", "import", str(data), "--rejected", str(rejected),
               "--journal", str(journal)]

    run = cli(capsys, *command)

    assert run.code == 1
    entries = {entry["line"]: entry for entry in map(json.loads, rejected.read_text().splitlines())}
    assert set(entries) == {2, 3, 4}
    not_found = entries[2]
    assert not_found["row"] == {"event": "signed_up", "customer": {"id": "cust_does_not_exist"}}
    assert not_found["error"]["status"] == 404
    assert not_found["error"]["key"] == "not_found"
    assert "cust_does_not_exist" in not_found["error"]["details"]
    assert re.fullmatch(r"v-[0-9a-f]+", not_found["error"]["request_id"])
    no_code = entries[3]
    assert no_code["row"]["referral"] == {"referrer_id": "x"}
    assert no_code["error"]["status"] is None
    assert no_code["error"]["key"] == "invalid_body"
    assert "referral.code: is required" in no_code["error"]["message"]
    assert entries[4]["row"] == "{oops"
    assert entries[4]["error"]["key"] == "invalid_json"
    assert [event["body"]["customer"].get("source_id") for event in server.events] == ["fine"]
    assert "3 rejected or invalid rows written to" in run.err

    # A rerun does not send the refused row again, yet does not count it as done either.
    rerun = cli(capsys, *command)

    assert rerun.code == 1
    assert len(server.requests) == 2
    assert count_of(rerun.err, "skipped") == 1 and count_of(rerun.err, "rejected") == 1
    again = {entry["line"]: entry for entry in map(json.loads, rejected.read_text().splitlines())}
    assert set(again) == {2, 3, 4}
    assert again[2]["error"]["key"] == "rejected_earlier"
    assert again[2]["error"]["status"] == 404


def test_usage_errors_exit_2(
    server: LocalVoucherify, env: dict[str, str], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = events_file(tmp_path, 3)
    unknown_format = tmp_path / "events.txt"
    unknown_format.write_text("{}\n")

    runs = [
        cli(capsys, "events", "import", str(data), "--concurrency", "0"),
        cli(capsys, "events", "import", str(unknown_format)),
        cli(capsys, "events", "import", str(tmp_path / "missing.ndjson")),
        cli(capsys, "events", "import", str(data), "--journal", str(data)),
        cli(capsys, "events", "import", str(data), "--resend-unknown"),
        cli(capsys, "events", "frobnicate"),
    ]

    assert [run.code for run in runs] == [2] * len(runs)
    assert "--concurrency" in runs[0].err
    assert "--format" in runs[1].err
    assert "missing.ndjson" in runs[2].err
    assert "is the input file itself" in runs[3].err
    assert server.requests == []


def test_a_refused_token_stops_the_run_early_with_exit_3_and_a_rerun_resumes(
    server: LocalVoucherify, env: dict[str, str], tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = events_file(tmp_path, 1000)
    journal = tmp_path / "journal"
    monkeypatch.setenv("VOUCHERIFY_APP_TOKEN", WRONG_TOKEN)

    refused = cli(capsys, "events", "import", str(data), "--journal", str(journal))

    assert refused.code == 3
    assert len(server.requests) < 50  # far fewer than the 1000 rows
    assert server.events == []
    assert "stopped: the API refused the keys: (401)" in refused.err
    assert "rows of the input were not read" in refused.err

    monkeypatch.setenv("VOUCHERIFY_APP_TOKEN", TOKEN)
    resumed = cli(capsys, "events", "import", str(data), "--journal", str(journal))

    assert resumed.code == 0, resumed.err
    assert source_ids(server) == {f"user-{n}": 1 for n in range(1000)}


def test_a_rerun_with_the_journal_skips_everything(
    server: LocalVoucherify, env: dict[str, str], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = events_file(tmp_path, 200)
    journal = tmp_path / "journal"

    first = cli(capsys, "events", "import", str(data), "--journal", str(journal))
    second = cli(capsys, "events", "import", str(data), "--journal", str(journal))
    dry = cli(capsys, "events", "import", str(data), "--journal", str(journal), "--dry-run")

    assert (first.code, second.code, dry.code) == (0, 0, 0)
    assert len(server.events) == 200
    assert count_of(second.err, "skipped") == 200
    assert count_of(second.err, "sent") == 0
    assert "per the journal, 200 valid rows were sent and 0 refused" in dry.err


def test_a_journal_with_a_line_cut_short_by_a_kill_still_resumes(
    server: LocalVoucherify, env: dict[str, str], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = events_file(tmp_path, 20)
    journal = tmp_path / "journal"
    first = cli(capsys, "events", "import", str(data), "--journal", str(journal))
    with journal.open("a") as file:
        file.write('{"key":"19:ab')  # what a process killed mid-write leaves
    # The next run ends the cut line and appends after it, so it then sits mid-file.
    second = cli(capsys, "events", "import", str(data), "--journal", str(journal))
    third = cli(capsys, "events", "import", str(data), "--journal", str(journal))
    assert (first.code, second.code, third.code) == (0, 0, 0), third.err
    assert count_of(third.err, "skipped") == 20
    assert len(server.events) == 20


def test_a_file_that_is_not_a_journal_is_refused(
    server: LocalVoucherify, env: dict[str, str], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = events_file(tmp_path, 3)
    journal = tmp_path / "journal"
    journal.write_text("these are my notes\nnot a journal at all\n")
    run = cli(capsys, "events", "import", str(data), "--journal", str(journal))
    assert run.code == 2
    assert "is not a journal" in run.err
    assert server.events == []


def test_a_journal_that_does_not_match_the_input_is_refused(
    server: LocalVoucherify, env: dict[str, str], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows: list[Any] = [
        {"event": "signed_up", "customer": {"source_id": f"user-{n}"}} for n in range(8)
    ]
    rows[3] = {"customer": {"source_id": "user-3"}}  # no event: malformed, skipped
    data = ndjson(tmp_path / "in.ndjson", rows)
    journal = tmp_path / "journal"
    first = cli(capsys, "events", "import", str(data), "--journal", str(journal))
    rows[3] = {"event": "signed_up", "customer": {"source_id": "user-3"}}  # fixed in place
    ndjson(data, rows)

    second = cli(capsys, "events", "import", str(data), "--journal", str(journal))

    assert first.code == 1
    assert second.code == 2
    assert "line 4: the journal holds another row as valid row 4 (recorded as sent)" \
        in second.err
    # The advice keeps this journal with its own file, and never suggests a fresh journal
    # for the changed file, which would send every row again.
    assert "put back the file it was written for" in second.err
    assert "new journal" not in second.err and "nothing more was sent" in second.err
    assert len(server.events) == 7  # nothing was sent twice, nor at all
    assert count_of(second.err, "skipped") == 3


def test_an_unknown_row_is_left_alone_until_resend_unknown(
    server: LocalVoucherify, env: dict[str, str], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = events_file(tmp_path, 3)
    journal = tmp_path / "journal"
    server.inject(faults.drop_after_processing())  # row 1 is recorded, its reply lost
    command = ["events", "import", str(data), "--journal", str(journal), "--concurrency", "1"]

    first = cli(capsys, *command)
    again = cli(capsys, *command)
    recorded = len(server.events)
    resent = cli(capsys, *command, "--resend-unknown")

    assert first.code == 1
    assert "line 1: unknown:" in first.err
    assert "unknown rows, to check by hand: lines 1" in first.err
    assert again.code == 1
    assert count_of(again.err, "unknown") == 1 and count_of(again.err, "skipped") == 2
    assert recorded == 3
    assert resent.code == 0
    assert source_ids(server) == {"user-0": 2, "user-1": 1, "user-2": 1}  # as asked


def test_ctrl_c_stops_reading_finishes_the_calls_in_flight_and_a_rerun_resumes(
    server: LocalVoucherify, env: dict[str, str], tmp_path: Path
) -> None:
    data = events_file(tmp_path, 150)
    journal = tmp_path / "journal"
    command = [sys.executable, "-m", "voucherify.cli", "events", "import", str(data),
               "--journal", str(journal)]
    child = subprocess.Popen([*command, "--max-rate", "50"], env=env, text=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while len(server.events) < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=15)
    sent_before = len(server.events)

    rerun = spawn(env, *command[3:])

    assert child.returncode == 130, err
    assert "stopped: interrupted (Ctrl-C)" in err
    assert 20 <= sent_before < 150
    assert count_of(err, "sent") == sent_before
    assert rerun.code == 0, rerun.err
    assert count_of(rerun.err, "skipped") == sent_before
    assert source_ids(server) == {f"user-{n}": 1 for n in range(150)}


def test_import_reads_csv_from_stdin(
    server: LocalVoucherify, env: dict[str, str]
) -> None:
    csv_text = "event,customer.source_id,metadata.n:number\n" + "".join(
        f"signed_up,s-{n},{n}\n" for n in range(30)
    )

    run = spawn(env, "events", "import", "-", "--format", "csv", "--progress-rows", "10",
                stdin=csv_text)
    unknown = spawn(env, "events", "import", "-", stdin=csv_text)

    assert run.code == 0, run.err
    assert sorted(event["body"]["metadata"]["n"] for event in server.events) == list(range(30))
    assert re.search(r"^progress: \d+ rows, sent", run.err, re.MULTILINE)  # total unknown
    assert unknown.code == 2 and "--format" in unknown.err


def test_terminal_progress_is_one_redrawn_line_with_rate_and_eta(
    env: dict[str, str], tmp_path: Path
) -> None:
    with LocalVoucherify(app_id=APP_ID, app_token=TOKEN, rate_limit=(25, 1.0)) as limited:
        data = events_file(tmp_path, 60)
        output = _run_on_a_terminal(
            dict(env, VOUCHERIFY_HOST=limited.url), "events", "import", str(data)
        )
        assert len(limited.events) == 60

    text = output.decode()
    assert re.search(
        r"\r\d+/60 rows \(\d+%\), sent \d+, failed 0, [\d.]+ rows/s, ETA \d+s\x1b\[K", text
    )
    assert text.count("\r") > 5
    assert "progress:" not in text
    assert re.search(r"  sent +60 ", text)


def _run_on_a_terminal(env: dict[str, str], *argv: str) -> bytes:
    primary, secondary = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "voucherify.cli", *argv],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=secondary,
    )
    os.close(secondary)
    output = b""
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([primary], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: the child closed its end
                break
            if not chunk:
                break
            output += chunk
    finally:
        os.close(primary)
        assert child.wait(timeout=10) == 0, output.decode(errors="replace")
    return output


# -- local-server ----------------------------------------------------------------------------


def test_local_server_prints_its_url_answers_and_stops_on_ctrl_c(env: dict[str, str]) -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "voucherify.cli", "local-server", "--rate-limit", "100/60"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        ready, _, _ = select.select([child.stdout], [], [], 15)
        assert ready, "no URL within 15 s"
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)

        configuration = voucherify.Configuration(host=url)
        configuration.api_key["X-App-Id"] = APP_ID
        configuration.api_key["X-App-Token"] = TOKEN
        with voucherify.ApiClient(configuration) as client:
            reply = voucherify.EventsApi(client).track_custom_event_with_http_info(
                events_create_request_body={"event": "e", "customer": {"source_id": "u"}}
            )
        assert reply.data.customer.source_id == "u"
        assert reply.rate_limit is not None and reply.rate_limit.limit == 100

        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=10) == 0
        assert child.stderr is not None
        assert TOKEN not in child.stderr.read()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
