"""The HTTP API over real HTTP (uvicorn on a free port): SSE chat, JSON chat, the OpenAI-compatible
endpoint with the official client, uploads and their guards, auth, readiness, metrics."""

from __future__ import annotations

import json
import threading

import httpx
import pymupdf
import pytest
import uvicorn

from kotaemon_like import registry
from kotaemon_like.server.app import create_app

from .conftest import free_port, wait_until, write_config

pytestmark = pytest.mark.slow


class LiveServer:
    """uvicorn serving the app in a thread on 127.0.0.1; stops itself at teardown."""

    def __init__(self, app):
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread.start()
        wait_until(lambda: self.server.started, 120, what="uvicorn to start")
        return self

    def __exit__(self, *_):
        self.server.should_exit = True
        self.thread.join(30)


def make_pdf(path, pages: list[str]) -> None:
    with pymupdf.open() as doc:
        for text in pages:
            page = doc.new_page()
            page.insert_textbox(pymupdf.Rect(50, 50, 550, 800), text, fontsize=11)
        doc.save(path)


def sse_events(response) -> list[tuple[str, dict]]:
    events, kind = [], None
    for line in response.iter_lines():
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            events.append((kind, json.loads(line[6:])))
    return events


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("server")
    (workdir / "data" / "knowledge").mkdir(parents=True)
    (workdir / "config").mkdir()
    config = write_config(workdir, "server: {max_upload_mb: 1}\nwatcher: {quiet_s: 0.3}")
    app = create_app(registry.load(config), ui=False)
    with LiveServer(app) as server:
        server.workdir = workdir
        yield server


@pytest.fixture(scope="module")
def indexed_upload(live, tmp_path_factory):
    pdf = tmp_path_factory.mktemp("pdf") / "warranty policy.pdf"
    make_pdf(pdf, ["Returns are accepted for 30 days.", "The warranty covers manufacturing defects for 24 months."])
    with open(pdf, "rb") as handle:
        response = httpx.post(f"{live.url}/api/documents", files={"files": (pdf.name, handle, "application/pdf")})
    assert response.status_code == 201, response.text
    assert response.json()["saved"][0]["name"] == "warranty policy.pdf"

    def indexed():
        docs = httpx.get(f"{live.url}/api/documents").json()["documents"]
        return [d for d in docs if d["name"] == "warranty policy.pdf" and d["status"] == "indexed"]

    return wait_until(indexed, 60, what="the upload to be indexed")[0]


def test_upload_is_indexed_and_answerable_over_sse(live, indexed_upload):
    assert indexed_upload["chunks"] >= 2
    with httpx.stream("POST", f"{live.url}/api/chat", json={"message": "How long does the warranty cover defects?"},
                      timeout=60) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response)
    kinds = [k for k, _ in events]
    assert kinds[:2] == ["conversation", "token"] and kinds[-1] == "done" and "citation" in kinds
    answer = "".join(d["text"] for k, d in events if k == "token")
    citation = next(d for k, d in events if k == "citation")
    assert "24 months" in answer
    assert citation["source"] == "warranty policy.pdf" and citation["page"] == 2
    assert events[-1][1]["answered"] is True and events[-1][1]["session_id"]


def test_json_mode_in_an_owned_conversation(live, indexed_upload):
    body = httpx.post(f"{live.url}/api/chat", json={"message": "warranty length?", "stream": False}, timeout=60).json()
    assert "24 months" in body["answer"] and body["citations"][0]["page"] == 2
    conversation = body["conversation"]
    assert body["done"]["session_id"] == conversation["id"] and len(conversation["token"]) >= 40


def test_openai_compatible_endpoint_with_the_official_client(live, indexed_upload):
    from openai import OpenAI

    client = OpenAI(base_url=f"{live.url}/v1", api_key="unused", timeout=60)
    reply = client.chat.completions.create(model="kotaemon-like",
                                           messages=[{"role": "user", "content": "What does the warranty cover?"}])
    assert "manufacturing defects" in reply.choices[0].message.content
    assert reply.model_extra["sources"][0]["source"] == "warranty policy.pdf"
    stream = client.chat.completions.create(model="kotaemon-like", stream=True,
                                            messages=[{"role": "user", "content": "What does the warranty cover?"}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "manufacturing defects" in text
    assert chunks[-1].model_extra["sources"][0]["page"] == 2


def test_upload_guards(live, tmp_path):
    big = b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 10)
    response = httpx.post(f"{live.url}/api/documents", files={"files": ("big.pdf", big, "application/pdf")})
    assert response.status_code == 413 and "upload limit" in response.json()["error"]
    for name in ("../../etc/passwd", "..\\..\\evil.pdf", "sub/dir.pdf", ".hidden.pdf"):
        response = httpx.post(f"{live.url}/api/documents", files={"files": (name, b"data", "application/pdf")})
        assert response.status_code == 400, name
    response = httpx.post(f"{live.url}/api/documents", files={"files": ("tool.exe", b"MZ", "application/octet-stream")})
    assert response.status_code == 415 and ".pdf" in response.json()["error"]
    knowledge = live.workdir / "data" / "knowledge"
    assert not any(p.name in ("passwd", "big.pdf", "tool.exe") for p in knowledge.rglob("*"))
    assert not (live.workdir / "etc").exists()


def test_delete_document(live):
    files = {"files": ("temp notes.md", b"Temporary note about parking.", "text/markdown")}
    assert httpx.post(f"{live.url}/api/documents", files=files).status_code == 201
    assert httpx.delete(f"{live.url}/api/documents/temp notes.md").json() == {"deleted": "temp notes.md"}
    assert httpx.delete(f"{live.url}/api/documents/temp notes.md").status_code == 404
    assert httpx.delete(f"{live.url}/api/documents/..%2F..%2Fetc%2Fpasswd").status_code in (400, 404)


def test_validation_errors_are_clear_4xx(live):
    response = httpx.post(f"{live.url}/api/chat", json={"session_id": "x"})
    assert response.status_code == 422 and any("message" in p for p in response.json()["problems"])
    response = httpx.post(f"{live.url}/v1/chat/completions", json={"messages": [{"role": "system", "content": "hi"}]})
    assert response.status_code == 400
    assert response.json() == {"error": {"message": "messages must contain at least one user message",
                                         "type": "invalid_request_error", "param": "messages", "code": None}}


def test_auth_on_and_off(live, monkeypatch):
    assert httpx.get(f"{live.url}/api/documents").status_code == 200
    monkeypatch.setenv("KL_API_KEY", "s3cret")
    assert httpx.get(f"{live.url}/api/documents").status_code == 401
    assert httpx.get(f"{live.url}/api/documents", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert httpx.get(f"{live.url}/api/documents", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert httpx.get(f"{live.url}/api/documents", headers={"X-API-Key": "s3cret"}).status_code == 200
    assert httpx.post(f"{live.url}/v1/chat/completions", json={"messages": [{"role": "user", "content": "x"}]}).status_code == 401
    for open_route in ("/api/health", "/api/ready", "/metrics"):
        assert httpx.get(f"{live.url}{open_route}").status_code == 200, open_route


def test_metrics_exposition(live, indexed_upload):
    httpx.post(f"{live.url}/api/chat", json={"message": "warranty?", "stream": False}, timeout=60)
    text = httpx.get(f"{live.url}/metrics").text
    for name in ("kl_chat_requests_total", "kl_chat_stage_seconds_bucket", "kl_http_requests_total",
                 "kl_ingest_jobs_done_total", "kl_chunks_indexed", "kl_documents_indexed"):
        assert name in text, name
    assert 'kl_chat_stage_seconds_count{stage="retrieval"}' in text


def test_readiness_follows_redis(tmp_path, redis_server):
    (tmp_path / "data" / "knowledge").mkdir(parents=True)
    (tmp_path / "config").mkdir()
    config = write_config(tmp_path, f"""
        server: {{embedded_ingest: false}}
        queue: {{type: redis, url: "{redis_server.url}"}}
        memory: {{type: redis, url: "{redis_server.url}"}}
        """)
    with LiveServer(create_app(registry.load(config), ui=False)) as server:
        assert httpx.get(f"{server.url}/api/ready").status_code == 200
        redis_server.stop()
        response = httpx.get(f"{server.url}/api/ready")
        assert response.status_code == 503 and set(response.json()["failing"]) == {"queue", "memory"}
        assert httpx.get(f"{server.url}/api/health").status_code == 200
        redis_server.start()
        wait_until(lambda: httpx.get(f"{server.url}/api/ready").status_code == 200, 20, what="ready again")


def test_sigterm_lets_the_answer_in_flight_finish(tmp_path, monkeypatch):
    import signal
    import subprocess
    import sys

    from .conftest import ROOT
    from .fake_llm import start_fake_llm

    fake = start_fake_llm()
    fake.behaviour.reply = lambda request: " ".join(["The warranty lasts 24 months [1]."] * 6)
    fake.behaviour.token_delay_s = 0.08  # about three seconds of streaming
    (tmp_path / "data" / "knowledge").mkdir(parents=True)
    (tmp_path / "config").mkdir()
    (tmp_path / "data" / "knowledge" / "warranty.md").write_text("The warranty covers defects for 24 months.\n")
    port = free_port()
    config = write_config(tmp_path, f"""
        generator: {{type: litellm, model: openai/fake, api_base: "{fake.url}", api_key_env: FAKE_LLM_KEY, max_retries: 0}}
        server: {{port: {port}, grace_s: 20}}
        tools: {{folder: "{tmp_path / 'no-plugins'}", reload: false}}
        """)
    log = open(tmp_path / "serve.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "kotaemon_like.cli", "--config", str(config), "--log-level", "INFO", "serve"], cwd=ROOT,
                            env={**__import__("os").environ, "FAKE_LLM_KEY": "sk-test"}, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        def indexed():
            try:
                docs = httpx.get(f"{url}/api/documents", timeout=2).json()["documents"]
            except httpx.HTTPError:
                return False
            return docs and docs[0]["status"] == "indexed"

        wait_until(indexed, 300, every_s=0.5, what="kl serve to start and index")
        kinds = []
        with httpx.stream("POST", f"{url}/api/chat", json={"message": "How long is the warranty?"}, timeout=60) as response:
            for line in response.iter_lines():
                if line.startswith("event: "):
                    kinds.append(line[7:])
                    if kinds.count("token") == 1 and kinds[-1] == "token":
                        proc.send_signal(signal.SIGTERM)  # mid-answer
        assert kinds[:2] == ["conversation", "token"] and kinds[-1] == "done" and kinds.count("token") > 20
        # uvicorn re-raises SIGTERM once it has shut down, so the exit status is the signal's
        assert proc.wait(60) in (0, -signal.SIGTERM)
        assert "shut down cleanly" in (tmp_path / "serve.log").read_text()
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{url}/api/health", timeout=2)
    finally:
        if proc.poll() is None:
            proc.kill()
        fake.stop()
