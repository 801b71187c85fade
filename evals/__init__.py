"""Evaluation of triage on labelled data (uses only the public `triage` API)."""
