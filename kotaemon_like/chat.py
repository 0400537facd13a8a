"""One conversation turn as a stream of typed events; the CLI, the API and the UI all consume it."""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Iterator, Union

from . import metrics
from .answer_cache import CachedAnswer
from .components import Filter, GenerationInfo, Generator, Memory, Message, Retriever, ScoredChunk
from .generators.citations import CitationFilter
from .memory.summary import summarize
from .retrievers.continuation import SectionContinuation
from .retrievers.followup import heuristic_query, rewrite_query
from .retrievers.gate import RelevanceGate
from .stores.analyzer import has_cjk
from .tool_calls import ToolCalls, ToolTurn, tool_text
from .tools.offers import offer, offered

log = logging.getLogger(__name__)

NO_ANSWER = {  # ends with the hand-off offer, so a "yes" on the next turn is recognised from the transcript
    "en": f"Sorry, I could not find this in the knowledge base. {offer('handoff_to_human', 'en')}",
    "zh": f"抱歉，知识库中没有找到相关内容。{offer('handoff_to_human', 'zh')}",
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
class ToolEvent:
    """A plugin call made for this turn."""

    name: str
    arguments: dict
    status: str  # ok | failed | skipped-open | timeout | needs-input
    latency_ms: float
    message: str = ""  # what the customer is told about it (result summary or why it is unavailable)
    stale: bool = False  # a previous good result reused while the plugin is failing
    type: str = "tool"


@dataclass(frozen=True)
class DoneEvent:
    answered: bool  # False when the knowledge base held nothing relevant enough
    generator: str
    latency_ms: dict[str, float] = field(default_factory=dict)
    usage: dict[str, int] = field(default_factory=dict)
    session_id: str = ""
    failed_generators: list[str] = field(default_factory=list)  # fallback chain members that failed first
    query: str = ""  # what was searched (the follow-up rewritten with the conversation's subject)
    cached: bool = False  # the answer came from the answer cache (a repeated question, the index unchanged)
    type: str = "done"


Event = Union[TokenEvent, CitationEvent, ToolEvent, DoneEvent]


@dataclass
class TurnRecord:
    """What a turn said, gathered from its events as they pass (for JSON answers and transcripts)."""

    parts: list[str] = field(default_factory=list)
    citations: list[dict] = field(default_factory=list)
    tools: list[dict] = field(default_factory=list)
    done: DoneEvent | None = None

    def add(self, event) -> bool:
        """Keep a turn event; False for any other event."""
        if isinstance(event, TokenEvent):
            self.parts.append(event.text)
        elif isinstance(event, CitationEvent):
            self.citations.append(dataclasses.asdict(event))
        elif isinstance(event, ToolEvent):
            self.tools.append(dataclasses.asdict(event))
        elif isinstance(event, DoneEvent):
            self.done = event
        else:
            return False
        return True

    @property
    def answer(self) -> str:
        return "".join(self.parts)


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
    """memory -> follow-up query -> retrieve -> relevance gate -> generate with numbered sources -> remember."""

    def __init__(
        self,
        retriever: Retriever,
        generator: Generator,
        memory: Memory,
        min_relevance: float = 0.4,
        llm=None,  # an LLM generator for query rewriting, summaries and tool calling, when one is configured
        summarize_memory: bool = False,
        toolbox=None,  # tools.Toolbox: plugins behind circuit breakers
        pending=None,  # tool_calls.PendingQuestions: where a question asked by a plugin waits (default: in process)
        conversations=None,  # what plugins reach as ToolContext.conversations (hand-off queue, tickets)
        gate: RelevanceGate | None = None,  # decides when the sources cannot answer (default: min_relevance alone)
        continuation: SectionContinuation | None = None,  # carries a source's section on into the next chunks
        cache=None,  # answer_cache.AnswerCache: this tenant's answers to repeated questions
    ):
        self.retriever, self.generator, self.memory = retriever, generator, memory
        self.gate = gate or RelevanceGate(min_relevance)
        self.continuation = continuation
        self.llm = llm
        self.summarize_memory = summarize_memory
        self.tools = ToolCalls(toolbox, llm, pending=pending, conversations=conversations) if toolbox is not None else None
        self.cache = cache

    def turn(
        self,
        message: str,
        session_id: str | None = None,
        filter: Filter | None = None,
        channel: str = "api",
        history: list[Message] | None = None,
        conversations=None,
        pending=None,
    ) -> Iterator[Event]:
        """One turn. `history` given by the caller (OpenAI-style clients send it) replaces server memory.

        `conversations` and `pending` replace the engine's own for this turn: the conversation layer passes a
        desk bound to the owned conversation and its store-kept pending questions.
        """
        remember = history is None
        session_id = session_id or uuid.uuid4().hex
        metrics.CHAT_REQUESTS.labels(channel).inc()
        start = time.perf_counter()
        history = self.memory.load(session_id) if history is None else history
        cacheable = self._stands_alone(message, session_id, history, pending)
        # the key holds the index version as of now: the answer is filed under the index it was read from
        cache_key = self.cache.key(message, filter, self._cache_context()) if cacheable else ""
        if cache_key and (hit := self.cache.get(cache_key)) is not None:
            yield from self._replay(hit, message, session_id, start, remember)
            return
        # retrieve first: how well the knowledge base answers the message is weighed against the tool router
        query = rewrite_query(message, history, self.llm)
        hits = self.retriever.retrieve(query, filter=filter)
        knowledge = max((h.relevance for h in hits), default=0.0)
        tools = (self.tools.run(message, session_id, history, conversations, pending, knowledge=knowledge)
                 if self.tools else ToolTurn())
        results = tools.results
        for result in results:
            yield ToolEvent(**dataclasses.asdict(result))
        if results and (self.llm is None or tools.routed_by != "llm" or any(r.status == "needs-input" for r in results)):
            # the plugin's own words answer (or ask for what is missing)
            yield from self._answer_with(message, session_id, tool_text(results), start, remember)
            return
        if results:  # the LLM answers from its own tool calls and their results
            history = [*history, Message("user", message), *tools.messages]
        sources = self.gate.sources(query, hits, self.continuation.expand if self.continuation else None)
        log.debug("retrieved", extra={"query": query, "hits": len(hits), "relevant": len(sources),
                                      "best": round(max((h.relevance for h in hits), default=0.0), 3)})
        latency = {"retrieval": _ms(start)}
        parts: list[str] = []
        cited: list[dict] = []
        info = GenerationInfo("none")
        if not sources and results:
            yield from self._answer_with(message, session_id, tool_text(results), start, remember)
            return
        if not sources:
            parts.append(NO_ANSWER[language(message)])
            yield TokenEvent(parts[0])
            metrics.CHAT_NO_ANSWER.inc()
        else:
            info = GenerationInfo(self.generator.name)
            citations = CitationFilter(len(sources))
            for item in self.generator.stream(message, sources, history):
                if isinstance(item, GenerationInfo):
                    info = item
                    continue
                text = citations.feed(item)
                if text:
                    latency.setdefault("first_token", _ms(start))
                    parts.append(text)
                    yield TokenEvent(text)
            tail = citations.flush()
            if tail:
                parts.append(tail)
                yield TokenEvent(tail)
            for number in sorted(citations.cited):
                event = citation(number, sources[number - 1])
                cited.append(dataclasses.asdict(event))
                yield event
            metrics.CHAT_ANSWERS.labels(info.generator).inc()
        latency["total"] = _ms(start)
        if remember:
            self._remember(session_id, message, "".join(parts))
        if cache_key and sources and not results and not info.failed:  # a complete answer from the documents alone
            self.cache.put(cache_key, CachedAnswer("".join(parts), cited, info.generator))
        for stage, ms in latency.items():
            metrics.CHAT_STAGE_SECONDS.labels(stage).observe(ms / 1000)
        metrics.CHAT_TOKENS.labels("prompt").inc(info.prompt_tokens)
        metrics.CHAT_TOKENS.labels("completion").inc(info.completion_tokens)
        yield DoneEvent(
            answered=bool(sources),
            generator=info.generator,
            latency_ms={k: round(v, 1) for k, v in latency.items()},
            usage={"prompt_tokens": info.prompt_tokens, "completion_tokens": info.completion_tokens},
            session_id=session_id,
            failed_generators=list(info.failed),
            query=query,
        )

    def _stands_alone(self, message: str, session_id: str, history: list[Message], pending) -> bool:
        """Whether this turn's answer depends on the message alone, so a cached answer to it may be reused.

        Not when the assistant's last words offered something ("yes" would accept it), a tool waits for the
        customer's answer, the search would lean on earlier turns (a follow-up), or a system message from
        the caller shapes the answer."""
        if self.cache is None or offered(history) or any(m.role == "system" for m in history):
            return False
        if heuristic_query(message, history) != message:
            return False
        if self.tools is not None:
            waiting = pending if pending is not None else self.tools.pending
            if not hasattr(waiting, "waiting") or waiting.waiting(session_id):
                return False
        return True

    def _cache_context(self) -> str:
        """What besides the question shapes an answer: the plugins that could have taken it instead."""
        return ",".join(sorted(self.tools.toolbox.plugins())) if self.tools is not None else ""

    def _replay(self, hit: CachedAnswer, message: str, session_id: str, start: float, remember: bool) -> Iterator[Event]:
        """A cached answer, as the turn that made it streamed it (one token event), marked `cached` when done."""
        yield TokenEvent(hit.answer)
        for item in hit.citations:
            yield CitationEvent(**{k: v for k, v in item.items() if k != "type"})
        if remember:
            self._remember(session_id, message, hit.answer)
        total = _ms(start)
        metrics.CHAT_STAGE_SECONDS.labels("total").observe(total / 1000)
        yield DoneEvent(answered=True, generator=hit.generator, latency_ms={"total": round(total, 1)},
                        session_id=session_id, query=message, cached=True)

    def _answer_with(self, message: str, session_id: str, text: str, start: float, remember: bool) -> Iterator[Event]:
        """A turn answered by tool results alone."""
        yield TokenEvent(text)
        if remember:
            self._remember(session_id, message, text)
        metrics.CHAT_ANSWERS.labels("tools").inc()
        total = _ms(start)
        metrics.CHAT_STAGE_SECONDS.labels("total").observe(total / 1000)
        yield DoneEvent(answered=True, generator="tools", latency_ms={"total": round(total, 1)}, session_id=session_id)

    def _remember(self, session_id: str, message: str, answer: str) -> None:
        dropped = self.memory.append(session_id, [Message("user", message), Message("assistant", answer)])
        if dropped and self.summarize_memory:
            self.memory.set_summary(session_id, summarize(self.memory.summary(session_id), dropped, self.llm))


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000

