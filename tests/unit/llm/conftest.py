from __future__ import annotations

import pytest

from tests.unit.llm.fake_chat_server import FakeChatServer
from triage.config import LLMSettings


@pytest.fixture
def llm_settings(chat_server: FakeChatServer) -> LLMSettings:
    return LLMSettings(base_url=chat_server.url, model=FakeChatServer.model_name, timeout_s=5.0, max_retries=2)
