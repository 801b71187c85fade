"""A file cache of validated LLM answers, so re-running a report on the same inputs costs no calls.

The key is the sha256 of (model, schema name, rendered messages, schema): the schema name carries the prompt's
task and version, and the messages carry every input. Only answers the caller has validated are stored
(`store`), and an answer that later fails validation is removed (`discard`), so the cache never serves an answer
the current rules reject twice. Files hold the answer and its key, never the prompt (which holds comment text).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from triage.ports import LLMAnswer, LLMClient

logger = logging.getLogger(__name__)

_FORMAT = 1


@dataclass
class CachedAnswer:
    """An answer read from the cache: it cost no call and no tokens now."""

    content: str
    tokens: int = 0
    cached: bool = True


def cache_key(model: str, messages: list[dict[str, str]], schema: dict[str, Any], schema_name: str) -> str:
    """The sha256 hex digest of everything that determines an answer."""
    payload = {"model": model, "schema_name": schema_name, "schema": schema, "messages": messages}
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class AnswerCache:
    """One JSON file per key under `directory`; writes are atomic (temp file + `os.replace`)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def get(self, key: str) -> str | None:
        """The stored answer for `key`, or None; an unreadable or foreign file counts as a miss and is removed."""
        path = self._path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except OSError as exc:
            logger.warning("llm cache entry %s unreadable (%s); ignoring it", key[:12], type(exc).__name__)
            return None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            logger.warning("llm cache entry %s corrupt (%s); removing it", key[:12], type(exc).__name__)
            self.delete(key)
            return None
        if not isinstance(data, dict) or data.get("format") != _FORMAT or data.get("key") != key:
            self.delete(key)
            return None
        content = data.get("content")
        return content if isinstance(content, str) else None

    def put(self, key: str, content: str, **meta: str | int) -> None:
        """Store `content` under `key`, replacing any previous entry atomically."""
        self.directory.mkdir(parents=True, exist_ok=True)
        record = {"format": _FORMAT, "key": key, **meta, "content": content}
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(record, handle, ensure_ascii=False)
            os.replace(tmp, self._path(key))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def delete(self, key: str) -> None:
        """Remove the entry for `key` if there is one; a cache that cannot be changed is only logged."""
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as exc:
            logger.warning("llm cache entry %s cannot be removed: %s", key[:12], type(exc).__name__)

    def __len__(self) -> int:
        return sum(1 for _ in self.directory.glob("*.json")) if self.directory.is_dir() else 0


class CachedLLMClient:
    """`triage.ports.LLMClient` that answers from an `AnswerCache` before asking `inner`.

    Reads are automatic; writes are not: the caller calls `store` once an answer passed its validation and
    `discard` when a served answer did not. `hits` and `misses` count lookups over the client's life.
    """

    def __init__(self, inner: LLMClient, cache_dir: Path) -> None:
        self._inner = inner
        self._cache = AnswerCache(cache_dir)
        self.hits = 0
        self.misses = 0

    @property
    def model(self) -> str:
        return self._inner.model

    @property
    def inner(self) -> LLMClient:
        return self._inner

    def key(self, messages: list[dict[str, str]], schema: dict[str, Any], schema_name: str) -> str:
        return cache_key(self._inner.model, messages, schema, schema_name)

    async def complete_json(
        self, messages: list[dict[str, str]], schema: dict[str, Any], schema_name: str
    ) -> LLMAnswer:
        """The cached answer (`cached=True`, 0 tokens) when there is one, else the inner client's answer."""
        key = self.key(messages, schema, schema_name)
        content = self._cache.get(key)
        if content is not None:
            self.hits += 1
            logger.debug("llm cache hit %s", key[:12])
            return CachedAnswer(content=content)
        self.misses += 1
        return await self._inner.complete_json(messages, schema, schema_name)

    def store(self, messages: list[dict[str, str]], schema: dict[str, Any], schema_name: str, content: str) -> None:
        """Remember `content` as the validated answer to `messages` (the first request, before any re-ask)."""
        key = self.key(messages, schema, schema_name)
        try:
            self._cache.put(key, content, model=self._inner.model, schema_name=schema_name)
        except OSError as exc:
            # A cache that cannot be written costs calls next time, nothing else: not a reason to fail a run.
            logger.warning("llm cache write failed for %s: %s", key[:12], type(exc).__name__)

    def discard(self, messages: list[dict[str, str]], schema: dict[str, Any], schema_name: str) -> None:
        """Forget the answer to `messages` (it no longer validates)."""
        self._cache.delete(self.key(messages, schema, schema_name))

    async def aclose(self) -> None:
        """Close the inner client when it has something to close."""
        close = getattr(self._inner, "aclose", None)
        if close is not None:
            await close()
