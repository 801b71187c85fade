import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from triage.themes.cluster import discover_groups, stable_id, subject_clusters
from triage.themes.keywords import class_keywords, group_keywords, representatives, top_terms

pytestmark = pytest.mark.store_free


def _blobs(
    centres: int, per: int, dims: int = 32, spread: float = 0.05, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(centres, dims))
    points = np.concatenate([m + spread * rng.normal(size=(per, dims)) for m in means])
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return points.astype(np.float32), np.repeat(np.arange(centres), per)


def test_subject_clusters_recover_seeded_blobs_and_choose_k() -> None:
    vectors, truth = _blobs(centres=5, per=30)
    clustering = subject_clusters(vectors)
    assert len(clustering.centroids) == 5
    assert adjusted_rand_score(truth, clustering.labels) > 0.95
    assert np.allclose(np.linalg.norm(clustering.centroids, axis=1), 1.0, atol=1e-5)


def test_subject_clusters_with_fixed_k_and_tiny_input() -> None:
    vectors, _ = _blobs(centres=3, per=10)
    assert len(subject_clusters(vectors, k=4).centroids) == 4
    assert subject_clusters(vectors[:2]).labels.tolist() == [0, 0]


def test_discover_groups_keeps_tight_groups_and_drops_noise() -> None:
    vectors, truth = _blobs(centres=2, per=8, spread=0.03)
    noise, _ = _blobs(centres=6, per=1, seed=7)
    groups = discover_groups(np.concatenate([vectors, noise]), min_size=5)
    assert sorted(len(g.members) for g in groups) == [8, 8]
    for g in groups:
        assert len(set(truth[g.members].tolist())) == 1
        assert 0 < g.threshold <= 1


def test_class_keywords_find_the_distinctive_words() -> None:
    texts = [
        "laptop delivery took weeks",
        "still waiting for my laptop",
        "the laptop order is late",
        "payslip shows the wrong salary",
        "salary paid wrong again",
        "my payslip is wrong",
    ]
    labels = ["a", "a", "a", "b", "b", "b"]
    keywords = class_keywords(texts, labels, top_n=3)
    assert keywords["a"][0] == "laptop"
    assert set(keywords["b"][:2]) == {"wrong", "payslip"} or "salary" in keywords["b"][:2]
    assert "the" not in keywords["a"]


def test_class_keywords_extra_stop_words_and_empty() -> None:
    texts = ["IT laptop slow", "IT laptop late", "HR payslip wrong"]
    keywords = class_keywords(texts, ["x", "x", "y"], extra_stop_words=["it", "laptop"])
    assert "laptop" not in keywords["x"]
    assert class_keywords([], []) == {}


def test_group_keywords_match_each_group_against_the_rest() -> None:
    texts = [
        "laptop delivery took weeks",
        "still waiting for my laptop",
        "payslip shows the wrong salary",
        "salary paid wrong again",
        "vpn drops every morning",
        "the vpn keeps dropping",
    ]
    groups = [[0, 1], [2, 3], [4, 5]]
    found = group_keywords(texts, groups, top_n=3)
    for members, keywords in zip(groups, found, strict=True):
        labels = ["group" if i in members else "rest" for i in range(len(texts))]
        assert keywords == class_keywords(texts, labels, top_n=3)["group"]
    assert found[0][0] == "laptop" and found[2][0] == "vpn"
    assert group_keywords(["the and of"], [[0]]) == [[]] and group_keywords(texts, []) == []


def test_top_terms_look_past_the_shortlist_when_overlaps_use_it_up() -> None:
    # The best term is a unigram inside every next-best bigram: all of them are skipped, so the pick must
    # reach the low-scored unrelated terms beyond the first shortlist.
    bigrams = [f"laptop w{i:03d}" for i in range(300)]
    terms = np.array(["laptop", *bigrams, "monitor", "keyboard"])
    counts = np.array([[1000.0, *[10.0] * 300, 2.0, 1.0], [0.0, *[0.0] * 300, 0.0, 0.0]])
    assert top_terms(counts, terms, top_n=3)[0] == ["laptop", "monitor", "keyboard"]


def test_representatives_are_the_most_central() -> None:
    vectors = np.array([[1, 0], [0, 1], [0.7071, 0.7071], [0.6, 0.8]], dtype=np.float32)
    assert representatives(vectors, [0, 1, 2, 3], top_n=2) == [2, 3]
    assert representatives(vectors, [0, 1], top_n=5) in ([0, 1], [1, 0])
    assert representatives(vectors, [], top_n=2) == []


@pytest.mark.parametrize("words", [["a", "b"], ["x"]], ids=["two", "one"])
def test_stable_id_is_deterministic(words: list[str]) -> None:
    assert stable_id("new_", words) == stable_id("new_", list(words))
    assert stable_id("new_", words).startswith("new_")
    assert stable_id("new_", words) != stable_id("new_", [*words, "z"])
