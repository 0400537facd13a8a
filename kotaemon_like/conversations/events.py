"""Events of the conversation layer, next to chat.py's turn events (token, citation, tool, done)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .records import ChatMessage


@dataclass(frozen=True)
class ConversationEvent:
    """A conversation was created for this request: its id and the customer token (sent once)."""

    id: str
    token: str
    type: str = "conversation"


@dataclass(frozen=True)
class StateEvent:
    """Where the conversation stands: bot | waiting (with the queue position) | agent | closed."""

    state: str
    position: int | None = None
    message: str = ""  # what the customer is told about it
    agent: str = ""  # the agent's display name while one is with the customer
    type: str = "state"


@dataclass(frozen=True)
class MessageEvent:
    """A stored message of the transcript, as the live stream and the transcript show it."""

    id: int
    role: str
    text: str
    author: str = ""
    created_at: str = ""
    sources: list = field(default_factory=list)
    type: str = "message"

    @classmethod
    def of(cls, message: ChatMessage, with_sources: bool = True) -> "MessageEvent":
        return cls(message.id, message.role, message.text, message.author, message.created_at.isoformat(timespec="seconds"),
                   list(message.sources) if with_sources else [])


def as_dict(event) -> dict:
    return dataclasses.asdict(event)
