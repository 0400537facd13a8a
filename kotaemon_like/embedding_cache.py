"""Remembered document vectors for the answer step: the relevance gate and the extractive generator embed
the retrieved chunks and their sentences on every turn, and customers ask about the same pages again and
again. Vectors are kept per text (least recently used dropped first), so a popular page is embedded once."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Sequence

import numpy as np

from .components import Embedder


class DocumentVectorCache:
    """An embedder whose `embed_documents` reuses the vectors of texts it has seen; everything else is the
    wrapped embedder's."""

    def __init__(self, embedder: Embedder, size: int = 4096):
        self.embedder = embedder
        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __getattr__(self, name: str):
        return getattr(self.embedder, name)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        fresh = dict(zip(missing, self.embedder.embed_documents(missing))) if missing else {}
        with self._lock:
            self._vectors.update(fresh)
            found = [fresh.get(t) if t in fresh else self._vectors.get(t) for t in texts]
            for t in texts:
                if t in self._vectors:
                    self._vectors.move_to_end(t)
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)
        if not texts:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        return np.stack(found).astype(np.float32, copy=False)
