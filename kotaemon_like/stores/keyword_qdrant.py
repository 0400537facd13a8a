"""BM25 keyword index in Qdrant: sparse vectors with Qdrant's IDF modifier, on a server or in local mode.

Each chunk is one point whose sparse vector holds, per analyzed term (stores/analyzer.py: stemmed words, CJK
unigrams and bigrams; the term hashed to a 32-bit index), BM25's term-frequency part with length
normalisation, tf·(k1+1) / (tf + k1·(1 − b + b·length/avg_terms)). Qdrant multiplies the query's terms by
their IDF, ln(1 + (N − df + 0.5)/(df + 0.5)), at search time, so the dot product is BM25 (FTS5's formula),
except that the average length is a setting (`avg_terms`) rather than the collection's current mean: a
vector is written once and never rescaled. A tenant's chunks live in a collection of their own, so its IDF
counts only its own documents.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

from pydantic import Field
from qdrant_client import models

from ..components import Chunk, Filter, ScoredChunk
from ..ingest.splitter import chunk_position
from .analyzer import query_terms, terms, warm_up
from .qdrant_store import QdrantCollection, QdrantParams, _chunk, _payload, qdrant_filter, tenant_scope

log = logging.getLogger(__name__)
SPARSE = "bm25"  # the name of the points' one (sparse) vector


def term_index(term: str) -> int:
    """A term's sparse-vector index: 32 bits of its hash, the same on every machine."""
    return int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=4).digest(), "little")


def document_vector(words: Sequence[str], k1: float, b: float, avg_terms: float) -> models.SparseVector:
    """BM25's term-frequency part of each term of one chunk (the IDF part is Qdrant's)."""
    norm = k1 * (1 - b + b * len(words) / avg_terms)
    counts = Counter(term_index(w) for w in words)
    indices = sorted(counts)
    return models.SparseVector(indices=indices, values=[counts[i] * (k1 + 1) / (counts[i] + norm) for i in indices])


def query_vector(query: str) -> models.SparseVector | None:
    """The query's distinct content terms, each weighing one (Qdrant scales them by IDF)."""
    indices = sorted({term_index(t) for t in query_terms(query)})
    return models.SparseVector(indices=indices, values=[1.0] * len(indices)) if indices else None


class QdrantKeywordIndex(QdrantCollection):
    """Chunks as BM25 sparse vectors in one Qdrant collection (per tenant): delete-by-source, filters, pages."""

    class Params(QdrantParams):
        path: str = "qdrant-keywords"  # local mode folder (local mode opens a folder from one client only)
        collection: str = "kotaemon_like_keywords"
        k1: float = Field(1.2, gt=0)
        b: float = Field(0.75, ge=0, le=1)
        avg_terms: float = Field(150, gt=0)  # a chunk's usual number of analyzed terms (200-token chunks: 120-300)

    kind = "keyword index"
    section = "keyword_index"

    def __init__(self, params: Params | None = None, index_dir: Path | str = "data/index"):
        params = params or self.Params()
        super().__init__(params, index_dir)
        self.collection = self._collection_of(self.tenant)
        warm_up()
        try:
            self._ensure_collection()
        except BaseException:
            self.close()
            raise

    def _collection_of(self, tenant: str | None) -> str:
        # a collection per tenant: IDF is counted over that tenant's documents only
        return f"{self.params.collection}_{tenant}" if tenant else self.params.collection

    def for_tenant(self, tenant: str | None) -> QdrantKeywordIndex:
        """Another tenant's index on the same client (its own collection, created when missing)."""
        view = super().for_tenant(tenant)
        view.collection = self._collection_of(tenant)
        view._ensure_collection()
        return view

    def _ensure_collection(self) -> None:
        client = self._require()
        if not self.local:
            self._check_server(client)
        if not client.collection_exists(self.collection):
            try:
                client.create_collection(self.collection, vectors_config={}, sparse_vectors_config={
                    SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)})
                log.info("created Qdrant keyword collection %s at %s", self.collection, self.where)
            except Exception:
                if not client.collection_exists(self.collection):  # another replica may have created it first
                    raise
        info = client.get_collection(self.collection)
        sparse = (info.config.params.sparse_vectors or {}).get(SPARSE)
        if sparse is None or sparse.modifier != models.Modifier.IDF:
            raise ValueError(f"the Qdrant collection '{self.collection}' at {self.where} is not a keyword index (no "
                             f"'{SPARSE}' sparse vector with the IDF modifier); set keyword_index.collection to another name")
        self._index_payload(info)

    def upsert(self, chunks: Sequence[Chunk]) -> None:
        chunks = list({c.id: c for c in chunks}.values())  # the same id twice in one batch: the last one wins
        p = self.params
        size = p.batch_size
        with self._lock:
            client = self._require()
            for start in range(0, len(chunks), size):
                part = chunks[start:start + size]
                client.upsert(self.collection, [
                    models.PointStruct(id=self._point_id(c.id), payload=_payload(c, self.tenant),
                                       vector={SPARSE: document_vector(terms(c.text), p.k1, p.b, p.avg_terms)})
                    for c in part
                ], wait=True)

    def search(self, query: str, k: int, filter: Filter | None = None) -> list[ScoredChunk]:
        vector = query_vector(query)
        if vector is None or k <= 0:
            return []
        with self._lock:
            result = self._require().query_points(
                self.collection, query=vector, using=SPARSE, limit=k, with_payload=True,
                query_filter=tenant_scope(self.tenant, qdrant_filter(filter)),
            )
        return [ScoredChunk(_chunk(p.payload or {}), float(p.score)) for p in result.points if p.score > 0]

    def _scroll(self, selector: models.Filter, fields: list[str] | None = None) -> list[dict[str, Any]]:
        """The payloads (or just `fields` of them) of every point `selector` matches."""
        payloads, offset = [], None
        with self._lock:
            while True:
                points, offset = self._require().scroll(self.collection, scroll_filter=selector, limit=1000,
                                                        offset=offset, with_payload=fields or True, with_vectors=False)
                payloads.extend(p.payload or {} for p in points)
                if offset is None:
                    return payloads

    def pages(self, source: str, first: int, last: int) -> list[Chunk]:
        """The chunks of `source` on pages `first`..`last`, in reading order (page, then position)."""
        selector = tenant_scope(self.tenant, models.Filter(must=[
            models.FieldCondition(key="source", match=models.MatchValue(value=source)),
            models.FieldCondition(key="page", range=models.Range(gte=first, lte=last)),
        ]))
        chunks = [_chunk(payload) for payload in self._scroll(selector)]
        return sorted(chunks, key=lambda c: (c.page, chunk_position(c.id)))

    def sources(self) -> dict[str, int]:
        return dict(Counter(payload["source"] for payload in self._scroll(tenant_scope(self.tenant), ["source"])))
