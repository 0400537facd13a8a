"""CORS for the widget: a page on a tenant's website may call the customer chat routes with the tenant's
public (`pk_`) key, and only from that tenant's allowed origins.

Starlette's CORSMiddleware is not enough here: it takes one fixed origin list (or regex) for the whole app,
while the origins allowed here depend on the key, i.e. on the tenant, and change while the server runs
(`PATCH /api/admin/tenants/{id}`). So this small middleware judges each request by its public key:

- a request carrying a `pk_` key (`?key=`, `X-API-Key` or `Authorization: Bearer`, as `tenancy` reads it)
  whose `Origin` (or, without one, `Referer`) is not one of the tenant's allowed origins is refused with 403
  before any route runs, with or without CORS; an unknown or revoked key is a 401, a disabled tenant a 403;
  none of these answers carries CORS headers. A request with neither header comes from no web page (a
  script): the key is public anyway, so it is served like any other client;
- only the customer chat routes (`/api/conversations...`, `/api/chat`, `/api/tenant`) ever get CORS headers,
  and only `Access-Control-Allow-Origin: <that origin>` for an allowed one; staff and admin routes never do;
- an allowed preflight is answered here (204). A preflight carries no header values, so a browser must send
  the key as `?key=pk_...` (the widget does). No cookies are ever allowed (no Allow-Credentials).

The resolved caller is left on `request.state.caller`, so `tenancy.caller` does not look the key up again.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Callable
from urllib.parse import urlsplit

import anyio
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from ..tenants import Tenant, TenantKey
from .tenancy import Caller, presented_key

log = logging.getLogger(__name__)

CHAT_ROUTES = re.compile(r"^/api/(conversations(/[A-Za-z0-9_-]{1,64}(/(messages|handoff|rating|events))?)?|chat|tenant)$")
ALLOW_METHODS = "GET, POST"
ALLOW_HEADERS = "Content-Type, X-Conversation-Token, Last-Event-ID"
EXPOSE_HEADERS = "Retry-After, X-Request-ID"
MAX_AGE_S = "600"  # a browser asks again after ten minutes, so a removed origin stops working soon after
PUBLIC = "pk_"


class PublicKeyCors:
    """ASGI middleware; `resolve(key)` gives the key's (tenant, key record), or None for an unknown or revoked key."""

    def __init__(self, app: ASGIApp, resolve: Callable[[str], tuple[Tenant, TenantKey] | None]):
        self.app, self.resolve = app, resolve

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = Headers(scope=scope)
        key = public_key(scope)
        if not key:  # the same-site chat page, staff, API clients: no CORS, as before
            return await self.app(scope, receive, send)
        found = await anyio.to_thread.run_sync(self.resolve, key)  # a database read: off the event loop
        if found is None or found[1].kind != "public":
            log.warning("public key refused: unknown or revoked", extra={"key": key[:10] + "...", "path": scope["path"]})
            return await refuse(send, 401, "unknown, revoked or rotated public key; copy the widget line again from the admin")
        tenant, record = found
        if not tenant.active:
            return await refuse(send, 403, f"tenant {tenant.id!r} is disabled")
        origin = page_origin(headers)
        if origin is not None and origin not in {normal_origin(o) for o in tenant.allowed_origins}:
            log.warning("public key refused: origin not allowed",
                        extra={"tenant": tenant.id, "origin": origin, "path": scope["path"]})
            return await refuse(send, 403, f"this public key may not be used from {origin}; "
                                           "add the site's origin to the allowed origins of its tenant")
        scope.setdefault("state", {}).update(caller=Caller(tenant, "public", key_id=record.id), tenant=tenant)
        if origin is None or not CHAT_ROUTES.match(scope["path"]):
            return await self.app(scope, receive, send)
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            return await preflight(send, origin)

        async def send_with_cors(message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out["Access-Control-Allow-Origin"] = origin
                out["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
                out.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, send_with_cors)


def public_key(scope: Scope) -> str:
    """The `pk_` key a request presents, read exactly as `tenancy` reads keys ("" when it presents none)."""
    key = presented_key(Request(scope))
    return key if key.startswith(PUBLIC) else ""


def normal_origin(value: str) -> str | None:
    """`scheme://host[:port]` as browsers send it in `Origin` (lower case, no default port); None if it is not one."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    shown = f":{port}" if port and port != {"http": 80, "https": 443}[parts.scheme] else ""
    return f"{parts.scheme}://{parts.hostname}{shown}"


def page_origin(headers: Headers) -> str | None:
    """The web page a request comes from: its `Origin`, else its `Referer`'s origin; None from no page.
    `Origin: null` (sandboxed frames, files) or a malformed one is an origin no tenant allows."""
    value = headers.get("origin") or headers.get("referer")
    if not value:
        return None
    return normal_origin(value) or "null"


async def preflight(send: Send, origin: str) -> None:
    headers = [(b"access-control-allow-origin", origin.encode()), (b"access-control-allow-methods", ALLOW_METHODS.encode()),
               (b"access-control-allow-headers", ALLOW_HEADERS.encode()), (b"access-control-max-age", MAX_AGE_S.encode()),
               (b"vary", b"Origin"), (b"content-length", b"0")]
    await send({"type": "http.response.start", "status": 204, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


async def refuse(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"vary", b"Origin")]})
    await send({"type": "http.response.body", "body": body})
