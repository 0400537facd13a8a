"""A circuit breaker per plugin: stop calling a failing service, probe it again after a cooldown."""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from .. import metrics
from ..config import BreakerSettings

log = logging.getLogger(__name__)

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"
_GAUGE = {CLOSED: 0, OPEN: 1, HALF_OPEN: 2}


class CircuitBreaker:
    """closed -> open after `failure_threshold` straight failures -> after `cooldown_s` one half-open probe
    -> closed if it succeeds, open again if it fails. Thread-safe."""

    def __init__(
        self,
        name: str,
        failure_threshold: int = 3,
        cooldown_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.name, self.failure_threshold, self.cooldown_s = name, failure_threshold, cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False  # the single half-open probe is in flight
        self.last_error: str | None = None
        set_gauge(name, CLOSED)

    @classmethod
    def from_settings(cls, name: str, settings: BreakerSettings, clock: Callable[[], float] = time.monotonic) -> "CircuitBreaker":
        return cls(name, settings.failure_threshold, settings.cooldown_s, clock)

    @property
    def state(self) -> str:
        with self._lock:
            self._refresh()
            return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def retry_in_s(self) -> float | None:
        """Seconds until the half-open probe is allowed, while open."""
        with self._lock:
            self._refresh()
            if self._state != OPEN:
                return None
            return max(0.0, self._opened_at + self.cooldown_s - self._clock())

    def allow(self) -> bool:
        """May a call go through now? In half-open, only one caller gets True until its outcome is recorded."""
        with self._lock:
            self._refresh()
            if self._state == CLOSED:
                return True
            if self._state == HALF_OPEN and not self._probing:
                self._probing = True
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            if self._state == OPEN:
                return  # a slow call that started before the breaker opened; the probe decides
            recovered = self._state == HALF_OPEN
            self._failures, self._probing = 0, False
            self._set(CLOSED)
        if recovered:
            log_recovered(self.name)

    def record_failure(self, error: str) -> None:
        with self._lock:
            self.last_error = error
            if self._state == OPEN:
                return  # already open: a late failure must not extend the cooldown
            self._failures += 1
            if self._state == CLOSED and self._failures < self.failure_threshold:
                return
            why = "the half-open probe failed" if self._state == HALF_OPEN else f"{self._failures} consecutive failures"
            self._probing = False
            self._opened_at = self._clock()
            self._set(OPEN)
            failures = self._failures
        log_opened(self.name, why, self.cooldown_s, error, failures)

    def _refresh(self) -> None:
        # open -> half-open happens lazily, when someone looks after the cooldown
        if self._state == OPEN and self._clock() - self._opened_at >= self.cooldown_s:
            self._set(HALF_OPEN)

    def _set(self, state: str) -> None:
        if state != self._state:
            self._state = state
            set_gauge(self.name, state)


def log_recovered(name: str) -> None:
    log.info("tool %s recovered; circuit breaker closed", name, extra={"plugin": name})


def log_opened(name: str, why: str, cooldown_s: float, error: str, failures: int) -> None:
    # one alert line per opening: the plugin, why, and for how long calls are skipped
    log.warning(
        "alert: tool %s circuit breaker opened after %s; calls skipped for %gs; last error: %s",
        name, why, cooldown_s, error,
        extra={"alert": "tool_breaker_open", "plugin": name, "failures": failures, "last_error": error},
    )


def set_gauge(name: str, state: str) -> None:
    metrics.TOOL_BREAKER_STATE.labels(name).set(_GAUGE[state])


def make_breaker(name: str, settings: BreakerSettings):
    """The breaker `tools.breaker` asks for: in this process, or shared by every replica through Redis (`url`)."""
    if settings.url:
        from .breaker_redis import RedisCircuitBreaker

        return RedisCircuitBreaker(name, settings)
    return CircuitBreaker.from_settings(name, settings)
