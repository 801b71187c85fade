"""triage: internal feedback -> themes, evidence and suggested actions."""

__version__ = "0.1.0"
