"""Conversation memory in Redis: survives app restarts and is shared by app replicas."""

from __future__ import annotations

import json
from typing import Iterable

import redis
from pydantic import Field

from ..components import Message
from .base import MemoryParams, with_summary


class RedisMemory:
    """A Redis list of messages per session (trimmed to the window) plus a summary key, both with a TTL."""

    class Params(MemoryParams):
        url: str = "redis://localhost:6379/0"
        prefix: str = Field("kl:memory", min_length=1)

    def __init__(self, params: Params | None = None):
        self.params = params or self.Params()
        self._client = redis.Redis.from_url(self.params.url, decode_responses=True, socket_connect_timeout=2,
                                            socket_timeout=5)

    def _keys(self, session_id: str) -> tuple[str, str]:
        base = f"{self.params.prefix}:{session_id}"
        return base + ":messages", base + ":summary"

    def load(self, session_id: str) -> list[Message]:
        messages_key, summary_key = self._keys(session_id)
        pipe = self._client.pipeline()
        pipe.lrange(messages_key, 0, -1)
        pipe.get(summary_key)
        raw, summary = pipe.execute()
        return with_summary(summary or "", [Message(**json.loads(m)) for m in raw])

    def append(self, session_id: str, messages: Iterable[Message]) -> list[Message]:
        messages_key, summary_key = self._keys(session_id)
        encoded = [json.dumps({"role": m.role, "content": m.content}, ensure_ascii=False) for m in messages]
        keep = 2 * self.params.turns
        ttl = int(self.params.ttl_s)
        pipe = self._client.pipeline(transaction=True)
        if encoded:
            pipe.rpush(messages_key, *encoded)
        pipe.lrange(messages_key, 0, -keep - 1)  # what falls out of the window
        pipe.ltrim(messages_key, -keep, -1)
        pipe.expire(messages_key, ttl)
        pipe.expire(summary_key, ttl)
        results = pipe.execute()
        dropped = results[1 if encoded else 0]
        return [Message(**json.loads(m)) for m in dropped]

    def summary(self, session_id: str) -> str:
        return self._client.get(self._keys(session_id)[1]) or ""

    def set_summary(self, session_id: str, text: str) -> None:
        self._client.set(self._keys(session_id)[1], text, ex=int(self.params.ttl_s))

    def clear(self, session_id: str) -> None:
        self._client.delete(*self._keys(session_id))

    def ping(self) -> bool:
        try:
            return bool(self._client.ping())
        except redis.exceptions.RedisError:
            return False
