"""The contracts every part implements, and the small typed records they exchange.

Parts depend on these protocols only; `registry.py` decides which implementation runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping, Protocol, Sequence, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class Document:
    """One page (or a whole text file) as loaded, before splitting."""

    text: str
    source: str  # path relative to the knowledge folder, POSIX separators
    page: int  # 1-based; text files are page 1
    sha256: str  # of the whole file
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Chunk:
    """A piece of a document that is embedded and indexed; `id` is stable for (source, position)."""

    id: str
    text: str
    source: str
    page: int
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def citation(self) -> str:
        return f"{self.source} p.{self.page}"


@dataclass(frozen=True)
class ScoredChunk:
    """A retrieved chunk: `score` orders results, `relevance` (0..1) says how well it matches the query,
    `similarity` is its cosine to the query when the vector side scored it (None: not known)."""

    chunk: Chunk
    score: float
    relevance: float = 0.0
    similarity: float | None = None


Filter = Mapping[str, Any]
"""Metadata equality filter, e.g. {"source": "faq.pdf"} or {"tenant": "acme"}; a list value means any of."""

FILTER_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")  # a plain field name, never a path or an expression


def check_filter(filter: Filter | None, max_keys: int = 16, max_values: int = 100) -> Filter | None:
    """`filter` unchanged, or ValueError naming the key that no store can use."""
    if not filter:
        return filter
    if len(filter) > max_keys:
        raise ValueError(f"a filter takes at most {max_keys} keys")
    for key, value in filter.items():
        if not FILTER_KEY.fullmatch(key):
            raise ValueError(f"filter key {key[:64]!r} is not a plain field name (letters, digits, _)")
        if isinstance(value, (list, tuple)) and len(value) > max_values:
            raise ValueError(f"filter key {key!r} lists more than {max_values} values")
    return filter


@runtime_checkable
class Loader(Protocol):
    suffixes: tuple[str, ...]

    def load(self, path: str, source: str) -> list[Document]:
        """Read one file into page-level documents; raise `LoadError` with a user-facing reason."""


@runtime_checkable
class Splitter(Protocol):
    def split(self, documents: Sequence[Document]) -> list[Chunk]: ...


@runtime_checkable
class Embedder(Protocol):
    name: str
    dim: int

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """float32 array (len(texts), dim), L2-normalised."""

    def embed_query(self, text: str) -> np.ndarray: ...

    def coverage(self, text: str) -> float:
        """Share of the text's tokens the model knows (1.0 = all); low means its vectors are not to be trusted."""

    def relevance(self, cosine: float) -> float:
        """A query-passage cosine on the 0..1 relevance scale the gates use (models differ in their cosine range)."""


@runtime_checkable
class VectorStore(Protocol):
    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None: ...

    def delete(self, source: str) -> int: ...

    def search(self, vector: np.ndarray, k: int, filter: Filter | None = None) -> list[ScoredChunk]: ...

    def count(self) -> int: ...

    def scan(self, batch: int = 1000) -> Iterator[tuple[list[Chunk], np.ndarray]]:
        """Every stored chunk with its vector, in batches, so an index can move to another store without re-embedding."""

    def commit(self) -> None:
        """Make every change so far durable."""

    def close(self) -> None: ...


@runtime_checkable
class KeywordIndex(Protocol):
    def upsert(self, chunks: Sequence[Chunk]) -> None: ...

    def delete(self, source: str) -> int: ...

    def search(self, query: str, k: int, filter: Filter | None = None) -> list[ScoredChunk]: ...

    def count(self) -> int: ...

    def commit(self) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class Retriever(Protocol):
    def retrieve(self, query: str, k: int | None = None, filter: Filter | None = None) -> list[ScoredChunk]: ...


@dataclass(frozen=True)
class Message:
    role: str  # "system" | "user" | "assistant" | "tool"
    content: str
    tool_calls: tuple[dict, ...] = ()  # an assistant's function calls, OpenAI-shaped ({"id", "type", "function"})
    tool_call_id: str = ""  # a "tool" message: the id of the call it answers

    def as_openai(self) -> dict:
        """The OpenAI chat-completions form of the message (function-calling fields only when set)."""
        message: dict = {"role": self.role, "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = [dict(c) for c in self.tool_calls]
        if self.tool_call_id:
            message["tool_call_id"] = self.tool_call_id
        return message


@dataclass(frozen=True)
class GenerationInfo:
    """Yielded once, last, by a generator's stream: who answered and what it cost."""

    generator: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    failed: tuple[str, ...] = ()  # generators of a fallback chain that failed before this one answered


@runtime_checkable
class Generator(Protocol):
    name: str

    def stream(
        self, question: str, sources: Sequence[ScoredChunk], history: Sequence[Message] = ()
    ) -> Iterator[str | GenerationInfo]:
        """Text deltas of a grounded answer, then optionally one GenerationInfo.

        Sources are cited as [1], [2], ... in the given order."""


@runtime_checkable
class Memory(Protocol):
    def load(self, session_id: str) -> list[Message]:
        """The session's window of messages, preceded by a system message with the running summary if any."""

    def append(self, session_id: str, messages: Iterable[Message]) -> list[Message]:
        """Add messages, trim to the window; returns the messages that fell out of it."""

    def summary(self, session_id: str) -> str: ...

    def set_summary(self, session_id: str, text: str) -> None: ...

    def clear(self, session_id: str) -> None: ...
