"""LLM adapters: the only code that imports `openai`."""

from triage.llm.cache import AnswerCache, CachedAnswer, CachedLLMClient, cache_key
from triage.llm.openai_chat import LLMAnswer, OpenAIChatClient

__all__ = ["AnswerCache", "CachedAnswer", "CachedLLMClient", "LLMAnswer", "OpenAIChatClient", "cache_key"]
