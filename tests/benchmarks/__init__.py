"""Benchmarks: figures measured against the sandbox, run by `scripts/bench`, not asserted."""
