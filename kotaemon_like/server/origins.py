"""Which hosts this server answers for, and which pages may change state on it.

Host: the Host header must name this server (`server.trusted_hosts`; by default loopback, `server.host` and
the host of `server.public_url`), so a DNS-rebinding page or a mistaken proxy cannot reach it.
Cross-site: a state-changing request (POST, PUT, PATCH, DELETE) to a staff or admin route is refused when a
browser says it comes from another site (Origin, else Referer, else Sec-Fetch-Site): a form on
evil.example cannot upload into the knowledge base or act for a signed-in agent. Public chat routes are
called from customers' websites by design; CORS for them is per tenant, elsewhere.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

from fastapi.responses import JSONResponse
from starlette._utils import parse_host_header
from starlette.datastructures import Headers
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ..config import Settings

log = logging.getLogger(__name__)
LOOPBACK = ("127.0.0.1", "localhost", "::1")
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# called cross-origin by customers' pages and clients (the widget, OpenAI clients): CORS governs them, not this check
PUBLIC_PREFIXES = ("/api/conversations", "/api/chat", "/v1/", "/api/widget", "/widget")
_PLAIN_HOST = re.compile(r"^[A-Za-z0-9.:\[\]-]{1,255}$")


def trusted_hosts(settings: Settings) -> list[str]:
    """`server.trusted_hosts`, or loopback + `server.host` (unless it listens on every address) + public_url's host."""
    server = settings.server
    if server.trusted_hosts is not None:
        return list(server.trusted_hosts)
    hosts = list(LOOPBACK)
    if server.host not in ("0.0.0.0", "::", ""):
        hosts.append(server.host)
    if server.public_url:
        hosts.append(urlsplit(server.public_url).hostname or "")
    return [h.lower() for h in dict.fromkeys(hosts) if h]


def trusted_origins(settings: Settings) -> set[str]:
    """Origins (scheme://host[:port]) besides the served host whose pages may post to staff routes."""
    origins = set(settings.server.trusted_origins)
    if settings.server.public_url:
        parts = urlsplit(settings.server.public_url)
        origins.add(f"{parts.scheme}://{parts.netloc}")
    return {o.rstrip("/").lower() for o in origins}


class TrustedHosts(TrustedHostMiddleware):
    """Starlette's host check, with a refusal that says which setting admits a host."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.allow_any and scope["type"] in ("http", "websocket"):
            parsed = parse_host_header(Headers(scope=scope).get("host"))
            host = parsed.host.lower() if parsed else ""
            if not any(host == p or (p.startswith("*") and host.endswith(p[1:])) for p in self.allowed_hosts):
                shown = host if _PLAIN_HOST.match(host) else "(unreadable)"
                log.warning("request for an untrusted host refused", extra={"host": shown[:100]})
                await PlainTextResponse(f"host {shown} is not served here; add it to server.trusted_hosts "
                                        "(or set server.public_url)", status_code=400)(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def cross_site_source(headers: Headers, host: str, allowed: set[str]) -> str | None:
    """The foreign site a browser says the request comes from, or None when it is this server, trusted or unsaid."""
    origin = headers.get("origin")
    if origin is None and headers.get("referer"):
        parts = urlsplit(headers["referer"])
        origin = f"{parts.scheme}://{parts.netloc}" if parts.netloc else "null"
    if origin is not None:
        origin = origin.strip().rstrip("/").lower()
        if origin != "null" and (urlsplit(origin).netloc == host.lower() or origin in allowed):
            return None
        return origin
    if headers.get("sec-fetch-site") == "cross-site":
        return "another site"
    return None  # no browser said anything: a script, curl or an API client, which holds its own credential


class CrossSiteGuard:
    """ASGI middleware: 403 for a state-changing staff/admin request that a browser sent from another site."""

    def __init__(self, app: ASGIApp, settings: Settings):
        self.app, self.allowed = app, trusted_origins(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and scope["method"] in UNSAFE_METHODS
                and not scope["path"].startswith(PUBLIC_PREFIXES)):
            headers = Headers(scope=scope)
            source = cross_site_source(headers, headers.get("host", ""), self.allowed)
            if source is not None:
                shown = source if _PLAIN_HOST.match(urlsplit(source).netloc or "-") else "another site"
                log.warning("cross-site request refused", extra={"path": scope["path"], "origin": shown[:100]})
                response = JSONResponse({"error": f"cross-site request refused: a page from {shown[:100]} may not "
                                                  "change anything here; add its origin to server.trusted_origins "
                                                  "if it should"}, status_code=403)
                return await response(scope, receive, send)
        await self.app(scope, receive, send)
