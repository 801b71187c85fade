"""`LLMSummarizer`: one validated, grounded LLM call per (provider, theme), one re-ask, then the fallback."""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from triage.errors import InvalidInput, LLMError
from triage.ports import LLMClient, Summarizer
from triage.prompting import PromptTemplate
from triage.summarize.grounding import ground_actions, word_count, writes_like_a_commenter
from triage.types import Action, Evidence, Summary, SummaryRequest

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 2
MIN_SUMMARY_WORDS = 6
_MAX_ECHOED_ANSWER = 8_000


class AnswerAction(BaseModel):
    """One suggested action as the LLM must write it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    text: str = Field(min_length=1)
    evidence: list[int] = Field(min_length=1)


class SummaryAnswer(BaseModel):
    """The expected answer; `prompts/summarize/v1.schema.json` is its committed JSON schema."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(min_length=1, max_length=60)
    summary: str = Field(min_length=1)
    actions: list[AnswerAction] = Field(min_length=1, max_length=3)


class AnswerInvalid(Exception):
    """The answer is not usable; the message is safe to log and to send back to the model."""


@runtime_checkable
class AnswerStore(Protocol):
    """A client that can remember validated answers (`triage.llm.CachedLLMClient`)."""

    def store(self, messages: list[dict[str, str]], schema: dict[str, Any], schema_name: str, content: str) -> None: ...

    def discard(self, messages: list[dict[str, str]], schema: dict[str, Any], schema_name: str) -> None: ...


@dataclass(frozen=True)
class CheckedAnswer:
    """A schema-valid answer with its grounded actions and the reasons of the actions dropped."""

    answer: SummaryAnswer
    actions: list[Action]
    dropped: list[str]


def parse_answer(content: str, evidence: Sequence[Evidence]) -> CheckedAnswer:
    """Validate an answer against `SummaryAnswer`, check its name and summary are prose, ground its actions.

    Ungrounded actions are dropped; the answer is invalid only when none is left.
    """
    try:
        # strict=False: a raw newline or tab inside a JSON string (small models write them) is not worth a re-ask.
        data = json.loads(content, strict=False)
    except json.JSONDecodeError as exc:
        raise AnswerInvalid(f"answer: Invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    try:
        answer = SummaryAnswer.model_validate(data)
    except ValidationError as exc:
        raise AnswerInvalid(_describe(exc)) from exc
    problems = []
    if word_count(answer.name) < 1 or "_" in answer.name:
        problems.append("name: write a short name in plain words")
    if word_count(answer.summary) < MIN_SUMMARY_WORDS:
        problems.append(f"summary: write two plain sentences (at least {MIN_SUMMARY_WORDS} words)")
    elif writes_like_a_commenter(answer.summary):
        problems.append("summary: describe what the comments say, in the third person, without markup")
    if writes_like_a_commenter(answer.name):
        problems.append("name: a short theme name, not a comment")
    if problems:
        raise AnswerInvalid("; ".join(problems))
    grounded = ground_actions(answer.actions, evidence)
    if not grounded.actions:
        known = ", ".join(str(item.id) for item in sorted(evidence, key=lambda e: e.id))
        raise AnswerInvalid("no action is grounded: " + "; ".join(grounded.dropped) + f" (the comment ids are {known})")
    return CheckedAnswer(answer, grounded.actions, grounded.dropped)


@dataclass
class LLMUsage:
    """What a summariser's LLM work cost over its life: for the run status and the report footer."""

    calls: int = 0
    tokens: int = 0
    fallbacks: int = 0
    cache_hits: int = 0
    dropped_actions: int = 0
    seconds: float = 0.0


class LLMSummarizer:
    """`triage.ports.Summarizer` backed by an LLM, with a bounded re-ask and a marked fallback.

    `calls` (requests that reached the client, not cache hits), `tokens`, `fallbacks`, `cache_hits`,
    `dropped_actions` and `seconds` (time spent summarising, summed over requests) accumulate over the
    summariser's life for run accounting; `usage()` returns them together. When the client is an
    `AnswerStore`, answers that pass validation are stored under the first request's messages, and a stored
    answer that no longer validates is discarded and asked for afresh.
    """

    def __init__(self, client: LLMClient, prompt: PromptTemplate, fallback: Summarizer) -> None:
        self._client = client
        self._store = client if isinstance(client, AnswerStore) else None
        self._prompt = prompt
        self._fallback = fallback
        self.calls = 0
        self.tokens = 0
        self.fallbacks = 0
        self.cache_hits = 0
        self.dropped_actions = 0
        self.seconds = 0.0

    def usage(self) -> LLMUsage:
        """The accounting counters as one record."""
        return LLMUsage(
            self.calls, self.tokens, self.fallbacks, self.cache_hits, self.dropped_actions, round(self.seconds, 3)
        )

    async def summarize(self, request: SummaryRequest) -> Summary:
        """Ask the LLM (re-asking once on an invalid answer); on failure return the fallback's summary, marked."""
        if not request.evidence:
            raise InvalidInput("a summary needs at least one evidence comment", field="evidence")
        started = time.perf_counter()
        try:
            summary = await self._summarize(request)
        finally:
            self.seconds += time.perf_counter() - started
        self.dropped_actions += summary.dropped_actions
        return summary

    async def _summarize(self, request: SummaryRequest) -> Summary:
        data = request.model_dump()
        first = self._prompt.render(**{name: data[name] for name in self._prompt.variables if name in data})
        schema, schema_name = (
            narrow_schema(self._prompt.schema, [e.id for e in request.evidence]),
            self._prompt.schema_name,
        )
        messages = first
        used = 0
        reason = "invalid answer after a re-ask"
        attempt, stale_discarded = 0, False
        while attempt < MAX_ATTEMPTS:
            attempt += 1
            try:
                reply = await self._client.complete_json(messages, schema, schema_name)
            except LLMError as exc:
                self.calls += 1
                self.tokens += exc.tokens
                used += exc.tokens
                reason = exc.detail
                self._log_failure(request, attempt, exc.detail)
                break
            cached = bool(getattr(reply, "cached", False))
            if cached:
                self.cache_hits += 1
            else:
                self.calls += 1
            self.tokens += reply.tokens
            used += reply.tokens
            try:
                checked = parse_answer(reply.content, request.evidence)
            except AnswerInvalid as exc:
                if cached and self._store is not None and not stale_discarded:
                    # Stored under older rules; forget it and ask afresh, without spending an attempt.
                    self._store.discard(first, schema, schema_name)
                    stale_discarded = True
                    attempt -= 1
                    logger.info(
                        "llm cache entry no longer validates provider=%s theme=%s", request.provider, request.theme_id
                    )
                    continue
                self._log_failure(request, attempt, f"invalid answer: {exc}")
                logger.debug("invalid answer content: %s", reply.content)
                messages = [*messages, *_reask(reply.content, str(exc))]
                continue
            if self._store is not None and not cached:
                self._store.store(first, schema, schema_name, reply.content)
            logger.info(
                "llm summary provider=%s theme=%s evidence=%d prompt=%s/%s attempts=%d tokens=%d cached=%s "
                "dropped_actions=%d",
                request.provider,
                request.theme_id,
                len(request.evidence),
                self._prompt.task,
                self._prompt.version,
                attempt,
                used,
                cached,
                len(checked.dropped),
            )
            if checked.dropped:
                logger.warning(
                    "llm summary provider=%s theme=%s dropped %d ungrounded action(s): %s",
                    request.provider,
                    request.theme_id,
                    len(checked.dropped),
                    "; ".join(checked.dropped),
                )
            return Summary(
                name=checked.answer.name,
                summary=checked.answer.summary,
                actions=checked.actions,
                summarizer=f"llm:{self._client.model}",
                dropped_actions=len(checked.dropped),
            )
        self.fallbacks += 1
        summary = await self._fallback.summarize(request)
        return summary.model_copy(update={"summarizer": f"{summary.summarizer} (llm failed: {reason})"})

    def _log_failure(self, request: SummaryRequest, attempt: int, why: str) -> None:
        logger.warning(
            "llm summary failed provider=%s theme=%s prompt=%s/%s attempt=%d: %s",
            request.provider,
            request.theme_id,
            self._prompt.task,
            self._prompt.version,
            attempt,
            why,
        )


def narrow_schema(schema: dict[str, Any], evidence_ids: Sequence[int]) -> dict[str, Any]:
    """The answer schema with `actions[].evidence[]` limited to this request's ids (an `enum`).

    Servers that constrain decoding by the schema (llama.cpp's grammar, OpenAI's strict mode) then cannot cite
    an id that is not in the prompt; the answer is still validated. A schema of another shape is returned as is.
    """
    try:
        items = schema["properties"]["actions"]["items"]["properties"]["evidence"]["items"]
    except (KeyError, TypeError):
        return schema
    if not isinstance(items, dict) or items.get("type") != "integer":
        return schema
    narrowed = copy.deepcopy(schema)
    narrowed["properties"]["actions"]["items"]["properties"]["evidence"]["items"] = {
        **items,
        "enum": sorted(set(evidence_ids)),
    }
    return narrowed


def _reask(bad_answer: str, error: str) -> list[dict[str, str]]:
    return [
        {"role": "assistant", "content": bad_answer[:_MAX_ECHOED_ANSWER]},
        {
            "role": "user",
            "content": (
                f"That answer cannot be used: {error}. Reply with one corrected JSON object that follows the "
                "schema: keys name, summary and actions only; 1 to 3 actions, each citing at least one id from "
                "the <comments> block and no other ids."
            ),
        },
    ]


def _describe(exc: ValidationError) -> str:
    """Pydantic errors as `location: message`, never echoing input values."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}"
        for e in exc.errors(include_input=False, include_url=False)
    )
