"""A circuit breaker per plugin kept in Redis, so every app replica sees the same one.

The state machine is `breaker.CircuitBreaker`'s; each step is one Lua script (atomic on the server, timed by
the server's clock, so replicas with skewed clocks agree). The single half-open probe is a `SET NX PX` key:
one replica wins it, and it expires if that replica dies mid-probe. When Redis cannot be reached the
breaker falls back to one in this process, so a Redis outage never blocks a tool call.
"""

from __future__ import annotations

import logging
import uuid

import redis

from ..config import BreakerSettings
from .breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker, log_opened, log_recovered, set_gauge

log = logging.getLogger(__name__)

_NOW = "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)"

# KEYS: hash, probe; ARGV: cooldown_ms, probe token, probe lease ms -> 1 allowed, 0 not
_ALLOW = _NOW + """
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if state == 'closed' then return 1 end
if state == 'open' then
  local opened = tonumber(redis.call('HGET', KEYS[1], 'opened_at') or '0')
  if now - opened < tonumber(ARGV[1]) then return 0 end
  redis.call('HSET', KEYS[1], 'state', 'half-open')
end
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then return 1 end
return 0
"""

# KEYS: hash, probe -> 1 when this success closed a half-open breaker
_SUCCESS = """
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if state == 'open' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'closed', 'failures', 0)
redis.call('DEL', KEYS[2])
if state == 'half-open' then return 1 end
return 0
"""

# KEYS: hash, probe; ARGV: threshold, error -> {opened (0/1), failures, state before}
_FAILURE = _NOW + """
redis.call('HSET', KEYS[1], 'last_error', ARGV[2])
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if state == 'open' then return {0, 0, state} end
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
if state == 'closed' and failures < tonumber(ARGV[1]) then return {0, failures, state} end
redis.call('HSET', KEYS[1], 'state', 'open', 'opened_at', now)
redis.call('DEL', KEYS[2])
return {1, failures, state}
"""

# KEYS: hash; ARGV: cooldown_ms -> {state as seen now, failures, ms until the probe, last error}
_READ = _NOW + """
local v = redis.call('HMGET', KEYS[1], 'state', 'failures', 'opened_at', 'last_error')
local state = v[1] or 'closed'
local retry = -1
if state == 'open' then
  retry = tonumber(v[3] or '0') + tonumber(ARGV[1]) - now
  if retry <= 0 then state = 'half-open' retry = -1 end
end
return {state, tonumber(v[2] or '0'), retry, v[4] or ''}
"""


class RedisCircuitBreaker:
    """`CircuitBreaker`'s behaviour with its state in Redis under `<prefix>:<plugin>`, shared by all replicas."""

    def __init__(self, name: str, settings: BreakerSettings, client: redis.Redis | None = None):
        self.name, self.failure_threshold, self.cooldown_s = name, settings.failure_threshold, settings.cooldown_s
        self._client = client or redis.Redis.from_url(settings.url, decode_responses=True, socket_connect_timeout=2,
                                                      socket_timeout=2)
        self._keys = [f"{settings.prefix}:{name}", f"{settings.prefix}:{name}:probe"]
        self._cooldown_ms = int(settings.cooldown_s * 1000)
        self._scripts = {k: self._client.register_script(v) for k, v in
                         (("allow", _ALLOW), ("success", _SUCCESS), ("failure", _FAILURE), ("read", _READ))}
        self._local = CircuitBreaker.from_settings(name, settings)  # used only while Redis is unreachable
        self._redis_down = False

    def _run(self, script: str, keys: list[str], args: list):
        """The script's result, or None (and one WARNING per outage) when Redis cannot be reached."""
        try:
            result = self._scripts[script](keys=keys, args=args)
        except redis.exceptions.RedisError as exc:
            if not self._redis_down:
                log.warning("circuit breaker of tool %s cannot reach Redis (%s); using this process's breaker until it is back",
                            self.name, type(exc).__name__, extra={"plugin": self.name})
            self._redis_down = True
            return None
        if self._redis_down:
            log.info("circuit breaker of tool %s reaches Redis again", self.name, extra={"plugin": self.name})
        self._redis_down = False
        return result

    def _read(self) -> tuple[str, int, float | None, str | None] | None:
        result = self._run("read", self._keys[:1], [self._cooldown_ms])
        if result is None:
            return None
        state, failures, retry_ms, error = result
        set_gauge(self.name, state)
        return state, int(failures), None if int(retry_ms) < 0 else int(retry_ms) / 1000, error or None

    @property
    def state(self) -> str:
        seen = self._read()
        return self._local.state if seen is None else seen[0]

    @property
    def consecutive_failures(self) -> int:
        seen = self._read()
        return self._local.consecutive_failures if seen is None else seen[1]

    @property
    def last_error(self) -> str | None:
        seen = self._read()
        return self._local.last_error if seen is None else seen[3]

    def retry_in_s(self) -> float | None:
        seen = self._read()
        return self._local.retry_in_s() if seen is None else seen[2]

    def allow(self) -> bool:
        """May a call go through now? In half-open, one caller across all replicas gets True."""
        # the probe lease outlives any tool call (bounded by its timeout); a replica dying mid-probe frees it then
        lease_ms = max(self._cooldown_ms, 1000)
        result = self._run("allow", self._keys, [self._cooldown_ms, uuid.uuid4().hex, lease_ms])
        return self._local.allow() if result is None else bool(result)

    def record_success(self) -> None:
        result = self._run("success", self._keys, [])
        if result is None:
            self._local.record_success()
            return
        if result:  # a half-open breaker closed; otherwise nothing moved
            set_gauge(self.name, CLOSED)
            log_recovered(self.name)

    def record_failure(self, error: str) -> None:
        result = self._run("failure", self._keys, [self.failure_threshold, error[:500]])
        if result is None:
            self._local.record_failure(error)
            return
        opened, failures, before = int(result[0]), int(result[1]), result[2]
        if opened:
            set_gauge(self.name, OPEN)
            why = "the half-open probe failed" if before == HALF_OPEN else f"{failures} consecutive failures"
            log_opened(self.name, why, self.cooldown_s, error, failures)
