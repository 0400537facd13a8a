"""Near-duplicate removal: the same passage from two files (or two editions) is shown once."""

from __future__ import annotations

from typing import Sequence

from ..components import ScoredChunk
from ..stores.analyzer import terms


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def drop_near_duplicates(ranked: Sequence[ScoredChunk], threshold: float) -> list[ScoredChunk]:
    """Keep ranking order; drop a chunk whose term set is `threshold`-similar to a better-ranked one."""
    kept: list[ScoredChunk] = []
    kept_terms: list[set[str]] = []
    for hit in ranked:
        words = set(terms(hit.chunk.text))
        if any(jaccard(words, other) >= threshold for other in kept_terms):
            continue
        kept.append(hit)
        kept_terms.append(words)
    return kept
