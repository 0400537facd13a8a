"""Follow-up questions without an LLM: rewritten only when the message refers back to the conversation."""

from __future__ import annotations

import pytest

from kotaemon_like.components import Message
from kotaemon_like.retrievers.followup import heuristic_query, needs_context

REFERS_BACK = [
    "How do I install it?",
    "what about the price?",
    "and in Chinese?",
    "how much is it",
    "why?",
    "price?",
    "Does it work on Ubuntu?",
    "那个呢？",
    "这个怎么用？",
    "那它多少钱？",
    "是什么意思？",
    "多少钱？",
    "和 Ubuntu 有什么区别？",
]

STANDS_ALONE = [
    "什么是实验式？",
    "Where is my order #12345?",
    "How do I hold back a package from being upgraded?",
    "What is a virtual package?",
    "What is Debian?",
    "退款政策是什么？",
    "如何安装软件包？",
    "My email is ana@example.com",
    "can I talk to a human please",
]


@pytest.mark.parametrize("message", REFERS_BACK)
def test_messages_that_refer_back_are_rewritten(message):
    history = [Message("user", "Tell me about the Pro plan"), Message("assistant", "The Pro plan costs 49 euros.")]
    assert needs_context(message)
    assert heuristic_query(message, history) == f"Tell me about the Pro plan {message}"


@pytest.mark.parametrize("message", STANDS_ALONE)
def test_self_contained_questions_are_searched_as_they_are(message):
    history = [Message("user", "什么是实验式？"), Message("assistant", "实验式是……")]
    assert not needs_context(message)
    assert heuristic_query(message, history) == message


def test_the_first_message_has_nothing_to_refer_to():
    assert heuristic_query("How do I install it?", []) == "How do I install it?"
