"""The extractive generator: answers with the best-matching sentences of the sources, each cited. No LLM."""

from __future__ import annotations

import re
from typing import Iterator, Sequence

from pydantic import BaseModel, ConfigDict, Field

from ..components import Message, ScoredChunk
from ..stores.analyzer import term_overlap

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[^a-z])|(?<=[。！？；])|\n\s*\n|\n(?=\s*[-•*\d]+[.)]?\s)")


MAX_SENTENCE_CHARS = 300


def sentences(text: str) -> list[str]:
    """Sentences of a chunk with PDF line breaks folded back into spaces; run-ons (lists, tables) split at lines."""
    out = []
    for piece in _SENTENCE_END.split(text):
        lines = piece.splitlines() if len(piece) > MAX_SENTENCE_CHARS else [piece]
        for line in lines:
            sentence = " ".join(line.split())
            if sentence:
                out.append(sentence)
    return out


class ExtractiveGenerator:
    """Picks the sentences sharing most terms with the question, keeps source order, cites each as [n]."""

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        max_sentences: int = Field(3, gt=0)
        min_chars: int = Field(12, ge=0)  # shorter fragments (headings, page numbers) are not quoted alone

    name = "extractive"

    def __init__(self, params: Params | None = None):
        self.params = params or self.Params()

    def select(self, question: str, sources: Sequence[ScoredChunk]) -> list[tuple[int, str]]:
        """(source number, sentence) pairs, best first by overlap then by source rank."""
        scored = []
        for number, hit in enumerate(sources, start=1):
            for position, sentence in enumerate(sentences(hit.chunk.text)):
                if len(sentence) < self.params.min_chars:
                    continue
                overlap = term_overlap(question, sentence)
                scored.append((overlap, -number, -position, number, sentence))
        scored.sort(reverse=True)
        picked, seen = [], set()
        for overlap, _, _, number, sentence in scored:
            if overlap <= 0 or len(picked) == self.params.max_sentences:
                break
            if sentence not in seen:  # overlapping chunks repeat sentences
                seen.add(sentence)
                picked.append((number, sentence))
        if not picked and sources:
            # the match is semantic rather than lexical: quote the start of the best source
            first = [s for s in sentences(sources[0].chunk.text) if len(s) >= self.params.min_chars]
            picked = [(1, s) for s in first[: min(2, self.params.max_sentences)]]
        return picked

    def stream(self, question: str, sources: Sequence[ScoredChunk], history: Sequence[Message] = ()) -> Iterator[str]:
        picked = self.select(question, sources)
        for i, (number, sentence) in enumerate(sorted(picked)):
            yield ("" if i == 0 else " ") + f"{sentence} [{number}]"
