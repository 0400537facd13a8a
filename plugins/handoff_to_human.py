"""Hands the conversation to a human agent: queues it and tells the customer their place, or offers a ticket."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from kotaemon_like.tools import ToolContext, ToolError, ToolPlugin


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
        r"\b(?:talk|speak|chat|connect|transfer|put\s+me\s+(?:through|in\s+touch)|pass\s+me|get\s+me|give\s+me|switch\s+me"
        r"|hand\s+me|escalate|need|want|require)\b.{0,25}\b(?:humans?|person|people|someone|somebody|anyone|anybody|agent|representative|rep"
        r"|operator|manager|supervisor|staff|employee|customer\s+service|support\s+team|colleague)\b",
        r"^\W*(?:an?\s+|the\s+|real\s+|live\s+)*(?:human|person|agent|operator|representative|manager|supervisor|someone)s?"
        r"(?:\s+(?:please|pls|plz|now|asap))*\W*$",
        r"\b(?:real|live|actual)\s+(?:human|person|agent|people|one)\b",
        r"\b(?:humans?|person|agent|someone|somebody|operator|representative|manager)\b.{0,20}\b(?:i|we)\s+(?:can|could)\s+(?:talk|speak|chat)",
        r"\b(?:not|no|don't\s+want|done\s+with|hate|stop)\b.{0,15}\b(?:bot|chatbot|robot|machine)\b",
        r"转.{0,3}(?:人工|客服|真人|人)|^\W*人工(?:客服|服务)?\W*$",
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
