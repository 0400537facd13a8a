"""How a message reads (tools/cues.py): a question for information, or the customer's own request."""

from __future__ import annotations

import pytest

from kotaemon_like.tools.cues import asks_for_information, asks_permission, clauses, request_cue, states_intent

HANDOFF = (r"\b(?:talk|speak)\b.{0,25}\b(?:human|person|agent)\b",)


@pytest.mark.parametrize("message", [
    "How do I hold back a package?", "Where do I find my order number?", "What happens if my parcel arrives damaged?",
    "which package do I need for a PDF viewer", "Do you ship to Canada?", "如何安装软件包？", "如果包裹丢了怎么办",
    "订单状态有哪几种？",
])
def test_information_questions(message):
    assert asks_for_information(message) and not states_intent(message, (r".",))


@pytest.mark.parametrize("message", [
    "where is my order?", "what is the status of my order", "我买的东西怎么还没发货", "can I talk to a human please",
])
def test_requests_are_not_information_questions(message):
    assert not asks_for_information(message) and request_cue(message)


def test_a_request_form_counts_only_outside_an_information_question():
    assert states_intent("let me talk to a human", HANDOFF) and states_intent("Can I speak to an agent?", HANDOFF)
    assert not states_intent("How can I talk to a human?", HANDOFF) and not states_intent("where is my order", HANDOFF)


@pytest.mark.parametrize("message", [
    "Can I pay my order by bank transfer?", "could we get express delivery to Austria?", "Is it possible to pay by PayPal?",
    "hi, can I return a package after 30 days?", "Am I allowed to open the parcel before paying?",
])
def test_permission_questions(message):
    assert asks_permission(message)


@pytest.mark.parametrize("message", ["Could you check order 12345?", "can you track my parcel", "I can't pay", "where is my order"])
def test_requests_are_not_permission_questions(message):
    assert not asks_permission(message)


def test_a_request_form_in_any_clause_counts():
    assert clauses("useless bot. HUMAN!") == ["useless bot", "HUMAN"]
    only_a_person = (r"^\W*(?:a\s+)?(?:human|person)\W*$",)
    assert states_intent("useless bot. HUMAN.", only_a_person) and states_intent("ugh, a person", only_a_person)
    assert not states_intent("a person who maintains packages", only_a_person)
