"""Unit-test fixtures shared across folders."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.unit.llm.fake_chat_server import FakeChatServer


@pytest.fixture
def chat_server() -> Iterator[FakeChatServer]:
    """A real chat-completions server on 127.0.0.1 answering from a scripted queue."""
    server = FakeChatServer()
    server.start()
    yield server
    server.stop()
