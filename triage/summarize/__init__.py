"""Summarise one (provider, theme): a name, two sentences and 1-3 actions citing evidence ids."""

from triage.summarize.grounding import Grounded, ground_actions, quoted_phrases
from triage.summarize.injection import looks_like_injection
from triage.summarize.llm import AnswerStore, LLMSummarizer, LLMUsage, SummaryAnswer, parse_answer
from triage.summarize.names import dedupe_names
from triage.summarize.offline import OfflineSummarizer, offline_name
from triage.summarize.playbook import Playbook, PlaybookAction, load_playbook

__all__ = [
    "AnswerStore",
    "Grounded",
    "LLMSummarizer",
    "LLMUsage",
    "OfflineSummarizer",
    "Playbook",
    "PlaybookAction",
    "SummaryAnswer",
    "dedupe_names",
    "ground_actions",
    "load_playbook",
    "looks_like_injection",
    "offline_name",
    "parse_answer",
    "quoted_phrases",
]
