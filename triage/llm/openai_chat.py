"""`OpenAIChatClient`: JSON answers from any OpenAI-compatible chat-completions server."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, cast

import openai
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam
from openai.types.chat.completion_create_params import ResponseFormat

from triage.config import LLMSettings
from triage.errors import ConfigurationError, LLMError

logger = logging.getLogger(__name__)

_SCHEMA_HINT = "Answer with one JSON object, and nothing else, that validates against this JSON schema:\n"


@dataclass
class LLMAnswer:
    """The text of one answer and the tokens it cost (0 when the server does not report usage)."""

    content: str
    tokens: int
    cached: bool = False


class OpenAIChatClient:
    """`triage.ports.LLMClient` over `openai.AsyncOpenAI`; the client's own retries handle 408/409/429/5xx.

    At most `settings.max_concurrency` requests are in flight at once (a slot is held through the retries).
    """

    def __init__(self, settings: LLMSettings) -> None:
        if not settings.base_url or not settings.model:
            raise ConfigurationError("the LLM needs both base_url and model")
        self._model = settings.model
        self._timeout_s = settings.timeout_s
        self._json_schema_supported = True
        self._slots = asyncio.Semaphore(settings.max_concurrency)
        self._client = openai.AsyncOpenAI(
            base_url=settings.base_url,
            api_key=settings.api_key.get_secret_value(),
            timeout=settings.timeout_s,
            max_retries=settings.max_retries,
        )

    @property
    def model(self) -> str:
        """The model name sent to the server."""
        return self._model

    async def complete_json(
        self, messages: list[dict[str, str]], schema: dict[str, Any], schema_name: str
    ) -> LLMAnswer:
        """Ask for one JSON object following `schema`; raise `LLMError` when no usable answer comes back."""
        if self._json_schema_supported:
            json_schema: ResponseFormat = {
                "type": "json_schema",
                "json_schema": {"name": schema_name, "schema": schema, "strict": True},
            }
            try:
                return await self._complete(messages, json_schema)
            except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
                if not _rejects_json_schema(exc):
                    raise LLMError(_reason(exc, self._timeout_s), attempts=1) from exc
                # Vendor quirk: some OpenAI-compatible servers only know {"type": "json_object"}.
                self._json_schema_supported = False
                logger.warning(
                    "model %s rejected response_format json_schema (HTTP %d); using json_object from now on",
                    self._model,
                    exc.status_code,
                )
            except openai.OpenAIError as exc:
                raise LLMError(_reason(exc, self._timeout_s), attempts=1) from exc
        try:
            return await self._complete(_with_schema_hint(messages, schema), {"type": "json_object"})
        except openai.OpenAIError as exc:
            raise LLMError(_reason(exc, self._timeout_s), attempts=1) from exc

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.close()

    async def _complete(self, messages: list[dict[str, str]], response_format: ResponseFormat) -> LLMAnswer:
        async with self._slots:
            started = time.perf_counter()
            completion: ChatCompletion = await self._client.chat.completions.create(
                model=self._model,
                messages=cast("list[ChatCompletionMessageParam]", messages),
                response_format=response_format,
            )
        tokens = completion.usage.total_tokens if completion.usage else 0
        content = completion.choices[0].message.content if completion.choices else None
        logger.debug(
            "chat completion model=%s format=%s tokens=%d elapsed_ms=%.0f",
            self._model,
            response_format["type"],
            tokens,
            (time.perf_counter() - started) * 1000,
        )
        if not content or not content.strip():
            raise LLMError("empty answer from the LLM", attempts=1, tokens=tokens)
        return LLMAnswer(content=content, tokens=tokens)


def _rejects_json_schema(exc: openai.APIStatusError) -> bool:
    """True when a 400/422 is about the response_format itself rather than anything else in the request."""
    text = f"{exc.message} {exc.param} {json.dumps(exc.body, default=str)}".lower()
    return "response_format" in text or "json_schema" in text


def _reason(exc: openai.OpenAIError, timeout_s: float) -> str:
    """A short, safe description: status and error codes only, never the server's free text."""
    if isinstance(exc, openai.APITimeoutError):
        return f"LLM request timed out after {timeout_s:g}s"
    if isinstance(exc, openai.APIConnectionError):
        return "could not connect to the LLM server"
    if isinstance(exc, openai.APIStatusError):
        codes = ", ".join(str(c)[:40] for c in (exc.type, exc.code) if c)
        return f"HTTP {exc.status_code} from the LLM server" + (f" ({codes})" if codes else "")
    return f"LLM client error ({type(exc).__name__})"


def _with_schema_hint(messages: list[dict[str, str]], schema: dict[str, Any]) -> list[dict[str, str]]:
    """json_object mode does not carry the schema, so the system message has to."""
    hint = _SCHEMA_HINT + json.dumps(schema, separators=(",", ":"))
    if messages and messages[0].get("role") == "system":
        first = {**messages[0], "content": f"{messages[0]['content']}\n\n{hint}"}
        return [first, *messages[1:]]
    return [{"role": "system", "content": hint}, *messages]
