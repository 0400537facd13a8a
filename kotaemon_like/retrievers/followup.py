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
    r"\b(it|its|it's|this|that|these|those|they|them|their|one|ones|same|there|then|also|else)\b|它|这个|那个|这些|那些|这种|那种|他们|其|该",
    re.IGNORECASE,
)
# a fragment that continues the previous question ("and in Chinese?", "what about refunds?", "那退款呢？")
_CONTINUATION = re.compile(
    r"^(and|or|but|also|so|then|what about|how about|what if|same for)\b|^(那|还有|另外|那么|那如果|和|跟|与)|呢[？?]?$|什么意思",
    re.IGNORECASE,
)
# its own subject: an order number, an email address, a product code
_IDENTIFIER = re.compile(r"\d{3,}|[\w.+-]+@[\w-]+\.\w+|\b[A-Z]{2,}-?\d+\b")
_CJK_CHAR = re.compile(r"[\u3400-\u9fff]")
REWRITE_PROMPT = (
    "Rewrite the customer's last message as one standalone search query that includes the subject "
    "from the conversation. Keep the customer's language. Reply with the query only."
)


def needs_context(message: str) -> bool:
    """Whether the message refers back to earlier turns instead of standing on its own.

    It does when it continues the previous question ("and refunds?", "那退款呢？"), leans on a pronoun
    ("how do I install it?", "这个多少钱？") with little subject of its own, or is a bare fragment
    ("why?", "price?"). A question with its own subject or an identifier ("Where is my order #12345?",
    "什么是实验式？") is searched as it is.
    """
    if _IDENTIFIER.search(message):
        return False
    subject = _subject_size(message)
    if _CONTINUATION.search(message.strip()):
        return subject <= 3
    if _ANAPHORA.search(message):
        return subject <= 2
    return subject <= 1 and len(message.split()) <= 2


def _subject_size(message: str) -> float:
    """Content words of the message; a Chinese character counts half a word (terms are characters there)."""
    words = [t for t in query_terms(message) if not _CJK_CHAR.search(t)]
    characters = {t for t in query_terms(_ANAPHORA.sub(" ", message)) if len(t) == 1 and _CJK_CHAR.match(t)}
    return len(words) + len(characters) / 2


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
