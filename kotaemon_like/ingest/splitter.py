"""Splitting pages into chunks with llama-index's sentence-aware splitter.

Chunks never cross a page, so every chunk cites exactly one page. The splitter's secondary
regex breaks on Chinese sentence ends (。！？) as well as Latin punctuation.
"""

from __future__ import annotations

from functools import cached_property
from typing import Sequence

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..components import Chunk, Document


def chunk_id(source: str, page: int, position: int) -> str:
    """Stable id of the `position`-th chunk on `page` of `source`."""
    return f"{source}#p{page}:{position}"


def chunk_position(chunk_id: str) -> int:
    """The position on its page encoded in a chunk id (0 when the id has no position)."""
    _, _, position = chunk_id.rpartition(":")
    return int(position) if position.isdigit() else 0


class SentenceSplitter:
    """Token-sized chunks that end on sentence boundaries where possible."""

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        # MiniLM reads at most 256 word-pieces: 200 tiktoken tokens stay inside that window.
        chunk_size: int = Field(200, gt=16)
        chunk_overlap: int = Field(30, ge=0)

        @model_validator(mode="after")
        def _overlap_smaller(self):
            if self.chunk_overlap >= self.chunk_size:
                raise ValueError("chunk_overlap must be smaller than chunk_size")
            return self

    def __init__(self, params: Params | None = None):
        self.params = params or self.Params()

    @cached_property
    def _splitter(self):
        # imported on first use: llama-index takes seconds to import and `kl ask` never splits
        from llama_index.core.node_parser import SentenceSplitter as LlamaSentenceSplitter

        return LlamaSentenceSplitter(
            chunk_size=self.params.chunk_size,
            chunk_overlap=self.params.chunk_overlap,
            secondary_chunking_regex="[^,.;。？！]+[,.;。？！]?|[,.;。？！]",
        )

    def warm_up(self) -> None:
        """Import llama-index and load its sentence tokenizer now (seconds), not when the first file arrives."""
        self._splitter.split_text("Warm up. The first file should not wait for imports.")

    def split(self, documents: Sequence[Document]) -> list[Chunk]:
        chunks: list[Chunk] = []
        for doc in documents:
            for position, text in enumerate(t for t in self._splitter.split_text(doc.text) if t.strip()):
                chunks.append(
                    Chunk(
                        id=chunk_id(doc.source, doc.page, position),
                        text=text,
                        source=doc.source,
                        page=doc.page,
                        metadata=dict(doc.metadata),
                    )
                )
        return chunks
