"""Rebuild the Banking77 and CLINC150 JSONL files from the copies in ../shared/data (deterministic).

    python evals/datasets/build_public.py /work/shared/data

Only the published train/validation parts are available here, so each dataset gets its own held-out
`test` split and a `tune` split that every choice (method, parameters) is made on:
- Banking77: a 3,080-item test split (the size of the published one) stratified by intent, so
  intents keep their frequencies (11 to 58 per intent), seeded with `random_state=0`; the other
  6,923 items are `tune`.
- CLINC150: the published `val` part (3,000 in scope + 100 `oos`) is `test`; `train` (15,000 in
  scope + 100 `oos`) is `tune`.
Numbers on these splits are not directly comparable with numbers on the published test splits.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import sys
from pathlib import Path

from sklearn.model_selection import train_test_split

HERE = Path(__file__).resolve().parent
BANKING77_TEST = 3080


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    print(f"{path.relative_to(HERE.parent.parent)}: {len(rows)} rows, sha256 {digest}")


def banking77(source: Path) -> None:
    with (source / "train.csv").open(encoding="utf-8", newline="") as f:
        items = [(r["text"], r["category"]) for r in csv.DictReader(f)]
    indices = list(range(len(items)))
    _, test = train_test_split(
        indices, test_size=BANKING77_TEST, stratify=[label for _, label in items], random_state=0
    )
    test_set = set(test)
    rows = [
        {"id": f"b77-{i + 1:05d}", "text": text, "label": label, "split": "test" if i in test_set else "tune"}
        for i, (text, label) in enumerate(items)
    ]
    out = HERE / "banking77"
    _write(out / "banking77.jsonl", rows)
    for name in ("LICENSE", "categories.json"):
        shutil.copyfile(source / name, out / name)


def clinc150(source: Path) -> None:
    data = json.loads((source / "clinc150_train_val.json").read_text(encoding="utf-8"))
    domains = json.loads((source / "domains.json").read_text(encoding="utf-8"))
    domain_of = {intent: domain for domain, intents in domains.items() for intent in intents}
    rows = []
    for part, split in (("train", "tune"), ("oos_train", "tune"), ("val", "test"), ("oos_val", "test")):
        for n, (text, intent) in enumerate(data[part]):
            rows.append(
                {
                    "id": f"clinc-{part}-{n + 1:05d}",
                    "text": text,
                    "label": intent,
                    "domain": domain_of.get(intent, "oos"),
                    "split": split,
                }
            )
    out = HERE / "clinc150"
    _write(out / "clinc150.jsonl", rows)
    for name in ("LICENSE", "domains.json"):
        shutil.copyfile(source / name, out / name)


if __name__ == "__main__":
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
    banking77(root / "banking77")
    clinc150(root / "clinc150")
