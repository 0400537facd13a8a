"""Hybrid retrieval: weighted reciprocal rank fusion of the vector and keyword lists.

Plain RRF trusts both lists equally, and loses badly wherever one side is blind (an English-only
embedder on Chinese text, BM25 on a paraphrase). Two per-query judgements fix that:
the embedder's vocabulary coverage of the query scales the dense list's weight (MiniLM maps most
Han characters to [UNK], so its vectors are noise there), and the weights themselves come from config.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..components import Embedder, Filter, KeywordIndex, ScoredChunk, VectorStore
from .dedup import drop_near_duplicates
from .single import KeywordRetriever, SingleParams, VectorRetriever


def rrf(lists: list[tuple[float, list[ScoredChunk]]], k: int) -> list[ScoredChunk]:
    """Weighted reciprocal rank fusion; relevance of a fused hit is the best relevance any list gave it."""
    scores: dict[str, float] = {}
    best: dict[str, ScoredChunk] = {}
    for weight, ranked in lists:
        if weight <= 0:
            continue
        for rank, hit in enumerate(ranked, start=1):
            cid = hit.chunk.id
            scores[cid] = scores.get(cid, 0.0) + weight / (k + rank)
            if cid not in best or hit.relevance > best[cid].relevance:
                best[cid] = hit
    order = sorted(scores, key=scores.__getitem__, reverse=True)
    return [ScoredChunk(best[c].chunk, scores[c], best[c].relevance) for c in order]


def trust(coverage: float, floor: float) -> float:
    """0 when the embedder knows at most `floor` of the query's tokens, rising linearly to 1 when it knows all."""
    if coverage >= 1.0:
        return 1.0
    return max(0.0, (coverage - floor) / (1.0 - floor))


class HybridRetriever:
    """RRF of dense and BM25 candidates, dense weight scaled by the embedder's coverage of the query."""

    class Params(SingleParams):
        model_config = ConfigDict(extra="forbid")
        candidates: int = Field(50, gt=0)  # taken from each list before fusion
        rrf_k: int = Field(60, gt=0)
        vector_weight: float = Field(1.0, ge=0)
        keyword_weight: float = Field(1.0, ge=0)
        min_coverage: float = Field(0.8, ge=0, lt=1)  # below this share of known tokens the dense list is ignored

    def __init__(
        self, params: Params | None, embedder: Embedder, vector_store: VectorStore, keyword_index: KeywordIndex, **_: object
    ):
        self.params = params or self.Params()
        self.embedder = embedder
        self.vector = VectorRetriever(None, embedder=embedder, vector_store=vector_store)
        self.keyword = KeywordRetriever(None, keyword_index=keyword_index)

    def weights(self, query: str) -> tuple[float, float]:
        """(vector, keyword) weights for this query."""
        return (
            self.params.vector_weight * trust(self.embedder.coverage(query), self.params.min_coverage),
            self.params.keyword_weight,
        )

    def retrieve(self, query: str, k: int | None = None, filter: Filter | None = None) -> list[ScoredChunk]:
        k = k or self.params.top_k
        n = max(self.params.candidates, k)
        w_vector, w_keyword = self.weights(query)
        lists = [(w_keyword, self.keyword.candidates(query, n, filter))]
        if w_vector > 0:
            lists.append((w_vector, self.vector.candidates(query, n, filter)))
        fused = rrf(lists, self.params.rrf_k)
        return drop_near_duplicates(fused[: k * 3], self.params.dedup_threshold)[:k]
