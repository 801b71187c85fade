"""`LLMSummarizer`: one validated LLM call per (provider, theme), one re-ask, then the fallback summariser."""

from __future__ import annotations

import logging

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from triage.errors import InvalidInput, LLMError
from triage.ports import LLMClient, Summarizer
from triage.prompting import PromptTemplate
from triage.types import Action, Summary, SummaryRequest

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 2
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


def parse_answer(content: str, evidence_ids: set[int]) -> SummaryAnswer:
    """Validate an answer's JSON against `SummaryAnswer` and check it cites only known evidence ids."""
    try:
        answer = SummaryAnswer.model_validate_json(content)
    except ValidationError as exc:
        raise AnswerInvalid(_describe(exc)) from exc
    problems = []
    for index, action in enumerate(answer.actions):
        unknown = sorted(set(action.evidence) - evidence_ids)
        if unknown:
            problems.append(f"actions.{index}.evidence: {', '.join(map(str, unknown))} not among the comment ids")
    if problems:
        known = ", ".join(map(str, sorted(evidence_ids)))
        raise AnswerInvalid("; ".join(problems) + f" (the comment ids are {known})")
    return answer


class LLMSummarizer:
    """`triage.ports.Summarizer` backed by an LLM, with a bounded re-ask and a marked fallback.

    `calls`, `tokens` and `fallbacks` accumulate over the summariser's life for run accounting.
    """

    def __init__(self, client: LLMClient, prompt: PromptTemplate, fallback: Summarizer) -> None:
        self._client = client
        self._prompt = prompt
        self._fallback = fallback
        self.calls = 0
        self.tokens = 0
        self.fallbacks = 0

    async def summarize(self, request: SummaryRequest) -> Summary:
        """Ask the LLM (re-asking once on an invalid answer); on failure return the fallback's summary, marked."""
        if not request.evidence:
            raise InvalidInput("a summary needs at least one evidence comment", field="evidence")
        data = request.model_dump()
        messages = self._prompt.render(**{name: data[name] for name in self._prompt.variables if name in data})
        evidence_ids = {item.id for item in request.evidence}
        used = 0
        reason = "invalid answer after a re-ask"
        for attempt in range(1, MAX_ATTEMPTS + 1):
            self.calls += 1
            try:
                reply = await self._client.complete_json(messages, self._prompt.schema, self._prompt.schema_name)
            except LLMError as exc:
                self.tokens += exc.tokens
                used += exc.tokens
                reason = exc.detail
                self._log_failure(request, attempt, exc.detail)
                break
            self.tokens += reply.tokens
            used += reply.tokens
            try:
                answer = parse_answer(reply.content, evidence_ids)
            except AnswerInvalid as exc:
                self._log_failure(request, attempt, f"invalid answer: {exc}")
                logger.debug("invalid answer content: %s", reply.content)
                messages = [*messages, *_reask(reply.content, str(exc))]
                continue
            logger.info(
                "llm summary provider=%s theme=%s evidence=%d prompt=%s/%s attempts=%d tokens=%d",
                request.provider,
                request.theme_id,
                len(request.evidence),
                self._prompt.task,
                self._prompt.version,
                attempt,
                used,
            )
            return _to_summary(answer, f"llm:{self._client.model}")
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


def _to_summary(answer: SummaryAnswer, summarizer: str) -> Summary:
    actions = [Action(text=a.text, evidence=list(dict.fromkeys(a.evidence))) for a in answer.actions]
    return Summary(name=answer.name, summary=answer.summary, actions=actions, summarizer=summarizer)


def _describe(exc: ValidationError) -> str:
    """Pydantic errors as `location: message`, never echoing input values."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}"
        for e in exc.errors(include_input=False, include_url=False)
    )
