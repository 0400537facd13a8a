"""Prompt building for LLM generators: system prompt, history, numbered sources, the question."""

from __future__ import annotations

from typing import Sequence

from ..components import Message, ScoredChunk

SYSTEM_PROMPT = (
    "You are a customer-service assistant. Answer only from the numbered sources you are given. "
    "Cite every fact with its source number in square brackets, like [1] or [2][3]. "
    "If the sources do not contain the answer, say you do not know and offer to hand the customer "
    "over to a human agent. Answer in the language of the customer's question. Be brief and friendly."
)

ANSWER_PROMPT = "Sources:\n{sources}\n\nCustomer question: {question}"


def format_sources(sources: Sequence[ScoredChunk]) -> str:
    return "\n\n".join(
        f"[{n}] ({hit.chunk.source}, page {hit.chunk.page})\n{' '.join(hit.chunk.text.split())}"
        for n, hit in enumerate(sources, start=1)
    )


def build_messages(
    question: str, sources: Sequence[ScoredChunk], history: Sequence[Message], system_prompt: str, answer_prompt: str
) -> list[dict]:
    """OpenAI-style messages: system, the remembered turns, then the question with its sources."""
    messages = [{"role": "system", "content": system_prompt}]
    messages += [m.as_openai() for m in history]
    messages.append({"role": "user", "content": answer_prompt.format(sources=format_sources(sources), question=question)})
    return messages
