"""Benchmarks: same-run ratios against a baseline, each run as a module (``python -m bench.classroom``)."""
