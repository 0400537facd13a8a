"""The HTTP edge: what every request passes before a route sees it, in one place.

Outermost first: the Host check (origins.py), request ids (accepted only in a safe shape), request metrics and
unhandled errors that leak nothing (here), the cross-site check of staff routes (origins.py), body caps
(bodycap.py); rate limits (limits.py) are spent by the routes themselves.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from .. import metrics
from ..config import Settings

log = logging.getLogger(__name__)
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def request_id(header: str | None) -> str:
    """The client's X-Request-ID when it is a plain token, else a new one: it is echoed into headers and logs."""
    if header and REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex[:16]


def install_edge(app: FastAPI, settings: Settings) -> None:
    """Add the edge middleware to `app` (Starlette runs the last added first)."""
    from .bodycap import BodyCap
    from .limits import RateLimiter
    from .origins import CrossSiteGuard, TrustedHosts, trusted_hosts

    app.state.limiter = RateLimiter(settings.server.rate_limits)
    app.add_middleware(BodyCap, settings=settings)
    app.add_middleware(CrossSiteGuard, settings=settings)

    @app.middleware("http")
    async def edge(request: Request, call_next):
        rid = request_id(request.headers.get("x-request-id"))
        request.state.request_id = rid
        start = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception:
            log.exception("unhandled error", extra={"request_id": rid, "path": request.url.path})
            response = JSONResponse({"error": "internal error", "request_id": rid}, status_code=500)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        if path.startswith(("/api", "/v1", "/metrics")):
            metrics.HTTP_REQUESTS.labels(path, request.method, str(response.status_code)).inc()
            metrics.HTTP_SECONDS.labels(path).observe(time.perf_counter() - start)
        response.headers["X-Request-ID"] = rid
        return response

    app.add_middleware(TrustedHosts, allowed_hosts=trusted_hosts(settings))
