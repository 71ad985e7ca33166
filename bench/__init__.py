"""Benchmarks: each module's main() prints one JSON object; `python -m bench` runs them all."""
