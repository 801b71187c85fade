"""LLM adapters: the only code that imports `openai`."""

from triage.llm.openai_chat import LLMAnswer, OpenAIChatClient

__all__ = ["LLMAnswer", "OpenAIChatClient"]
