from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.unit.llm.fake_chat_server import FakeChatServer
from triage.config import LLMSettings
from triage.llm import AnswerCache, CachedLLMClient, OpenAIChatClient, cache_key

MESSAGES = [{"role": "system", "content": "Answer in JSON."}, {"role": "user", "content": "Comment 7: my laptop."}]
SCHEMA: dict[str, Any] = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
VALID = json.dumps({"ok": True})
KEY = cache_key("m", MESSAGES, SCHEMA, "summarize_v1")


@pytest.mark.parametrize(
    ("model", "messages", "schema", "name"),
    [
        ("other", MESSAGES, SCHEMA, "summarize_v1"),
        ("m", [*MESSAGES[:1], {"role": "user", "content": "Comment 8: my laptop."}], SCHEMA, "summarize_v1"),
        ("m", MESSAGES, {**SCHEMA, "required": []}, "summarize_v1"),
        ("m", MESSAGES, SCHEMA, "summarize_v2"),
    ],
    ids=["model", "messages", "schema", "prompt-version"],
)
def test_key_changes_with_every_input(
    model: str, messages: list[dict[str, str]], schema: dict[str, Any], name: str
) -> None:
    assert cache_key(model, messages, schema, name) != KEY


def test_key_is_stable_and_ignores_dict_order() -> None:
    reordered = [{"content": m["content"], "role": m["role"]} for m in MESSAGES]
    assert cache_key("m", reordered, dict(reversed(SCHEMA.items())), "summarize_v1") == KEY
    assert len(KEY) == 64


def test_put_then_get_writes_one_file_without_the_prompt(tmp_path: Path) -> None:
    cache = AnswerCache(tmp_path / "c")
    assert cache.get(KEY) is None

    cache.put(KEY, VALID, model="m")

    assert cache.get(KEY) == VALID
    [file] = (tmp_path / "c").iterdir()
    assert file.name == f"{KEY}.json"
    stored = file.read_text(encoding="utf-8")
    assert "laptop" not in stored and json.loads(stored)["model"] == "m"
    cache.put(KEY, "{}")
    assert cache.get(KEY) == "{}" and len(cache) == 1


@pytest.mark.parametrize(
    "content",
    ["{not json", json.dumps({"format": 1, "key": "another", "content": VALID}), json.dumps(["x"]), "\udcff"],
    ids=["broken-json", "wrong-key", "not-an-object", "bad-encoding"],
)
def test_unreadable_entries_are_misses_and_removed(tmp_path: Path, content: str) -> None:
    cache = AnswerCache(tmp_path)
    (tmp_path / f"{KEY}.json").write_bytes(content.encode("utf-8", "surrogateescape"))

    assert cache.get(KEY) is None
    assert not (tmp_path / f"{KEY}.json").exists()


def test_failed_write_leaves_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = AnswerCache(tmp_path)

    def refuse(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("triage.llm.cache.os.replace", refuse)
    with pytest.raises(OSError):
        cache.put(KEY, VALID)

    assert list(tmp_path.iterdir()) == []


def run(client: CachedLLMClient, times: int = 1, store: bool = False) -> list[Any]:
    async def go() -> list[Any]:
        try:
            answers = []
            for _ in range(times):
                answers.append(await client.complete_json(MESSAGES, SCHEMA, "ok_v1"))
                if store:
                    client.store(MESSAGES, SCHEMA, "ok_v1", answers[-1].content)
            return answers
        finally:
            await client.aclose()

    return asyncio.run(go())


def cached_client(settings: LLMSettings, directory: Path) -> CachedLLMClient:
    return CachedLLMClient(OpenAIChatClient(settings), directory)


def test_nothing_is_served_that_was_not_stored(
    chat_server: FakeChatServer, llm_settings: LLMSettings, tmp_path: Path
) -> None:
    chat_server.answer(VALID)
    chat_server.answer(VALID)
    client = cached_client(llm_settings, tmp_path)

    answers = run(client, times=2)

    assert [a.cached for a in answers] == [False, False]
    assert len(chat_server.requests) == 2
    assert (client.hits, client.misses) == (0, 2)
    assert list(tmp_path.iterdir()) == []


def test_stored_answer_is_served_without_a_call_across_clients(
    chat_server: FakeChatServer, llm_settings: LLMSettings, tmp_path: Path
) -> None:
    chat_server.answer(VALID)
    first = cached_client(llm_settings, tmp_path)
    run(first, store=True)

    second = cached_client(llm_settings, tmp_path)
    [answer] = run(second, times=1)

    assert (answer.content, answer.tokens, answer.cached) == (VALID, 0, True)
    assert len(chat_server.requests) == 1
    assert (second.hits, second.misses) == (1, 0)
    assert second.model == "fake-model"


def test_discarded_answer_is_asked_again(
    chat_server: FakeChatServer, llm_settings: LLMSettings, tmp_path: Path
) -> None:
    chat_server.answer(VALID)
    chat_server.answer(VALID)
    client = cached_client(llm_settings, tmp_path)
    run(client, store=True)

    client = cached_client(llm_settings, tmp_path)
    client.discard(MESSAGES, SCHEMA, "ok_v1")
    [answer] = run(client)

    assert not answer.cached
    assert len(chat_server.requests) == 2


def test_unwritable_cache_does_not_fail_the_call(
    chat_server: FakeChatServer, llm_settings: LLMSettings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the directory should be")
    chat_server.answer(VALID)
    client = cached_client(llm_settings, blocker)

    [answer] = run(client, store=True)

    assert answer.content == VALID
    assert any("llm cache write failed" in r.getMessage() for r in caplog.records)
