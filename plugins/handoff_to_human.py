"""Hands the conversation to a human agent: queues it and tells the customer their place, or offers a ticket."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from kotaemon_like.tools import ToolContext, ToolError, ToolPlugin


# who a customer asks for
_PEOPLE = (r"(?:humans?|person|people|someone|somebody|anyone|anybody|agent|representative|rep|operator|manager|supervisor|staff"
           r"|employee|customer\s+service|support\s+team|colleague)")


class HandoffToHuman(ToolPlugin):
    name = "handoff_to_human"
    description = "Transfer the conversation to a human support agent when the customer asks for one or the assistant cannot help."
    label = "transfer to a human agent"
    examples = (
        "I want to talk to a human",
        "can I speak to a real person",
        "connect me to an agent",
        "let me talk to customer service",
        "I need a human, not a bot",
        "this is useless, let me talk to someone",
        "you are not helping, get me a person",
        "transfer me to a representative",
        "connect me with someone from support",
        "转人工",
        "我要人工客服",
        "帮我转接人工",
        "我想找真人客服",
        "我想和真人聊",
        "给我找个真人",
    )
    counter_examples = (  # questions that mention people or agents but ask for information
        "who is the person responsible for this",
        "who maintains this package",
        "what does the agent program do",
        "谁负责维护这个软件",
    )

    # request forms (see ToolPlugin.intents): asking for a person, naming one, or refusing the bot
    intents = (
        rf"\b(?:talk|speak|chat|connect|transfer|put\s+me\s+(?:through|in\s+touch)|pass\s+me|get\s+me|give\s+me|switch\s+me"
        rf"|hand\s+me|escalate)\b.{{0,25}}\b{_PEOPLE}\b",
        # wanting a person is wanting one as such: "I need a human", not "I need a package that lets people share files"
        rf"\b(?:need|want|require|prefer|like)\s+(?:help\s+from\s+|to\s+(?:talk|speak|chat)\s+(?:to|with)\s+)?"
        rf"(?:(?:an?|the|some|one|real|actual|live|proper|your)\s+)*{_PEOPLE}\b",
        # naming who they want, and nothing else: "operator", "a real human, please", "agent agent agent"
        rf"^\W*(?:(?:an?|the|real|live|your)\s+)*(?:{_PEOPLE}|human\s+being|boss|customer\s+support|live\s+(?:chat|support))s?"
        rf"(?:\W+(?:{_PEOPLE}s?|please|pls|plz|now|asap))*\W*$",
        r"\b(?:real|live|actual)\s+(?:human|person|agent|people|one)\b",
        r"\b(?:humans?|person|agent|someone|somebody|anyone|anybody|operator|representative|manager)\b.{0,20}\b(?:i|we)\s+(?:can|could)"
        r"\s+(?:talk|speak|chat)",
        rf"\b(?:get|have|see|reach|find|bring|fetch)\s+(?:me\s+|us\s+)?(?:(?:an?|the|your|some|real|live|actual)\s+)+{_PEOPLE}\b",
        r"\b(?:not|no|don't\s+want|done\s+with|hate|stop)\b.{0,15}\b(?:bot|chatbot|robot|machine)\b",
        # giving up on the assistant: "this bot is useless", "you are not helping"
        r"\b(?:you|you're|bot|chatbot|robot|this\s+(?:chat|thing)|assistant)\b.{0,10}\b(?:useless|stupid|dumb|pointless|not\s+helping"
        r"|no\s+help|not\s+helpful|unhelpful|(?:does|do)\s*n[o']?t\s+(?:help|understand)|waste\s+of\s+time)\b",
        r"(?:你|机器人|智能客服).{0,4}(?:没用|太笨|听不懂|答非所问|不行)",
        r"转.{0,3}(?:人工|客服|真人|人)|^\W*(?:(?:人工|真人|经理|主管|客服|活人|负责人)(?:客服|服务)?[呢吧啊呀]*\W*)+$",
        r"有没有(?:人工|真人|客服|活人)(?:客服)?(?:[呢吗啊在]|\W*$)",
        r"(?:要|找|叫|让|换|需要|联系|接).{0,4}(?:人工|真人|客服|经理|主管|负责人|活人)|找(?:个|一个)(?:人|真人)",
        r"(?:和|跟|与|同).{0,4}(?:客服|真人|人工|人).{0,6}(?:说|聊|谈|沟通|对话|讲)",
    )

    def run(
        self,
        reason: Annotated[str, Field(description="why the customer needs a human, in a few words")] = "",
        *,
        context: ToolContext,
    ) -> str:
        if context.conversations is None:
            raise ToolError("no conversation store is connected, so no agent can be reached")
        # the queue, agents online and business hours live in the conversation layer (conversations/desk.py)
        return context.conversations.handoff(context.session_id, reason, context.history)

    @classmethod
    def extract(cls, message: str) -> dict[str, Any]:
        return {"reason": message[:200]}
