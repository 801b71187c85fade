"""NgramEmbeddingClassifier: calibrated probabilities (temperature) and a save/load round trip that keeps them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from triage.embed.sentence_transformer import SentenceTransformerEmbedder
from triage.themes.classifier import PARAMS, NgramEmbeddingClassifier

pytestmark = pytest.mark.store_free

TEXTS = [
    "three weeks and still waiting for a laptop",
    "the payslip had the wrong amount again",
    "nobody told us the office was moving",
    "slow, slow, slow: ten days for a reply",
    "they paid the invoice twice by mistake",
    "the change was never announced to anyone",
    "a month to approve a purchase order",
    "the report numbers were all wrong",
    "we heard about the new policy from a rumour",
]
LABELS = ["slow_response", "quality_errors", "communication_gaps"] * 3
PROBES = ["still waiting after two weeks", "wrong amount on the invoice", "no one announced the move"]


def test_temperature_sharpens_without_changing_the_answer(embedder: SentenceTransformerEmbedder) -> None:
    vectors = embedder.encode(TEXTS)
    probe_vectors = embedder.encode(PROBES)
    plain = NgramEmbeddingClassifier(temperature=1.0).fit(TEXTS, vectors, LABELS)
    sharp = NgramEmbeddingClassifier(temperature=0.5).fit(TEXTS, vectors, LABELS)
    p, q = plain.predict_proba(PROBES, probe_vectors), sharp.predict_proba(PROBES, probe_vectors)
    assert np.allclose(p.sum(axis=1), 1.0) and np.allclose(q.sum(axis=1), 1.0)
    assert (p.argmax(axis=1) == q.argmax(axis=1)).all()
    assert (q.max(axis=1) > p.max(axis=1)).all()
    # T = 1 is scikit-learn's own softmax.
    assert np.allclose(p, plain.model.predict_proba(plain._features(PROBES, probe_vectors)))
    assert [plain.classes[j] for j in p.argmax(axis=1)] == ["slow_response", "quality_errors", "communication_gaps"]


def test_saved_classifier_keeps_its_parameters(embedder: SentenceTransformerEmbedder, tmp_path: Path) -> None:
    vectors = embedder.encode(TEXTS)
    model = NgramEmbeddingClassifier().fit(TEXTS, vectors, LABELS)
    assert (model.C, model.embedding_weight, model.temperature) == (
        PARAMS["C"],
        PARAMS["embedding_weight"],
        PARAMS["temperature"],
    )
    model.save(tmp_path / "m", {})
    loaded, meta = NgramEmbeddingClassifier.load(tmp_path / "m")
    assert meta["params"]["temperature"] == PARAMS["temperature"]
    probe_vectors = embedder.encode(PROBES)
    assert np.allclose(loaded.predict_proba(PROBES, probe_vectors), model.predict_proba(PROBES, probe_vectors))
