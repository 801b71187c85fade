"""Convert the hand-written `source.txt` (personal data marked inline) to `comments.jsonl` with gold spans.

Run: `python evals/datasets/redaction/build.py` (deterministic; the split is every third comment of each
stratum (language x has-personal-data), in file order).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
MARK = re.compile(r"\{([PETIU]):([^{}]+)\}")
KINDS = {"P": "PERSON", "E": "EMAIL", "T": "PHONE", "I": "ID", "U": "URL"}


def parse(line: str) -> tuple[str, str, list[dict[str, object]]]:
    lang, marked = line.split("\t", 1)
    text, spans, at = "", [], 0
    for m in MARK.finditer(marked):
        text += marked[at : m.start()]
        start = len(text)
        text += m.group(2)
        spans.append({"start": start, "end": len(text), "kind": KINDS[m.group(1)], "text": m.group(2)})
        at = m.end()
    return lang, text + marked[at:], spans


def main() -> None:
    rows = []
    seen: dict[tuple[str, bool], int] = {}
    for line in (HERE / "source.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        lang, text, spans = parse(line)
        stratum = (lang, bool(spans))
        seen[stratum] = seen.get(stratum, 0) + 1
        rows.append(
            {
                "id": f"rd-{len(rows) + 1:04d}",
                "lang": lang,
                "text": text,
                "spans": spans,
                "clean": not spans,
                "split": "test" if seen[stratum] % 3 == 0 else "dev",
            }
        )
    out = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n"
    (HERE / "comments.jsonl").write_text(out, encoding="utf-8")
    print(f"{len(rows)} comments written")


if __name__ == "__main__":
    main()
