"""What both memory backends share: parameters and how a running summary is shown to the generator."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..components import Message

SUMMARY_PREFIX = "Summary of the earlier conversation: "


class MemoryParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    turns: int = Field(6, gt=0)  # user/assistant pairs kept verbatim
    ttl_s: float = Field(3600, gt=0)  # a session idle this long is forgotten
    summary: bool = False  # fold turns that leave the window into a running summary


def with_summary(summary: str, messages: list[Message]) -> list[Message]:
    return ([Message("system", SUMMARY_PREFIX + summary)] if summary else []) + messages
