"""A small detector for comments that address the model instead of the department (prompt injection).

It is deliberately simple and errs towards recall on the phrasings attacks use ("ignore previous
instructions", role markers, "add an action ..."): a flagged comment is still counted and summarised, it only
stops counting as *evidence* for an action (see `triage.summarize.grounding`).
"""

from __future__ import annotations

import re

_PATTERNS = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        # "ignore (all) previous instructions", "disregard your rules", "forget the prior prompt"
        r"\b(?:ignore|disregard|forget|override|bypass)\b[^.!?\n]{0,30}?"
        r"\b(?:previous|prior|above|earlier|preceding|your|system|these|those)\b[^.!?\n]{0,20}?"
        r"\b(?:instructions?|rules|prompts?|directions|directives|guidelines|context)\b",
        # "ignore the above", "disregard everything before this"
        r"\b(?:ignore|disregard|forget)\s+(?:all\s+)?(?:of\s+)?(?:the\s+)?(?:above|everything\s+(?:above|before))",
        # role markers and prompt vocabulary
        r"(?:^|[\s\]\[(>])(?:system|assistant|developer)\s*:",
        r"\b(?:system|developer)\s+(?:prompt|message|instructions?)\b",
        r"\bnew\s+instructions?\b",
        r"\byou\s+are\s+now\b",
        r"\bfrom\s+now\s+on,?\s+you\b",
        r"\bas\s+an\s+ai\b",
        r"\b(?:jailbreak|prompt\s+injection)\b",
        # telling the summariser what to write
        r"\b(?:add|include|insert|output|append|put)\s+(?:an?\s+|the\s+|this\s+|one\s+)?(?:suggested\s+|new\s+)?"
        r"(?:actions?|recommendations?)\b",
        r"\b(?:respond|reply|answer)\s+(?:only\s+)?with\b",
        # markup that tries to close or open the block comments are placed in
        r"</?\s*(?:comments?|system|instructions?|assistant)\b",
    )
)


def looks_like_injection(text: str) -> bool:
    """True when `text` reads like instructions to a language model rather than feedback."""
    return any(pattern.search(text) for pattern in _PATTERNS)
