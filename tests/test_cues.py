"""How a message reads (tools/cues.py): a question for information, or the customer's own request."""

from __future__ import annotations

import pytest

from kotaemon_like.tools.cues import (
    asks_capability, asks_for_information, asks_permission, clauses, conditional_question, request_cue, states_intent,
)

HANDOFF = (r"\b(?:talk|speak)\b.{0,25}\b(?:human|person|agent)\b",)


@pytest.mark.parametrize("message", [
    "How do I hold back a package?", "Where do I find my order number?", "What happens if my parcel arrives damaged?",
    "which package do I need for a PDF viewer", "Do you ship to Canada?", "如何安装软件包？", "如果包裹丢了怎么办",
    "订单状态有哪几种？", "my friend's parcel was damaged, what can she do?", "快递丢了会赔吗",
    # what a party does as a rule, the usual case, a choice, a case set by a clause, contact details, what a word means
    "Does someone check each parcel before it leaves the warehouse?", "Does the courier take damaged parcels back?",
    "How many days does it usually take for my order to arrive?", "Will my order be shipped in one box or several?",
    "When my order has shipped, can I still change the address?", "Can I be notified when my parcel is out for delivery?",
    "Is there a phone number to reach a human?", "What does 'in transit' mean on my tracking page?", "周末有人工客服吗",
    "有人工客服的邮箱吗", "Will someone contact me after I file a complaint?", "How will I know my order has been dispatched?",
    # the usual course of things, a choice between two, hours on holidays, how many working days
    "my parcel shows 'arrived at hub', what normally happens after that?", "退款一般几个工作日到账",
    "are your agents around on new year's eve or is it only the bot?", "国庆假期有客服处理退货吗",
    "Do complaints get answered by email or by phone?", "工单提交后通常几个小时有回复",
    "saturday and sunday — any live staff then, or only the bot?",  # the service's hours, the time named first
    "客服能看到我之前和机器人聊的内容吗",  # what the people who take over can see: a question, however long
    "can I join the debian project as a translator?",  # joining something is no person sent for
    "is there a deadline for telling you that something arrived dented?", "is there a fee for returns?",  # the service's rules
])
def test_information_questions(message):
    assert asks_for_information(message) and not states_intent(message, (r".",))


@pytest.mark.parametrize("message", [
    "where is my order?", "what is the status of my order", "我买的东西怎么还没发货", "can I talk to a human please",
    "When will the lamp I ordered get here?", "Can you tell me when my order is arriving?", "Is anybody available to talk right now?",
    "can someone from your team chat with me", "Could you check on my headphones order, they should have been here on Friday",
    "有人可以跟我聊一下吗", "帮我看看怎么处理",
    # the customer's own case, whatever its words: a choice about it, "usually" outside the question, "有人处理吗"
    "is my order shipped or not?", "my order usually comes in 2 days, why is it late?", "我的投诉三天了有人处理吗",
    "will you process the refund or not?",
    "I've been waiting all weekend, is anyone going to help me?", "can someone phone me back about my refund",
    "能让你们技术部门的同事直接来跟我沟通吗",  # a person sent for, named at length
    "can one of your live reps jump in here instead of you", "could someone from support join this conversation?",
    "is anyone real there?",
])
def test_requests_are_not_information_questions(message):
    assert not asks_for_information(message) and states_intent(message, (r".",))


@pytest.mark.parametrize("message", [
    "I'd appreciate an update on my delivery", "track my package please", "我的快递还没到", "the kettle I received leaks",
])
def test_statements_about_the_customers_own_case_are_request_cues(message):
    assert request_cue(message)


@pytest.mark.parametrize("message", [
    # a question is no request cue, even with "my" or "someone" in it: only a request form or an argument routes it
    "When is my card charged for an order?", "Is my data shared with the delivery company?",
    "Can someone else collect my parcel for me?", "where is my order?", "what's the status of my order",
    "my order number starts with a letter, is that normal?", "请问人工客服几点上班",
])
def test_questions_are_not_request_cues(message):
    assert not request_cue(message)


@pytest.mark.parametrize("message", [
    "Can I get a refund if my order arrives late?", "If my package is lost, who pays for it?",
    "Once my order has shipped, can I still change the address?", "What if my order never arrives?",
])
def test_a_question_about_a_case_that_may_happen_asks_for_information(message):
    assert conditional_question(message) and asks_for_information(message) and not states_intent(message, (r".",))


@pytest.mark.parametrize("message", [
    "can you check if my order shipped?", "I wonder if my parcel is lost", "is my package lost? if you could check",
    "my order is late, if you could look into it",
])
def test_whether_and_polite_if_are_no_condition(message):
    assert not conditional_question(message)


@pytest.mark.parametrize("message", [
    # what anyone may do, when the service is there, and wanting to know, are questions for information
    "Can customers talk to a human over the phone?", "Is there a way to talk to a person after hours?",
    "can I speak to an agent on weekends", "I'd like to know your refund policy", "我想了解人工客服的服务时间",
    "投诉需要提供什么材料", "I can't find where apt stores downloaded packages", "I don't know which package provides ls",
])
def test_rules_availability_and_wanting_to_know_ask_for_information(message):
    assert asks_for_information(message) and not states_intent(message, (r".",))


def test_the_customers_own_thing_keeps_a_question_open_to_request_forms():
    assert not asks_for_information("I'd like to know where my parcel is") and states_intent("Is it possible to chat with a live agent?", (r"agent",))



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


@pytest.mark.parametrize("message", [
    # what is possible or allowed, whoever would do it, even about the customer's own damaged item or order
    "Can a person pick up a damaged item from my address instead of me sending it back?",
    "Can I collect my order from a parcel shop instead of home delivery?", "Can my order be delivered to a locker?",
    "Is it possible to change the delivery address on my order?", "商品有划痕能退货吗", "客服可以帮我改订单吗",
    # a choice between two, in Chinese as "… or …?" is in English
    "人工客服能帮忙查物流吗，还是只能自己查",
])
def test_capability_questions_ask_for_information(message):
    assert asks_capability(message) and asks_for_information(message) and not states_intent(message, (r".",))


@pytest.mark.parametrize("message", [
    # asking the service itself for something: told, shown, put through, a lookup or a report made
    "Could I get the tracking code for the lamp I ordered?", "can I speak to a real person", "Can a human look at this?",
    "Is it possible to chat with a live agent?", "能帮我找个客服吗", "可以让人工来接一下吗", "能帮我查一下订单吗",
    "我的快递还是没到", "Can you check my order 12345?",
])
def test_asking_for_the_service_itself_is_no_capability_question(message):
    assert not asks_capability(message)


def test_a_colon_ends_a_clause():
    assert clauses("log this: the strap snapped") == ["log this", "the strap snapped"]


def test_a_case_named_another_way_than_my_keeps_a_what_question_open():
    # "what's happening with 43318": the order number (found by a plugin's patterns) names the customer's own case
    assert asks_for_information("what's happening with 43318") and not asks_for_information("what's happening with 43318", own=True)
    assert asks_for_information("what does 'processing' mean for 43318?", own=True)


def test_do_you_know_asks_the_service_not_for_a_rule():
    assert not asks_for_information("do you know when my curtains will be delivered?")
    assert not asks_for_information("Do you have an update on my order?")
    assert asks_for_information("Do you ship to Canada?") and asks_for_information("Do you know how to install a package?")


def test_a_demand_and_the_customer_explaining_are_no_information_questions():
    assert not asks_for_information("the lamp is smashed, what are you going to do about it")
    assert not asks_for_information("I'd rather explain this to a real person")
    assert asks_for_information("what are the delivery options") and asks_for_information("can you explain the return policy")


@pytest.mark.parametrize("message", ["没有账号能查订单吗", "不用注册也能下单吗", "商品坏了是维修还是换新"])
def test_a_chinese_case_or_choice_asks_for_information(message):
    assert asks_for_information(message)


@pytest.mark.parametrize("message", ["没有账号能帮我查一下订单吗", "我的包裹是丢了还是在路上"])
def test_a_chinese_request_with_a_case_or_a_choice_stays_a_request(message):
    assert not asks_for_information(message)


@pytest.mark.parametrize("message,expected", [
    # a question, then a request of its own that opens with "please" (请, 麻烦): the request stands
    ("现在谁在值班？请值班的客服来回复我", True), ("how do I return an item? please open a ticket", True),
    # a question, then "please" asking to be told: still the question
    ("周末有人工客服吗？请告诉我", False), ("What's the refund policy? please explain", False),
])
def test_a_request_after_a_question_stands_when_it_says_please(message, expected):
    forms = (r"客服.{0,4}来(?:回复|回答)", r"\bopen\s+a\s+ticket\b", r"人工客服", r"refund")
    assert states_intent(message, forms) is expected
