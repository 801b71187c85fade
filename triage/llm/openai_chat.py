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
FORMATS = ("json_schema", "json_object_schema", "json_object")
"""Structured-output forms, best first. Vendor quirks, all here: OpenAI, vLLM and Ollama take `json_schema`;
llama-cpp-python's server refuses it (HTTP 500 naming response_format) but constrains its output by a `schema`
inside `json_object`; other servers know only plain `json_object`. `auto` starts at the first and steps down
when a server refuses a form; the json_object forms also carry the schema in the system message."""


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
        self._max_tokens = settings.max_tokens
        self._temperature = settings.temperature
        self._pinned = settings.response_format != "auto"
        self._format = 0 if not self._pinned else FORMATS.index(settings.response_format)
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

    @property
    def response_format(self) -> str:
        """The structured-output form in use now (it can step down once per form, see `FORMATS`)."""
        return FORMATS[self._format]

    async def complete_json(
        self, messages: list[dict[str, str]], schema: dict[str, Any], schema_name: str
    ) -> LLMAnswer:
        """Ask for one JSON object following `schema`; raise `LLMError` when no usable answer comes back."""
        while True:
            index = self._format
            form = FORMATS[index]
            try:
                return await self._complete(*_request_for(form, messages, schema, schema_name))
            except (openai.BadRequestError, openai.UnprocessableEntityError, openai.InternalServerError) as exc:
                if self._pinned or index + 1 >= len(FORMATS) or not _rejects_response_format(exc):
                    raise LLMError(_reason(exc, self._timeout_s), attempts=1) from exc
                if self._format == index:  # concurrent requests may all be refused: step down once
                    self._format = index + 1
                    logger.warning(
                        "model %s rejected response_format %s (HTTP %d); using %s from now on",
                        self._model,
                        form,
                        exc.status_code,
                        FORMATS[self._format],
                    )
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
                max_tokens=self._max_tokens if self._max_tokens is not None else openai.omit,
                temperature=self._temperature if self._temperature is not None else openai.omit,
            )
        tokens = completion.usage.total_tokens if completion.usage else 0
        content = completion.choices[0].message.content if completion.choices else None
        logger.debug(
            "chat completion model=%s format=%s tokens=%d elapsed_ms=%.0f",
            self._model,
            self.response_format,
            tokens,
            (time.perf_counter() - started) * 1000,
        )
        if not content or not content.strip():
            raise LLMError("empty answer from the LLM", attempts=1, tokens=tokens)
        return LLMAnswer(content=content, tokens=tokens)


def _request_for(
    form: str, messages: list[dict[str, str]], schema: dict[str, Any], schema_name: str
) -> tuple[list[dict[str, str]], ResponseFormat]:
    if form == "json_schema":
        return messages, {"type": "json_schema", "json_schema": {"name": schema_name, "schema": schema, "strict": True}}
    response_format: dict[str, Any] = {"type": "json_object"}
    if form == "json_object_schema":
        response_format["schema"] = schema
    return _with_schema_hint(messages, schema), cast("ResponseFormat", response_format)


def _rejects_response_format(exc: openai.APIStatusError) -> bool:
    """True when an error is about the response_format itself rather than anything else in the request."""
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
