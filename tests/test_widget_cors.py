"""CORS for public (`pk_`) keys: which origins get an answer, on which routes, and what is refused without CORS.

The middleware runs in front of small stand-in routes at the real customer and staff paths; the widget's
browser test runs it in the real app with real tenants."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from fastapi.testclient import TestClient

from kotaemon_like.server.cors import CHAT_ROUTES, PublicKeyCors, normal_origin
from kotaemon_like.tenants import Tenant, TenantKey

SHOP = "https://shop.example"
NOW = dt.datetime.now(dt.timezone.utc)
KEYS = {
    "pk_shop_0123456789abcdef": (Tenant("shop", "Shop", allowed_origins=(SHOP, "http://127.0.0.1:5500")), "public"),
    "pk_closed_0123456789abcd": (Tenant("closed", "Closed", status="disabled", allowed_origins=(SHOP,)), "public"),
    "pk_looks_public_but_sk_0": (Tenant("shop", "Shop", allowed_origins=(SHOP,)), "secret"),
}
KEY = "pk_shop_0123456789abcdef"


def resolve(key: str):
    if key not in KEYS:
        return None
    tenant, kind = KEYS[key]
    return tenant, TenantKey(7, tenant.id, kind, "widget", key[:10], False, NOW, None)


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()

    @app.post("/api/conversations", status_code=201)
    def start(request: Request):
        caller = getattr(request.state, "caller", None)
        return {"tenant": caller.tenant.id if caller else None, "kind": caller.kind if caller else None}

    @app.get("/api/conversations/{cid}/events")
    def events(cid: str):
        return StreamingResponse(iter([b"event: state\ndata: {}\n\n"]), media_type="text/event-stream")

    @app.get("/api/staff/queue")
    def queue():
        return {"queue": []}

    app.add_middleware(PublicKeyCors, resolve=resolve)
    return TestClient(app)


def preflight(client, path, origin, key=KEY):
    return client.options(f"{path}?key={key}", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-conversation-token"})


def test_an_allowed_origin_gets_its_preflight_and_its_answer_with_the_tenant_resolved(client):
    answer = preflight(client, "/api/conversations", SHOP)
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == SHOP
    assert "POST" in answer.headers["access-control-allow-methods"]
    assert "x-conversation-token" in answer.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in answer.headers
    response = client.post(f"/api/conversations?key={KEY}", headers={"Origin": SHOP})
    assert response.status_code == 201 and response.json() == {"tenant": "shop", "kind": "public"}
    assert response.headers["access-control-allow-origin"] == SHOP
    assert "Origin" in response.headers["vary"] and "Retry-After" in response.headers["access-control-expose-headers"]
    # the key may also come as a header, and the origin in another spelling of the same origin
    by_header = client.post("/api/conversations", headers={"Origin": "HTTPS://Shop.Example:443", "X-API-Key": KEY})
    assert by_header.json()["tenant"] == "shop" and by_header.headers["access-control-allow-origin"] == SHOP


def test_a_streamed_answer_carries_the_cors_header_too(client):
    response = client.get(f"/api/conversations/abc/events?key={KEY}", headers={"Origin": "http://127.0.0.1:5500"})
    assert response.status_code == 200 and response.text.startswith("event: state")
    assert response.headers["access-control-allow-origin"] == "http://127.0.0.1:5500"


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {"Origin": "http://shop.example"},
                                     {"Origin": "https://shop.example:8443"}, {"Origin": "http://127.0.0.1:5501"},
                                     {"Origin": "null"}, {"Referer": "https://evil.example/page.html"}])
def test_a_public_key_from_any_other_page_is_refused_with_and_without_cors(client, headers):
    if "Origin" in headers:
        assert preflight(client, "/api/conversations", headers["Origin"]).status_code == 403
    for where in ({"params": {"key": KEY}}, {"headers": {"Authorization": f"Bearer {KEY}"}}):
        response = client.post("/api/conversations", params=where.get("params"), headers={**headers, **where.get("headers", {})})
        assert response.status_code == 403, headers
        assert "access-control-allow-origin" not in response.headers
        assert "may not be used from" in response.json()["error"]
    # the staff routes refuse it just the same: the check is on the key, not the route
    assert client.get(f"/api/staff/queue?key={KEY}", headers=headers).status_code == 403


def test_unknown_secret_and_disabled_tenant_keys_are_refused_without_cors(client):
    for key, status in (("pk_unknown_0123456789abcdef", 401), ("pk_looks_public_but_sk_0", 401),
                        ("pk_closed_0123456789abcd", 403)):
        response = client.post(f"/api/conversations?key={key}", headers={"Origin": SHOP})
        assert response.status_code == status and "access-control-allow-origin" not in response.headers, key
        assert preflight(client, "/api/conversations", SHOP, key=key).status_code == status


def test_staff_routes_keyless_and_pageless_requests_never_get_cors_headers(client):
    staff = client.get(f"/api/staff/queue?key={KEY}", headers={"Origin": SHOP})
    assert staff.status_code == 200 and "access-control-allow-origin" not in staff.headers
    assert preflight(client, "/api/staff/queue", SHOP).status_code == 405  # not answered: the route has no OPTIONS
    keyless = client.post("/api/conversations", headers={"Origin": SHOP})
    assert keyless.status_code == 201 and keyless.json()["tenant"] is None
    assert "access-control-allow-origin" not in keyless.headers
    # a script with the (public) key and no page: served as the key's tenant, without CORS
    script = client.post(f"/api/conversations?key={KEY}")
    assert script.json() == {"tenant": "shop", "kind": "public"} and "access-control-allow-origin" not in script.headers


def test_only_the_customer_chat_routes_are_in_scope():
    public = ["/api/conversations", "/api/conversations/abc123", "/api/conversations/abc123/messages",
              "/api/conversations/abc123/events", "/api/conversations/abc123/handoff",
              "/api/conversations/abc123/rating", "/api/chat", "/api/tenant"]
    private = ["/api/staff/queue", "/api/staff/conversations/abc123/reply", "/api/admin/keys", "/api/admin/tenants",
               "/api/documents", "/v1/chat/completions", "/api/conversations/abc123/take", "/api/conversationsx"]
    assert all(CHAT_ROUTES.match(p) for p in public)
    assert not any(CHAT_ROUTES.match(p) for p in private)
    assert normal_origin("HTTP://LocalHost:80/") == "http://localhost"
    assert normal_origin("https://shop.example:8443") == "https://shop.example:8443"
    assert normal_origin("shop.example") is None and normal_origin("http://[bad") is None


def test_the_widget_scripts_are_cached_revalidated_and_loadable_from_other_sites():
    from kotaemon_like.server import widget

    app = FastAPI()
    app.include_router(widget.router)
    client = TestClient(app)
    for path in ("/widget.js", "/static/conversation-client.js"):
        first = client.get(path)
        assert first.status_code == 200 and first.headers["content-type"].startswith("text/javascript")
        assert first.headers["cache-control"] == "public, max-age=3600" and first.headers["etag"]
        # the module is imported by the widget in CORS mode from the customer's page; it is static code
        assert first.headers["access-control-allow-origin"] == "*"
        again = client.get(path, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == first.headers["etag"]
        assert client.get(path, headers={"If-None-Match": '"stale"'}).status_code == 200
    assert "data-key" in client.get("/widget.js").text
