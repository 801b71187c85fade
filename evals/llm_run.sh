#!/bin/bash
# A full product run against llama.cpp serving gemma3 270M (issue #4): ingest one department of the example
# survey, analyse it with the LLM writing the summaries, write the report, check every action's evidence.
# Usage: evals/llm_run.sh [DEPARTMENT] (default Payroll). Needs `make test-llm`'s packages in .venv.
# Slow: about 2-5 minutes per theme on 1 thread.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$ROOT/.venv/bin/python}
DEPT=${1:-Payroll}
OUT=$(mktemp -d /tmp/triage-llm-run.XXXXXX)
PORT=${PORT:-8791}
cd "$ROOT"
"$PY" - "$DEPT" "$OUT/comments.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open("examples/survey.csv", encoding="utf-8")))
chosen = [r for r in rows if r["provider"] == sys.argv[1]]
with open(sys.argv[2], "w", newline="", encoding="utf-8") as f:
    writer = csv.DictWriter(f, fieldnames=list(rows[0])); writer.writeheader(); writer.writerows(chosen)
print(f"{len(chosen)} comments of {sys.argv[1]}")
PY
GGUF=$("$PY" -c "import sys; sys.path.insert(0, 'tests/llm_server'); import serve; print(serve.model_path())")
"$PY" -m llama_cpp.server --model "$GGUF" --model_alias gemma3-270m-q4_k_m --chat_format gemma \
  --host 127.0.0.1 --port "$PORT" --n_ctx 4096 --n_threads 1 > "$OUT/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 180); do curl -sf "http://127.0.0.1:$PORT/v1/models" > /dev/null && break; sleep 1; done
export HF_HUB_OFFLINE=1 TRIAGE_DATA_DIR="$OUT/data" TRIAGE_LLM__BASE_URL="http://127.0.0.1:$PORT/v1" \
  TRIAGE_LLM__MODEL=gemma3-270m-q4_k_m TRIAGE_LLM__MAX_TOKENS=800 TRIAGE_LLM__RESPONSE_FORMAT=json_object_schema \
  TRIAGE_LLM__TIMEOUT_S=600
TRIAGE="$PY -c 'from triage.cli.main import app; app()'"
eval "$TRIAGE" ingest "$OUT/comments.csv" --dataset llm-run
eval "$TRIAGE" analyze llm-run
"$PY" - "$OUT" <<'PY'
"""Independent check: every shown action's evidence exists, is the department's and has the theme as primary."""
import json, sys
from triage import pipeline
from triage.config import Settings
services = pipeline.open_services(Settings())
run_id = services.sql.latest_succeeded_run()
report = pipeline.get_report(services, run_id)
(open(f"{sys.argv[1]}/report.md", "w")).write(pipeline.render_report(services, run_id, "md"))
llm = fallbacks = actions = bad = 0
for p in report.providers:
    for t in p.themes:
        fallbacks += t.summarizer.startswith("offline (llm failed")
        llm += t.summarizer.startswith("llm:")
        for a in t.actions:
            actions += 1
            for cid in a.evidence:
                c = services.sql.comment(cid)
                if c is None or c.provider != p.provider or services.sql.comment_labels(cid)[:1] != [t.id]:
                    bad += 1
print(f"themes written by the LLM {llm}, flagged fallbacks {fallbacks}; actions {actions}, ungrounded {bad}")
print(f"report: {sys.argv[1]}/report.md; usage: {report.usage}")
services.close()
sys.exit(1 if bad else 0)
PY
