"""Past a size, subjects use mini-batch k-means and new-theme discovery works on a sample (O(n^2) avoided)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import normalized_mutual_info_score

from triage.themes import cluster

pytestmark = pytest.mark.store_free


def blobs(n: int, k: int, noise: float = 0.03, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, 384))
    truth = rng.integers(0, k, n)
    x = centres[truth] / np.linalg.norm(centres[truth], axis=1, keepdims=True) + rng.normal(0, noise, (n, 384))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), truth


def test_large_inputs_take_the_mini_batch_path_and_keep_the_clusters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cluster, "LARGE", 1_000)
    monkeypatch.setattr(cluster, "DISCOVER_MAX", 400)
    vectors, truth = blobs(3_000, 8)
    result = cluster.subject_clusters(vectors)
    assert result.labels.shape == (3_000,)
    assert normalized_mutual_info_score(truth, result.labels) > 0.95
    again = cluster.subject_clusters(vectors)
    assert (again.labels == result.labels).all()  # seeded


def test_discovery_on_a_sample_still_places_every_close_comment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cluster, "DISCOVER_MAX", 300)
    vectors, truth = blobs(1_500, 5, noise=0.02)
    far = np.random.default_rng(1).normal(size=(20, 384)).astype(np.float32)
    far /= np.linalg.norm(far, axis=1, keepdims=True)
    groups = cluster.discover_groups(np.vstack([vectors, far]), min_size=5)
    assert len(groups) == 5
    members = sorted(m for g in groups for m in g.members)
    assert members == list(range(1_500))  # outside the sample too; the 20 lone vectors join none
    for g in groups:
        assert len(set(truth[g.members].tolist())) == 1
