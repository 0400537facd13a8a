"""Rate limits per client address and per credential (the `limits` library): 429 with Retry-After.

Counters live in `server.rate_limits.storage`: memory:// in one process, redis:// when app replicas share them.
Which limits exist and their rates are config (`server.rate_limits`); routes name the ones they spend.
"""

from __future__ import annotations

import logging
import math
import time

from fastapi import HTTPException, Request
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

from .. import metrics
from ..config import RateLimits

log = logging.getLogger(__name__)
WHO = {"ip": "client address", "key": "key"}


class RateLimiter:
    """The configured limits over one storage; `retry_after` tells how long a refused caller must wait."""

    def __init__(self, settings: RateLimits):
        self.settings = settings
        self.storage = storage_from_string(settings.storage)
        strategy = MovingWindowRateLimiter if settings.strategy == "moving-window" else FixedWindowRateLimiter
        self.strategy = strategy(self.storage)
        self.items: dict[str, RateLimitItem] = {
            name: parse(value) for name in type(settings).model_fields
            if name.endswith(("_per_ip", "_per_key")) and (value := getattr(settings, name))
        }

    def retry_after(self, name: str, identity: str) -> int | None:
        """Spend one request of limit `name` for `identity`; None when allowed, else whole seconds to wait."""
        item = self.items.get(name)
        if item is None:
            return None
        try:
            if self.strategy.hit(item, name, identity):
                return None
            reset = self.strategy.get_window_stats(item, name, identity).reset_time
        except Exception as exc:  # the shared storage is down: serve rather than refuse everyone
            log.warning("rate limit storage unreachable (%s); request allowed", type(exc).__name__)
            return None
        return max(1, math.ceil(reset - time.time()))


def identity(request: Request, name: str) -> str:
    """The client address for `*_per_ip` limits; the tenant and the key (its id, never the secret) for `*_per_key`."""
    if name.endswith("_per_ip"):
        return request.client.host if request.client else "unknown"
    from .tenancy import caller  # resolved once per request, shared with the route

    who = caller(request)
    return f"{who.tenant.id}:{who.key_id or who.kind}"


def enforce(request: Request, *names: str) -> None:
    """Spend one request of each named limit; HTTPException 429 with Retry-After when one is used up."""
    limiter: RateLimiter | None = getattr(request.app.state, "limiter", None)
    if limiter is None:
        return
    for name in names:
        wait = limiter.retry_after(name, identity(request, name))
        if wait is not None:
            route = getattr(request.scope.get("route"), "path", request.url.path)
            metrics.RATE_LIMITED.labels(route).inc()
            who = WHO[name.rsplit("_", 1)[-1]]
            raise HTTPException(429, detail=f"too many requests: {limiter.items[name]} per {who} "
                                            f"(server.rate_limits.{name}); retry in {wait} s",
                                headers={"Retry-After": str(wait)})


def limited(*names: str):
    """A route dependency spending the named limits."""

    def dependency(request: Request) -> None:
        enforce(request, *names)

    return dependency
