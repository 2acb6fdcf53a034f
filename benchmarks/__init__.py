"""The benchmark harness: ``python benchmarks/run.py``; see benchmarks/README.md."""
