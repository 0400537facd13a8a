"""Follow-up questions: turn "what does it cost?" into a query that carries the conversation's subject."""

from __future__ import annotations

import logging
import re
from typing import Sequence

from ..components import Message
from ..stores.analyzer import query_terms

log = logging.getLogger(__name__)

# words that point back at something said before (English and Chinese)
_ANAPHORA = re.compile(
    r"\b(it|its|it's|this|that|these|those|they|them|their|one|ones|same|there|then|also|else)\b|它|这个|那个|这些|那些|他们|其|该",
    re.IGNORECASE,
)
REWRITE_PROMPT = (
    "Rewrite the customer's last message as one standalone search query that includes the subject "
    "from the conversation. Keep the customer's language. Reply with the query only."
)


def needs_context(message: str) -> bool:
    """Short messages and ones that refer back ("it", "that", "它") depend on earlier turns."""
    return bool(_ANAPHORA.search(message)) or len(query_terms(message)) <= 2


def heuristic_query(message: str, history: Sequence[Message]) -> str:
    """Without an LLM: prefix the previous customer message when this one depends on it."""
    previous = [m.content for m in history if m.role == "user"]
    if not previous or not needs_context(message):
        return message
    return f"{previous[-1]} {message}"


def rewrite_query(message: str, history: Sequence[Message], llm=None, timeout_s: float = 5.0) -> str:
    """The retrieval query for this turn: LLM rewrite when one is given and the message needs it, else the heuristic."""
    fallback = heuristic_query(message, history)
    if llm is None or fallback == message:
        return fallback
    turns = [{"role": m.role, "content": m.content} for m in history if m.role in ("user", "assistant")][-6:]
    try:
        response = llm.complete(
            [{"role": "system", "content": REWRITE_PROMPT}, *turns, {"role": "user", "content": message}], timeout_s=timeout_s
        )
        text = (response.choices[0].message.content or "").strip()
        return text.splitlines()[0][:500] if text else fallback
    except Exception as exc:  # the rewrite is an improvement, never a point of failure
        log.warning("query rewrite failed (%s); using the heuristic", exc)
        return fallback
