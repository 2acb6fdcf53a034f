"""Fresh-process workloads: import, and a first call, against their floors, round by round.

Each command is ``python -c CODE``; the child measures its own peak RSS (``ru_maxrss``,
nothing subtracted) as its last act and prints it, and the harness times the child from
spawn to exit. Every round runs every command once, in an order rotated by one each round,
so slow spells of the machine fall on every command alike.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Optional

from benchmarks.children import (
    ChildError,
    Interpreter,
    run,
    small_parent_available,
    this_sdk,
)
from benchmarks.servers import ServerProcess
from benchmarks.settings import BODY, KEYS, Settings

RSS_LINE = """
import os, resource, sys
status = open("/proc/self/status").readlines() if os.path.exists("/proc/self/status") else []
hwm = ([line.split()[1] for line in status if line.startswith("VmHWM")] or ["0"])[0]
sys.stdout.write("%d %s" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, hwm))
"""
"""The child's last act: print its ``ru_maxrss`` (KiB on Linux) and, as a cross-check, the
kernel's ``VmHWM`` for its own memory (0 where there is no /proc)."""
FIRST_CALL = """\
import json, os
import voucherify
configuration = voucherify.Configuration(host=os.environ["BENCH_URL"])
for name, value in json.loads(os.environ["BENCH_KEYS"]).items():
    configuration.api_key[name] = value
with voucherify.ApiClient(configuration) as api_client:
    voucherify.EventsApi(api_client).track_custom_event(
        events_create_request_body=json.loads(os.environ["BENCH_BODY"]))
"""
FIRST_CALL_FLOOR = """\
import json, os
import pydantic, urllib3
request = json.loads(os.environ["BENCH_REQUEST"])
response = urllib3.PoolManager().request(
    "POST", os.environ["BENCH_URL"] + "/v1/events",
    body=request["body"].encode("latin-1"), headers=dict(request["headers"]))
json.loads(response.data)
"""
CODE = {
    "pass": "pass",
    "import_floor": "import pydantic, urllib3",
    "import_sdk": "import voucherify",
    "first_call_floor": FIRST_CALL_FLOOR,
    "first_call_sdk": FIRST_CALL,
}
OFFICIAL_CODE = {"official_import": "import voucherify", "official_first_call": FIRST_CALL}
CHILD_TIMEOUT = 60.0


@dataclass(frozen=True)
class Command:
    name: str
    interpreter: Interpreter
    code: str

    def once(self, env: dict[str, str]) -> tuple[float, int, int]:
        """Wall seconds of one fresh process, its ``ru_maxrss`` and its ``VmHWM``, in KiB."""
        wall, out = run(self.interpreter, ["-c", self.code + RSS_LINE], CHILD_TIMEOUT, env=env,
                        small_parent=True)
        maxrss, hwm = out.strip().splitlines()[-1].split()
        return wall, int(maxrss), int(hwm)


def _official_rounds(rounds: int, wanted: int) -> set[int]:
    """Which rounds also run the official commands: ``wanted`` of them, spread evenly."""
    wanted = max(1, min(wanted, rounds))
    return {number * rounds // wanted for number in range(wanted)}


def _captured_request(server: ServerProcess) -> str:
    last = server.get("/__last")
    head: str = last["head"]
    headers = [
        [name, value.strip()]
        for name, _, value in (line.partition(":") for line in head.split("\r\n")[1:])
    ]
    body = base64.b64decode(last["body"]).decode("latin-1")
    return json.dumps({"headers": headers, "body": body})


def measure_imports(
    settings: Settings, server: ServerProcess, official: Optional[Interpreter]
) -> dict[str, Any]:
    """Medians come later; this returns every sample, and what happened to the official SDK."""
    ours = this_sdk()
    env = {"BENCH_URL": server.url, "BENCH_KEYS": json.dumps(KEYS), "BENCH_BODY": json.dumps(BODY)}
    commands = [Command(name, ours, code) for name, code in CODE.items()]
    # Warm-up, not counted: compiles bytecode, fills the page cache, and records the request
    # the SDK's first call sends so that the floor's first call sends the same bytes.
    first = commands[-1]
    first.once(env)
    env["BENCH_REQUEST"] = _captured_request(server)
    for command in commands[:-1]:
        command.once(env)
    official_commands: list[Command] = []
    official_status = "skipped"
    if official is not None:
        official_commands = [Command(n, official, c) for n, c in OFFICIAL_CODE.items()]
        try:
            for command in official_commands:
                command.once(env)
            official_status = "ok"
        except ChildError as error:
            official_status = f"unavailable: {error}"
            official_commands = []
    samples: dict[str, dict[str, list[float]]] = {
        command.name: {"wall_s": [], "rss_kib": [], "vmhwm_kib": []}
        for command in commands + official_commands
    }
    rounds: list[dict[str, dict[str, float]]] = []
    with_official = _official_rounds(settings.import_rounds, settings.official_import_rounds)
    for number in range(settings.import_rounds):
        active = commands + (official_commands if number in with_official else [])
        shift = number % len(active)
        results: dict[str, dict[str, float]] = {}
        for command in active[shift:] + active[:shift]:
            wall, rss, hwm = command.once(env)
            results[command.name] = {"wall_s": wall, "rss_kib": rss, "vmhwm_kib": hwm}
            for key, value in results[command.name].items():
                samples[command.name][key].append(value)
        rounds.append(results)
    return {
        "samples": samples,
        "rounds": rounds,
        "official_status": official_status,
        "spawned_by": "/bin/sh (fork)" if small_parent_available() else "the harness",
    }
