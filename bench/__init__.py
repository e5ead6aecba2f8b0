"""Benchmarks: `python -m bench.run [--quick]` prints one JSON object (see bench/README.md)."""
