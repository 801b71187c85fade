"""Urgent comments: the shipped detector (MiniLM head OR curated rules) on held-out comments, and how it was chosen.

- `dev` of evals/datasets/urgent/comments.jsonl is the only split any choice looks at (`--fit`: feature set, C,
  scale by 5-fold cross-validation; the threshold for out-of-fold recall 0.97; see triage.assess.training),
  with extra non-urgent comments (EXTRA_NEGATIVES) in every fold.
- `test` is only reported; so is `probe.jsonl`, written after the head was frozen (the honest number), and the
  example survey (examples/survey.csv; the six comments its README lists as needing escalation).
- Also counted: comments flagged in ordinary-feedback sets nobody trained on (false alarms, or real cases).
Run: `python -m evals.suites.urgent [--json PATH] [--fit]`; `--fit` refits models/urgency/head.{json,npz} first.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import numpy.typing as npt

from triage.assess import CATEGORIES, Prototypes, UrgencyDetector, UrgencyRules
from triage.assess import training as tr
from triage.config import PROJECT_ROOT
from triage.ingest.language import detect_language

DATASETS = PROJECT_ROOT / "evals" / "datasets"
DATA = DATASETS / "urgent" / "comments.jsonl"
PROBE = DATASETS / "urgent" / "probe.jsonl"
"""Written after the head was frozen (see the dataset README); only ever reported."""
SURVEY = PROJECT_ROOT / "examples" / "survey.csv"
SURVEY_URGENT = {"ex-0056", "ex-0093", "ex-0175", "ex-0305", "ex-0310", "ex-0355"}
"""The comments evals/datasets/example_survey/README.md lists under 'Comments that need escalation'."""
INTERNAL_FEEDBACK = DATASETS / "internal_feedback" / "comments.jsonl"
MULTILINGUAL = DATASETS / "multilingual" / "comments.jsonl"
SENTIMENT = DATASETS / "sentiment" / "comments.jsonl"
POSSIBLY_URGENT = {"if-0004", "if-0036", "if-0296", "if-0403"}
"""internal_feedback dev comments about a blocked fire exit, a forwarded health email, a password posted in a
public channel and a stolen laptop with customer data: kept out of the extra negatives."""
MODEL_DIR = PROJECT_ROOT / "models" / "urgency"
EMBED_MODEL = "minilm"
THRESHOLDS = {"test_recall": 0.95, "test_precision": 0.70}
LICENCE = "CC0-1.0 (fitted on the project's own CC0 datasets; MiniLM vectors: Apache-2.0 model)"
PRODUCT = "queue (urgent+review)"
"""The shipped detector's whole queue: level "urgent" or "review" (`Urgency.urgent`); the issue's target is for it."""
URGENT_LEVEL = "urgent level only"
"""Only what the shipped detector says to escalate now (`Urgency.level == "urgent"`)."""
ORDINARY = ("example survey", "internal_feedback test")
"""Ordinary feedback whose flag rate (comments flagged among those nobody called urgent) is reported per level."""
Row = dict[str, Any]
Vectors = npt.NDArray[np.float32]


def load(path: Path) -> list[Row]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def embed(texts: list[str]) -> Vectors:
    from triage.embed.manifest import load_model_entry
    from triage.embed.sentence_transformer import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(load_model_entry(PROJECT_ROOT / "models", EMBED_MODEL)).encode(texts)


def _negative(r: Row) -> Row:
    return {"id": r["id"], "text": r["text"], "urgent": False, "category": None, "hard_negative": False,
            "lang": r.get("lang", "en")}  # fmt: skip


def _ml_half(r: Row) -> int:
    return int(r["id"].rsplit("-", 1)[1]) % 2


def extra_negatives() -> list[Row]:
    """Ordinary feedback as extra non-urgent training rows: internal_feedback dev (minus POSSIBLY_URGENT), the
    even-numbered half of the multilingual set (the odd half is only reported), the sentiment set's dev split
    and the taxonomy's example comments (models/taxonomy.toml)."""
    rows = [r for r in load(INTERNAL_FEEDBACK) if r["split"] == "dev" and r["id"] not in POSSIBLY_URGENT]
    rows += [r for r in load(MULTILINGUAL) if r["lang"] != "en" and _ml_half(r) == 0]
    rows += [r for r in load(SENTIMENT) if r["split"] == "dev"]
    taxonomy = tomllib.loads((PROJECT_ROOT / "models" / "taxonomy.toml").read_text(encoding="utf-8"))
    rows += [
        {"id": f"tax-{t['id']}-{i}", "text": text}
        for t in taxonomy["themes"]
        for i, text in enumerate(t.get("examples", []))
    ]
    return [_negative(r) for r in rows]


def other_sets() -> dict[str, list[Row]]:
    """Ordinary feedback never trained on, to count what the detector flags there."""
    return {
        "internal_feedback test": [_negative(r) for r in load(INTERNAL_FEEDBACK) if r["split"] == "test"],
        "multilingual (odd half, non-English)": [
            _negative(r) for r in load(MULTILINGUAL) if r["lang"] != "en" and _ml_half(r) == 1
        ],
        "sentiment test": [_negative(r) for r in load(SENTIMENT) if r["split"] == "test"],
    }


def survey_rows() -> list[Row]:
    with SURVEY.open(encoding="utf-8", newline="") as f:
        texts = [row["text"] for row in csv.DictReader(f)]
    return [
        {
            "id": f"ex-{i:04d}",
            "text": t,
            "urgent": f"ex-{i:04d}" in SURVEY_URGENT,
            "category": None,
            "hard_negative": False,
            "lang": "en",
        }
        for i, t in enumerate(texts, start=1)
    ]


def scores(
    rows: Sequence[Row], flagged: Sequence[bool] | npt.NDArray[np.bool_], named: Sequence[str | None] | None = None
) -> dict[str, Any]:
    """Precision, recall, hard negatives flagged; per category (and per language) recall and precision."""
    gold = np.asarray([r["urgent"] for r in rows], dtype=bool)
    pred = np.asarray(flagged, dtype=bool)
    tp = int((gold & pred).sum())
    hard = [i for i, r in enumerate(rows) if r.get("hard_negative")]
    out: dict[str, Any] = {
        "n": len(rows),
        "urgent": int(gold.sum()),
        "flagged": int(pred.sum()),
        "precision": round(tp / max(int(pred.sum()), 1), 4),
        "recall": round(tp / max(int(gold.sum()), 1), 4),
        "hard_negatives_flagged": f"{sum(bool(pred[i]) for i in hard)}/{len(hard)}",
        "per_category": {},
        "per_language": {},
        "false_positives": [r["id"] for r, f in zip(rows, pred, strict=True) if f and not r["urgent"]],
        "false_negatives": [r["id"] for r, f in zip(rows, pred, strict=True) if r["urgent"] and not f],
    }
    for cat in CATEGORIES:
        idx = [i for i, r in enumerate(rows) if r["category"] == cat]
        if not idx:
            continue
        entry: dict[str, Any] = {"n": len(idx), "recall": round(sum(bool(pred[i]) for i in idx) / len(idx), 4)}
        if named is not None:
            entry["category_right"] = sum(1 for i in idx if pred[i] and named[i] == cat)
            called = [i for i in range(len(rows)) if pred[i] and named[i] == cat]
            entry["precision"] = round(sum(1 for i in called if rows[i]["category"] == cat) / max(len(called), 1), 4)
        out["per_category"][cat] = entry
    for lang in sorted({r.get("lang", "en") for r in rows}):
        idx = [i for i, r in enumerate(rows) if r.get("lang", "en") == lang]
        u = [i for i in idx if gold[i]]
        out["per_language"][lang] = {
            "n": len(idx),
            "urgent": len(u),
            "recall": round(sum(bool(pred[i]) for i in u) / max(len(u), 1), 4),
            "false_alarms": sum(1 for i in idx if pred[i] and not gold[i]),
        }
    return out


def fit(dev: list[Row], extra: list[Row], vectors: Vectors, prototypes: Prototypes) -> dict[str, Any]:
    """Choose and fit the head on dev + extra negatives; save it with the choice's out-of-fold numbers.

    The candidate and the English threshold are chosen on the English rows (MiniLM is an English model); the
    threshold for other languages on the others (see triage.assess.training.OTHER_LANGUAGE_PRECISION)."""
    rows = dev + extra
    texts = [r["text"] for r in rows]
    y = np.asarray([r["urgent"] for r in rows], dtype=bool)
    english = np.asarray([r.get("lang", "en") == "en" for r in rows], dtype=bool)
    strata = [r["category"] or ("hard" if r["hard_negative"] else "ordinary") for r in dev] + ["extra"] * len(extra)
    best, table_rows = tr.select(texts, y, strata, vectors, prototypes, english)
    candidate: tr.Candidate = best["candidate"]
    p = best["p"]
    other = tr.threshold_for_precision(p[~english], y[~english], tr.OTHER_LANGUAGE_PRECISION)
    per_set: dict[str, Any] = {}
    for row in table_rows:  # best first: keep each feature set's best
        key = row["candidate"].features
        if key not in per_set:
            per_set[key] = {"candidate": row["candidate"].name} | {
                k: v for k, v in row.items() if k not in ("p", "candidate")
            }
    meta = {
        "embed_model": EMBED_MODEL,
        "licence": LICENCE,
        "trained_on_data": f"{DATA.relative_to(PROJECT_ROOT)} (split dev) + {len(extra)} extra negatives",
        "dev_out_of_fold_english": {k: v for k, v in best.items() if k not in ("p", "candidate")},
        "dev_out_of_fold_other_languages": tr.at_threshold(p[~english], y[~english], other),
        "dev_out_of_fold_best_per_feature_set": per_set,
        "candidates_scored": len(table_rows),
    }
    meta |= guard_threshold(texts, y, english, p)
    meta |= tr.urgent_level(p, y, english, other)
    labels = [r["category"] for r in rows]
    head = tr.fit_head(candidate, texts, y, labels, vectors, prototypes, best["threshold"], meta, other)
    head.save(MODEL_DIR)
    return {"chosen": candidate.name, **meta}


def guard_threshold(texts: Sequence[str], y: npt.NDArray[np.bool_], english: npt.NDArray[np.bool_], p: Any) -> Row:
    """The head's threshold on English dev rows where the rules' guards spoke and no rule fired (out of fold)."""
    rules = UrgencyRules.load(MODEL_DIR / "rules.toml")
    g = english & np.asarray([rules.guarded(t) and not rules.match(t) for t in texts], dtype=bool)
    t = tr.threshold_for_precision(p[g], y[g], tr.GUARDED_PRECISION)
    return {"guarded_threshold": t, "dev_out_of_fold_guarded": tr.at_threshold(p[g], y[g], t) | {"rows": int(g.sum())}}


def choose_guard(dev: list[Row], extra: list[Row], vectors: Vectors) -> Row:
    """Add `guarded_threshold` to the shipped head without refitting it: the same out-of-fold P as at its fit."""
    meta = json.loads((MODEL_DIR / "head.json").read_text(encoding="utf-8"))
    detector = UrgencyDetector.load(MODEL_DIR, EMBED_MODEL)
    rows = dev + extra
    texts = [r["text"] for r in rows]
    y = np.asarray([r["urgent"] for r in rows], dtype=bool)
    english = np.asarray([r.get("lang", "en") == "en" for r in rows], dtype=bool)
    strata = [r["category"] or ("hard" if r["hard_negative"] else "ordinary") for r in dev] + ["extra"] * len(extra)
    candidate = tr.Candidate(meta["features"], float(meta["C"]), float(meta["embedding_scale"]))
    out = tr.evaluate(candidate, texts, y, strata, vectors, detector.head.prototypes, english)
    if abs(out["threshold"] - meta["threshold"]) > 1e-6:
        raise RuntimeError(f"out-of-fold threshold {out['threshold']} is not the head's {meta['threshold']}")
    chosen = guard_threshold(texts, y, english, out["p"])
    (MODEL_DIR / "head.json").write_text(json.dumps(meta | chosen, indent=1, ensure_ascii=False) + "\n", "utf-8")
    return chosen


def choose_levels(dev: list[Row], extra: list[Row], vectors: Vectors) -> Row:
    """Add the "urgent" level's thresholds to the shipped head without refitting it: the same out-of-fold P on dev
    as at its fit (checked against its recall-first threshold); test, probe and the survey are not looked at."""
    meta = json.loads((MODEL_DIR / "head.json").read_text(encoding="utf-8"))
    detector = UrgencyDetector.load(MODEL_DIR, EMBED_MODEL)
    rows = dev + extra
    texts = [r["text"] for r in rows]
    y = np.asarray([r["urgent"] for r in rows], dtype=bool)
    english = np.asarray([r.get("lang", "en") == "en" for r in rows], dtype=bool)
    strata = [r["category"] or ("hard" if r["hard_negative"] else "ordinary") for r in dev] + ["extra"] * len(extra)
    candidate = tr.Candidate(meta["features"], float(meta["C"]), float(meta["embedding_scale"]))
    out = tr.evaluate(candidate, texts, y, strata, vectors, detector.head.prototypes, english)
    if abs(out["threshold"] - meta["threshold"]) > 1e-6:
        raise RuntimeError(f"out-of-fold threshold {out['threshold']} is not the head's {meta['threshold']}")
    chosen = tr.urgent_level(out["p"], y, english, float(meta["other_language_threshold"]))
    (MODEL_DIR / "head.json").write_text(json.dumps(meta | chosen, indent=1, ensure_ascii=False) + "\n", "utf-8")
    return chosen


def run(fit_first: bool = False, guard_only: bool = False, levels_only: bool = False) -> dict[str, Any]:
    labelled = load(DATA)
    splits: dict[str, list[Row]] = {s: [r for r in labelled if r["split"] == s] for s in ("dev", "test")}
    if PROBE.exists():
        splits["probe"] = load(PROBE)
    splits["example survey"] = survey_rows()
    extra = extra_negatives()
    others = other_sets()
    groups: dict[str, list[Row]] = {**splits, "extra": extra, **others}
    sentences = Prototypes.read(MODEL_DIR / "prototypes.toml")
    proto_texts = [s for items in sentences.values() for s in items]
    everything = embed([r["text"] for rs in groups.values() for r in rs] + proto_texts)
    vectors: dict[str, Vectors] = {}
    start = 0
    for name, rs in groups.items():
        vectors[name] = everything[start : start + len(rs)]
        start += len(rs)
    fit_info: dict[str, Any] = {}
    if fit_first:
        prototypes = Prototypes.build(sentences, everything[start:])
        fit_info = fit(splits["dev"], extra, np.vstack([vectors["dev"], vectors["extra"]]), prototypes)
    elif guard_only:
        fit_info = choose_guard(splits["dev"], extra, np.vstack([vectors["dev"], vectors["extra"]]))
    elif levels_only:
        fit_info = choose_levels(splits["dev"], extra, np.vstack([vectors["dev"], vectors["extra"]]))
    detector = UrgencyDetector.load(MODEL_DIR, EMBED_MODEL)
    rules: UrgencyRules = detector.rules
    methods: dict[str, Any] = {URGENT_LEVEL: {}, PRODUCT: {}, "head alone": {}, "rules alone": {}}
    for name, rows in splits.items():
        texts = [r["text"] for r in rows]
        languages = [detect_language(t) for t in texts]
        found = detector.assess(texts, vectors[name], languages)
        named = [u.category for u in found]
        methods[URGENT_LEVEL][name] = scores(rows, [u.level == "urgent" for u in found], named)
        methods[PRODUCT][name] = scores(rows, [u.urgent for u in found], named)
        p = detector.head.probability(texts, vectors[name])
        methods["head alone"][name] = scores(rows, p >= np.asarray(detector.thresholds(texts, languages)))
        methods["rules alone"][name] = scores(rows, [bool(rules.match(t)) for t in texts])
    flagged_elsewhere: dict[str, Any] = {}
    for name, rows in others.items():
        found = detector.assess([r["text"] for r in rows], vectors[name])
        hits = [
            {"id": r["id"], "level": u.level, "cues": u.cues, "score": u.score}
            for r, u in zip(rows, found, strict=True)
            if u.urgent
        ]
        flagged_elsewhere[name] = {
            "n": len(rows),
            "flagged": len(hits),
            "urgent_level": sum(h["level"] == "urgent" for h in hits),
            "items": hits,
        }
    single = splits["test"][:100]
    detector.assess([single[0]["text"]], vectors["test"][:1])  # warm
    started = time.perf_counter()
    for r, v in zip(single, vectors["test"][:100], strict=True):
        detector.assess([r["text"]], v[None, :])
    ms_single = (time.perf_counter() - started) * 1000 / len(single)
    by_id = {r["id"]: r for rs in splits.values() for r in rs}
    product = methods[PRODUCT]
    result = {
        "dataset": str(DATA.relative_to(PROJECT_ROOT)),
        "rules_version": rules.version,
        "head": detector.head.meta,
        "fit": fit_info,
        "methods": methods,
        "errors": {
            split: {
                kind: [
                    {"id": i, "category": by_id[i]["category"], "text": by_id[i]["text"]} for i in product[split][kind]
                ]
                for kind in ("false_positives", "false_negatives")
            }
            for split in splits
        },
        "other_sets": flagged_elsewhere,
        "ms_per_comment_single": round(ms_single, 3),
        "thresholds": {
            "test_recall": [product["test"]["recall"], THRESHOLDS["test_recall"]],
            "test_precision": [product["test"]["precision"], THRESHOLDS["test_precision"]],
        },
    }
    result["flag_rate"] = flag_rates(result)
    return result


def flag_rates(result: dict[str, Any]) -> dict[str, Any]:
    """Share of ordinary comments (nobody called them urgent) flagged, per level: the load on HR's queue."""
    out: dict[str, Any] = {}
    for name in ORDINARY:
        if name in result["other_sets"]:
            other = result["other_sets"][name]
            calm, urgent, queue = other["n"], other["urgent_level"], other["flagged"]
        else:
            s_urgent, s_queue = result["methods"][URGENT_LEVEL][name], result["methods"][PRODUCT][name]
            calm = s_queue["n"] - s_queue["urgent"]
            urgent, queue = len(s_urgent["false_positives"]), len(s_queue["false_positives"])
        out[name] = {
            "ordinary": calm,
            "urgent_level": urgent,
            "queue": queue,
            "urgent_rate": round(urgent / max(calm, 1), 4),
            "queue_rate": round(queue / max(calm, 1), 4),
        }
    return out


def record(result: dict[str, Any]) -> None:
    """Write this run's held-out numbers into models/urgency/head.json (the arrays and their hash are untouched)."""
    path = MODEL_DIR / "head.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta["held_out_metrics"] = {
        split: {k: s[k] for k in ("n", "urgent", "flagged", "precision", "recall", "hard_negatives_flagged")}
        | {"per_category_recall": {c: e["recall"] for c, e in s["per_category"].items()}}
        | {"urgent_level": {k: result["methods"][URGENT_LEVEL][split][k] for k in ("flagged", "precision", "recall")}}
        for split, s in result["methods"][PRODUCT].items()
        if split != "dev"
    }
    meta["held_out_metrics"]["flag_rate"] = result["flag_rate"]
    meta["held_out_metrics"]["measured_with"] = "python -m evals.suites.urgent --record"
    path.write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def table(result: dict[str, Any]) -> str:
    head = result["head"]
    lines = [
        f"head: {head['features']} C={head['C']} scale={head['embedding_scale']} threshold={head['threshold']:.4f} "
        f"(urgent level {head.get('urgent_threshold', head['threshold']):.4f}, other languages "
        f"{head.get('urgent_other_language_threshold', head['other_language_threshold']):.4f}) "
        f"(other languages {head['other_language_threshold']:.4f}, guarded {head.get('guarded_threshold', 0):.4f}); "
        "dev out-of-fold, English: "
        f"{head.get('dev_out_of_fold_english')}, other languages: {head.get('dev_out_of_fold_other_languages')}",
        f"{'method':21} {'split':15} {'n':>4} {'urgent':>6} {'flagged':>7} {'prec':>6} {'recall':>6} {'hard FP':>7}",
    ]
    for name, splits in result["methods"].items():
        for split, s in splits.items():
            lines.append(
                f"{name:21} {split:15} {s['n']:4d} {s['urgent']:6d} {s['flagged']:7d} {s['precision']:6.3f} "
                f"{s['recall']:6.3f} {s['hard_negatives_flagged']:>7}"
            )
    product = result["methods"][PRODUCT]
    lines.append("\nper category, shipped detector (n / recall / category right / precision of the category named):")
    for cat in CATEGORIES:
        cells = []
        for split in ("test", "probe"):
            e = product.get(split, {}).get("per_category", {}).get(cat)
            if e:
                cells.append(f"{split} {e['n']:2d} {e['recall']:5.2f} {e['category_right']:2d} {e['precision']:5.2f}")
        lines.append(f"  {cat:15} " + "   ".join(cells))
    lines.append("per language, shipped detector (n / urgent / recall / false alarms):")
    for split in ("test", "probe"):
        for lang, e in product.get(split, {}).get("per_language", {}).items():
            lines.append(f"  {split:6} {lang}: {e['n']:3d} {e['urgent']:3d} {e['recall']:5.2f} {e['false_alarms']:3d}")
    for split, kinds in result["errors"].items():
        for kind, items in kinds.items():
            for item in items:
                lines.append(f"{split} {kind[:-1].replace('_', ' ')}: {item['id']} [{item['category']}] {item['text']}")
    for name, other in result["other_sets"].items():
        lines.append(
            f"other set {name}: {other['flagged']} of {other['n']} flagged ({other['urgent_level']} urgent) "
            f"{[i['id'] for i in other['items']]}"
        )
    for name, rate in result["flag_rate"].items():
        lines.append(
            f"flag rate on ordinary feedback, {name}: urgent {rate['urgent_level']}/{rate['ordinary']} "
            f"({rate['urgent_rate']:.1%}), queue {rate['queue']}/{rate['ordinary']} ({rate['queue_rate']:.1%})"
        )
    lines.append(f"speed: {result['ms_per_comment_single']} ms per comment, one at a time, beyond the embedding")
    for metric, (value, threshold) in result["thresholds"].items():
        lines.append(f"{metric:16} {value:.3f} >= {threshold:.2f}  {'pass' if value >= threshold else 'FAIL'}")
    return "\n".join(lines)


def failures(result: dict[str, Any]) -> list[str]:
    return [f"{m} {v:.3f} < {t:.2f}" for m, (v, t) in result["thresholds"].items() if v < t]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.suites.urgent")
    parser.add_argument("--json", type=Path, help="write the result here")
    parser.add_argument("--fit", action="store_true", help="choose and refit models/urgency/head.* on dev first")
    parser.add_argument("--record", action="store_true", help="write the held-out numbers into head.json")
    parser.add_argument("--choose-guard", action="store_true", help="only choose the guarded threshold (no refit)")
    parser.add_argument("--choose-levels", action="store_true", help="only choose the urgent level (no refit)")
    args = parser.parse_args(argv)
    result = run(fit_first=args.fit, guard_only=args.choose_guard, levels_only=args.choose_levels)
    if args.record:
        record(result)
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    return 1 if failures(result) else 0


if __name__ == "__main__":
    sys.exit(main())
