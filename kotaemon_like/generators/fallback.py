"""A fallback chain: when a generator fails before its first token, the next one answers."""

from __future__ import annotations

import logging
from typing import Iterator, Sequence

from .. import metrics
from ..components import GenerationInfo, Generator, Message, ScoredChunk

log = logging.getLogger(__name__)


class FallbackGenerator:
    """Tries each generator in order; the stream's GenerationInfo names the one that answered."""

    def __init__(self, chain: Sequence[Generator]):
        if not chain:
            raise ValueError("a fallback chain needs at least one generator")
        self.chain = list(chain)
        self.name = " -> ".join(g.name for g in self.chain)
        # as the first generator, which answers unless it fails
        self.reads_system_messages = getattr(self.chain[0], "reads_system_messages", False)

    def stream(
        self, question: str, sources: Sequence[ScoredChunk], history: Sequence[Message] = ()
    ) -> Iterator[str | GenerationInfo]:
        failed: list[str] = []
        for position, generator in enumerate(self.chain):
            started = False
            info = GenerationInfo(generator.name)
            try:
                for item in generator.stream(question, sources, history):
                    if isinstance(item, GenerationInfo):
                        info = item
                        continue
                    started = True
                    yield item
            except Exception as exc:
                if started:  # the customer already reads this answer: end it rather than start another
                    log.warning("generator %s failed mid-answer: %s", generator.name, exc)
                    yield " …"
                    yield GenerationInfo(generator.name, failed=tuple(failed))
                    return
                failed.append(generator.name)
                following = self.chain[position + 1].name if position + 1 < len(self.chain) else None
                metrics.GENERATOR_FALLBACKS.labels(generator.name).inc()
                log.warning("generator %s failed before answering (%s); %s", generator.name, exc,
                            f"falling back to {following}" if following else "no fallback left",
                            extra={"generator": generator.name})
                if following is None:
                    raise
                continue
            yield GenerationInfo(info.generator, info.prompt_tokens, info.completion_tokens, tuple(failed))
            return
