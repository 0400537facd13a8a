"""Tenants over real HTTP on one server: each tenant's keys reach only its own chunks, conversations, staff,
tickets and documents; disabled tenants and rotated or revoked keys are refused; a `filter` cannot name a
tenant; the default tenant works as before without any key."""

from __future__ import annotations

import httpx
import pytest

from kotaemon_like import registry
from kotaemon_like.server.app import create_app
from kotaemon_like.tenants.runtime import tenant_settings

from .conftest import write_config
from .conversation_helpers import PASSWORD
from .test_server import LiveServer

pytestmark = pytest.mark.slow
ADMIN_KEY = "deployment-admin-key-for-tests"
KNOWLEDGE = {
    "acme": "# Shipping\n\nAcme ships every order within 2 days. The Acme voucher code is ACME-SUN-17.\n",
    "beta": "# Shipping\n\nBeta ships orders within 9 days. The Beta voucher code is BETA-MOON-42.\n",
}


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("tenants")
    (workdir / "data" / "knowledge").mkdir(parents=True)
    (workdir / "config").mkdir()
    (workdir / "data" / "knowledge" / "warranty.md").write_text(
        "# Warranty\n\nThe warranty covers manufacturing defects for 24 months from delivery.\n")
    config = write_config(workdir, """
        conversations: {handoff_after_unanswered: 0, events_poll_s: 0.2, events_max_s: 5}
        tools: {reload: false, settings: {order_status: {base_url: "http://127.0.0.1:9"}}}
        server: {embedded_ingest: false, api_key_env: KL_TEST_TENANTS_KEY}
        """)
    settings = registry.load(config)
    kb = registry.build_knowledge_base(settings)
    registry.build_indexer(kb).sync()
    for tenant, text in KNOWLEDGE.items():  # the same file name in each tenant
        own = tenant_settings(settings, tenant)
        own.paths.knowledge.mkdir(parents=True)
        (own.paths.knowledge / "shipping.md").write_text(text)
        registry.build_indexer(registry.build_knowledge_base(own, embedder=kb.embedder)).sync()
    kb.close()
    app = create_app(settings, ui=False)
    state = app.state.kl
    keys = {}
    for tenant in KNOWLEDGE:
        state.tenants.add(tenant, tenant.title(), allowed_origins=[f"https://{tenant}.example"])
        keys[tenant] = {kind: state.tenants.issue_key(tenant, kind)[1] for kind in ("public", "secret")}
        state.conversations.add_user(tenant, "sam", PASSWORD, "admin", f"Sam of {tenant}")  # one name, two tenants
    import os

    os.environ["KL_TEST_TENANTS_KEY"] = ADMIN_KEY
    with LiveServer(app) as server:
        server.state, server.keys, server.workdir = state, keys, workdir
        yield server
    os.environ.pop("KL_TEST_TENANTS_KEY", None)


def chat(url: str, message: str, key: str | None = None, **extra) -> httpx.Response:
    headers = {"X-API-Key": key} if key else {}
    return httpx.post(f"{url}/api/chat", json={"message": message, "stream": False, **extra}, headers=headers, timeout=60)


def staff(url: str, tenant: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30)
    response = client.post("/api/staff/login", json={"username": "sam", "password": PASSWORD, "tenant": tenant})
    assert response.status_code == 200, response.text
    return client


def test_each_key_reaches_only_its_own_tenants_chunks(live):
    question = "How fast do you ship, and what is the voucher code?"
    acme = chat(live.url, question, live.keys["acme"]["public"]).json()
    beta = chat(live.url, question, live.keys["beta"]["public"]).json()
    assert "ACME-SUN-17" in acme["answer"] and "BETA" not in str(acme)
    assert "BETA-MOON-42" in beta["answer"] and "ACME" not in str(beta)
    assert {c["source"] for c in acme["citations"]} == {"shipping.md"}
    # the default tenant, with the deployment's key, sees neither
    default = chat(live.url, question, ADMIN_KEY).json()
    assert "ACME" not in str(default) and "BETA" not in str(default)
    assert "24 months" in chat(live.url, "How long is the warranty?", ADMIN_KEY).json()["answer"]
    # a filter narrows within the caller's tenant and can never name another
    narrowed = chat(live.url, question, live.keys["acme"]["public"], filter={"source": "shipping.md"}).json()
    assert "ACME-SUN-17" in narrowed["answer"] and "BETA" not in str(narrowed)
    refused = chat(live.url, question, live.keys["acme"]["public"], filter={"tenant": "beta"})
    assert refused.status_code == 422 and "tenant comes from the API key" in refused.text
    # the OpenAI-compatible endpoint takes a secret key and answers from that tenant; a public key is refused
    body = {"model": "kotaemon-like", "messages": [{"role": "user", "content": question}]}
    answer = httpx.post(f"{live.url}/v1/chat/completions", json=body, timeout=60,
                        headers={"Authorization": f"Bearer {live.keys['beta']['secret']}"}).json()
    assert "BETA-MOON-42" in answer["choices"][0]["message"]["content"]
    assert httpx.post(f"{live.url}/v1/chat/completions", json=body, timeout=60,
                      headers={"Authorization": f"Bearer {live.keys['beta']['public']}"}).status_code == 403


def test_a_conversation_is_reachable_only_through_its_own_tenant(live):
    url, keys = live.url, live.keys
    started = httpx.post(f"{url}/api/conversations", headers={"X-API-Key": keys["acme"]["public"]}, timeout=30).json()
    cid, token = started["id"], started["token"]
    own = {"X-API-Key": keys["acme"]["public"], "X-Conversation-Token": token}
    said = httpx.post(f"{url}/api/conversations/{cid}/messages", json={"message": "What is the voucher code?",
                                                                      "stream": False}, headers=own, timeout=60)
    assert said.status_code == 200 and "ACME-SUN-17" in said.json()["answer"]
    # the right token under another tenant's key, or under no key (the default tenant), finds nothing
    paths = [("GET", ""), ("GET", "/events"), ("POST", "/messages"), ("POST", "/rating"), ("POST", "/handoff")]
    bodies = {"/messages": {"message": "and now?", "stream": False}, "/rating": {"score": 1}}
    for key in (keys["beta"]["public"], keys["beta"]["secret"], None):
        headers = {"X-Conversation-Token": token, **({"X-API-Key": key} if key else {})}
        for method, tail in paths:
            response = httpx.request(method, f"{url}/api/conversations/{cid}{tail}", headers=headers,
                                     json=bodies.get(tail), timeout=30)
            assert response.status_code == 404, (key, method, tail)
    foreign = httpx.post(f"{url}/api/chat", json={"message": "hi", "stream": False, "conversation_id": cid}, timeout=30,
                         headers={"X-API-Key": keys["beta"]["public"], "X-Conversation-Token": token})
    assert foreign.status_code == 404
    # staff: Beta's admin sees neither the conversation nor its ticket; Acme's sees both
    store = live.state.conversations
    ticket = store.create_ticket("acme", "Parcel lost", "It never arrived", conversation_id=cid)
    store.enqueue("acme", cid, "the customer asked for a person")
    beta_staff, acme_staff = staff(url, "beta"), staff(url, "acme")
    assert beta_staff.get("/api/staff/queue").json()["waiting"] == []
    assert [w["id"] for w in acme_staff.get("/api/staff/queue").json()["waiting"]] == [cid]
    assert beta_staff.get(f"/api/staff/conversations/{cid}").status_code == 404
    assert beta_staff.post(f"/api/staff/conversations/{cid}/take").status_code == 409
    assert beta_staff.post(f"/api/staff/conversations/{cid}/close").status_code == 404
    assert beta_staff.get(f"/api/staff/tickets/{ticket.number}").status_code == 404
    assert beta_staff.post(f"/api/staff/tickets/{ticket.number}/note", json={"text": "x"}).status_code == 404
    assert beta_staff.get("/api/staff/tickets").json()["tickets"] == []
    assert acme_staff.get(f"/api/staff/tickets/{ticket.number}").json()["title"] == "Parcel lost"
    assert acme_staff.post(f"/api/staff/conversations/{cid}/take").status_code == 200
    assert store.get_conversation("acme", cid).state == "agent" and store.get_conversation("beta", cid) is None
    # a staff user's tenant comes from the login, not from a key sent along
    sneaky = beta_staff.get(f"/api/staff/conversations/{cid}", headers={"X-API-Key": keys["acme"]["public"]})
    assert sneaky.status_code == 404
    # and a console cookie picks no tenant on the customer routes: an agent chatting on a site is a visitor there
    visitor = acme_staff.post("/api/conversations").json()["id"]
    assert store.get_conversation("default", visitor) is not None and store.get_conversation("acme", visitor) is None


def test_documents_and_tenant_admin_stay_within_the_secret_keys_tenant(live):
    url, keys = live.url, live.keys
    acme_admin = {"Authorization": f"Bearer {keys['acme']['secret']}"}
    beta_admin = {"Authorization": f"Bearer {keys['beta']['secret']}"}
    uploaded = httpx.post(f"{url}/api/documents", headers=acme_admin, timeout=30,
                          files={"files": ("returns.md", b"# Returns\n\nAcme takes returns for 30 days.\n")})
    assert uploaded.status_code == 201, uploaded.text
    assert (tenant_settings(live.state.settings, "acme").paths.knowledge / "returns.md").is_file()
    assert not (live.workdir / "data" / "knowledge" / "returns.md").exists()
    assert "returns.md" not in str(httpx.get(f"{url}/api/documents", headers=beta_admin, timeout=30).json())
    assert httpx.delete(f"{url}/api/documents/returns.md", headers=beta_admin, timeout=30).status_code == 404
    assert httpx.get(f"{url}/api/documents", headers={"X-API-Key": keys["acme"]["public"]}, timeout=30).status_code == 403
    assert httpx.get(f"{url}/api/documents", timeout=30).status_code == 401  # the deployment has a key
    # a secret key manages its own tenant only, and cannot create or disable tenants
    listed = httpx.get(f"{url}/api/admin/tenants", headers=acme_admin, timeout=30).json()["tenants"]
    assert [t["id"] for t in listed] == ["acme"]
    assert httpx.get(f"{url}/api/admin/tenants/beta/keys", headers=acme_admin, timeout=30).status_code == 404
    assert httpx.post(f"{url}/api/admin/tenants/beta/keys", json={"kind": "secret"}, headers=acme_admin,
                      timeout=30).status_code == 404
    assert httpx.post(f"{url}/api/admin/tenants", json={"id": "gamma", "name": "G"}, headers=acme_admin,
                      timeout=30).status_code == 403
    assert httpx.patch(f"{url}/api/admin/tenants/acme", json={"status": "disabled"}, headers=acme_admin,
                       timeout=30).status_code == 403
    assert httpx.get(f"{url}/api/admin/tenants", headers={"X-API-Key": keys["acme"]["public"]}, timeout=30).status_code == 403
    changed = httpx.patch(f"{url}/api/admin/tenants/acme", json={"welcome": "Hello from Acme"}, headers=acme_admin,
                          timeout=30).json()
    assert changed["welcome"] == "Hello from Acme"
    shown = httpx.get(f"{url}/api/tenant", params={"key": keys["acme"]["public"]}, timeout=30).json()
    assert shown == {"tenant": "acme", "name": "Acme", "assistant_name": "Assistant", "welcome": "Hello from Acme",
                     "colour": "#2563eb", "key": "public"}


def test_rotated_revoked_and_disabled_credentials_are_refused(live):
    url, admin = live.url, {"X-API-Key": ADMIN_KEY}
    created = httpx.post(f"{url}/api/admin/tenants", json={"id": "gamma", "name": "Gamma"}, headers=admin, timeout=30)
    assert created.status_code == 201, created.text
    issued = httpx.post(f"{url}/api/admin/tenants/gamma/keys", json={"kind": "public", "name": "widget"}, headers=admin,
                        timeout=30).json()
    old = issued["key"]
    assert chat(url, "hello", old).status_code == 200
    rotated = httpx.post(f"{url}/api/admin/tenants/gamma/keys/{issued['id']}/rotate", headers=admin, timeout=30).json()
    assert rotated["replaces"] == issued["id"] and rotated["key"].startswith("pk_")
    assert chat(url, "hello", old).status_code == 401
    assert chat(url, "hello", rotated["key"]).status_code == 200
    assert httpx.delete(f"{url}/api/admin/tenants/gamma/keys/{rotated['id']}", headers=admin, timeout=30).status_code == 200
    assert chat(url, "hello", rotated["key"]).status_code == 401
    # disabling a tenant stops its keys, its staff logins and its signed-in sessions at once
    live_key = httpx.post(f"{url}/api/admin/tenants/gamma/keys", json={"kind": "secret"}, headers=admin, timeout=30).json()
    live.state.conversations.add_user("gamma", "sam", PASSWORD, "admin")
    signed_in = staff(url, "gamma")
    disabled = httpx.patch(f"{url}/api/admin/tenants/gamma", json={"status": "disabled"}, headers=admin, timeout=30)
    assert disabled.json()["status"] == "disabled"
    assert chat(url, "hello", live_key["key"]).status_code == 403
    assert httpx.get(f"{url}/api/documents", headers={"X-API-Key": live_key["key"]}, timeout=30).status_code == 403
    assert signed_in.get("/api/staff/queue").status_code == 403
    assert httpx.post(f"{url}/api/staff/login", json={"username": "sam", "password": PASSWORD, "tenant": "gamma"},
                      timeout=30).status_code == 401
    assert httpx.patch(f"{url}/api/admin/tenants/default", json={"status": "disabled"}, headers=admin,
                       timeout=30).status_code == 422
