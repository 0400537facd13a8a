"""Hands the conversation to a human agent: queues it with its history and tells the customer their place."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from kotaemon_like.tools import ToolContext, ToolPlugin
from kotaemon_like.tools.handoff import DEFAULT_HANDOFF_DB, HandoffQueue


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
    )
    keywords = ("human", "agent", "person", "representative", "operator")

    class Settings(ToolPlugin.Settings):
        db_path: Path = DEFAULT_HANDOFF_DB
        minutes_per_customer: float = Field(4.0, ge=0)  # for the wait estimate

    def run(
        self,
        reason: Annotated[str, Field(description="why the customer needs a human, in a few words")] = "",
        *,
        context: ToolContext,
    ) -> str:
        entry = HandoffQueue(self.settings.db_path).enqueue(context.session_id, reason, context.history)
        ahead = entry.position - 1
        wait = math.ceil(ahead * self.settings.minutes_per_customer)
        when = "You are next in line" if ahead == 0 else f"You are number {entry.position} in the queue"
        estimate = f" (about {wait} minutes)" if wait else ""
        return f"I am transferring you to a human agent, who will see our conversation so far. {when}{estimate}."

    @classmethod
    def extract(cls, message: str) -> dict[str, Any]:
        return {"reason": message[:200]}
