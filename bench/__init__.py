"""vmp3 benchmarks: ``python -m bench`` (see bench/results.md)."""
