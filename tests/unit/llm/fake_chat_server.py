"""A real OpenAI-compatible chat-completions server on 127.0.0.1, answering from a scripted queue."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Scripted:
    """One reply: a completion with `content` (status 200), or an error status with `error` as the body."""

    status: int = 200
    content: str | None = None
    error: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    usage: bool = True


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, str]]:
        return list(self.body["messages"])


class FakeChatServer:
    """`POST /v1/chat/completions` served by stdlib `ThreadingHTTPServer`; records every request it gets."""

    model_name = "fake-model"

    def __init__(self) -> None:
        self._replies: deque[Scripted] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.requests: list[Received] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="fake-chat-server", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def answer(self, content: str, *, delay_s: float = 0.0, usage: bool = True) -> None:
        self.script(Scripted(content=content, delay_s=delay_s, usage=usage))

    def fail(self, status: int, message: str, *, headers: dict[str, str] | None = None, **error: Any) -> None:
        self.script(Scripted(status=status, error={"message": message, **error}, headers=headers or {}))

    def script(self, reply: Scripted) -> None:
        with self._lock:
            self._replies.append(reply)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._replies)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping in a scripted delay
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _take(self, received: Received) -> Scripted:
        with self._lock:
            self.requests.append(received)
            if self._replies:
                return self._replies.popleft()
        # 418 is not retried by the client, so an unscripted request fails at once and visibly.
        return Scripted(status=418, error={"message": "no scripted reply left"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fake: FakeChatServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout) breaks the pipe; that is expected here."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        fake = self.server.fake
        fake._enter()
        try:
            status, headers, data = self._reply(fake)
        finally:
            # Before the reply is sent: the client may send its next request the moment it reads this one.
            fake._leave()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _reply(self, fake: FakeChatServer) -> tuple[int, dict[str, str], bytes]:
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        received = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, json.loads(raw or b"{}"))
        reply = fake._take(received)
        if reply.delay_s:
            fake._stopping.wait(reply.delay_s)
        if not self.path.endswith("/chat/completions"):
            reply = Scripted(status=404, error={"message": f"unknown path {self.path}"})
        payload = _completion(received.body, reply) if reply.status == 200 else {"error": reply.error}
        return reply.status, reply.headers, json.dumps(payload).encode()


def _completion(request: dict[str, Any], reply: Scripted) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": f"chatcmpl-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", FakeChatServer.model_name),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.content},
                "finish_reason": "stop",
            }
        ],
    }
    if reply.usage:
        body["usage"] = {"prompt_tokens": 100, "completion_tokens": 23, "total_tokens": 123}
    return body
