"""Real OpenAI clients (the official SDK and litellm) against `kl`'s /v1 routes on a live uvicorn server,
with the extractive generator and with an LLM (the fake provider on loopback); SSE keep-alive comments."""

from __future__ import annotations

import os
import textwrap

import httpx
import pytest

from kotaemon_like import registry
from kotaemon_like.server.app import create_app
from kotaemon_like.tokens import count_tokens

from .conftest import wait_until, write_config
from .test_chat import fake  # noqa: F401  (the fake LLM provider, one per module)
from .test_server import LiveServer

pytestmark = pytest.mark.slow
QUESTION = "How long does the warranty cover defects?"
KNOWLEDGE = "The warranty covers manufacturing defects for 24 months from the delivery date.\n"


def serve(workdir, extra: str = ""):
    (workdir / "data" / "knowledge").mkdir(parents=True)
    (workdir / "config").mkdir()
    (workdir / "data" / "knowledge" / "warranty.md").write_text(KNOWLEDGE)
    config = write_config(workdir, f"tools: {{folder: '{workdir / 'no-plugins'}', reload: false}}\n{textwrap.dedent(extra)}")
    server = LiveServer(create_app(registry.load(config), ui=False)).__enter__()

    def indexed() -> bool:
        try:
            return httpx.get(f"{server.url}/api/ready", timeout=10).json().get("chunks", 0) > 0
        except httpx.HTTPError:  # a busy machine: ask again
            return False

    wait_until(indexed, 180, every_s=0.5, what="the knowledge file to be indexed")
    return server


@pytest.fixture(scope="module")
def extractive(tmp_path_factory):
    server = serve(tmp_path_factory.mktemp("extractive"))
    yield server
    server.__exit__()


@pytest.fixture(scope="module")
def with_llm(tmp_path_factory, fake):
    os.environ["FAKE_LLM_KEY"] = "sk-test"
    server = serve(tmp_path_factory.mktemp("llm"), f"""
        generator: {{type: litellm, model: openai/fake, api_base: "{fake.url}", api_key_env: FAKE_LLM_KEY, max_retries: 0}}
        server: {{sse_ping_s: 0.2}}
        cache: {{enabled: false}}  # these tests watch what the LLM itself streams, question after question
        """)
    yield server
    server.__exit__()
    os.environ.pop("FAKE_LLM_KEY", None)


def client(server, key: str = "unused"):
    from openai import OpenAI

    return OpenAI(base_url=f"{server.url}/v1", api_key=key, timeout=60, max_retries=0)


def test_models_list_and_retrieve(extractive):
    import openai

    models = client(extractive).models.list()
    assert [m.id for m in models.data] == ["kotaemon-like"]
    assert client(extractive).models.retrieve("kotaemon-like").owned_by == "kotaemon-like"
    with pytest.raises(openai.NotFoundError) as missing:
        client(extractive).models.retrieve("gpt-4o")
    assert missing.value.body["code"] == "model_not_found" and "gpt-4o" in missing.value.body["message"]


def test_extractive_answer_counts_tokens_and_says_system_messages_are_ignored(extractive):
    raw = client(extractive).chat.completions.with_raw_response.create(
        model="kotaemon-like",
        messages=[{"role": "system", "content": "Answer like a pirate."}, {"role": "user", "content": QUESTION}])
    reply = raw.parse()
    answer = reply.choices[0].message.content
    assert "24 months" in answer
    assert raw.headers["x-kl-system-messages"].startswith("ignored")
    assert reply.usage.completion_tokens == count_tokens(answer) > 0
    assert reply.usage.prompt_tokens == count_tokens(f"Answer like a pirate.\n{QUESTION}")
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens


def test_errors_have_openai_shape_and_status(extractive, monkeypatch):
    import openai

    with pytest.raises(openai.BadRequestError) as bad:
        client(extractive).chat.completions.create(model="kotaemon-like", messages=[{"role": "system", "content": "hi"}])
    assert bad.value.status_code == 400 and bad.value.body["param"] == "messages"
    response = httpx.post(f"{extractive.url}/v1/chat/completions", json={"messages": [{"role": "robot", "content": "x"}]})
    error = response.json()["error"]
    assert response.status_code == 400 and error["type"] == "invalid_request_error" and error["param"] == "messages.0.role"
    monkeypatch.setenv("KL_API_KEY", "s3cret")
    with pytest.raises(openai.AuthenticationError) as denied:
        client(extractive, "wrong").models.list()
    assert denied.value.status_code == 401 and denied.value.body["code"] == "invalid_api_key"
    assert [m.id for m in client(extractive, "s3cret").models.list().data] == ["kotaemon-like"]


def test_llm_gets_the_system_message_and_streams_one_chunk_per_delta(with_llm, fake):
    reply = "Defects are covered for 24 months [1]. Keep the receipt."
    fake.behaviour.reply = lambda request: reply
    fake.requests.clear()
    stream = client(with_llm).chat.completions.with_raw_response.create(
        model="kotaemon-like", stream=True,
        messages=[{"role": "system", "content": "Always end with 'Have a nice day.'"}, {"role": "user", "content": QUESTION}])
    assert stream.headers["x-kl-system-messages"] == "honoured"
    chunks = list(stream.parse())
    deltas = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert "".join(deltas) == reply
    assert len(deltas) == len(reply.split(" "))  # the fake streams word by word
    sent = fake.requests[-1]["messages"]
    assert sent[0]["role"] == "system" and "customer-service assistant" in sent[0]["content"]
    assert {"role": "system", "content": "Always end with 'Have a nice day.'"} in sent[1:]
    usage = chunks[-1].usage
    words = sum(len(str(m["content"]).split()) for m in sent)  # what the fake provider reports
    assert (usage.prompt_tokens, usage.completion_tokens) == (words, len(reply.split()))


def test_litellm_as_a_client(with_llm, fake):
    import litellm

    fake.behaviour.reply = lambda request: "Defects are covered for 24 months [1]."
    kwargs = dict(model="openai/kotaemon-like", api_base=f"{with_llm.url}/v1", api_key="unused",
                  messages=[{"role": "user", "content": QUESTION}])
    reply = litellm.completion(**kwargs)
    assert reply.choices[0].message.content == "Defects are covered for 24 months [1]."
    assert reply.usage.completion_tokens == 7
    pieces = [c.choices[0].delta.content or "" for c in litellm.completion(stream=True, **kwargs) if c.choices]
    assert "".join(pieces) == "Defects are covered for 24 months [1]."


def test_sse_keeps_a_slow_first_token_alive_with_comments(with_llm, fake):
    fake.behaviour.reply = lambda request: "Covered for 24 months [1]."
    fake.behaviour.first_token_delay_s = 1.2
    body = {"model": "kotaemon-like", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}
    try:
        with httpx.stream("POST", f"{with_llm.url}/v1/chat/completions", json=body, timeout=30) as response:
            lines = [line for line in response.iter_lines() if line]
    finally:
        fake.behaviour.first_token_delay_s = 0.0
    first_text = next(i for i, line in enumerate(lines) if '"content": "Covered' in line)
    pings = [line for line in lines[:first_text] if line.startswith(":")]
    assert len(pings) >= 3, lines[:first_text]  # every 0.2 s while the model was silent for 1.2 s
    assert lines[-1] == "data: [DONE]"
