from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.unit.llm.fake_chat_server import FakeChatServer
from triage.config import PROJECT_ROOT, LLMSettings
from triage.llm import CachedLLMClient, OpenAIChatClient
from triage.prompting import PromptTemplate, load_prompt
from triage.summarize import LLMSummarizer, OfflineSummarizer, Playbook, load_playbook
from triage.types import Evidence, Summary, SummaryRequest

HERE = Path(__file__).parent

RunLLM = Callable[..., tuple[Summary, LLMSummarizer]]


@pytest.fixture
def playbook() -> Playbook:
    return load_playbook(HERE / "playbook.toml")


@pytest.fixture
def offline(playbook: Playbook) -> OfflineSummarizer:
    return OfflineSummarizer(playbook)


@pytest.fixture
def prompt() -> PromptTemplate:
    return load_prompt(PROJECT_ROOT / "prompts", "summarize", "v1")


@pytest.fixture
def slow_request() -> SummaryRequest:
    """IT requests that wait for weeks; ids are deliberately not 0..n."""
    return SummaryRequest(
        provider="IT",
        theme_id="slow_response",
        theme_name="Slow response",
        theme_description="long waits, requests sitting for days, slow turnaround",
        keywords=["weeks", "waiting", "ticket"],
        subjects=["laptop provisioning", "VPN access"],
        evidence=[
            Evidence(id=101, text="My laptop took three weeks to arrive.", rating=2),
            Evidence(id=102, text="Still waiting, days after the ticket was opened.", rating=1),
            Evidence(id=103, text="I never heard back about my VPN request.", rating=None),
            Evidence(id=104, text="The backlog is huge and the queue never moves.", rating=2),
        ],
    )


@pytest.fixture
def llm_settings(chat_server: FakeChatServer) -> LLMSettings:
    return LLMSettings(base_url=chat_server.url, model=FakeChatServer.model_name, timeout_s=5.0, max_retries=2)


@pytest.fixture
def run_llm(llm_settings: LLMSettings, prompt: PromptTemplate, offline: OfflineSummarizer) -> RunLLM:
    """Summarise one request through a real `OpenAIChatClient` (cached under `cache_dir` if given)."""

    def run(
        request: SummaryRequest, cache_dir: Path | None = None, **settings: object
    ) -> tuple[Summary, LLMSummarizer]:
        async def go() -> tuple[Summary, LLMSummarizer]:
            client: OpenAIChatClient | CachedLLMClient = OpenAIChatClient(llm_settings.model_copy(update=settings))
            if cache_dir is not None:
                client = CachedLLMClient(client, cache_dir)
            try:
                summarizer = LLMSummarizer(client, prompt, offline)
                return await summarizer.summarize(request), summarizer
            finally:
                await client.aclose()

        return asyncio.run(go())

    return run
