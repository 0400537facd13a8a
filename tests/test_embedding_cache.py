"""The answer step's document vector cache: a text seen before is not embedded again, vectors stay the
embedder's, the least recently used text is dropped first."""

from __future__ import annotations

import hashlib

import numpy as np

from kotaemon_like.embedding_cache import DocumentVectorCache, VectorLRU


class HashEmbedder:
    """A deterministic stand-in that records what it was asked to embed."""

    dim = 8

    def __init__(self):
        self.seen: list[str] = []

    def embed_documents(self, texts):
        self.seen.extend(texts)
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest()[:32], dtype=np.uint8)[:8].astype(np.float32) for t in texts]
        return np.array(rows, dtype=np.float32).reshape(len(texts), self.dim)

    def coverage(self, text):
        return 1.0


def test_seen_texts_are_not_embedded_again():
    inner = HashEmbedder()
    cache = DocumentVectorCache(inner, size=3)
    first = cache.embed_documents(["a", "b", "a"])
    assert inner.seen == ["a", "b"]
    assert np.array_equal(first, inner.embed_documents(["a", "b", "a"]))
    inner.seen.clear()
    cache.embed_documents(["b", "c"])
    assert inner.seen == ["c"]
    cache.embed_documents(["d"])  # four texts in a cache of three: "a", least recently used, goes
    inner.seen.clear()
    cache.embed_documents(["a", "b"])
    assert inner.seen == ["a"]
    assert cache.embed_documents([]).shape == (0, 8)
    assert cache.coverage("x") == 1.0  # everything else is the wrapped embedder's


def test_a_repeated_query_is_embedded_once_and_its_vector_cannot_be_changed():
    calls: list[str] = []

    def embed(text):
        calls.append(text)
        return np.full(4, float(len(text)), dtype=np.float32)

    lru = VectorLRU(size=2)
    first = lru.get("where is my order", embed)
    assert lru.get("where is my order", embed) is first and calls == ["where is my order"]
    assert not first.flags.writeable  # one turn's caller cannot corrupt the next turn's vector
    lru.get("a", embed), lru.get("bb", embed)  # two newer texts in an LRU of two: the first one goes
    lru.get("where is my order", embed)
    assert calls == ["where is my order", "a", "bb", "where is my order"]
