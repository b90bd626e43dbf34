"""Benchmarks, run by hand (`uv run python -m bench.<name>`); never part of the test run."""
