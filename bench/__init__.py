"""Benchmarks of the triage service: `python -m bench run` prints tables and writes JSON to bench/results/."""
