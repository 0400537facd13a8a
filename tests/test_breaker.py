"""The circuit breaker on its own (with a hand-driven clock) and around the real order plugin and demo orders API."""

from __future__ import annotations

import logging
import time

from prometheus_client import REGISTRY

from kotaemon_like.tools import CircuitBreaker

from .conftest import wait_until
from .tool_fixtures import make_toolbox, orders_server, simple_plugin, write_plugin  # noqa: F401

ORDER = {"order_id": "12345"}


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def alerts(caplog, plugin: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno == logging.WARNING and getattr(r, "alert", "") == "tool_breaker_open" and r.plugin == plugin]


# -- the state machine ---------------------------------------------------------------------------

def test_opens_after_threshold_then_one_probe_after_cooldown(caplog):
    clock = Clock()
    breaker = CircuitBreaker("unit_a", failure_threshold=3, cooldown_s=10, clock=clock)
    for i in range(2):
        assert breaker.allow()
        breaker.record_failure(f"boom {i}")
    assert breaker.state == "closed"
    assert breaker.allow()
    with caplog.at_level(logging.WARNING):
        breaker.record_failure("boom 2")
    assert breaker.state == "open" and not breaker.allow()
    assert sample("kl_tool_breaker_state", plugin="unit_a") == 1
    (alert,) = alerts(caplog, "unit_a")
    assert "unit_a" in alert.getMessage() and "boom 2" in alert.getMessage() and alert.last_error == "boom 2"

    clock.now += 9.9
    assert not breaker.allow() and 0 < breaker.retry_in_s() < 0.11
    clock.now += 0.1
    assert breaker.state == "half-open"
    assert sample("kl_tool_breaker_state", plugin="unit_a") == 2
    assert breaker.allow()  # the one probe
    assert not breaker.allow()  # everyone else waits for its outcome
    breaker.record_success()
    assert breaker.state == "closed" and breaker.allow()
    assert sample("kl_tool_breaker_state", plugin="unit_a") == 0


def test_failed_probe_opens_again_with_a_new_alert(caplog):
    clock = Clock()
    breaker = CircuitBreaker("unit_b", failure_threshold=2, cooldown_s=5, clock=clock)
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            breaker.allow()
            breaker.record_failure("down")
        clock.now += 5
        assert breaker.allow()
        breaker.record_failure("still down")
    assert breaker.state == "open" and not breaker.allow()
    assert len(alerts(caplog, "unit_b")) == 2
    clock.now += 4.9
    assert not breaker.allow()  # the cooldown restarted at the failed probe


def test_a_success_resets_the_count_and_late_results_do_not_move_an_open_breaker():
    clock = Clock()
    breaker = CircuitBreaker("unit_c", failure_threshold=3, cooldown_s=5, clock=clock)
    for outcome in ["fail", "fail", "ok", "fail", "fail"]:
        breaker.allow()
        breaker.record_failure("x") if outcome == "fail" else breaker.record_success()
    assert breaker.state == "closed" and breaker.consecutive_failures == 2
    breaker.record_failure("x")
    assert breaker.state == "open"
    breaker.record_success()  # a slow call that began before the breaker opened
    clock.now += 3
    breaker.record_failure("late")  # must not restart the cooldown
    clock.now += 2
    assert breaker.state == "half-open"


# -- around the order plugin and the real demo orders API ------------------------------------------

def test_service_errors_open_the_breaker_and_the_fourth_call_is_not_made(make_toolbox, orders_server, caplog):
    box = make_toolbox(breaker={"failure_threshold": 3, "cooldown_s": 30}, stale_results=False)
    orders_server.set_faults(failure_rate=1.0)
    skips_before = sample("kl_tool_skips_total", plugin="order_status")
    failures_before = sample("kl_tool_failures_total", plugin="order_status", kind="error")
    with caplog.at_level(logging.WARNING):
        results = [box.call("order_status", ORDER) for _ in range(3)]
    assert [r.status for r in results] == ["failed"] * 3
    assert orders_server.order_requests() == 3
    assert box.status()["order_status"].state == "open"
    assert "500" in box.status()["order_status"].last_error

    start = time.perf_counter()
    fourth = box.call("order_status", ORDER)
    assert time.perf_counter() - start < 0.4  # not made, so not even close to a timeout (the request count below proves it)
    assert fourth.status == "skipped-open" and fourth.stale is False
    assert "order lookup is unavailable right now" in fourth.message
    assert orders_server.order_requests() == 3  # the open breaker did not let the call through
    (alert,) = alerts(caplog, "order_status")
    assert "order_status" in alert.getMessage() and "500" in alert.getMessage()
    assert sample("kl_tool_breaker_state", plugin="order_status") == 1
    assert sample("kl_tool_skips_total", plugin="order_status") == skips_before + 1
    assert sample("kl_tool_failures_total", plugin="order_status", kind="error") == failures_before + 3
    assert [t["function"]["name"] for t in box.openai_tools()] == ["create_ticket", "handoff_to_human"]


def test_a_hanging_service_times_out_within_the_timeout(make_toolbox, orders_server):
    box = make_toolbox(timeout_s=0.5)
    orders_server.set_faults(hang=True)
    start = time.perf_counter()
    result = box.call("order_status", ORDER)
    elapsed = time.perf_counter() - start
    # the hang never ends on its own: returning at all, at the 0.5 s timeout and not before, is the feature;
    # the upper bound leaves a busy machine time to schedule the return
    assert result.status == "timeout" and 0.45 < elapsed < 5.0
    assert result.latency_ms >= 450
    assert box.status()["order_status"].last_error.startswith("timeout")
    assert box.status()["order_status"].consecutive_failures == 1
    assert orders_server.order_requests() == 1
    orders_server.set_faults(hang=False)


def test_cooldown_then_half_open_probe_then_closed(make_toolbox, orders_server):
    box = make_toolbox(breaker={"failure_threshold": 3, "cooldown_s": 0.3})
    orders_server.set_faults(failure_rate=1.0)
    for _ in range(3):
        box.call("order_status", ORDER)
    assert box.call("order_status", ORDER).status == "skipped-open"
    orders_server.set_faults(failure_rate=0.0)
    wait_until(lambda: box.status()["order_status"].state == "half-open", 2, 0.02, "the cooldown to pass")
    assert sample("kl_tool_breaker_state", plugin="order_status") == 2
    probe = box.call("order_status", ORDER)
    assert probe.status == "ok" and "DHL" in probe.message
    assert box.status()["order_status"].state == "closed"
    assert sample("kl_tool_breaker_state", plugin="order_status") == 0
    assert orders_server.order_requests() == 4  # 3 failures + the probe; the skipped call never left


def test_a_failed_probe_opens_the_breaker_again(make_toolbox, orders_server):
    box = make_toolbox(breaker={"failure_threshold": 2, "cooldown_s": 0.2})
    orders_server.set_faults(failure_rate=1.0)
    for _ in range(2):
        box.call("order_status", ORDER)
    wait_until(lambda: box.status()["order_status"].state == "half-open", 2, 0.02, "the cooldown to pass")
    assert box.call("order_status", ORDER).status == "failed"
    assert box.status()["order_status"].state == "open"
    assert box.call("order_status", ORDER).status == "skipped-open"
    assert orders_server.order_requests() == 3


def test_stale_result_is_returned_marked_stale_while_failing(make_toolbox, orders_server):
    box = make_toolbox(breaker={"failure_threshold": 2, "cooldown_s": 30})
    fresh = box.call("order_status", ORDER)
    assert fresh.status == "ok" and not fresh.stale
    orders_server.set_faults(failure_rate=1.0)
    failed = box.call("order_status", ORDER)
    assert failed.status == "failed" and failed.stale
    assert "unavailable right now" in failed.message and fresh.message in failed.message
    box.call("order_status", ORDER)
    skipped = box.call("order_status", ORDER)
    assert skipped.status == "skipped-open" and skipped.stale and fresh.message in skipped.message
    other = box.call("order_status", {"order_id": "12346"})  # never looked up: nothing stale to offer
    assert other.status == "skipped-open" and not other.stale


def test_a_hung_sync_plugin_never_hangs_the_caller(make_toolbox, tmp_path):
    folder = tmp_path / "plugins"
    write_plugin(folder, "sleepy.py", '''
        import time
        from kotaemon_like.tools import ToolPlugin

        class Sleepy(ToolPlugin):
            name = "sleepy"
            description = "Never answers."
            timeout_s = 0.3

            def run(self) -> str:
                time.sleep(60)
                return "too late"
    ''')
    box = make_toolbox(folder, breaker={"failure_threshold": 2, "cooldown_s": 30})
    timings, statuses = [], []
    for _ in range(3):
        start = time.perf_counter()
        statuses.append(box.call("sleepy").status)
        timings.append(time.perf_counter() - start)
    assert statuses == ["timeout", "timeout", "skipped-open"]
    # the plugin sleeps 60 s: the first two return at the 0.3 s timeout (bound loose for a busy machine),
    # the third is skipped before any timeout could run
    assert max(timings[:2]) < 5.0 and timings[2] < 0.25
    assert sample("kl_tool_failures_total", plugin="sleepy", kind="timeout") >= 2


def test_error_results_and_bad_return_values_count_as_failures(make_toolbox, tmp_path):
    folder = tmp_path / "plugins"
    write_plugin(folder, "flaky.py", '''
        from kotaemon_like.tools import ToolOutput, ToolPlugin

        class Flaky(ToolPlugin):
            name = "flaky"
            description = "Reports an error result."

            async def run(self, mode: str) -> ToolOutput:
                if mode == "error":
                    return ToolOutput("backend said no", ok=False)
                if mode == "wrong":
                    return 42
                return ToolOutput("fine")
    ''')
    box = make_toolbox(folder, breaker={"failure_threshold": 3, "cooldown_s": 30})
    assert box.call("flaky", {"mode": "ok"}).message == "fine"
    assert box.call("flaky", {"mode": "error"}).status == "failed"
    assert "backend said no" in box.status()["flaky"].last_error
    assert box.call("flaky", {"mode": "wrong"}).status == "failed"
    assert "return a str or a ToolOutput" in box.status()["flaky"].last_error
    box.call("flaky", {"mode": "error"})
    assert box.status()["flaky"].state == "open"
