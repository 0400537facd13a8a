"""The customer-service conversation over real HTTP: owned sessions, hand-off to a signed-in agent whose reply
reaches the customer's live stream, tickets offered when nobody is online, ratings, staff auth and roles."""

from __future__ import annotations

import threading

import httpx
import pytest

from kotaemon_like import registry
from kotaemon_like.server.app import create_app

from .conftest import write_config
from .conversation_helpers import PASSWORD, Agent, Customer, LiveEvents
from .test_server import LiveServer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("conversations")
    (workdir / "data" / "knowledge").mkdir(parents=True)
    (workdir / "config").mkdir()
    (workdir / "data" / "knowledge" / "warranty.md").write_text(
        "# Warranty\n\nThe warranty covers manufacturing defects for 24 months from delivery.\n")
    config = write_config(workdir, """
        conversations: {handoff_after_unanswered: 2, events_poll_s: 0.2, events_max_s: 30}
        tools: {reload: false, settings: {order_status: {base_url: "http://127.0.0.1:9"}}}
        """)
    settings = registry.load(config)
    registry.build_indexer(kb := registry.build_knowledge_base(settings)).sync()
    kb.close()
    app = create_app(settings, ui=False)
    store = app.state.kl.conversations
    for name, role in (("alice", "agent"), ("bob", "agent"), ("root", "admin")):
        store.add_user("default", name, PASSWORD, role, name.title())
    with LiveServer(app) as server:
        server.store = store
        yield server


@pytest.fixture
def everyone_away(live):
    """Each test starts with no agent online and nobody waiting."""
    store = live.store
    for user in store.users("default"):
        store.update_user("default", user.id, status="away")
    for entry in store.queue("default"):
        store.close("default", entry.conversation.id)
    return live


def test_another_token_can_neither_read_nor_continue_a_conversation(everyone_away):
    url = everyone_away.url
    alice = Customer(url)
    alice.say("I am Alice Smith, my card ends 4242. How long is the warranty?")
    mallory = Customer(url)
    paths = [("GET", ""), ("GET", "/events"), ("POST", "/messages"), ("POST", "/rating"), ("POST", "/handoff")]
    bodies = {"/messages": {"message": "what about that?", "stream": False}, "/rating": {"score": 1}}
    for headers in ({"X-Conversation-Token": mallory.token}, {"Authorization": f"Bearer {mallory.token}"}, {}):
        for method, tail in paths:
            response = httpx.request(method, f"{url}/api/conversations/{alice.id}{tail}", headers=headers,
                                     json=bodies.get(tail), timeout=30)
            assert response.status_code == 404, (method, tail, headers)
            assert response.json() == {"detail": "no such conversation"}
    unknown = httpx.get(f"{url}/api/conversations/{'0' * 32}", headers=alice.headers, timeout=30)
    assert unknown.status_code == 404 and unknown.json() == {"detail": "no such conversation"}
    # the old client-chosen session id is gone: naming Alice's id in /api/chat starts a separate conversation
    body = httpx.post(f"{url}/api/chat", json={"message": "what about that?", "session_id": alice.id, "stream": False},
                      timeout=60).json()
    assert body["conversation"]["id"] != alice.id and "4242" not in str(body)
    assert httpx.post(f"{url}/api/chat", json={"message": "hi", "conversation_id": alice.id, "stream": False},
                      headers={"X-Conversation-Token": mallory.token}, timeout=30).status_code == 404
    transcript = alice.transcript()
    assert [m["role"] for m in transcript["messages"]] == ["customer", "assistant"]
    assert "24 months" in transcript["messages"][1]["text"] and transcript["messages"][1]["sources"][0]["source"] == "warranty.md"


def test_api_chat_creates_then_continues_an_owned_conversation(everyone_away):
    url = everyone_away.url
    with httpx.stream("POST", f"{url}/api/chat", json={"message": "How long is the warranty?"}, timeout=60) as response:
        lines = [line for line in response.iter_lines() if line.startswith("event: ")]
    assert lines[0] == "event: conversation" and "event: token" in lines and lines[-1] == "event: done"
    first = httpx.post(f"{url}/api/chat", json={"message": "How long is the warranty?", "stream": False}, timeout=60).json()
    conversation = first["conversation"]
    again = httpx.post(f"{url}/api/chat", json={"message": "and what does it cover?", "stream": False,
                                                 "conversation_id": conversation["id"]},
                       headers={"X-Conversation-Token": conversation["token"]}, timeout=60).json()
    assert "conversation" not in again and again["done"]["session_id"] == conversation["id"]
    stored = httpx.get(f"{url}/api/conversations/{conversation['id']}", headers={"X-Conversation-Token": conversation["token"]},
                       timeout=30).json()
    assert [m["role"] for m in stored["messages"]] == ["customer", "assistant", "customer", "assistant"]


def test_handoff_take_live_reply_hand_back_close_and_rate(everyone_away):
    url = everyone_away.url
    alice, bob = Agent(url, "alice"), Agent(url, "bob")
    assert alice.post("/status", {"status": "online"}).json()["status"] == "online"
    customer = Customer(url)
    events = LiveEvents(customer)
    body = customer.say("I want to talk to a human")
    assert [t["name"] for t in body["tools"]] == ["handoff_to_human"] and "next in line" in body["answer"]
    assert body["state"]["state"] == "waiting" and body["state"]["position"] == 1
    events.wait_for(lambda k, d: k == "state" and d["state"] == "waiting", "the waiting state on the live stream")
    queue = bob.get("/queue").json()
    assert [w["id"] for w in queue["waiting"]] == [customer.id] and queue["waiting"][0]["waited_s"] >= 0
    assert queue["agents_online"] == 1
    assert customer.say("are you there?")["state"]["state"] == "waiting"  # stored for the agent, no assistant answer

    results = {}
    barrier = threading.Barrier(2)

    def take(agent: Agent) -> None:
        barrier.wait()
        results[agent.user["username"]] = agent.post(f"/conversations/{customer.id}/take").status_code

    threads = [threading.Thread(target=take, args=(a,)) for a in (alice, bob)]
    [t.start() for t in threads]
    [t.join(30) for t in threads]
    assert sorted(results.values()) == [200, 409]
    winner, loser = (alice, bob) if results["alice"] == 200 else (bob, alice)
    seen = winner.get(f"/conversations/{customer.id}").json()
    assert [m["text"] for m in seen["messages"] if m["role"] == "customer"] == ["I want to talk to a human", "are you there?"]
    assert seen["messages"][1]["tools"][0]["name"] == "handoff_to_human"
    assert loser.post(f"/conversations/{customer.id}/reply", {"text": "me too"}).status_code == 409
    assert winner.post(f"/conversations/{customer.id}/reply", {"text": "Hi, I am here to help."}).status_code == 200
    reply = events.wait_for(lambda k, d: k == "message" and d["role"] == "agent", "the agent's reply on the live stream")
    assert reply["text"] == "Hi, I am here to help." and reply["author"] == winner.user["name"]
    events.wait_for(lambda k, d: k == "state" and d["state"] == "agent" and d["agent"] == winner.user["name"], "agent state")

    assert winner.post(f"/conversations/{customer.id}/hand-back").status_code == 200
    events.wait_for(lambda k, d: k == "state" and d["state"] == "bot", "the hand-back")
    assert "24 months" in customer.say("How long is the warranty?")["answer"]  # the assistant answers again
    assert httpx.post(f"{url}/api/conversations/{customer.id}/rating", json={"score": 5}, headers=customer.headers,
                      timeout=30).status_code == 409  # not closed yet
    assert winner.post(f"/conversations/{customer.id}/close").status_code == 200
    events.wait_for(lambda k, d: k == "state" and d["state"] == "closed", "the close")
    rated = httpx.post(f"{url}/api/conversations/{customer.id}/rating", json={"score": 5, "comment": "quick and kind"},
                       headers=customer.headers, timeout=30)
    assert rated.status_code == 200
    assert customer.transcript()["ratings"] == [{"ticket": None, "score": 5, "comment": "quick and kind"}]
    assert httpx.post(f"{url}/api/conversations/{customer.id}/messages", json={"message": "hello?"},
                      headers=customer.headers, timeout=30).status_code == 409


def test_nobody_online_offers_a_ticket_the_next_message_opens_it(everyone_away):
    url = everyone_away.url
    customer = Customer(url)
    offer = httpx.post(f"{url}/api/conversations/{customer.id}/handoff", headers=customer.headers, timeout=30).json()
    assert offer["state"] == "bot" and "No agent is available" in offer["message"] and "email" in offer["message"]
    body = customer.say("ana@example.com")
    assert [(t["name"], t["status"]) for t in body["tools"]] == [("create_ticket", "ok")]
    (ticket,) = customer.transcript()["tickets"]
    assert ticket["number"] in body["answer"] and ticket["status"] == "open"

    agent = Agent(url, "alice")
    listed = agent.get("/tickets?status=open").json()["tickets"]
    assert ticket["number"] in [t["number"] for t in listed]
    detail = agent.get(f"/tickets/{ticket['number']}").json()
    assert detail["contact"] == "ana@example.com" and detail["conversation_id"] == customer.id
    assert agent.post(f"/tickets/{ticket['number']}/note", {"text": "VIP customer"}).status_code == 200
    assert agent.post(f"/tickets/{ticket['number']}/reply", {"text": "We will call you today."}).json()["status"] == \
        "waiting_on_customer"
    texts = [m["text"] for m in customer.transcript()["messages"]]
    assert any("We will call you today." in t for t in texts) and not any("VIP" in t for t in texts)
    customer.say("Great, I am home after 5 pm.")  # the customer's answer puts the ticket back with its agent
    detail = agent.get(f"/tickets/{ticket['number']}").json()
    assert detail["status"] == "assigned" and detail["entries"][-2]["text"] == "Great, I am home after 5 pm."
    assert agent.post(f"/tickets/{ticket['number']}/status", {"status": "resolved"}).json()["status"] == "resolved"
    assert agent.post(f"/tickets/{ticket['number']}/status", {"status": "waiting_on_customer"}).status_code == 409
    rated = httpx.post(f"{url}/api/conversations/{customer.id}/rating", json={"score": 4, "ticket": ticket["number"]},
                       headers=customer.headers, timeout=30)
    assert rated.status_code == 200


def test_unanswered_questions_in_a_row_hand_the_customer_over(everyone_away):
    url = everyone_away.url
    agent = Agent(url, "bob")
    agent.post("/status", {"status": "online"})
    customer = Customer(url)
    first = customer.say("Can I pay with seashells?")
    assert first["done"]["answered"] is False and "state" not in first
    second = customer.say("Do you sell submarines?")
    assert second["state"]["state"] == "waiting" and second["state"]["position"] == 1
    assert [e["id"] for e in agent.get("/queue").json()["waiting"]] == [customer.id]
    assert customer.transcript()["messages"][-1]["role"] == "system"


def test_staff_auth_roles_cookie_and_api_keys(everyone_away):
    url = everyone_away.url
    assert httpx.get(f"{url}/api/staff/queue").status_code == 401
    assert httpx.post(f"{url}/api/staff/login", json={"username": "alice", "password": "wrong password"}).status_code == 401
    login = httpx.post(f"{url}/api/staff/login", json={"username": "alice", "password": PASSWORD})
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    agent, admin = Agent(url, "alice"), Agent(url, "root")
    assert agent.client.get("/api/admin/users").status_code == 403
    assert admin.client.post("/api/admin/users", json={"username": "carol", "password": "short", "role": "agent"}).status_code == 422
    assert admin.client.post("/api/admin/users", json={"username": "carol", "password": PASSWORD}).status_code == 201
    key = admin.client.post("/api/admin/keys", json={"username": "carol", "name": "reports"}).json()["key"]
    assert key.startswith("klk_") and key not in admin.client.get("/api/admin/keys").text
    as_key = httpx.get(f"{url}/api/staff/me", headers={"Authorization": f"Bearer {key}"})
    assert as_key.status_code == 200 and as_key.json()["username"] == "carol"
    carol = Agent(url, "carol")
    assert admin.client.patch("/api/admin/users/carol", json={"disabled": True}).json()["disabled"] is True
    assert carol.get("/me").status_code == 401  # signed out everywhere
    assert httpx.get(f"{url}/api/staff/me", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    assert httpx.post(f"{url}/api/staff/login", json={"username": "carol", "password": PASSWORD}).status_code == 401
    assert agent.post("/logout").status_code == 200 and agent.get("/me").status_code == 401


def test_pages_are_separate_and_load_nothing_from_elsewhere(everyone_away):
    url = everyone_away.url
    chat, console = httpx.get(f"{url}/chat"), httpx.get(f"{url}/console")
    assert chat.status_code == console.status_code == 200
    assert "default-src 'self'" in chat.headers["content-security-policy"]
    assert "console.js" not in chat.text and "upload" not in chat.text.lower() and "/api/staff" not in chat.text
    assert "/api/staff" not in httpx.get(f"{url}/pages/chat.js").text
    assert "chat.js" not in console.text and "password" in console.text
    assert httpx.get(f"{url}/pages/../state.py").status_code == 404
