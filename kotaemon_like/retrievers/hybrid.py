"""Hybrid retrieval: confidence-weighted fusion of the vector and keyword lists.

Plain reciprocal rank fusion trusts both lists equally, and loses badly wherever one side is blind
(an English-only embedder on Chinese text, BM25 on a reworded question). Two per-query judgements fix
that without any per-dataset setting:

* the dense list's weight scales with the embedder's vocabulary coverage of the query (MiniLM maps
  most Han characters to [UNK], so its vectors say nothing there);
* the keyword list's weight scales with how much of the query its best hits actually contain
  (squared share of query terms), so a paraphrase that BM25 cannot match leaves the ranking to the
  vectors, while a question worded like the text gets the exact-term boost.

`fusion: score` adds the min-max normalised scores under those weights; `fusion: rrf` uses the same
weights in reciprocal rank fusion. bench/retrieval.py measures both against the single retrievers.

With `translate: true` a Chinese query is also searched through its English dictionary gloss (translate.py),
both lists, weighted by how little of the Chinese query the Chinese keyword list found: a Chinese question
about English documents finds them, while Chinese text that answers in Chinese keeps the ranking. The Chinese
text found then has the relevance of the question's dictionary words to it (QueryTranslator.relevance).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import numpy as np
from pydantic import ConfigDict, Field

from ..components import Embedder, Filter, KeywordIndex, ScoredChunk, VectorStore
from .dedup import drop_near_duplicates
from .single import KeywordRetriever, SingleParams, VectorRetriever
from .translate import QueryTranslator

WeightedList = tuple[float, list[ScoredChunk]]


def _fuse(lists: list[WeightedList], contribution) -> list[ScoredChunk]:
    scores: dict[str, float] = {}
    best: dict[str, ScoredChunk] = {}
    similarity: dict[str, float] = {}  # the vector list's cosine, kept whichever list gave the best relevance
    for weight, ranked in lists:
        if weight <= 0 or not ranked:
            continue
        for cid, hit, value in contribution(ranked):
            scores[cid] = scores.get(cid, 0.0) + weight * value
            if cid not in best or hit.relevance > best[cid].relevance:
                best[cid] = hit
            if hit.similarity is not None:
                similarity[cid] = hit.similarity
    order = sorted(scores, key=scores.__getitem__, reverse=True)
    return [ScoredChunk(best[c].chunk, scores[c], best[c].relevance, similarity.get(c)) for c in order]


def rrf(lists: list[WeightedList], k: int = 60) -> list[ScoredChunk]:
    """Weighted reciprocal rank fusion; a fused hit keeps the best relevance any list gave it."""
    return _fuse(lists, lambda ranked: ((h.chunk.id, h, 1.0 / (k + r)) for r, h in enumerate(ranked, start=1)))


def minmax(ranked: list[ScoredChunk]) -> np.ndarray:
    values = np.array([h.score for h in ranked], dtype=np.float64)
    spread = values.max() - values.min()
    return (values - values.min()) / spread if spread > 0 else np.ones_like(values)


def score_fusion(lists: list[WeightedList]) -> list[ScoredChunk]:
    """Weighted sum of min-max normalised scores (a chunk missing from a list gets 0 there)."""
    return _fuse(lists, lambda ranked: ((h.chunk.id, h, float(z)) for h, z in zip(ranked, minmax(ranked))))


def trust(coverage: float, floor: float) -> float:
    """0 when the embedder knows at most `floor` of the query's tokens, rising linearly to 1 when it knows all."""
    if coverage >= 1.0:
        return 1.0
    return max(0.0, (coverage - floor) / (1.0 - floor))


class HybridRetriever:
    """Dense + BM25 candidates fused under per-query weights, then near-duplicates removed."""

    class Params(SingleParams):
        model_config = ConfigDict(extra="forbid")
        fusion: Literal["score", "rrf"] = "score"
        candidates: int = Field(100, gt=0)  # taken from each list before fusion
        vector_weight: float = Field(0.6, ge=0)
        keyword_weight: float = Field(0.4, ge=0)
        keyword_confidence_power: float = Field(2.0, ge=0)  # 0 = keyword weight ignores how well BM25 matched
        min_coverage: float = Field(0.8, ge=0, lt=1)  # below this share of known tokens the dense list is ignored
        rrf_k: int = Field(60, gt=0)
        translate: bool = True  # also search a Chinese query's English gloss (CC-CEDICT), for English documents
        translate_weight: float = Field(4.0, ge=0)  # the gloss lists' weight when the Chinese terms matched nothing
        translate_candidates: int = Field(30, gt=0)  # taken from each gloss list
        # of the best keyword hits, this many at most are embedded now when they have no vector yet (a file
        # whose text is indexed while its vectors are still being made), so they rank by meaning too
        unembedded: int = Field(4, ge=0)

    def __init__(
        self, params: Params | None, embedder: Embedder, vector_store: VectorStore, keyword_index: KeywordIndex, **_: object
    ):
        self.params = params or self.Params()
        self.embedder = embedder
        self.vector = VectorRetriever(None, embedder=embedder, vector_store=vector_store)
        self.keyword = KeywordRetriever(None, keyword_index=keyword_index)
        self.translator = QueryTranslator() if self.params.translate else None
        if self.translator is not None:
            self.translator.warm_up()
        self._readable = lru_cache(maxsize=20_000)(lambda text: embedder.coverage(text) >= self.params.min_coverage)

    def weights(self, query: str, keyword_hits: list[ScoredChunk]) -> tuple[float, float]:
        """(vector, keyword) weights for this query."""
        vector = self.params.vector_weight * trust(self.embedder.coverage(query), self.params.min_coverage)
        if vector == 0:
            return 0.0, 1.0
        confidence = max((h.relevance for h in keyword_hits[:3]), default=0.0)
        return vector, self.params.keyword_weight * confidence ** self.params.keyword_confidence_power

    def gloss_lists(self, query: str, gloss: str, keyword_hits: list[ScoredChunk], n: int, filter: Filter | None) -> list[WeightedList]:
        """The gloss query's keyword and vector lists over the text the embedder reads (English), weighted as an
        English query's lists would be, times how much of the query's Chinese words its own keyword hits missed."""
        found = self.translator.found(query, [h.chunk.text for h in keyword_hits[:3]])
        scale = self.params.translate_weight * (1.0 - found) ** 2
        if scale <= 0:
            return []
        n = min(n, self.params.translate_candidates)
        hits = self._english(query, self.keyword.candidates(gloss, n, filter))
        w_vector, w_keyword = self.weights(gloss, hits)
        lists = [(scale * w_keyword, hits)]
        if w_vector > 0:
            lists.append((scale * w_vector, self._english(query, self.vector.candidates(gloss, n, filter))))
        return lists

    def _english(self, query: str, hits: list[ScoredChunk]) -> list[ScoredChunk]:
        """The hits the embedder reads, their relevance the share of the query's Chinese words they translate.

        A gloss says nothing about Chinese chunks: their cosine to it is noise, their terms are not its terms."""
        overlap = self.translator.overlap
        return [ScoredChunk(h.chunk, h.score, overlap(query, h.chunk.text), h.similarity)
                for h in hits if self._readable(h.chunk.text)]

    def _chinese(self, query: str, hits: list[ScoredChunk]) -> list[ScoredChunk]:
        """The hits, those the embedder cannot read (Chinese) with the relevance of the question's Chinese words
        to them, not of its character bigrams."""
        relevance = self.translator.relevance
        return [h if self._readable(h.chunk.text) else
                ScoredChunk(h.chunk, h.score, relevance(query, h.chunk.text), h.similarity) for h in hits]

    def unembedded(self, query: str, keyword_hits: list[ScoredChunk], vector_hits: list[ScoredChunk]) -> list[ScoredChunk]:
        """The best keyword hits that the vector store has no vector for yet, scored by their cosine to the query,
        measured now: without it a file being indexed would compete with its keyword score alone."""
        missing = getattr(self.vector.vector_store, "missing", None)
        listed = {h.chunk.id for h in vector_hits}
        top = [h for h in keyword_hits[: self.params.unembedded] if h.chunk.id not in listed]
        if missing is None or not top:
            return []
        absent = missing([h.chunk.id for h in top])
        top = [h for h in top if h.chunk.id in absent]
        if not top:
            return []
        cosines = self.embedder.embed_documents([h.chunk.text for h in top]) @ self.embedder.embed_query(query)
        relevance = self.embedder.relevance
        return [ScoredChunk(h.chunk, float(c), relevance(float(c)), float(c)) for h, c in zip(top, cosines)]

    def retrieve(self, query: str, k: int | None = None, filter: Filter | None = None) -> list[ScoredChunk]:
        k = k or self.params.top_k
        n = max(self.params.candidates, k)
        keyword_hits = self.keyword.candidates(query, n, filter)
        gloss = self.translator.gloss(query) if self.translator is not None else None
        if gloss:
            keyword_hits = self._chinese(query, keyword_hits)
        w_vector, w_keyword = self.weights(query, keyword_hits)
        lists = [(w_keyword, keyword_hits)]
        if w_vector > 0:
            vector_hits = self.vector.candidates(query, n, filter)
            extra = self.unembedded(query, keyword_hits, vector_hits)
            if extra:  # ranked by cosine among the stored ones (rank fusion reads the order)
                vector_hits = sorted(vector_hits + extra, key=lambda h: h.score, reverse=True)
            lists.append((w_vector, vector_hits))
        if gloss:
            lists.extend(self.gloss_lists(query, gloss, keyword_hits, n, filter))
        fused = score_fusion(lists) if self.params.fusion == "score" else rrf(lists, self.params.rrf_k)
        return drop_near_duplicates(fused[: k * 3], self.params.dedup_threshold)[:k]
