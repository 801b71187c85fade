"""Themes: taxonomy assignment, subject clustering, discovered themes, keywords."""
