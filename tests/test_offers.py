"""Offers read from the transcript: a short yes after "Would you like me to hand you over...?" accepts it."""

from __future__ import annotations

import pytest

from kotaemon_like.chat import NO_ANSWER
from kotaemon_like.components import Message
from kotaemon_like.tools.offers import accepted_offer, accepts, offer, offered, offered_question

ACCEPT = ["yes", "Yes please", "ok please", "OK", "sure", "sure, go ahead", "yeah", "please do", "好的", "是的", "好", "可以", "转人工", "嗯，麻烦了"]
DECLINE = ["no", "no thanks", "not now", "don't", "不用了", "不需要", "算了", "别转", "How do I hold back a package?", "maybe later"]


def handoff_offered(question: str = "What is your refund policy?", lang: str = "en") -> list[Message]:
    return [Message("user", question), Message("assistant", NO_ANSWER[lang])]


@pytest.mark.parametrize("reply", ACCEPT)
def test_short_yes_accepts_the_offer(reply):
    assert accepts(reply)
    assert accepted_offer(reply, handoff_offered()) == "handoff_to_human"
    assert accepted_offer(reply, handoff_offered("退款政策是什么？", "zh")) == "handoff_to_human"


@pytest.mark.parametrize("reply", DECLINE)
def test_no_or_a_new_question_does_not(reply):
    assert accepted_offer(reply, handoff_offered()) is None


def test_the_offer_must_be_the_last_word():
    history = [*handoff_offered(), Message("user", "what about shipping?"), Message("assistant", "Shipping takes 2 days.")]
    assert offered(history) is None and accepted_offer("yes", history) is None
    assert accepted_offer("yes", []) is None


def test_a_ticket_offer_and_the_question_it_answers():
    history = [Message("user", "My blender stopped working"),
               Message("assistant", f"I am sorry to hear that. {offer('create_ticket')}")]
    assert accepted_offer("ok please", history) == "create_ticket"
    assert offered_question(history) == "My blender stopped working"


def test_every_no_answer_reply_ends_with_the_handoff_offer():
    for lang, text in NO_ANSWER.items():
        assert text.endswith(offer("handoff_to_human", lang))
