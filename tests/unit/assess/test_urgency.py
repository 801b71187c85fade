"""The shipped urgency detector on comments written for these tests (none is in evals/datasets/urgent): every
category found, indirect and misspelt phrasings too, figures of speech and ordinary complaints left alone,
clear errors for broken rule files and inputs."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from triage.assess import CATEGORIES, UrgencyDetector, UrgencyRules
from triage.assess.rules import CategoryRules
from triage.config import PROJECT_ROOT
from triage.embed.sentence_transformer import SentenceTransformerEmbedder
from triage.errors import ConfigurationError, InvalidInput, ModelMismatch

pytestmark = pytest.mark.store_free

MODEL_DIR = PROJECT_ROOT / "models" / "urgency"

URGENT = [
    ("My supervisor keeps rubbing up against me at the printer and laughs when I ask him to stop.", "harassment"),
    (
        "I was told the promotion went to a man because women 'get too emotional' in client meetings; "
        "my manager's words were that I'm too female for the role.",
        "discrimination",
    ),
    ("A driver said he would bring a knife tomorrow and deal with the dispatcher himself.", "threats"),
    ("The emergency exit in the basement is locked with a chain every night while the cleaners are inside.", "safety"),
    ("My boss asked me to create fake invoices from a supplier that does not exist.", "fraud"),
    ("The spreadsheet with everyone's home addresses and salaries was emailed to an external supplier.", "data_breach"),
    ("I don't want to live anymore and I've been thinking about how to kill myself.", "self_harm"),
]
INDIRECT = [
    # No cue word of the rules: the head has to read the meaning.
    "Every time I stay late the regional boss offers me a lift home and puts his hand on my leg in the car.",
    "i have been giving my things away to friends this week, it feels like the right time to stop being a burden",
    "The warehouse lead told me that snitches in this building end up at the bottom of the loading ramp.",
    "Our cleaners have been mopping with something that makes their eyes stream, and the bottles have no labels.",
    "teh boss told me to sign for 50 pallets when only 30 came and keep quiet about where the rest goes",
    "Anyone in the company can open the folder with our staff's sick notes and home addresses.",
]
NOT_URGENT = [
    "This deadline is killing me.",
    "The printer is a fire hazard to my sanity.",
    "I'd kill for a working laptop.",
    "Our budget got murdered this year.",
    "Security training was boring.",
    "Expense approvals are fraudulently slow lol.",
    "Nobody has ever harassed me here; the team is lovely.",
    "Payroll got my overtime wrong again.",
    "Thank you Payroll for sorting out my backdated raise so quickly.",
    "Diese Deadline bringt mich noch um.",
    "Mataría por un portátil que funcione.",
]

KNOWN_FALSE_ALARMS = [
    # Flagged by the head at its recall-first threshold (P 0.32 > 0.23) with no guard to stop it. Strict xfail:
    # when a refit stops flagging it, move it back to NOT_URGENT.
    "The safety shoes arrived late.",
]


@pytest.fixture(scope="module")
def detector() -> UrgencyDetector:
    return UrgencyDetector.load(MODEL_DIR, "minilm")


def _rules_raw() -> dict[str, Any]:
    return tomllib.loads((MODEL_DIR / "rules.toml").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("text", "category"), URGENT, ids=[c for _, c in URGENT])
def test_each_category_is_detected(
    detector: UrgencyDetector, embedder: SentenceTransformerEmbedder, text: str, category: str
) -> None:
    [found] = detector.assess([text], embedder.encode([text]))
    assert found.urgent
    assert found.category == category
    assert any(cue.startswith("rules:") or cue == "model" for cue in found.cues)


@pytest.mark.parametrize("text", INDIRECT, ids=range(len(INDIRECT)))
def test_indirect_phrasings_are_urgent(
    detector: UrgencyDetector, embedder: SentenceTransformerEmbedder, text: str
) -> None:
    assert detector.rules.match(text) == [], "this case is meant for the head, not the rules"
    [found] = detector.assess([text], embedder.encode([text]))
    assert found.urgent, found
    assert found.cues == ["model"]


@pytest.mark.parametrize("text", NOT_URGENT, ids=range(len(NOT_URGENT)))
def test_hard_negatives_are_not_flagged(
    detector: UrgencyDetector, embedder: SentenceTransformerEmbedder, text: str
) -> None:
    [found] = detector.assess([text], embedder.encode([text]))
    assert not found.urgent, found
    assert found.category is None
    assert found.cues == []


@pytest.mark.xfail(strict=True, reason="known false alarm of the shipped head (see KNOWN_FALSE_ALARMS)")
@pytest.mark.parametrize("text", KNOWN_FALSE_ALARMS, ids=range(len(KNOWN_FALSE_ALARMS)))
def test_known_false_alarms(detector: UrgencyDetector, embedder: SentenceTransformerEmbedder, text: str) -> None:
    [found] = detector.assess([text], embedder.encode([text]))
    assert not found.urgent, found


def test_guards_make_the_head_stricter(detector: UrgencyDetector, embedder: SentenceTransformerEmbedder) -> None:
    text = "I'd kill for a working laptop."
    assert detector.rules.guarded(text) and not detector.rules.match(text)
    assert detector.head.threshold_for("en", guarded=True) > detector.head.threshold_for("en")
    p = float(detector.head.probability([text], embedder.encode([text]))[0])
    assert p >= detector.head.threshold_for("en")  # the head alone would flag it; the guard stops that
    assert not detector.assess([text], embedder.encode([text]))[0].urgent
    assert not detector.rules.guarded("My manager threw a chair at me.")


def test_other_languages_get_the_stricter_threshold(
    detector: UrgencyDetector, embedder: SentenceTransformerEmbedder
) -> None:
    head = detector.head
    assert head.threshold_for("es") > head.threshold_for("en") == head.threshold_for("und") == head.threshold
    text = "El nuevo sistema de gastos es lento y nadie contesta los correos."
    p = float(head.probability([text], embedder.encode([text]))[0])
    flagged = detector.assess([text], embedder.encode([text]), ["es"])[0].urgent
    as_english = detector.assess([text], embedder.encode([text]), ["en"])[0].urgent
    assert flagged == (p >= head.threshold_for("es"))
    assert as_english == (p >= head.threshold_for("en"))


def test_rules_catch_other_languages(detector: UrgencyDetector, embedder: SentenceTransformerEmbedder) -> None:
    texts = [
        "Mi jefe me acosa cada día y me toca aunque le digo que pare.",
        "Ich denke darüber nach, mir das Leben zu nehmen.",
        "On m'a demandé d'antidater les bons de commande.",
        "Deixaram a saída de emergência bloqueada com paletes.",
    ]
    found = detector.assess(texts, embedder.encode(texts))
    assert [u.category for u in found] == ["harassment", "self_harm", "fraud", "safety"]


def test_batch_keeps_order_and_empty_input(detector: UrgencyDetector, embedder: SentenceTransformerEmbedder) -> None:
    texts = [NOT_URGENT[0], URGENT[-1][0], NOT_URGENT[1]]
    assert [u.urgent for u in detector.assess(texts, embedder.encode(texts))] == [False, True, False]
    assert detector.assess([], np.zeros((0, 384), dtype=np.float32)) == []


def test_threshold_above_one_means_rules_only(embedder: SentenceTransformerEmbedder) -> None:
    rules_only = UrgencyDetector.load(MODEL_DIR, "minilm", threshold=1.01)
    text = "I keep thinking everyone would be better off if I wasn't here."
    [found] = rules_only.assess([text], embedder.encode([text]))
    assert found.cues == ["rules:self_harm"]
    [calm] = rules_only.assess([INDIRECT[0]], embedder.encode([INDIRECT[0]]))
    assert not calm.urgent


def test_hyperbole_is_blanked_and_negation_guards() -> None:
    rules = UrgencyRules.load(MODEL_DIR / "rules.toml")
    assert "killing me" not in rules.clean("This deadline is killing me")
    assert "matando" not in rules.clean("Este plazo me está matando")
    assert rules.match("I've never been harassed at work.") == []
    assert rules.match("I have been harassed at work for months.") == ["harassment"]
    assert rules.match("La formación sobre acoso laboral fue útil.") == []


def test_every_category_has_rules() -> None:
    rules = UrgencyRules.load(MODEL_DIR / "rules.toml")
    assert set(rules.categories) == set(CATEGORIES)


def test_rules_file_problems_are_all_listed() -> None:
    raw = _rules_raw()
    raw["categories"]["fraud"]["patterns"] = ["(unclosed", "fine"]
    raw["categories"]["bogus"] = {"patterns": ["x"]}
    del raw["categories"]["safety"]
    raw["categories"]["threats"]["typo"] = []
    with pytest.raises(ConfigurationError) as err:
        UrgencyRules.from_dict(raw, "rules.toml")
    detail = err.value.detail
    assert "categories.fraud.patterns[0]: bad regular expression" in detail
    assert "unknown bogus" in detail
    assert "missing safety" in detail
    assert "categories.threats: unknown keys typo" in detail


def test_unreadable_rules_file(tmp_path: Path) -> None:
    bad = tmp_path / "rules.toml"
    bad.write_text("format = [", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="cannot read urgency rules"):
        UrgencyRules.load(bad)
    with pytest.raises(ConfigurationError, match="format: expected 1"):
        UrgencyRules.from_dict({**_rules_raw(), "format": 2})


def test_missing_directory_and_head(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        UrgencyDetector.load(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigurationError, match="cannot read urgency head"):
        UrgencyDetector.load(tmp_path / "empty")


def test_head_for_another_embedder_is_refused() -> None:
    with pytest.raises(ModelMismatch, match="'minilm' vectors, the embedder is 'other'"):
        UrgencyDetector.load(MODEL_DIR, "other")


def test_bad_inputs(detector: UrgencyDetector) -> None:
    with pytest.raises(InvalidInput, match="2 texts but 1 vectors"):
        detector.assess(["a", "b"], np.zeros((1, 384), dtype=np.float32))
    with pytest.raises(ModelMismatch, match="384-dimensional"):
        detector.assess(["a"], np.zeros((1, 768), dtype=np.float32))
    with pytest.raises(InvalidInput, match="1 texts but 2 languages"):
        detector.assess(["a"], np.zeros((1, 384), dtype=np.float32), ["en", "de"])


def test_levels_rules_say_urgent_and_the_head_splits_urgent_from_review(
    detector: UrgencyDetector, embedder: SentenceTransformerEmbedder
) -> None:
    texts = [t for t, _ in URGENT] + INDIRECT + NOT_URGENT + KNOWN_FALSE_ALARMS
    vectors = embedder.encode(texts)
    languages = ["en"] * len(texts)
    found = detector.assess(texts, vectors, languages)
    p = detector.head.probability(texts, vectors)
    review = detector.thresholds(texts, languages)
    escalate = detector.urgent_thresholds(texts, languages)
    assert all(e >= r for e, r in zip(escalate, review, strict=True))
    for text, u, prob, r, e in zip(texts, found, p, review, escalate, strict=True):
        fired = bool(detector.rules.match(text))
        assert u.urgent == (u.level is not None)
        expected = "urgent" if fired or prob >= e else "review" if prob >= r else None
        assert u.level == expected, (text, u, prob)
    assert all(u.level == "urgent" for u, t in zip(found, texts, strict=True) if detector.rules.match(t))
    # The known false alarm only reaches the recall-first threshold: it waits in "review", not "urgent".
    assert found[-1].level == "review"
    assert {u.level for u in found[: len(URGENT)]} == {"urgent"}


def test_the_one_regex_prefilter_agrees_with_the_cues_one_by_one() -> None:
    """A category's alternation of all its cues matches exactly the texts one of its cues matches."""
    rules = UrgencyRules.load(PROJECT_ROOT / "models" / "urgency" / "rules.toml")
    texts = [
        "I will hurt myself tonight",
        "The laptop took three weeks",
        "Someone shared my payslip with the whole team",
        "My manager keeps shouting at me",
        "Great service, thanks",
    ]
    for rules_of in rules.categories.values():
        assert rules_of.any_cue is not None
        cues = [*rules_of.patterns, *(p for g in rules_of.groups for p in g)]
        for text in texts:
            assert rules_of.may_fire(text) == any(p.search(text) for p in cues)


@pytest.mark.parametrize("pattern", [r"(\w+) \1", r"(?i)laptop"], ids=["back-reference", "global-flag"])
def test_cues_that_cannot_join_an_alternation_are_tried_one_by_one(pattern: str) -> None:
    rules_of = CategoryRules((re.compile(pattern, re.IGNORECASE),), (), ())
    assert rules_of.any_cue is None and rules_of.may_fire("nothing to see")
