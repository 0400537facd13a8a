"""Vectors remembered by text. A turn asks for its message's vector several times (retrieval, the relevance
gate, answer ranking) and embeds the retrieved chunks and their sentences; customers repeat questions and ask
about the same pages again and again. Bounded LRU maps, thread-safe; cached vectors are read-only (shared)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Sequence

import numpy as np

from .components import Embedder


def embed_queries(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """`texts` embedded the way the embedder embeds a query, batched when it can."""
    batched = getattr(embedder, "embed_queries", None)
    return batched(texts) if batched is not None else np.stack([embedder.embed_query(t) for t in texts])


class VectorLRU:
    """Text -> vector, least recently used dropped first."""

    def __init__(self, size: int = 256):
        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str, embed: Callable[[str], np.ndarray]) -> np.ndarray:
        """The vector of `text`, embedded only when it is not remembered."""
        return self.get_many([text], lambda missing: np.stack([embed(missing[0])]))[0]

    def get_many(self, texts: Sequence[str], embed_many: Callable[[list[str]], np.ndarray]) -> list[np.ndarray]:
        """The vectors of `texts` in order; the ones not remembered are embedded in one call."""
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        fresh = dict(zip(missing, embed_many(missing))) if missing else {}
        for vector in fresh.values():
            vector.setflags(write=False)
        with self._lock:
            self._vectors.update(fresh)
            found = [fresh[t] if t in fresh else self._vectors[t] for t in texts]
            for t in texts:
                if t in self._vectors:
                    self._vectors.move_to_end(t)
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)
        return found


class DocumentVectorCache:
    """An embedder whose `embed_documents` reuses the vectors of texts it has seen; everything else is the
    wrapped embedder's."""

    def __init__(self, embedder: Embedder, size: int = 4096):
        self.embedder = embedder
        self._vectors = VectorLRU(size)

    def __getattr__(self, name: str):
        return getattr(self.embedder, name)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        found = self._vectors.get_many(texts, lambda missing: self.embedder.embed_documents(missing))
        return np.stack(found).astype(np.float32, copy=False)
