"""Offers the assistant makes (a hand-off, a ticket) and the short replies that accept them.

An offer is read from the last assistant message of the transcript, not from process state, so any
replica of the app continues a conversation another one started.
"""

from __future__ import annotations

import re
from typing import Sequence

from ..components import Message

# plugin -> language -> the sentence that offers it; the assistant ends its message with one of these
OFFERS: dict[str, dict[str, str]] = {
    "handoff_to_human": {
        "en": "Would you like me to hand you over to a human agent?",
        "zh": "需要为您转接人工客服吗？",
    },
    "create_ticket": {
        "en": "Would you like me to open a support ticket for this?",
        "zh": "需要为您创建一个工单吗？",
    },
}

_LONGEST_ACCEPTANCE = 60  # characters: a longer reply says something of its own and is routed as usual
_YES = re.compile(
    r"^(yes|yeah|yep|yup|ok|okay|sure|please|go ahead|do it|do that|of course|absolutely|definitely|alright|all right|"
    r"sounds good|that would be (great|good|nice)|i would|i'd like that|why not)\b"
    r"|^(好|是|可以|行|要|需要|嗯|对|麻烦|请|转人工|转吧|转接|开吧|建吧)",
    re.IGNORECASE,
)
_NO = re.compile(r"\b(no|nope|not|don't|dont|never|later|nah)\b|不|别|算了|没事", re.IGNORECASE)


def offer(plugin: str, lang: str = "en") -> str:
    """The sentence offering `plugin` in `lang` ("en" or "zh")."""
    sentences = OFFERS[plugin]
    return sentences.get(lang, sentences["en"])


def offered(history: Sequence[Message]) -> str | None:
    """The plugin the assistant offered in its last message, when that message is the last word of the transcript."""
    for message in reversed(history):
        if message.role == "user":
            return None
        if message.role == "assistant":
            text = message.content.strip()
            for plugin, sentences in OFFERS.items():
                if any(text.endswith(s) for s in sentences.values()):
                    return plugin
            return None
    return None


def accepts(reply: str) -> bool:
    """A short yes ("ok please", "sure", "好的", "转人工") and no negation."""
    text = " ".join(reply.split()).strip(" .!。！")
    if not text or len(text) > _LONGEST_ACCEPTANCE or _NO.search(text):
        return False
    return bool(_YES.search(text))


def accepted_offer(reply: str, history: Sequence[Message]) -> str | None:
    """The offered plugin when `reply` accepts the offer in the last assistant message, else None."""
    plugin = offered(history)
    return plugin if plugin is not None and accepts(reply) else None


def offered_question(history: Sequence[Message]) -> str:
    """The customer message the offer answered (the question the assistant could not help with)."""
    seen_offer = False
    for message in reversed(history):
        if message.role == "assistant":
            seen_offer = True
        elif message.role == "user" and seen_offer:
            return message.content
    return ""
