"""Run mypy as a user of the SDK would: ``--strict``, no plugin, this checkout on the path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Iterable

ROOT = Path(__file__).resolve().parent.parent
MYPY_TIMEOUT = 300


def user_mypy(directory: Path, files: Iterable[str]) -> subprocess.CompletedProcess[str]:
    """Check ``files`` (in ``directory``) with a ``mypy.ini`` of only ``strict = True``, so
    that neither this project's settings nor the environment's change what mypy sees."""
    (directory / "mypy.ini").write_text(
        f"[mypy]\nstrict = True\nmypy_path = {ROOT}\ncache_dir = {directory / 'cache'}\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k not in ("MYPYPATH", "MYPY_CONFIG_FILE_DIR")}
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", *sorted(files)],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=MYPY_TIMEOUT,
        check=False,
    )
