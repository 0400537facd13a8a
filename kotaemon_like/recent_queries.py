"""The last few query vectors by text: one turn asks for its message's vector several times (retrieval,
the relevance gate, answer ranking), and customers repeat questions. A small bounded LRU, thread-safe."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable

import numpy as np


class RecentQueries:
    def __init__(self, size: int = 256):
        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str, embed: Callable[[str], np.ndarray]) -> np.ndarray:
        """The vector of `text`, embedded only when it is not among the recent ones (read-only: it is shared)."""
        with self._lock:
            vector = self._vectors.get(text)
            if vector is not None:
                self._vectors.move_to_end(text)
                return vector
        vector = embed(text)
        vector.setflags(write=False)
        with self._lock:
            self._vectors[text] = vector
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)
        return vector
