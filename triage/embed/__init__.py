"""Embedding adapters: the only code that imports sentence_transformers."""
