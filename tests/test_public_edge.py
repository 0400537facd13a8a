"""The public edge over real HTTP: Host and cross-site checks on staff routes, body caps while the body streams
(chunked, no Content-Length), rate limits with 429 + Retry-After, counted in metrics, shared through Redis."""

from __future__ import annotations

import json
import os
import socket
import tempfile
import time

import httpx
import pytest

from kotaemon_like import registry
from kotaemon_like.config import RateLimits
from kotaemon_like.server.app import create_app
from kotaemon_like.server.limits import RateLimiter

from .conftest import write_config
from .test_server import LiveServer


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("edge")
    for folder in ("data/knowledge", "config"):
        (workdir / folder).mkdir(parents=True)
    config = write_config(workdir, """
        server:
          max_upload_mb: 1
          max_chat_kb: 16
          trusted_origins: [https://console.example]
          rate_limits: {conversations_per_ip: 3/minute, messages_per_ip: 4/minute}
        tools: {enabled: []}
        """)
    with LiveServer(create_app(registry.load(config), ui=False)) as server:
        server.workdir = workdir
        yield server


def knowledge_files(live) -> list[str]:
    return sorted(p.name for p in (live.workdir / "data" / "knowledge").iterdir())


def upload(live, name: str, **headers) -> httpx.Response:
    return httpx.post(f"{live.url}/api/documents", files={"files": (name, b"# Notes\n\nShipping is free.\n", "text/markdown")},
                      headers=headers)


@pytest.mark.slow
def test_a_cross_site_form_post_cannot_upload(live):
    evil = upload(live, "evil.md", origin="http://evil.example")
    assert evil.status_code == 403 and "evil.example" in evil.json()["error"]
    assert upload(live, "evil2.md", referer="http://evil.example/form.html").status_code == 403
    assert upload(live, "evil3.md", origin="null").status_code == 403  # a sandboxed frame or a file:// page
    assert upload(live, "evil4.md", **{"sec-fetch-site": "cross-site"}).status_code == 403
    assert knowledge_files(live) == []
    # the served host itself, a trusted origin, and a client that is no browser (it holds its own credential)
    assert upload(live, "same.md", origin=live.url).status_code == 201
    assert upload(live, "trusted.md", origin="https://console.example").status_code == 201
    assert upload(live, "script.md").status_code == 201
    assert knowledge_files(live) == ["same.md", "script.md", "trusted.md"]
    # public chat routes are called from customers' sites by design (CORS governs them)
    assert httpx.get(f"{live.url}/api/health", headers={"origin": "http://evil.example"}).status_code == 200


@pytest.mark.slow
def test_an_untrusted_host_is_refused(live):
    refused = httpx.get(f"{live.url}/api/health", headers={"host": "attacker.example"})
    assert refused.status_code == 400 and "server.trusted_hosts" in refused.text
    assert httpx.get(f"{live.url}/api/health", headers={"host": f"localhost:{live.port}"}).status_code == 200
    assert httpx.get(f"{live.url}/api/health").status_code == 200  # 127.0.0.1:PORT, the default install


def raw_post(live, path: str, headers: dict[str, str], chunks, chunked: bool = True) -> tuple[int, bytes, int]:
    """POST over a plain socket, sending `chunks` until the server answers; (status, body, bytes sent)."""
    import select

    sent, response = 0, b""
    with socket.create_connection(("127.0.0.1", live.port), timeout=30) as sock:
        head = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{live.port}", "Connection: close",
                *(f"{k}: {v}" for k, v in headers.items())]
        if chunked:
            head.append("Transfer-Encoding: chunked")
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        try:
            for chunk in chunks:
                if select.select([sock], [], [], 0.01)[0]:
                    break  # the server answered: stop sending
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" if chunked else chunk)
                sent += len(chunk)
            else:
                sock.sendall(b"0\r\n\r\n" if chunked else b"")
            while data := sock.recv(65536):
                response += data
        except (BrokenPipeError, ConnectionResetError):  # it closed on the rest of our body, after answering
            pass
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split()[1]), body, sent


def multipart(name: str, size_mb: int):
    boundary = "kl-boundary"
    yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
           "Content-Type: application/pdf\r\n\r\n").encode()
    block = b"%PDF" + b"0" * (2**16 - 4)
    for _ in range(size_mb * 16):
        yield block
    yield f"\r\n--{boundary}--\r\n".encode()


@pytest.mark.slow
def test_an_upload_over_the_cap_is_refused_while_it_streams(live, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the server would spool upload parts
    status, body, sent = raw_post(live, "/api/documents",
                                  {"Content-Type": "multipart/form-data; boundary=kl-boundary"}, multipart("big.pdf", 300))
    assert status == 413 and "server.max_upload_mb" in json.loads(body)["error"]
    assert sent < 20 * 2**20  # refused near the 1 MB cap, not after 300 MB
    assert "big.pdf" not in knowledge_files(live) and not any(n.startswith(".upload-") for n in knowledge_files(live))
    assert os.listdir(tmp_path) == []  # nothing spooled to the temp folder either
    # announced too large: refused before a byte of it is read
    status, body, sent = raw_post(live, "/api/documents", {"Content-Type": "multipart/form-data; boundary=kl-boundary",
                                                           "Content-Length": str(300 * 2**20)}, [b"x"], chunked=False)
    assert status == 413


@pytest.mark.slow
@pytest.mark.parametrize("path,limit", [("/api/chat", "server.max_chat_kb"), ("/v1/chat/completions", "server.max_openai_kb")])
def test_chat_bodies_over_the_cap_are_refused(live, path, limit):
    filler = json.dumps({"messages": [{"role": "user", "content": "x" * 2**20}]}).encode()
    status, body, sent = raw_post(live, path, {"Content-Type": "application/json"},
                                  (filler[i:i + 4096] for i in range(0, len(filler), 4096)))
    error = json.loads(body)["error"]
    assert status == 413 and limit in (error if path == "/api/chat" else error["message"])  # /v1 errors in OpenAI's shape
    assert sent < 2**20


@pytest.mark.slow
def test_conversation_creation_is_rate_limited_per_client_address(live):
    before = metric(live, 'kl_rate_limited_total{route="/api/conversations"}')
    codes = [httpx.post(f"{live.url}/api/conversations").status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    refused = httpx.post(f"{live.url}/api/conversations")
    assert refused.status_code == 429 and 0 < int(refused.headers["retry-after"]) <= 60
    assert "conversations_per_ip" in refused.json()["detail"]
    assert metric(live, 'kl_rate_limited_total{route="/api/conversations"}') == before + 2


@pytest.mark.slow
def test_openai_messages_are_rate_limited_in_openai_shape(live):
    body = {"messages": [{"role": "user", "content": "Is shipping free?"}]}
    codes = [httpx.post(f"{live.url}/v1/chat/completions", json=body, timeout=60).status_code for _ in range(5)]
    assert codes[:4] == [200] * 4 and codes[4] == 429
    refused = httpx.post(f"{live.url}/v1/chat/completions", json=body)
    assert refused.json()["error"]["type"] == "rate_limit_error" and int(refused.headers["retry-after"]) > 0


def metric(live, name: str) -> float:
    for line in httpx.get(f"{live.url}/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def test_replicas_share_limits_through_redis(redis_server):
    settings = RateLimits(messages_per_key="3/minute", storage=redis_server.url)
    first, second = RateLimiter(settings), RateLimiter(settings)  # two app replicas
    waits = [limiter.retry_after("messages_per_key", "default:-") for limiter in (first, second, first, second)]
    assert waits[:3] == [None, None, None] and 0 < waits[3] <= 60
    assert second.retry_after("messages_per_key", "other:-") is None  # another key has its own count
    fixed = RateLimiter(RateLimits(conversations_per_ip="1/second", strategy="fixed-window", storage=redis_server.url))
    assert fixed.retry_after("conversations_per_ip", "10.0.0.1") is None
    assert fixed.retry_after("conversations_per_ip", "10.0.0.1") == 1
    time.sleep(1.1)
    assert fixed.retry_after("conversations_per_ip", "10.0.0.1") is None


def test_rate_limit_settings_name_the_bad_value():
    with pytest.raises(ValueError, match="not a rate limit"):
        RateLimits(messages_per_ip="sixty a minute")


@pytest.mark.slow
def test_a_repeated_question_is_marked_cached_in_the_done_event(live):
    from .conftest import wait_until
    from .test_server import sse_events

    httpx.post(f"{live.url}/api/documents", files={"files": ("returns.md", b"# Returns\n\nUnused items can be "
                                                              b"returned within 30 days for a full refund.\n", "text/markdown")})
    wait_until(lambda: any(d["name"] == "returns.md" and d["status"] == "indexed"
                           for d in httpx.get(f"{live.url}/api/documents").json()["documents"]), 60, what="returns.md indexed")
    visitor = {"x-forwarded-for": "10.0.0.7"}  # its own client address: the module's per-address limits stay unspent
    done = []
    for _ in range(2):
        with httpx.stream("POST", f"{live.url}/api/chat", json={"message": "How many days do I have to return an item?"},
                          headers=visitor, timeout=60) as response:
            done.append([data for kind, data in sse_events(response) if kind == "done"][0])
    assert [d["cached"] for d in done] == [False, True] and done[1]["answered"], done
