"""The HTTP edge over real HTTP: a client that hangs up stops its turn, inputs are bounded, bad names,
ids and filters get a 4xx with the reason, and concurrent uploads of one name do not silently overwrite."""

from __future__ import annotations

import concurrent.futures

import httpx
import pytest

from kotaemon_like import registry
from kotaemon_like.server.app import create_app

from .conftest import wait_until, write_config
from .fake_llm import start_fake_llm
from .test_server import LiveServer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fake():
    llm = start_fake_llm()
    yield llm
    llm.stop()


@pytest.fixture(scope="module")
def live(tmp_path_factory, fake):
    workdir = tmp_path_factory.mktemp("edge")
    (workdir / "data" / "knowledge").mkdir(parents=True)
    (workdir / "config").mkdir()
    (workdir / "data" / "knowledge" / "warranty.md").write_text("The warranty covers defects for 24 months.\n")
    config = write_config(workdir, f"""
        generator: {{type: litellm, model: openai/fake, api_base: "{fake.url}", api_key_env: FAKE_LLM_KEY, max_retries: 0}}
        tools: {{folder: "{workdir / 'no-plugins'}", reload: false}}
        watcher: {{quiet_s: 0.3}}
        """)
    import os

    os.environ.setdefault("FAKE_LLM_KEY", "sk-test")
    with LiveServer(create_app(registry.load(config), ui=False)) as server:
        server.workdir = workdir
        wait_until(lambda: httpx.get(f"{server.url}/api/documents").json()["documents"][0]["status"] == "indexed",
                   60, what="the knowledge file to be indexed")
        yield server


def slow_answer(fake, words: int = 60, delay_s: float = 0.1) -> None:
    fake.behaviour.reply = lambda request: " ".join(["The warranty lasts 24 months [1]."] * (words // 6))
    fake.behaviour.token_delay_s = delay_s
    fake.streams_finished = fake.streams_aborted = 0


def outcome(fake) -> tuple[int, int]:
    wait_until(lambda: fake.streams_finished + fake.streams_aborted, 30, what="the upstream stream to end")
    return fake.streams_finished, fake.streams_aborted


@pytest.mark.parametrize("path,body", [
    ("/api/chat", {"message": "How long is the warranty?"}),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "How long is the warranty?"}], "stream": True}),
])
def test_a_streaming_client_that_hangs_up_stops_its_turn(live, fake, path, body):
    slow_answer(fake)
    with httpx.stream("POST", f"{live.url}{path}", json=body, timeout=30) as response:
        for line in response.iter_lines():
            if "warranty" in line.lower():
                break  # the first tokens arrived: hang up
    assert outcome(fake) == (0, 1)  # the LLM stream under the turn was closed, not read to the end


@pytest.mark.parametrize("path,body", [
    ("/api/chat", {"message": "How long is the warranty?", "stream": False}),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "How long is the warranty?"}]}),
])
def test_a_json_client_that_gives_up_stops_its_turn(live, fake, path, body):
    slow_answer(fake, words=60, delay_s=0.1)  # six seconds of generation
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{live.url}{path}", json=body, timeout=httpx.Timeout(30, read=1.0))
    assert outcome(fake) == (0, 1)


def test_inputs_are_bounded(live):
    huge = "a" * 3_000_000  # refused by the body cap before any of it is parsed
    response = httpx.post(f"{live.url}/v1/chat/completions", json={"messages": [{"role": "user", "content": huge}]})
    assert response.status_code == 413 and response.json()["error"]["code"] == "request_too_large"  # OpenAI's shape
    long = "a" * 40_000  # under the body cap, over what one message may hold
    response = httpx.post(f"{live.url}/v1/chat/completions", json={"messages": [{"role": "user", "content": long}]})
    assert response.status_code == 400 and response.json()["error"]["param"] == "messages.0.content"
    history = [{"role": "assistant", "content": "x" * 8000}] * 5 + [{"role": "user", "content": "hi"}]
    response = httpx.post(f"{live.url}/v1/chat/completions", json={"messages": history})
    assert response.status_code == 400 and "characters in all" in response.json()["error"]["message"]
    response = httpx.post(f"{live.url}/api/chat", json={"message": "a" * 9000})
    assert response.status_code == 422


@pytest.mark.parametrize("stream", [True, False])
def test_a_bad_filter_key_is_a_4xx_before_any_stream(live, stream):
    response = httpx.post(f"{live.url}/api/chat",
                          json={"message": "warranty?", "stream": stream, "filter": {"tenant') OR 1=1 --": "x"}})
    assert response.status_code == 422
    assert "not a plain field name" in " ".join(response.json()["problems"])


def raw_upload(url: str, name: str) -> httpx.Response:
    """A multipart upload with the file name's characters sent as they are (httpx would percent-escape
    control characters; other clients do not)."""
    boundary = "kl-test-boundary"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            f"Content-Type: text/markdown\r\n\r\ntext\r\n--{boundary}--\r\n").encode()
    return httpx.post(f"{url}/api/documents", content=body,
                      headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})


def test_document_names_are_refused_with_the_reason(live):
    assert httpx.delete(f"{live.url}/api/documents/%00").status_code == 400
    for name in ("tab\there.md", "bell\x07.md", "invoice\u202egpj.md", "zero\u200bwidth.md"):
        response = raw_upload(live.url, name)
        assert response.status_code == 400 and "control or invisible" in response.json()["error"], name
    knowledge = live.workdir / "data" / "knowledge"
    assert sorted(p.name for p in knowledge.iterdir()) == ["warranty.md"]


def test_concurrent_uploads_of_one_name_conflict_unless_replacing(live):
    def upload(i: int, query: str = "") -> int:
        files = {"files": ("same.md", f"version {i}\n".encode(), "text/markdown")}
        return httpx.post(f"{live.url}/api/documents{query}", files=files, timeout=30).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        codes = sorted(pool.map(upload, range(8)))
    assert codes == [201] + [409] * 7
    kept = (live.workdir / "data" / "knowledge" / "same.md").read_text()
    response = httpx.post(f"{live.url}/api/documents", files={"files": ("same.md", b"x\n", "text/markdown")})
    assert response.status_code == 409 and "replace=true" in response.json()["error"]
    assert (live.workdir / "data" / "knowledge" / "same.md").read_text() == kept
    assert upload(99, "?replace=true") == 201
    assert (live.workdir / "data" / "knowledge" / "same.md").read_text() == "version 99\n"
    assert httpx.delete(f"{live.url}/api/documents/same.md").status_code == 200


def test_request_ids_are_accepted_only_in_a_safe_shape(live):
    ok = httpx.get(f"{live.url}/api/health", headers={"X-Request-ID": "abc-123.X_9"})
    assert ok.headers["x-request-id"] == "abc-123.X_9"
    for bad in ("<script>alert(1)</script>", "a" * 65, "id with spaces", "x\u202ey"):
        response = httpx.get(f"{live.url}/api/health", headers={"X-Request-ID": bad.encode("utf-8")})
        rid = response.headers["x-request-id"]
        assert rid != bad and len(rid) == 16 and rid.isalnum()
