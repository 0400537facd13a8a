"""In-process conversation memory: the last N turns per session, forgotten after a TTL."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Iterable

from pydantic import BaseModel, ConfigDict, Field

from ..components import Message


class WindowMemory:
    """Keeps the last `turns` user/assistant pairs of each session for `ttl_s` seconds of inactivity."""

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        turns: int = Field(6, gt=0)
        ttl_s: float = Field(3600, gt=0)
        max_sessions: int = Field(10_000, gt=0)

    def __init__(self, params: Params | None = None):
        self.params = params or self.Params()
        self._sessions: OrderedDict[str, tuple[float, list[Message]]] = OrderedDict()
        self._lock = threading.Lock()

    def _expire(self, now: float) -> None:
        while self._sessions:
            oldest, (seen, _) = next(iter(self._sessions.items()))
            if now - seen <= self.params.ttl_s and len(self._sessions) <= self.params.max_sessions:
                break
            del self._sessions[oldest]

    def load(self, session_id: str) -> list[Message]:
        with self._lock:
            self._expire(time.monotonic())
            entry = self._sessions.get(session_id)
            return list(entry[1]) if entry else []

    def append(self, session_id: str, messages: Iterable[Message]) -> None:
        with self._lock:
            now = time.monotonic()
            history = self._sessions.pop(session_id, (now, []))[1] + list(messages)
            self._sessions[session_id] = (now, history[-2 * self.params.turns :])
            self._expire(now)

    def clear(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)
