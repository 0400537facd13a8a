"""A small OpenAI-compatible chat-completions server on 127.0.0.1 standing in for an LLM provider.

It streams SSE chunks like the real API, can be told to fail (HTTP 500), hang, or answer slowly, can
answer with tool calls, and records every request it was sent. litellm's real client talks to it.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


@dataclass
class Behaviour:
    mode: str = "ok"  # ok | fail | hang | slow
    reply: Callable[[dict], str] = lambda request: "Hello from the fake model."
    tool_calls: Callable[[dict], list[dict] | None] = lambda request: None
    token_delay_s: float = 0.0  # between streamed chunks ("slow")
    first_token_delay_s: float = 0.0  # before the first streamed chunk (a model still thinking)
    hang_s: float = 30.0  # how long "hang" sleeps before giving up (bounded)


@dataclass
class FakeLLM:
    """The running server: `url` for api_base, `behaviour` to steer it, `requests` to inspect."""

    server: ThreadingHTTPServer
    behaviour: Behaviour = field(default_factory=Behaviour)
    requests: list[dict] = field(default_factory=list)
    streams_finished: int = 0  # streamed answers sent to the end
    streams_aborted: int = 0  # streamed answers the client hung up on

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _chunk(model: str, delta: dict, finish: str | None = None, usage: dict | None = None) -> bytes:
    body = {
        "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if usage is not None:
        body["usage"] = usage
        body["choices"] = []
    return f"data: {json.dumps(body)}\n\n".encode()


def _handler(fake: FakeLLM):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            request = json.loads(self.rfile.read(length) or b"{}")
            fake.requests.append(request)
            behaviour = fake.behaviour
            if behaviour.mode == "fail":
                return self._json(500, {"error": {"message": "injected failure", "type": "server_error"}})
            if behaviour.mode == "hang":
                time.sleep(behaviour.hang_s)
                return self._json(504, {"error": {"message": "hung"}})
            text = behaviour.reply(request)
            tool_calls = behaviour.tool_calls(request)
            model = request.get("model", "fake")
            prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in request.get("messages", []))
            usage = {"prompt_tokens": prompt_tokens, "completion_tokens": len(text.split()),
                     "total_tokens": prompt_tokens + len(text.split())}
            if not request.get("stream"):
                message = {"role": "assistant", "content": None if tool_calls else text}
                if tool_calls:
                    message["tool_calls"] = tool_calls
                return self._json(200, {
                    "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": model,
                    "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if tool_calls else "stop"}],
                    "usage": usage,
                })
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                time.sleep(behaviour.first_token_delay_s)
                self.wfile.write(_chunk(model, {"role": "assistant", "content": ""}))
                if tool_calls:
                    for i, call in enumerate(tool_calls):
                        self.wfile.write(_chunk(model, {"tool_calls": [{**call, "index": i}]}))
                    self.wfile.write(_chunk(model, {}, "tool_calls"))
                else:
                    for word in _pieces(text):
                        if behaviour.mode == "slow" or behaviour.token_delay_s:
                            time.sleep(behaviour.token_delay_s)
                        self.wfile.write(_chunk(model, {"content": word}))
                        self.wfile.flush()
                    self.wfile.write(_chunk(model, {}, "stop"))
                if (request.get("stream_options") or {}).get("include_usage"):
                    self.wfile.write(_chunk(model, {}, None, usage))
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                fake.streams_finished += 1
            except (BrokenPipeError, ConnectionResetError):
                fake.streams_aborted += 1
            self.close_connection = True

        def _json(self, status: int, body: dict) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


def _pieces(text: str) -> list[str]:
    """Split like a tokenizer would: words with their leading space."""
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)]


def start_fake_llm() -> FakeLLM:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server.daemon_threads = True
    fake = FakeLLM(server)
    server.RequestHandlerClass = _handler(fake)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return fake
