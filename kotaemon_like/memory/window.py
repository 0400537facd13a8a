"""In-process conversation memory: the last N turns per session, forgotten after a TTL."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Iterable

from pydantic import Field

from ..components import Message
from .base import MemoryParams, with_summary


@dataclass
class _Session:
    seen: float
    messages: list[Message] = field(default_factory=list)
    summary: str = ""


class WindowMemory:
    """Keeps the last `turns` user/assistant pairs of each session for `ttl_s` seconds of inactivity."""

    class Params(MemoryParams):
        max_sessions: int = Field(10_000, gt=0)

    def __init__(self, params: Params | None = None):
        self.params = params or self.Params()
        self._sessions: OrderedDict[str, _Session] = OrderedDict()
        self._lock = threading.Lock()

    def _expire(self, now: float) -> None:
        while self._sessions:
            oldest, session = next(iter(self._sessions.items()))
            if now - session.seen <= self.params.ttl_s and len(self._sessions) <= self.params.max_sessions:
                break
            del self._sessions[oldest]

    def _session(self, session_id: str) -> _Session:
        now = time.monotonic()
        self._expire(now)
        session = self._sessions.pop(session_id, None) or _Session(now)
        session.seen = now
        self._sessions[session_id] = session
        return session

    def load(self, session_id: str) -> list[Message]:
        with self._lock:
            session = self._session(session_id)
            return with_summary(session.summary, list(session.messages))

    def append(self, session_id: str, messages: Iterable[Message]) -> list[Message]:
        with self._lock:
            session = self._session(session_id)
            session.messages.extend(messages)
            keep = 2 * self.params.turns
            dropped, session.messages = session.messages[:-keep], session.messages[-keep:]
            return dropped

    def summary(self, session_id: str) -> str:
        with self._lock:
            return self._session(session_id).summary

    def set_summary(self, session_id: str, text: str) -> None:
        with self._lock:
            self._session(session_id).summary = text

    def clear(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)
