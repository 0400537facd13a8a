"""One conversation turn as a stream of typed events; the CLI, the API and the UI all consume it."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Iterator, Union

from .components import Filter, Generator, Memory, Message, Retriever, ScoredChunk
from .stores.analyzer import has_cjk

NO_ANSWER = {
    "en": "Sorry, I could not find this in the knowledge base. Would you like me to hand you over to a human agent?",
    "zh": "抱歉，知识库中没有找到相关内容。需要为您转接人工客服吗？",
}


@dataclass(frozen=True)
class TokenEvent:
    text: str
    type: str = "token"


@dataclass(frozen=True)
class CitationEvent:
    number: int
    source: str
    page: int
    chunk_id: str
    score: float
    snippet: str
    type: str = "citation"


@dataclass(frozen=True)
class DoneEvent:
    answered: bool  # False when the knowledge base held nothing relevant enough
    generator: str
    latency_ms: dict[str, float] = field(default_factory=dict)
    usage: dict[str, int] = field(default_factory=dict)
    session_id: str = ""
    type: str = "done"


Event = Union[TokenEvent, CitationEvent, DoneEvent]


def language(text: str) -> str:
    return "zh" if has_cjk(text) else "en"


def citation(number: int, hit: ScoredChunk, snippet_chars: int = 240) -> CitationEvent:
    text = " ".join(hit.chunk.text.split())
    return CitationEvent(
        number=number,
        source=hit.chunk.source,
        page=hit.chunk.page,
        chunk_id=hit.chunk.id,
        score=round(hit.relevance, 4),
        snippet=text[:snippet_chars] + ("…" if len(text) > snippet_chars else ""),
    )


class ChatEngine:
    """retrieve -> judge relevance -> generate with numbered sources -> remember the turn."""

    def __init__(self, retriever: Retriever, generator: Generator, memory: Memory, min_relevance: float = 0.4):
        self.retriever, self.generator, self.memory = retriever, generator, memory
        self.min_relevance = min_relevance

    def turn(self, message: str, session_id: str | None = None, filter: Filter | None = None) -> Iterator[Event]:
        session_id = session_id or uuid.uuid4().hex
        start = time.perf_counter()
        history = self.memory.load(session_id)
        hits = self.retriever.retrieve(message, filter=filter)
        sources = [h for h in hits if h.relevance >= self.min_relevance]
        retrieved = time.perf_counter()
        latency = {"retrieval": (retrieved - start) * 1000}
        parts: list[str] = []
        if not sources:
            parts.append(NO_ANSWER[language(message)])
            yield TokenEvent(parts[0])
            generator = "none"
        else:
            generator = self.generator.name
            for delta in self.generator.stream(message, sources, history):
                if not parts:
                    latency["first_token"] = (time.perf_counter() - start) * 1000
                parts.append(delta)
                yield TokenEvent(delta)
            answer = "".join(parts)
            for number, hit in enumerate(sources, start=1):
                if f"[{number}]" in answer:
                    yield citation(number, hit)
        latency["total"] = (time.perf_counter() - start) * 1000
        self.memory.append(session_id, [Message("user", message), Message("assistant", "".join(parts))])
        yield DoneEvent(answered=bool(sources), generator=generator, latency_ms=latency, session_id=session_id)
