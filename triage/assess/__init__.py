"""Assessment steps on single comments: urgency (comments that need escalation now)."""

from triage.assess.head import Prototypes, UrgencyHead
from triage.assess.rules import CATEGORIES, UrgencyRules
from triage.assess.urgency import UrgencyDetector

__all__ = ["CATEGORIES", "Prototypes", "UrgencyDetector", "UrgencyHead", "UrgencyRules"]
