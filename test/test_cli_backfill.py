"""The backfill the CLI exists for: 10,000 NDJSON rows against a rate-limited stand-in."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from voucherify.testing import LocalVoucherify


def test_10000_row_import_runs_at_the_rate_limit_with_no_429_failures(tmp_path: Path) -> None:
    # 500/s: under what one client and the stand-in sharing a slow machine can do on every
    # claimed Python (3.9 manages about 650/s here), so the test measures the pacing.
    rows, limit = 10_000, 500  # per second
    source = tmp_path / "backfill.ndjson"
    source.write_text("".join(
        json.dumps({"event": "signed_up", "customer": {"source_id": f"user-{n % 500}"},
                    "metadata": {"row": n}}) + "\n"
        for n in range(rows)
    ))
    with LocalVoucherify(rate_limit=(limit, 1.0)) as server:
        env = {**os.environ, "VOUCHERIFY_HOST": server.url,
               "VOUCHERIFY_APP_ID": server.app_id, "VOUCHERIFY_APP_TOKEN": server.app_token}
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "voucherify.cli", "events", "import", str(source),
             "--concurrency", "16", "--journal", str(tmp_path / "backfill.journal")],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )
        elapsed = time.monotonic() - started
        refused = server.rate_limited
        recorded = Counter(e["body"]["metadata"]["row"] for e in server.events)
    assert done.returncode == 0, done.stderr[-2000:]
    assert recorded == Counter(range(rows)), "every row exactly once"
    # Measured around the whole process, start-up included: a lower bound of the rate.
    assert rows / elapsed >= 0.9 * limit, f"{rows / elapsed:.0f} rows/s"
    assert refused == 0
    assert re.search(r"^\s*sent\s+10000\b", done.stderr, re.MULTILINE), done.stderr[-800:]
    assert re.search(r"^\s*unknown\s+0\b", done.stderr, re.MULTILINE)
