"""Summarise one (provider, theme): a name, two sentences and 1-3 actions citing evidence ids."""

from triage.summarize.llm import LLMSummarizer, SummaryAnswer
from triage.summarize.offline import OfflineSummarizer
from triage.summarize.playbook import Playbook, PlaybookAction, load_playbook

__all__ = ["LLMSummarizer", "OfflineSummarizer", "Playbook", "PlaybookAction", "SummaryAnswer", "load_playbook"]
