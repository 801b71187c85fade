"""Labelled datasets for the evals: loading (JSONL/CSV), splits, subsets, and embeddings cached on disk."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from triage.config import PROJECT_ROOT

log = logging.getLogger(__name__)
DATASETS = PROJECT_ROOT / "evals" / "datasets"
CACHE = PROJECT_ROOT / "evals" / ".cache"
Vectors = npt.NDArray[np.float32]


@dataclass
class Dataset:
    """Texts with one gold label each (and optionally all gold labels, for multi-label data)."""

    name: str
    ids: list[str]
    texts: list[str]
    labels: list[str]
    all_labels: list[list[str]] = field(default_factory=list)
    sha256: str = ""
    source: str = ""
    vectors: Vectors | None = None
    """Unit vectors of `texts` once `embed` has run; subsets made with `take` keep theirs."""

    def __post_init__(self) -> None:
        if not self.all_labels:
            self.all_labels = [[label] for label in self.labels]
        if not (len(self.ids) == len(self.texts) == len(self.labels) == len(self.all_labels)):
            raise ValueError(f"dataset {self.name}: ids, texts and labels differ in length")

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def n_labels(self) -> int:
        return len(set(self.labels))

    def take(self, indices: Sequence[int], name: str | None = None) -> Dataset:
        return Dataset(
            name or self.name,
            [self.ids[i] for i in indices],
            [self.texts[i] for i in indices],
            [self.labels[i] for i in indices],
            [self.all_labels[i] for i in indices],
            self.sha256,
            self.source,
            None if self.vectors is None else self.vectors[list(indices)],
        )

    def embed(self, cache: EmbeddingCache) -> Dataset:
        if self.vectors is None:
            self.vectors = cache.vectors(self.texts)
        return self

    def without(self, label: str) -> Dataset:
        return self.take([i for i, y in enumerate(self.labels) if y != label])


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_records(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSONL or CSV file as dicts."""
    raw = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        return list(csv.DictReader(io.StringIO(raw, newline="")))
    return [json.loads(line) for line in raw.splitlines() if line.strip()]


def _as_labels(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    text = str(value)
    # A CSV cell may hold several labels separated by "|" or ";".
    for sep in ("|", ";"):
        if sep in text:
            return [part.strip() for part in text.split(sep) if part.strip()]
    return [text]


def load_file(
    path: Path,
    text_field: str = "text",
    label_field: str = "label",
    id_field: str = "id",
    split: str | None = None,
    name: str | None = None,
) -> Dataset:
    """Any labelled JSONL/CSV: `label_field` may hold one label or a list (the first is the primary)."""
    records = read_records(path)
    if split is not None:
        records = [r for r in records if r.get("split") == split]
    missing = [n for n, r in enumerate(records, 1) if not r.get(text_field) or r.get(label_field) in (None, "", [])]
    if missing:
        raise ValueError(
            f"{path}: {len(missing)} rows lack {text_field!r} or {label_field!r} (first: row {missing[0]})"
        )
    all_labels = [_as_labels(r[label_field]) for r in records]
    return Dataset(
        name=name or path.stem,
        ids=[str(r.get(id_field, n)) for n, r in enumerate(records, 1)],
        texts=[str(r[text_field]) for r in records],
        labels=[labels[0] for labels in all_labels],
        all_labels=all_labels,
        sha256=file_sha256(path),
        source=str(path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path),
    )


def banking77(split: str) -> Dataset:
    """Banking77 `tune` (6,923) or `test` (3,080, our own seeded stratified split; see its README)."""
    return load_file(DATASETS / "banking77" / "banking77.jsonl", split=split, name=f"banking77-{split}")


def clinc150(split: str, oos: bool = False) -> Dataset:
    """CLINC150 `tune` (published train) or `test` (published val); `oos` items only when asked."""
    data = load_file(DATASETS / "clinc150" / "clinc150.jsonl", split=split, name=f"clinc150-{split}")
    return data if oos else data.without("oos")


def stratified_subset(data: Dataset, n_labels: int, per_label: int, seed: int = 0) -> Dataset:
    """The first `per_label` items of `n_labels` labels drawn with `seed`: a small, fixed subset."""
    rng = np.random.default_rng(seed)
    labels = sorted(set(data.labels))
    chosen = set(rng.choice(labels, size=min(n_labels, len(labels)), replace=False).tolist())
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, y in enumerate(data.labels):
        if y in chosen and len(by_label[y]) < per_label:
            by_label[y].append(i)
    return data.take(sorted(i for idx in by_label.values() for i in idx), name=f"{data.name}-subset")


class EmbeddingCache:
    """Vectors of texts for a manifest alias (MiniLM by default), computed once and kept under evals/.cache/.

    The cache is keyed by text: each call encodes only texts it has never seen and saves them as one more
    `<alias>-<hash>.npz` file (text hashes + vectors), so any subset of a cached dataset is free.
    """

    def __init__(self, alias: str = "minilm", cache_dir: Path | None = CACHE) -> None:
        self.alias = alias
        self.cache_dir = cache_dir
        self._embedder: Any = None
        self._known: dict[str, Vectors] | None = None

    def _encoder(self) -> Any:
        if self._embedder is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            from triage.embed.manifest import load_model_entry
            from triage.embed.sentence_transformer import SentenceTransformerEmbedder

            self._embedder = SentenceTransformerEmbedder(load_model_entry(PROJECT_ROOT / "models", self.alias))
        return self._embedder

    def _load(self) -> dict[str, Vectors]:
        if self._known is None:
            self._known = {}
            if self.cache_dir is not None:
                for path in sorted(self.cache_dir.glob(f"{self.alias}-*.npz")):
                    with np.load(path) as stored:
                        self._known.update(zip(stored["keys"].tolist(), stored["vectors"], strict=True))
        return self._known

    def vectors(self, texts: Sequence[str]) -> Vectors:
        """Unit vectors, one row per text, encoding only the texts not cached yet."""
        known = self._load()
        keys = [hashlib.sha256(t.encode("utf-8")).hexdigest()[:32] for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in known))
        if missing:
            by_key = dict(zip(keys, texts, strict=True))
            encoded = np.asarray(self._encoder().encode([by_key[k] for k in missing]), dtype=np.float32)
            known.update(zip(missing, encoded, strict=True))
            if self.cache_dir is not None:
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                name = hashlib.sha256("\n".join(missing).encode()).hexdigest()[:16]
                np.savez(self.cache_dir / f"{self.alias}-{name}.npz", keys=np.array(missing), vectors=encoded)
                log.info("cached %d new vectors (%d texts asked)", len(missing), len(texts))
        dims = next(iter(known.values())).shape[0] if known else 0
        if not keys:
            return np.zeros((0, dims), dtype=np.float32)
        return np.stack([known[k] for k in keys]).astype(np.float32)
