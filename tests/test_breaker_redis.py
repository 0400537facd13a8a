"""The circuit breaker kept in Redis: two Toolboxes (two replicas) around the real demo orders API see one
breaker per plugin, one half-open probe at a time across them, and a Redis outage never blocks a call."""

from __future__ import annotations

import logging
import time

import pytest

from kotaemon_like.config import BreakerSettings
from kotaemon_like.tools.breaker_redis import RedisCircuitBreaker

from .conftest import wait_until
from .tool_fixtures import make_toolbox, orders_server  # noqa: F401

ORDER = {"order_id": "12345"}


def shared(redis_server, **settings) -> BreakerSettings:
    return BreakerSettings(url=redis_server.url, **{"failure_threshold": 3, "cooldown_s": 30, **settings})


def test_a_plugin_failing_on_one_replica_opens_the_breaker_the_other_sees(make_toolbox, orders_server, redis_server, caplog):
    breaker = shared(redis_server)
    a = make_toolbox(breaker=breaker.model_dump(), stale_results=False)
    b = make_toolbox(breaker=breaker.model_dump(), stale_results=False)
    orders_server.set_faults(failure_rate=1.0)
    with caplog.at_level(logging.WARNING):
        assert a.call("order_status", ORDER).status == "failed"
        assert b.call("order_status", ORDER).status == "failed"  # the count is shared: 2 of 3
        assert b.status()["order_status"].consecutive_failures == 2
        assert a.call("order_status", ORDER).status == "failed"
    assert orders_server.order_requests() == 3
    opened = [r for r in caplog.records if getattr(r, "alert", "") == "tool_breaker_open"]
    assert len(opened) == 1 and "3 consecutive failures" in opened[0].getMessage()
    status = b.status()["order_status"]
    assert status.state == "open" and 20 < status.retry_in_s <= 30 and status.last_error  # timed by Redis, from the opening
    result = b.call("order_status", ORDER)  # B never failed itself, yet does not call the dead service
    assert result.status == "skipped-open" and orders_server.order_requests() == 3


def test_one_probe_across_replicas_then_closed_for_both(make_toolbox, orders_server, redis_server):
    settings = shared(redis_server, failure_threshold=1, cooldown_s=0.5)
    a, b = RedisCircuitBreaker("probe_unit", settings), RedisCircuitBreaker("probe_unit", settings)
    a.record_failure("down")
    wait_until(lambda: b.state == "half-open", 5, every_s=0.05, what="half-open after the cooldown")
    assert a.allow()  # A's call is the one probe
    assert not b.allow() and not a.allow()  # everyone else, on any replica, waits for its outcome
    a.record_success()
    assert a.state == b.state == "closed" and b.allow()

    # around the real service: the first call after the cooldown, on either replica, closes it for both
    boxes = shared(redis_server, failure_threshold=1, cooldown_s=3).model_dump()  # time for the HTTP calls below
    box_a, box_b = (make_toolbox(breaker=boxes, stale_results=False) for _ in range(2))
    orders_server.set_faults(failure_rate=1.0)
    box_a.call("order_status", ORDER)
    assert box_b.status()["order_status"].state == "open"
    orders_server.set_faults(failure_rate=0.0)
    calls = orders_server.order_requests()
    assert box_b.call("order_status", ORDER).status == "skipped-open" and orders_server.order_requests() == calls
    wait_until(lambda: box_b.status()["order_status"].state == "half-open", 10, every_s=0.1, what="half-open")
    assert box_b.call("order_status", ORDER).status == "ok"
    assert box_a.status()["order_status"].state == "closed" and orders_server.order_requests() == calls + 1


def test_a_dead_probe_owner_frees_the_probe_after_its_lease(redis_server):
    settings = shared(redis_server, failure_threshold=1, cooldown_s=0.3)
    a, b = RedisCircuitBreaker("lease", settings), RedisCircuitBreaker("lease", settings)
    a.record_failure("down")
    time.sleep(0.35)
    assert a.allow()  # A takes the probe and "dies": it never records an outcome
    assert not b.allow()
    wait_until(lambda: b.allow(), 3, every_s=0.05, what="the probe lease to expire")  # lease: max(cooldown, 1 s)


def test_redis_down_falls_back_to_this_process_breaker(redis_server, caplog):
    breaker = RedisCircuitBreaker("fallback", shared(redis_server, failure_threshold=2))
    breaker.record_failure("one")
    redis_server.stop()
    with caplog.at_level(logging.WARNING):
        assert breaker.allow() and breaker.state == "closed"
        breaker.record_failure("a")
        breaker.record_failure("b")
        assert breaker.state == "open" and not breaker.allow()  # the local breaker protects meanwhile
    warnings = [r for r in caplog.records if "cannot reach Redis" in r.getMessage()]
    assert len(warnings) == 1 and "fallback" in warnings[0].getMessage()


def test_the_config_selects_the_breaker_like_memory_and_rejects_bad_keys():
    from kotaemon_like.config import ToolsSettings
    from kotaemon_like.tools.breaker import CircuitBreaker, make_breaker

    assert isinstance(make_breaker("x", ToolsSettings().breaker), CircuitBreaker)
    assert isinstance(make_breaker("x", BreakerSettings(url="redis://127.0.0.1:1/0")), RedisCircuitBreaker)
    with pytest.raises(ValueError):
        BreakerSettings(url="redis://x", prefix="")



def test_each_tenant_has_its_own_breakers(redis_server):
    from kotaemon_like.config import Settings, ToolsSettings
    from kotaemon_like.tenants.runtime import tenant_settings
    from kotaemon_like.tools.breaker import make_breaker

    settings = Settings(tools=ToolsSettings(breaker=shared(redis_server, failure_threshold=1)))
    acme, globex = (make_breaker("order_status", tenant_settings(settings, t).tools.breaker) for t in ("acme", "globex"))
    default = make_breaker("order_status", tenant_settings(settings, "default").tools.breaker)
    acme.record_failure("acme's order service is down")
    assert acme.state == "open" and globex.state == "closed" and default.state == "closed"
