"""Eval suites that run standalone (`python -m evals.suites.<name>`) and return their results as data."""
