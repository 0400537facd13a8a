"""Running summaries of long conversations: by the LLM when one is configured, else a compact digest."""

from __future__ import annotations

import logging
from typing import Sequence

from ..components import Message

log = logging.getLogger(__name__)
MAX_CHARS = 1200
SUMMARY_PROMPT = (
    "Update the running summary of a customer-service conversation with the new turns. Keep facts the "
    "customer gave (names, order numbers, products, problems) and what was answered. At most 120 words."
)


def digest(previous: str, dropped: Sequence[Message]) -> str:
    """Without an LLM: the customer's earlier questions, newest last, within MAX_CHARS."""
    asked = "; ".join(" ".join(m.content.split()) for m in dropped if m.role == "user")
    text = f"{previous}; the customer asked: {asked}" if previous else f"The customer asked: {asked}"
    return text if len(text) <= MAX_CHARS else "…" + text[-MAX_CHARS:]


def summarize(previous: str, dropped: Sequence[Message], llm=None, timeout_s: float = 10.0) -> str:
    if not dropped:
        return previous
    if llm is not None:
        turns = "\n".join(f"{m.role}: {m.content}" for m in dropped)
        try:
            response = llm.complete(
                [{"role": "system", "content": SUMMARY_PROMPT},
                 {"role": "user", "content": f"Summary so far: {previous or '(none)'}\n\nNew turns:\n{turns}"}],
                timeout_s=timeout_s,
            )
            text = (response.choices[0].message.content or "").strip()
            if text:
                return text[:MAX_CHARS]
        except Exception as exc:
            log.warning("LLM summary failed (%s); keeping a digest", exc)
    return digest(previous, dropped)
