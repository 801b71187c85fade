from __future__ import annotations

import asyncio
import json
import socket
import time
from typing import Any

import openai
import pytest
from pydantic import SecretStr

from tests.unit.llm.fake_chat_server import FakeChatServer
from triage.config import LLMSettings
from triage.errors import ConfigurationError, LLMError
from triage.llm import LLMAnswer, OpenAIChatClient

pytestmark = pytest.mark.store_free

MESSAGES = [{"role": "system", "content": "Answer in JSON."}, {"role": "user", "content": "Say ok."}]
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"ok": {"type": "boolean"}},
    "required": ["ok"],
    "additionalProperties": False,
}
VALID = json.dumps({"ok": True})


def complete(settings: LLMSettings, times: int = 1) -> list[LLMAnswer]:
    """Run `times` calls on one client, closing it on the same event loop."""

    async def go() -> list[LLMAnswer]:
        client = OpenAIChatClient(settings)
        try:
            return [await client.complete_json(MESSAGES, SCHEMA, "ok_v1") for _ in range(times)]
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_valid_answer_sends_strict_json_schema(chat_server: FakeChatServer, llm_settings: LLMSettings) -> None:
    chat_server.answer(VALID)

    [answer] = complete(llm_settings)

    assert answer == LLMAnswer(content=VALID, tokens=123)
    [request] = chat_server.requests
    assert request.path == "/v1/chat/completions"
    assert request.body["model"] == "fake-model"
    assert request.messages == MESSAGES
    assert request.body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "ok_v1", "schema": SCHEMA, "strict": True},
    }


def test_api_key_is_sent_as_bearer_token(chat_server: FakeChatServer, llm_settings: LLMSettings) -> None:
    chat_server.answer(VALID)

    complete(llm_settings.model_copy(update={"api_key": SecretStr("s3cret")}))

    assert chat_server.requests[0].headers["authorization"] == "Bearer s3cret"


def test_missing_usage_counts_zero_tokens(chat_server: FakeChatServer, llm_settings: LLMSettings) -> None:
    chat_server.answer(VALID, usage=False)

    [answer] = complete(llm_settings)

    assert answer.tokens == 0


@pytest.mark.parametrize(
    ("status", "headers"),
    [(429, {"Retry-After": "0"}), (500, {}), (503, {"Retry-After": "0"})],
    ids=["429-retry-after-0", "500", "503"],
)
def test_transient_errors_are_retried_by_the_client(
    chat_server: FakeChatServer, llm_settings: LLMSettings, status: int, headers: dict[str, str]
) -> None:
    chat_server.fail(status, "try again", headers=headers)
    chat_server.answer(VALID)

    [answer] = complete(llm_settings)

    assert answer.content == VALID
    assert len(chat_server.requests) == 2


def test_errors_after_retries_are_wrapped(chat_server: FakeChatServer, llm_settings: LLMSettings) -> None:
    for _ in range(2):
        chat_server.fail(500, "boom", type="server_error")

    with pytest.raises(LLMError, match="HTTP 500") as caught:
        complete(llm_settings.model_copy(update={"max_retries": 1}))

    assert isinstance(caught.value.__cause__, openai.InternalServerError)
    assert len(chat_server.requests) == 2


@pytest.mark.parametrize(
    ("message", "param"),
    [
        ("response_format json_schema is not supported by this server", None),
        ("Invalid value: 'json_schema'. Supported values are: 'json_object' and 'text'.", "response_format.type"),
    ],
    ids=["message-names-it", "param-names-it"],
)
def test_rejected_json_schema_falls_back_to_json_object_and_remembers(
    chat_server: FakeChatServer, llm_settings: LLMSettings, message: str, param: str | None
) -> None:
    chat_server.fail(400, message, type="invalid_request_error", param=param)
    chat_server.answer(VALID)
    chat_server.answer(VALID)

    answers = complete(llm_settings, times=2)

    assert [a.content for a in answers] == [VALID, VALID]
    formats = [r.body["response_format"] for r in chat_server.requests]
    assert [f["type"] for f in formats] == ["json_schema", "json_object", "json_object"]
    assert formats[1] == formats[2] == {"type": "json_object", "schema": SCHEMA}
    fallback_system = chat_server.requests[1].messages[0]
    assert fallback_system["role"] == "system"
    assert fallback_system["content"].startswith("Answer in JSON.")
    assert json.dumps(SCHEMA, separators=(",", ":")) in fallback_system["content"]


def test_json_object_with_schema_refused_steps_down_to_plain_json_object(
    chat_server: FakeChatServer, llm_settings: LLMSettings
) -> None:
    chat_server.fail(400, "response_format json_schema is not supported", type="invalid_request_error")
    chat_server.fail(422, "unknown field", param="response_format.schema")
    chat_server.answer(VALID)
    chat_server.answer(VALID)

    complete(llm_settings, times=2)

    formats = [r.body["response_format"] for r in chat_server.requests]
    assert formats == [
        formats[0],
        {"type": "json_object", "schema": SCHEMA},
        {"type": "json_object"},
        {"type": "json_object"},
    ]
    assert json.dumps(SCHEMA, separators=(",", ":")) in chat_server.requests[3].messages[0]["content"]


def test_llama_cpp_refusal_is_a_500_naming_response_format(
    chat_server: FakeChatServer, llm_settings: LLMSettings
) -> None:
    # What llama-cpp-python's server 0.3.x answers to json_schema (its request validation surfaces as a 500).
    message = (
        "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
        "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema'}"
    )
    chat_server.fail(500, message, type="internal_server_error")
    chat_server.fail(500, message, type="internal_server_error")
    chat_server.answer(VALID)

    [answer] = complete(llm_settings.model_copy(update={"max_retries": 1}))

    assert answer.content == VALID
    formats = [r.body["response_format"]["type"] for r in chat_server.requests]
    assert formats == ["json_schema", "json_schema", "json_object"]  # the client's own retry, then step down
    assert chat_server.requests[2].body["response_format"]["schema"] == SCHEMA


@pytest.mark.parametrize(
    ("pinned", "expected"),
    [
        ("json_object_schema", {"type": "json_object", "schema": SCHEMA}),
        ("json_object", {"type": "json_object"}),
    ],
    ids=["json-object-schema", "json-object"],
)
def test_pinned_response_format_is_sent_at_once(
    chat_server: FakeChatServer, llm_settings: LLMSettings, pinned: str, expected: dict[str, Any]
) -> None:
    chat_server.answer(VALID)

    complete(llm_settings.model_copy(update={"response_format": pinned}))

    assert chat_server.requests[0].body["response_format"] == expected


def test_pinned_json_schema_does_not_step_down(chat_server: FakeChatServer, llm_settings: LLMSettings) -> None:
    chat_server.fail(400, "response_format json_schema is not supported", type="invalid_request_error")

    with pytest.raises(LLMError, match="HTTP 400"):
        complete(llm_settings.model_copy(update={"response_format": "json_schema"}))

    assert len(chat_server.requests) == 1


def test_other_bad_requests_do_not_fall_back(chat_server: FakeChatServer, llm_settings: LLMSettings) -> None:
    chat_server.fail(400, "The model `fake-model` does not exist", type="invalid_request_error", code="model_not_found")

    with pytest.raises(LLMError) as caught:
        complete(llm_settings)

    assert caught.value.detail == "HTTP 400 from the LLM server (invalid_request_error, model_not_found)"
    assert len(chat_server.requests) == 1


@pytest.mark.parametrize("content", ["", "   "], ids=["empty", "blank"])
def test_empty_answer_is_an_error(chat_server: FakeChatServer, llm_settings: LLMSettings, content: str) -> None:
    chat_server.answer(content)

    with pytest.raises(LLMError, match="empty answer") as caught:
        complete(llm_settings)

    assert caught.value.tokens == 123


def test_slow_server_times_out_quickly(chat_server: FakeChatServer, llm_settings: LLMSettings) -> None:
    chat_server.answer(VALID, delay_s=10)
    started = time.monotonic()

    with pytest.raises(LLMError, match=r"timed out after 0\.5s") as caught:
        complete(llm_settings.model_copy(update={"timeout_s": 0.5, "max_retries": 0}))

    assert time.monotonic() - started < 3
    assert isinstance(caught.value.__cause__, openai.APITimeoutError)


def test_unreachable_server_is_an_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = LLMSettings(base_url=f"http://127.0.0.1:{port}/v1", model="m", max_retries=0)

    with pytest.raises(LLMError, match="could not connect"):
        complete(settings)


@pytest.mark.parametrize(
    "settings",
    [LLMSettings(model="m"), LLMSettings(base_url="http://127.0.0.1:9/v1")],
    ids=["no-base-url", "no-model"],
)
def test_needs_base_url_and_model(settings: LLMSettings) -> None:
    with pytest.raises(ConfigurationError):
        OpenAIChatClient(settings)


def test_model_property(llm_settings: LLMSettings) -> None:
    async def go() -> str:
        client = OpenAIChatClient(llm_settings)
        try:
            return client.model
        finally:
            await client.aclose()

    assert asyncio.run(go()) == "fake-model"


@pytest.mark.parametrize("limit", [1, 3], ids=["one-at-a-time", "three-at-a-time"])
def test_concurrency_is_limited(chat_server: FakeChatServer, llm_settings: LLMSettings, limit: int) -> None:
    for _ in range(6):
        chat_server.answer(VALID, delay_s=0.15)

    async def go() -> list[LLMAnswer]:
        client = OpenAIChatClient(llm_settings.model_copy(update={"max_concurrency": limit}))
        try:
            return await asyncio.gather(*(client.complete_json(MESSAGES, SCHEMA, "ok_v1") for _ in range(6)))
        finally:
            await client.aclose()

    started = time.monotonic()
    answers = asyncio.run(go())

    assert [a.content for a in answers] == [VALID] * 6
    assert chat_server.max_in_flight == limit
    assert time.monotonic() - started >= 0.15 * 6 / limit - 0.05


@pytest.mark.parametrize(
    ("field", "value", "sent"),
    [
        ("max_tokens", 300, 300),
        ("max_tokens", None, "absent"),
        ("temperature", 0.0, 0.0),
        ("temperature", None, "absent"),
    ],
    ids=["max-tokens", "no-max-tokens", "temperature", "server-default-temperature"],
)
def test_optional_sampling_parameters(
    chat_server: FakeChatServer, llm_settings: LLMSettings, field: str, value: float | None, sent: float | str
) -> None:
    chat_server.answer(VALID)

    complete(llm_settings.model_copy(update={field: value}))

    assert chat_server.requests[0].body.get(field, "absent") == sent
