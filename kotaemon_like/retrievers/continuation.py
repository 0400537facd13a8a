"""Section continuation: a retrieved chunk often ends before the answer does. A FAQ entry matched by its
heading continues in the next chunk of the same page, or on the next page, and the fact the customer
asked for is there. Each source is followed by the chunks that carry its last section on, until a new
heading starts; each keeps its own page, so citations stay exact."""

from __future__ import annotations

import dataclasses
import logging
from typing import Protocol, Sequence

from ..components import Chunk, ScoredChunk
from ..generators.passages import sections

log = logging.getLogger(__name__)
CONTINUES = "continues"  # metadata key: id of the chunk this one carries on


class PagedChunks(Protocol):
    def pages(self, source: str, first: int, last: int) -> list[Chunk]:
        """The chunks of `source` on pages first..last in reading order."""


def starts_section(text: str) -> bool:
    """Whether a chunk opens with a heading (so nothing before it carries on here)."""
    found = sections(text)
    return bool(found) and bool(found[0].heading)


def _carrying(chunk: Chunk, previous_id: str) -> Chunk:
    return dataclasses.replace(chunk, metadata={**chunk.metadata, CONTINUES: previous_id})


class SectionContinuation:
    """Adds, after each source, up to `max_chunks` following chunks of the same document that continue it."""

    def __init__(self, chunks: PagedChunks, max_chunks: int = 1, max_sources: int = 4):
        self.chunks = chunks
        self.max_chunks = max_chunks
        self.max_sources = max_sources  # only the best sources are continued (each one costs embedding time)

    def following(self, chunk: Chunk) -> list[Chunk]:
        """The chunks after `chunk` that continue its last section, in order."""
        if self.max_chunks <= 0:
            return []
        nearby = self.chunks.pages(chunk.source, chunk.page, chunk.page + 1)
        ids = [c.id for c in nearby]
        if chunk.id not in ids:  # the document was re-indexed since it was retrieved
            return []
        after = nearby[ids.index(chunk.id) + 1 :]
        out = []
        for nxt in after:
            if len(out) == self.max_chunks or starts_section(nxt.text):
                break
            out.append(nxt)
        return out

    def expand(self, sources: Sequence[ScoredChunk]) -> list[ScoredChunk]:
        """The sources, each of the first `max_sources` followed by its continuation. A continuation that was
        retrieved on its own moves up behind the chunk it continues, keeping the better of the two scores."""
        if self.max_chunks <= 0:
            return list(sources)
        by_id = {s.chunk.id: s for s in sources}
        placed: set[str] = set()
        out: list[ScoredChunk] = []
        for rank, hit in enumerate(sources):
            if hit.chunk.id in placed:
                continue
            out.append(hit)
            placed.add(hit.chunk.id)
            if rank >= self.max_sources:
                continue
            previous = hit.chunk
            for nxt in self.following(hit.chunk):
                if nxt.id in placed:  # retrieved above the chunk it continues: it stays, marked as carrying it on
                    at = next(i for i, s in enumerate(out) if s.chunk.id == nxt.id)
                    if CONTINUES not in out[at].chunk.metadata:
                        out[at] = dataclasses.replace(out[at], chunk=_carrying(out[at].chunk, previous.id))
                    break
                own = by_id.get(nxt.id)
                score, relevance = max(hit.score, own.score if own else 0), max(hit.relevance, own.relevance if own else 0)
                out.append(ScoredChunk(_carrying(nxt, previous.id), score, relevance))
                placed.add(nxt.id)
                previous = nxt
        if len(out) > len(sources):
            log.debug("sources continued", extra={"added": len(out) - len(sources)})
        return self._link(out)

    def preceding(self, chunk: Chunk) -> Chunk | None:
        """The chunk just before `chunk` in its document (the previous page's last one at a page start)."""
        nearby = self.chunks.pages(chunk.source, max(chunk.page - 1, 0), chunk.page)
        ids = [c.id for c in nearby]
        at = ids.index(chunk.id) if chunk.id in ids else 0
        return nearby[at - 1] if at > 0 else None

    def _link(self, sources: list[ScoredChunk]) -> list[ScoredChunk]:
        """Marks each source that carries on another source's section (both retrieved on their own, or one as
        the continuation of a third), so it is read under that section's heading: "bullseye was Woody's
        wooden toyhorse" on the next page still answers "Where do these codenames come from?"."""
        present = {s.chunk.id for s in sources}
        out = list(sources)
        for i, hit in enumerate(out):
            if CONTINUES in hit.chunk.metadata or starts_section(hit.chunk.text):
                continue
            previous = self.preceding(hit.chunk)
            if previous is not None and previous.id in present:
                out[i] = dataclasses.replace(hit, chunk=_carrying(hit.chunk, previous.id))
        return out
