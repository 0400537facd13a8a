"""Retrievers over one store: dense vectors or BM25 keywords."""

from __future__ import annotations

import logging

from pydantic import BaseModel, ConfigDict, Field

from ..components import Embedder, Filter, KeywordIndex, ScoredChunk, VectorStore
from ..stores.analyzer import term_overlap
from .dedup import drop_near_duplicates

log = logging.getLogger(__name__)


class SingleParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    top_k: int = Field(4, gt=0)
    dedup_threshold: float = Field(0.9, gt=0, le=1)  # term-set Jaccard above which a chunk repeats a better one
    # the hybrid retriever's English-gloss search (config/default.yaml turns it on); accepted here so that
    # swapping `type: hybrid` for `vector` or `keyword` stays a one-line change, and said to do nothing
    translate: bool = False


def _say_translate_is_hybrid_only(params: SingleParams) -> None:
    if params.translate:
        log.warning("retriever.translate applies to `type: hybrid` only; this retriever searches the question as asked")


class VectorRetriever:
    """Nearest chunks by cosine similarity; relevance is the cosine on the embedder's 0..1 scale."""

    Params = SingleParams

    def __init__(self, params: SingleParams | None, embedder: Embedder, vector_store: VectorStore, **_: object):
        self.params = params or SingleParams()
        _say_translate_is_hybrid_only(self.params)
        self.embedder, self.vector_store = embedder, vector_store

    def candidates(self, query: str, k: int, filter: Filter | None = None) -> list[ScoredChunk]:
        hits = self.vector_store.search(self.embedder.embed_query(query), k, filter)
        return [ScoredChunk(h.chunk, h.score, self.embedder.relevance(h.score), h.score) for h in hits]

    def retrieve(self, query: str, k: int | None = None, filter: Filter | None = None) -> list[ScoredChunk]:
        k = k or self.params.top_k
        return drop_near_duplicates(self.candidates(query, k * 3, filter), self.params.dedup_threshold)[:k]


class KeywordRetriever:
    """BM25 ranking; relevance is the share of query terms the chunk contains."""

    Params = SingleParams

    def __init__(self, params: SingleParams | None, keyword_index: KeywordIndex, **_: object):
        self.params = params or SingleParams()
        _say_translate_is_hybrid_only(self.params)
        self.keyword_index = keyword_index

    def candidates(self, query: str, k: int, filter: Filter | None = None) -> list[ScoredChunk]:
        hits = self.keyword_index.search(query, k, filter)
        return [ScoredChunk(h.chunk, h.score, term_overlap(query, h.chunk.text)) for h in hits]

    def retrieve(self, query: str, k: int | None = None, filter: Filter | None = None) -> list[ScoredChunk]:
        k = k or self.params.top_k
        return drop_near_duplicates(self.candidates(query, k * 3, filter), self.params.dedup_threshold)[:k]
