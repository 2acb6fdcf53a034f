"""The attempt loop's steps and replies are named types, defined once and used by both clients.

The loop is driven here by hand, with replies that real transports read from a server on
127.0.0.1, so each step is checked as the clients see it.
"""

from __future__ import annotations

import ast
import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

import voucherify
from voucherify import aio
from voucherify._pipeline import steps as steps_module
from voucherify._pipeline.exchange import exchange
from voucherify._pipeline.request import prepare_request
from voucherify._pipeline.steps import Reply, Send, Sleep
from voucherify.api.events_api import TRACK_CUSTOM_EVENT
from voucherify.retry import RetryPolicy

from conftest import EXAMPLE_RESPONSE, MINIMAL_BODY, make_configuration
from rawserver import RawServer, reply

PACKAGE = Path(voucherify.__file__).parent
OK_BODY = json.dumps(EXAMPLE_RESPONSE).encode()


def prepared(url: str, **options: Any) -> Any:
    configuration = make_configuration(url)
    configuration.retries = RetryPolicy(total=2, backoff_factor=0.25, backoff_jitter=0.0)
    return prepare_request(TRACK_CUSTOM_EVENT, configuration, {}, MINIMAL_BODY, (), options)


def test_the_loop_asks_to_send_with_named_timeouts_and_deadline() -> None:
    request = prepared("http://127.0.0.1:9", _request_timeout=(2.0, 7.0), _deadline=30.0)
    steps = exchange(TRACK_CUSTOM_EVENT, request, None)
    step = next(steps)
    assert type(step) is Send
    assert step.timeouts == (2.0, 7.0)
    assert step.deadline_at is not None
    steps.close()


def test_a_retryable_reply_makes_a_named_sleep_then_a_send() -> None:
    request = prepared("http://127.0.0.1:9")
    steps = exchange(TRACK_CUSTOM_EVENT, request, None)
    first = next(steps)
    assert type(first) is Send
    step = steps.send(Reply(429, "Too Many Requests", {"Retry-After": "1"}, b"{}"))
    assert type(step) is Sleep
    assert step.seconds == 1.0
    step = steps.send(None)
    assert type(step) is Send and step.deadline_at == first.deadline_at
    with pytest.raises(StopIteration) as done:
        steps.send(Reply(200, "OK", {"Content-Type": "application/json"}, OK_BODY))
    response = done.value.value
    assert response.status_code == 200
    assert response.attempts == 2
    assert response.slept == 1.0


def test_the_sync_transport_answers_with_a_reply() -> None:
    with RawServer(reply(b"201 Created", OK_BODY)) as server:
        request = prepared(server.url)
        with voucherify.ApiClient(make_configuration(server.url)) as client:
            answer = client.rest_client.send(request, Send((5.0, 5.0), None))
    assert type(answer) is Reply
    assert (answer.status, answer.reason, answer.body) == (201, "Created", OK_BODY)
    assert answer.headers["Content-Length"] == str(len(OK_BODY))
    assert "bytes" in repr(answer) and "Content-Length" not in repr(answer)


def test_the_async_transport_answers_with_a_reply() -> None:
    async def send(url: str) -> Reply:
        request = prepared(url)
        async with aio.ApiClient(make_configuration(url)) as client:
            return await client.rest_client.send(request, Send((5.0, 5.0), None))

    with RawServer(reply(b"201 Created", OK_BODY)) as server:
        answer = asyncio.run(asyncio.wait_for(send(server.url), 20))
    assert type(answer) is Reply
    assert (answer.status, answer.reason, answer.body) == (201, "Created", OK_BODY)


def test_step_and_reply_types_and_aliases_are_defined_only_in_steps() -> None:
    names = {"Reply", "Timeouts", "Send", "Sleep", "Step", "SEND", "SLEEP"}
    owners: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "testing" in path.relative_to(PACKAGE).parts:
            continue  # the stand-in server's own Reply is what it sends, not what it reads
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef):
                targets = [node.name]
            elif isinstance(node, ast.Assign):
                targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                targets = [node.target.id]
            else:
                continue
            for name in names.intersection(targets):
                owners.setdefault(name, []).append(str(path.relative_to(PACKAGE)))
    here = str(Path(steps_module.__file__).relative_to(PACKAGE))
    assert owners == {name: [here] for name in ("Reply", "Send", "Sleep", "Timeouts")}
