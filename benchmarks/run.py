"""Benchmark the SDK against its floors: ``python benchmarks/run.py [--quick] [--json PATH]``.

See benchmarks/README.md for what each number means. Also runs as
``python -m benchmarks.run`` from the repository root.
"""

from __future__ import annotations

import sys
from pathlib import Path


def _main() -> int:
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    from benchmarks.harness import main

    try:
        return main()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted; every server and worker it started is stopped\n")
        return 130


if __name__ == "__main__":
    sys.exit(_main())
