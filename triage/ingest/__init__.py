"""Ingest: read survey files, validate rows, redact personal data."""
