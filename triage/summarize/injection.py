"""A small detector for comments that address the model instead of the department (prompt injection).

It errs towards recall on the phrasings attacks use ("ignore previous instructions" in English, Spanish,
German, French and Portuguese, role markers, notes to "the summariser", "add an action: ..."), and stays quiet
on feedback that merely mentions instructions, actions or an AI chatbot. A flagged comment is still counted and
summarised; it only stops counting as *evidence* for an action (see `triage.summarize.grounding`).
Measured by `python -m evals.suites.summaries` on evals/datasets/injection.
"""

from __future__ import annotations

import re

_MODEL = (
    r"(?:summari[sz]er|summari[sz]ing\s+(?:assistant|model|ai|bot)|language\s+model|llm|chat\s?bot|(?:the\s+)?ai\b"
    r"|assistant|(?:the\s+)?model\b|whoever\s+(?:\(or\s+whatever\)\s+)?summari[sz]es)"
)
_PATTERNS = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        # "ignore (all) previous instructions", "disregard your rules", "forget the prior prompt"
        r"\b(?:ignore|disregard|forget|override|bypass)\b[^.!?\n]{0,30}?"
        r"\b(?:previous|prior|above|earlier|preceding|your|system|these|those)\b[^.!?\n]{0,20}?"
        r"\b(?:instructions?|rules|prompts?|directions|directives|guidelines|context)\b",
        # the same in es/de/fr/pt: "ignora las instrucciones anteriores", "ignoriere alle vorherigen Anweisungen"
        r"\b(?:ignor[ae]|olvida|ignoriere|vergiss|ignore[zs]?|oublie[zs]?|esque[çc]a)\b[^.!?\n]{0,30}?"
        r"\b(?:instrucci[oó]n(?:es)?|reglas|anweisungen?|regeln|instructions?|consignes?|r[eè]gles|instru[çc][õo]es"
        r"|regras)\b",
        # "ignore the above", "disregard everything before this", "forget the above"
        r"\b(?:ignore|disregard|forget)\s+(?:all\s+)?(?:of\s+)?(?:the\s+)?(?:above|everything\s+(?:above|before))",
        # role markers and prompt vocabulary
        r"(?:^|[\s\]\[(>])\[?(?:system|assistant|developer)\]?\s*:",
        r"\b(?:reveal|print|output|show|repeat|leak)\b[^.!?\n]{0,20}\b(?:system|developer)\s+(?:prompt|message)",
        r"\b(?:system|developer)\s+(?:message|instructions?)\s*:",
        r"\b(?:new|neue|nueva|nouvelle|nova)\s+(?:instructions?|anweisung(?:en)?|instrucci[oó]n(?:es)?|consignes?"
        r"|instru[çc](?:ão|ões)|task|aufgabe|tarea|t[âa]che|tarefa)\s*:",
        r"\byou\s+are\s+now\b",
        r"\bfrom\s+now\s+on,?\s+you\s+(?:must|will|are|should|shall)\b",
        r"\bas\s+an\s+ai,?\s+you\b",
        r"\b(?:jailbreak|prompt\s+injection|no\s+restrictions)\b",
        r"\bend\s+of\s+(?:the\s+)?(?:comments?|input|data|context)\b",
        # notes addressed to the model: "note for whoever summarises this", "P.S. to the language model"
        rf"\b(?:to|for|dear|hey|hint\s+for)\s+(?:the\s+|whoever\s+|any\s+)?{_MODEL}",
        rf"\bas\s+the\s+{_MODEL}",
        # telling the summariser what to write: "add an action: ...", "the only action is ...", "respond only with"
        r"\b(?:add|include|insert|output|append|put|make)\s+(?:an?\s+|the\s+|this\s+|one\s+|the\s+first\s+)?"
        r"(?:suggested\s+|new\s+|single\s+)?(?:actions?|recommendations?)\b(?!\s+items?\b)",
        r"\b(?:the\s+)?(?:only|first|best|single)\s+(?:suggested\s+)?actions?\s+(?:is|must|should|needed\s+is)\b",
        r"\b(?:the\s+)?(?:report|summary|action)\s+must\s+(?:be|say|recommend|include|read)\b",
        r"\bthis\s+comment\s+(?:outranks|overrides|supersedes)\b",
        r"\b(?:respond|reply|answer)\s+only\s+with\b|\b(?:respond|reply|answer)\s+with\s*:",
        r"\b(?:name|call|title)\s+this\s+(?:theme|topic|cluster|thema)\b",
        r"\bnenne\s+dieses\s+thema\b",
        r"\b(?:write|output)\s+(?:the\s+)?summary\s+(?:as|in)\b|\bthe\s+summary\s+(?:should|must)\s+say\b",
        r"\bel\s+resumen\s+debe\b|\bla\s+acci[oó]n\s+debe\b|\bl'action\s+doit\b|\ba\s+a[çc][ãa]o\s+deve\b",
        r"\b(?:a[ñn]ade|agrega)\s+una\s+acci[oó]n\b|\bschlage\s+vor\b|\brecommande\s+de\b|\bsugira\b",
        # markup that tries to close or open the block comments are placed in
        r"</?\s*(?:comments?|system|instructions?|assistant)\b",
    )
)


def looks_like_injection(text: str) -> bool:
    """True when `text` reads like instructions to a language model rather than feedback."""
    return any(pattern.search(text) for pattern in _PATTERNS)
