"""The batch theme step: assign, discover, cluster into subjects, label with keywords."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from triage.ports import Vectors
from triage.themes.classifier import NgramEmbeddingClassifier
from triage.themes.cluster import discover_groups, stable_id, subject_clusters
from triage.themes.keywords import class_keywords, group_keywords
from triage.themes.model import DiscoveredTheme, ThemeModel
from triage.types import UNASSIGNED, Taxonomy, ThemeScore

log = logging.getLogger(__name__)
TRACKED_FILE = "tracked_groups.json"
MATCH_SIMILARITY = 0.8
"""Two groups of consecutive runs are the same when their centroids' cosine similarity reaches this."""
SHARE_CHANGE = 0.2
"""A group grew (shrank) when its share of the comments changed by at least this fraction (and 2 comments)."""
Status = Literal["new", "grown", "shrunk", "steady", "gone"]
GroupKind = Literal["subject", "discovered"]


@dataclass(frozen=True)
class TrackedGroup:
    """A subject or discovered theme of one run, as the next run matches it: id, centroid and size."""

    kind: GroupKind
    id: str
    name: str
    centroid: npt.NDArray[np.float32]
    count: int
    total: int
    """Comments in the run the group comes from (for its share)."""
    status: Status = "new"
    previous_count: int | None = None
    previous_total: int | None = None

    @property
    def share(self) -> float:
        return self.count / self.total if self.total else 0.0

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "id": self.id,
            "name": self.name,
            "centroid": [round(float(v), 6) for v in self.centroid],
            "count": self.count,
            "total": self.total,
            "status": self.status,
            "previous_count": self.previous_count,
            "previous_total": self.previous_total,
        }

    @classmethod
    def from_json(cls, row: dict[str, object]) -> TrackedGroup:
        count, total = row["count"], row["total"]
        previous_count, previous_total = row.get("previous_count"), row.get("previous_total")
        assert isinstance(count, int) and isinstance(total, int)
        kind: GroupKind = "discovered" if row["kind"] == "discovered" else "subject"
        centroid = np.asarray(row["centroid"], dtype=np.float32)
        return cls(
            kind,
            str(row["id"]),
            str(row["name"]),
            centroid,
            count,
            total,
            _status(str(row.get("status", "new"))),
            previous_count if isinstance(previous_count, int) else None,
            previous_total if isinstance(previous_total, int) else None,
        )


def _status(value: str) -> Status:
    statuses: tuple[Status, ...] = ("new", "grown", "shrunk", "steady", "gone")
    return next((s for s in statuses if s == value), "new")


def _change(previous: TrackedGroup, current: TrackedGroup) -> Status:
    before, after = previous.share, current.share
    if after >= before * (1 + SHARE_CHANGE) and current.count - previous.count >= 2:
        return "grown"
    if after <= before * (1 - SHARE_CHANGE) and previous.count - current.count >= 2:
        return "shrunk"
    return "steady"


def match_groups(
    previous: Sequence[TrackedGroup], current: Sequence[TrackedGroup], min_similarity: float = MATCH_SIMILARITY
) -> list[TrackedGroup]:
    """The current groups with the ids of the previous run's groups they continue, and each group's status.

    Per kind, previous and current groups are paired one-to-one by the largest total centroid cosine
    similarity over the pairs that reach `min_similarity` (Hungarian); the others are no pair. A paired
    group takes the previous id and is "grown", "shrunk" or "steady" by its share of the comments; an
    unpaired current group is "new"; an unpaired previous group is returned as "gone" (count 0). Current
    groups come first, in their order.
    """
    out: list[TrackedGroup] = []
    gone: list[TrackedGroup] = []
    for kind in ("subject", "discovered"):
        before = [g for g in previous if g.kind == kind and g.status != "gone"]
        now = [g for g in current if g.kind == kind]
        pairs: dict[int, int] = {}
        # Centroids of another embedding model (another dimension) cannot be compared: nothing carries over.
        if now:
            before = [g for g in before if g.centroid.shape == now[0].centroid.shape]
        if before and now:
            similarity = np.stack([g.centroid for g in now]) @ np.stack([g.centroid for g in before]).T
            # Pairs under the threshold count as nothing, so they never displace a pair above it.
            rows, cols = linear_sum_assignment(-np.where(similarity >= min_similarity, similarity, 0.0))
            pairs = {int(r): int(c) for r, c in zip(rows, cols, strict=True) if similarity[r, c] >= min_similarity}
        taken: set[str] = set()
        for i, group in enumerate(now):
            if i in pairs:
                old = before[pairs[i]]
                out.append(replace(group, id=old.id, status=_change(old, group), previous_count=old.count,
                                   previous_total=old.total))  # fmt: skip
                taken.add(old.id)
            else:
                out.append(replace(group, status="new", previous_count=None, previous_total=None))
        total = now[0].total if now else 0
        gone += [
            replace(old, count=0, total=total, status="gone", previous_count=old.count, previous_total=old.total)
            for old in before
            if old.id not in taken
        ]
    # An id carried forward can collide with a new group's own id: the carried one keeps it.
    carried = {g.id for g in out if g.status != "new"}
    out = [replace(g, id=f"{g.id}_{i}") if g.status == "new" and g.id in carried else g for i, g in enumerate(out)]
    return out + gone


def save_tracked(directory: Path, groups: Sequence[TrackedGroup]) -> None:
    """The run's groups as JSON (no pickle): what the next run matches its groups against."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / TRACKED_FILE).write_text(json.dumps([g.to_json() for g in groups]))


def load_tracked(directory: Path) -> list[TrackedGroup]:
    """The groups a previous run saved; [] when it saved none."""
    path = directory / TRACKED_FILE
    if not path.exists():
        return []
    return [TrackedGroup.from_json(row) for row in json.loads(path.read_text())]


@dataclass(frozen=True)
class Subject:
    id: str
    name: str
    keywords: list[str]

    @property
    def phrase(self) -> str:
        """A short phrase for sentences ("laptop provisioning"): the subject's top keyword."""
        return self.keywords[0] if self.keywords else "these requests"


@dataclass
class ThemeAnalysis:
    model: ThemeModel
    themes: list[list[ThemeScore]]
    """Per comment, primary first; empty = unassigned."""
    subjects: list[str]
    """Subject id per comment."""
    subject_info: dict[str, Subject] = field(default_factory=dict)
    theme_keywords: dict[str, list[str]] = field(default_factory=dict)
    tracked: list[TrackedGroup] = field(default_factory=list)
    """Subjects and discovered themes with their ids and status against the previous run (see `match_groups`)."""

    def primary(self, i: int) -> str:
        return self.themes[i][0].id if self.themes[i] else UNASSIGNED


def fit_theme_model(
    taxonomy: Taxonomy,
    example_vectors: Vectors,
    embed_model: str,
    min_confidence: float,
    secondary_confidence: float,
) -> ThemeModel:
    """Fit the taxonomy classifier on the taxonomy's example comments (vectors in example order)."""
    texts = [e for t in taxonomy.themes for e in t.examples]
    labels = [t.id for t in taxonomy.themes for _ in t.examples]
    classifier = NgramEmbeddingClassifier().fit(texts, example_vectors, labels)
    return ThemeModel(taxonomy, classifier, embed_model, min_confidence, secondary_confidence)


def _discover(
    base: ThemeModel, texts: list[str], vectors: Vectors, unassigned: list[int], min_size: int
) -> list[DiscoveredTheme]:
    groups = discover_groups(vectors[unassigned], min_size=min_size)
    members = [[unassigned[m] for m in group.members] for group in groups]
    discovered = []
    for group, keywords in zip(groups, group_keywords(texts, members, top_n=6), strict=True):
        if not keywords:
            continue
        name = "New: " + ", ".join(keywords[:3])
        discovered.append(
            DiscoveredTheme(stable_id("new_", keywords[:3]), name, keywords, group.centroid, group.threshold)
        )
    log.info("discovered %d candidate themes among %d unassigned comments", len(discovered), len(unassigned))
    return discovered


def _rename_themes(themes: list[list[ThemeScore]], ids: dict[str, str]) -> list[list[ThemeScore]]:
    return [[t.model_copy(update={"id": ids.get(t.id, t.id)}) for t in row] for row in themes]


def analyze_themes(
    base: ThemeModel,
    texts: list[str],
    vectors: Vectors,
    min_new_theme_size: int,
    providers: list[str] | None = None,
    subjects_k: int | None = None,
    previous: Sequence[TrackedGroup] = (),
) -> ThemeAnalysis:
    """Themes for every comment, with candidate new themes and subjects; returns the run's fitted model.

    Provider names are left out of subject keywords: a subject is what was asked for, not of whom.
    Subjects and discovered themes that continue a `previous` run's groups (by centroid) keep their ids;
    `ThemeAnalysis.tracked` says which are new, grown, shrunk, steady or gone.
    """
    # Subjects depend on the vectors only: clustered on a second core (numpy releases the GIL) while the
    # taxonomy classifier and the discovery of new themes run here.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="subjects") as pool:
        subjects_future = pool.submit(subject_clusters, vectors, subjects_k) if len(texts) else None
        first = base.taxonomy_scores(texts, vectors)
        unassigned = [i for i, themes in enumerate(first) if not themes]
        discovered = _discover(base, texts, vectors, unassigned, min_new_theme_size)
        model = ThemeModel(
            base.taxonomy, base.classifier, base.embed_model, base.min_confidence, base.secondary_confidence, discovered
        )
        themes = model.add_discovered(first, vectors)
        clustering = subjects_future.result() if subjects_future else None

    subject_labels = [str(x) for x in (clustering.labels.tolist() if clustering else [])]
    provider_words = {w for p in providers or [] for w in p.lower().split()}
    generic = {"weeks", "week", "days", "months", "new", "time", "year", "team", "people", "need", "asked", "get"}
    subject_keywords = class_keywords(texts, subject_labels, top_n=5, extra_stop_words=sorted(provider_words | generic))
    subject_info: dict[str, Subject] = {}
    for label in sorted(set(subject_labels), key=int):
        words = subject_keywords.get(label, [])
        subject_id = stable_id("subj_", words[:3] or [label])
        if any(s.id == subject_id for s in subject_info.values()):
            subject_id = stable_id("subj_", [*words[:3], label])
        subject_info[label] = Subject(subject_id, " / ".join(words[:3]) or "miscellaneous", words)
    subjects = [subject_info[label].id for label in subject_labels]

    # Ids carried over from the previous run: groups matched by centroid keep the earlier id.
    n = len(texts)
    primary_counts = Counter(row[0].id for row in themes if row)
    sizes = Counter(subject_labels)
    current = [
        TrackedGroup("subject", s.id, s.name, clustering.centroids[int(label)], sizes[label], n)
        for label, s in subject_info.items()
        if clustering is not None
    ] + [TrackedGroup("discovered", d.id, d.name, d.centroid, primary_counts[d.id], n) for d in discovered]
    tracked = match_groups(previous, current)
    ids = {c.id: t.id for c, t in zip(current, tracked, strict=False)}
    if any(old != new for old, new in ids.items()):
        subject_info = {label: replace(s, id=ids[s.id]) for label, s in subject_info.items()}
        subjects = [ids[s] for s in subjects]
        discovered = [replace(d, id=ids[d.id]) for d in discovered]
        model = ThemeModel(
            base.taxonomy, base.classifier, base.embed_model, base.min_confidence, base.secondary_confidence, discovered
        )
        themes = _rename_themes(themes, ids)

    analysis = ThemeAnalysis(model, themes, subjects, {s.id: s for s in subject_info.values()}, tracked=tracked)
    primaries = [analysis.primary(i) for i in range(len(texts))]
    analysis.theme_keywords = class_keywords(texts, primaries, top_n=8)
    log.info(
        "themes: %d comments, %d assigned, %d unassigned, %d subjects; groups %s",
        len(texts),
        sum(1 for t in themes if t),
        sum(1 for t in themes if not t),
        len(subject_info),
        dict(Counter(g.status for g in tracked)),
    )
    return analysis


def mean_or_none(values: list[int | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(float(np.mean(present)), 2) if present else None
