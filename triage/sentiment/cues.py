"""Domain cues VADER's general lexicon misses: how internal service fails ("three weeks", "still",
"nobody replied"), how it pleases ("same afternoon"), and the openings of sarcasm ("Great, another ...").

The lists were chosen on the dev split of evals/datasets/sentiment; the test split was never read for them.
"""

from __future__ import annotations

import re

_NUM = r"(?:\d+|a few|two|three|four|five|six|seven|eight|nine|ten|several|many|eighteen|forty)"
_MONTHS = r"(?:january|february|march|april|may|june|july|august|september|october|november|december|spring|summer)"

NEGATIVE_CUES = [
    rf"\b{_NUM}[- ](?:days?|weeks?|months?|quarters?|years?)\b",
    r"\bfor (?:days|weeks|months|ages|a (?:week|month|quarter|year))\b",
    rf"\bsince (?:{_MONTHS}|last|the last)\b",
    r"\b(?:took|takes|taking) (?:forever|too long|longer|ages)\b",
    r"\bstill\b",
    r"\bnever\b",
    r"\b(?:nobody|no one|no-one|nothing has|nothing changes|nothing happened)\b",
    r"\bagain\b",
    r"\b(?:wrong|lost|losing|loses|missing|vanished|broken|broke|crash(?:es|ed)?|down again)\b",
    r"\b(?:ignored|dismissed|brushed|blame[sd]?|chase[sd]?|chasing|escalat\w+)\b",
    r"\bwithout (?:warning|notice|explanation|saying|any|telling|consultation|fixing)\b",
    r"\bno (?:answer|reply|response|update|updates|explanation|ticket|owner|timeline|fix|clue|idea)\b",
    r"\b(?:impossible|useless|absurd|chaotic|painful|disaster|confusing|outdated|out of date|terrible|awful)\b",
    r"\b(?:every time|each time|every single|every quarter|kept)\b",
    r"\bkeeps? (?:coming|asking|telling|losing|changing|happening)\b",
    r"\b(?:vague|contradict\w*|sparse|hung up|given up|gave up|took away|i wish)\b",
    r"\bcould (?:be|have been) (?:a lot |much )?better\b",
    r"\b(?:why does it take|nothing has happened|always busy|only open)\b",
    r"\b(?:black hole|under review|in the queue|on hold|in a footnote)\b",
    r"\b(?:rejected|rejects|revoked|wiped|underpaid|overcharged|deducted)\b",
    r"\b(?:not fixed|not answered|not replied|hasn't|haven't|didn't|doesn't|don't|can't|won't|isn't|aren't)\b",
    r"\b(?:too slow|slow|late|overdue|delayed|waiting|waited|wait)\b",
]

POSITIVE_CUES = [
    r"\bsame (?:day|afternoon|morning|evening)\b",
    r"\bwithin (?:an hour|a day|minutes|the hour)\b",
    r"\b(?:quick(?:ly)?|fast|promptly|early|ahead of)\b",
    r"\b(?:thank you|thanks|grateful|kudos|shout-out)\b",
    r"\b(?:clear(?:ly)?|helpful|smooth|painless|reliable|accurate|patient(?:ly)?|respectful|fair)\b",
    r"\b(?:no issues|no complaints|nothing to complain|can't fault|couldn't be happier)\b",
    r"\bnever had a (?:single )?problem\b",
    r"\bwithout a hitch\b",
    r"\b(?:improved|improvement|much easier|saved)\b",
]

# Ironic openings and stock ironic phrases. A positive first word alone is only a hint: `is_sarcastic`
# also wants a failure cue, a low rating or a second hint.
SARCASM_CUES = [
    r"^(?:oh )?(?:great|wonderful|fantastic|brilliant|perfect|excellent|lovely|awesome|fabulous|amazing|yay|wow|"
    r"oh good|super|bravo|cheers|nice|well done|kudos|smooth as ever|very efficient)\b[,!.:]",
    r"^(?:great|wonderful|fantastic|brilliant|perfect|excellent|lovely|awesome|fabulous|amazing|super|nice|truly|"
    r"really|very|such|well done|clearly|best|thanks|thank you|love|loving)\b"
    r"(?! (?:job|work|service|people|colleagues|team)\b[^,;]*[.!]$)",
    r"^(?:i )?(?:just |really |absolutely )?(?:love|loving|enjoy) (?:how|that|getting|being|filling|the new)\b",
    r"^(?:so|really|truly) (?:glad|happy|thrilled|impressive|inspiring)\b",
    r"\b(?:i'm|i am|so) (?:thrilled|delighted) to\b",
    r"\bnothing says\b",
    r"\bwhat a (?:treat|surprise|pleasure)\b",
    r"\bsuch a pleasure to\b",
    r"\b(?:must be a record|as always|as ever|five stars for consistency|world-class service|my favou?rite)\b",
    r"\bbest (?:part|way) (?:of|to)\b",
    r"\bcan't wait for the next\b",
    r"\bkeeping things exciting\b",
    r"\b(?:thanks|thank you|nice of|appreciate|kudos to|well done)\b.{0,40}\b(?:for|to) "
    r"(?:rejecting|telling|the \"|finally|keeping|answer|teaching|reset|rebooting|the twelve)",
    r"\bglad to know\b",
    r"\bgood to know\b",
    r"\"[^\"]{3,40}\"",
]

CONTRAST = re.compile(
    r"\b(?:but|though|although|however|even if|even though|yet|whereas|shame|pity|too bad|"
    r"just a pity|less so|except)\b|;",
    re.IGNORECASE,
)


def _compile(patterns: list[str]) -> list[re.Pattern[str]]:
    return [re.compile(p, re.IGNORECASE) for p in patterns]


_NEG = _compile(NEGATIVE_CUES)
_POS = _compile(POSITIVE_CUES)
_SARC = _compile(SARCASM_CUES)


def count(patterns: list[re.Pattern[str]], text: str) -> int:
    return sum(1 for p in patterns if p.search(text))


def negative_cues(text: str) -> int:
    """How many kinds of service-failure wording the text has."""
    return count(_NEG, text)


def positive_cues(text: str) -> int:
    """How many kinds of good-service wording the text has."""
    return count(_POS, text)


def sarcasm_cues(text: str) -> int:
    """How many ironic openings or stock ironic phrases the text has."""
    return count(_SARC, text.strip())


def clauses(text: str) -> list[str]:
    """The text split at contrast markers ("but", "though", ";"), empty parts dropped.

    Splitting at every comma and sentence end as well was tried on dev and lost accuracy: it reads
    "replaced my broken laptop the same afternoon. Really impressed." as mixed.
    """
    return [c.strip(" ,.") for c in CONTRAST.split(text) if c.strip(" ,.")]
