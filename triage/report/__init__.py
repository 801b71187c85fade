"""Report: group comments per provider and theme, apply the anonymity threshold, render."""
