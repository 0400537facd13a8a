"""Answers to repeated questions, per tenant, valid until that tenant's index changes.

The key is the tenant, its index version (a token the manifest renews on every index write, so any added,
changed or deleted document invalidates every answer) and the normalised question with the request's
filter. Kept in process (a bounded LRU with expiry) or in Redis (`cache.url`, shared by app replicas, TTL).
Which turns may be cached at all is chat.py's decision: never a tool turn, a pending offer or question,
a follow-up whose search leaned on the conversation, or an answer that follows a caller's system message.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sqlite3
import threading
import time
import unicodedata
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Protocol

from . import metrics

log = logging.getLogger(__name__)
_SPACE = re.compile(r"\s+")
_EDGE_PUNCTUATION = "?!.,;:。？！，；：…~ \"'“”‘’"


def normalise(question: str) -> str:
    """One form for questions that differ only in case, width, spacing or the punctuation around them."""
    text = unicodedata.normalize("NFKC", question).casefold()
    return _SPACE.sub(" ", text).strip(_EDGE_PUNCTUATION)


@dataclass
class CachedAnswer:
    answer: str
    citations: list[dict] = field(default_factory=list)
    generator: str = ""


class CacheBackend(Protocol):
    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str, ttl_s: float) -> None: ...


class InProcessCache:
    """A least-recently-used map of at most `max_entries`, each expiring `ttl_s` after it was stored."""

    def __init__(self, max_entries: int = 1000):
        self.max_entries = max_entries
        self._items: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if item[0] < time.monotonic():
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return item[1]

    def set(self, key: str, value: str, ttl_s: float) -> None:
        with self._lock:
            self._items[key] = (time.monotonic() + ttl_s, value)
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)


class RedisCache:
    """Entries in Redis with their TTL; an unreachable Redis is a miss (logged), never a failed answer."""

    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)

    def get(self, key: str) -> str | None:
        try:
            value = self.client.get(key)
        except Exception as exc:
            log.warning("answer cache unreachable (%s); answering without it", type(exc).__name__)
            return None
        return value.decode() if value is not None else None

    def set(self, key: str, value: str, ttl_s: float) -> None:
        try:
            self.client.set(key, value, px=int(ttl_s * 1000))
        except Exception as exc:
            log.warning("answer cache unreachable (%s); answer not kept", type(exc).__name__)


class IndexVersion:
    """The index's version token as the manifest keeps it (read-only; a missing manifest is version "empty")."""

    def __init__(self, index_dir: Path | str):
        self.path = Path(index_dir) / "manifest.sqlite"

    def __call__(self) -> str:
        try:
            con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5)
        except sqlite3.OperationalError:
            return "empty"
        try:
            row = con.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        except sqlite3.OperationalError:  # a manifest of an older release, before its first write here
            row = None
        finally:
            con.close()
        return row[0] if row else "empty"


class AnswerCache:
    """One tenant's cached answers over a backend."""

    def __init__(self, backend: CacheBackend, tenant: str, version: Callable[[], str], ttl_s: float = 3600):
        self.backend, self.tenant, self.version, self.ttl_s = backend, tenant, version, ttl_s

    def key(self, question: str, filter: dict | None = None, context: str = "") -> str:
        """`context` holds whatever else shapes the answer (e.g. the enabled plugins)."""
        text = json.dumps([normalise(question), filter or {}, context], sort_keys=True, ensure_ascii=False)
        return f"kl:answer:{self.tenant}:{self.version()}:{hashlib.sha256(text.encode()).hexdigest()[:32]}"

    def get(self, key: str) -> CachedAnswer | None:
        """The answer stored under `key` (from `key()`: take it once per turn, before retrieving, and store the
        answer under that same key, so an answer read from the index as it was is never filed under a newer version)."""
        value = self.backend.get(key)
        metrics.ANSWER_CACHE.labels("hit" if value is not None else "miss").inc()
        if value is None:
            return None
        return CachedAnswer(**json.loads(value))

    def put(self, key: str, answer: CachedAnswer) -> None:
        self.backend.set(key, json.dumps(asdict(answer), ensure_ascii=False), self.ttl_s)


def build_answer_cache(settings, tenant: str) -> AnswerCache | None:
    """The tenant's answer cache as `settings.cache` describes it (None when it is off)."""
    cache = settings.cache
    if not cache.enabled:
        return None
    backend = RedisCache(cache.url) if cache.url else InProcessCache(cache.max_entries)
    return AnswerCache(backend, tenant, IndexVersion(settings.paths.index), cache.ttl_s)
