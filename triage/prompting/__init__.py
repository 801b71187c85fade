"""Versioned prompt templates (`prompts/<task>/<version>.yaml`) and the JSON schema of each answer."""

from triage.prompting.templates import PromptTemplate, load_prompt

__all__ = ["PromptTemplate", "load_prompt"]
