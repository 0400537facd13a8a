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
