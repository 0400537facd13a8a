"""The `ConversationStore` contract: conversations, transcripts, the hand-off queue, pending tool questions,
tickets, ratings, staff accounts, console sessions and API keys. Every call names its tenant.

`SqlConversationStore` (sql_store.py) implements it on SQLite or PostgreSQL; another store passes
`kotaemon_like.conversations.testing` (the conformance suite) to be a drop-in replacement.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Sequence

from .records import ApiKey, ChatMessage, Conversation, QueueEntry, Rating, StaffUser, Ticket, TicketEntry


class ConversationNotFound(LookupError):
    """No conversation (or ticket, or user) with that id in this tenant."""


class StateConflict(Exception):
    """The operation does not fit the current state (e.g. replying to a conversation nobody took)."""


class ConversationStore(ABC):
    # -- conversations and transcripts -----------------------------------------------------
    @abstractmethod
    def create_conversation(self, tenant: str, channel: str) -> tuple[Conversation, str]:
        """A new conversation in state `bot` and its customer token (returned once, stored hashed)."""

    @abstractmethod
    def get_conversation(self, tenant: str, conversation_id: str) -> Conversation | None: ...

    @abstractmethod
    def authorize(self, tenant: str, conversation_id: str, token: str) -> Conversation | None:
        """The conversation when `token` is its customer token; None alike for a wrong token and an unknown id."""

    @abstractmethod
    def add_message(self, tenant: str, conversation_id: str, role: str, text: str, *, author: str = "",
                    sources: Sequence[dict] = (), tools: Sequence[dict] = (), answered: bool | None = None) -> ChatMessage: ...

    @abstractmethod
    def messages(self, tenant: str, conversation_id: str, after_id: int = 0, limit: int | None = None) -> list[ChatMessage]:
        """Oldest first; `after_id` gives only newer ones (the live stream's cursor); `limit` keeps the newest."""

    @abstractmethod
    def conversations(self, tenant: str, state: str | None = None, agent_id: int | None = None,
                      limit: int = 100) -> list[Conversation]:
        """Most recently updated first."""

    @abstractmethod
    def set_unanswered(self, tenant: str, conversation_id: str, count: int) -> None: ...

    # -- the hand-off queue ------------------------------------------------------------------
    @abstractmethod
    def enqueue(self, tenant: str, conversation_id: str, reason: str) -> int | None:
        """bot -> waiting (a waiting one keeps its place); the queue position, or None when an agent has it or it is closed."""

    @abstractmethod
    def queue(self, tenant: str) -> list[QueueEntry]:
        """Waiting conversations, longest waiting first."""

    @abstractmethod
    def queue_position(self, tenant: str, conversation_id: str) -> int | None: ...

    @abstractmethod
    def take(self, tenant: str, conversation_id: str, agent_id: int) -> bool:
        """waiting -> agent for this agent; exactly one of several agents taking at once gets True."""

    @abstractmethod
    def hand_back(self, tenant: str, conversation_id: str, agent_id: int | None = None) -> bool:
        """agent -> bot (the assistant answers again); with `agent_id`, only the assigned agent may."""

    @abstractmethod
    def close(self, tenant: str, conversation_id: str) -> bool: ...

    # -- pending tool questions --------------------------------------------------------------
    @abstractmethod
    def put_pending(self, tenant: str, session_id: str, decision: dict) -> None: ...

    @abstractmethod
    def take_pending(self, tenant: str, session_id: str) -> dict | None:
        """The pending decision, removed (a question is answered once)."""

    def has_pending(self, tenant: str, session_id: str) -> bool:
        """Whether a decision is pending, leaving it there (a store may answer this without taking it)."""
        data = self.take_pending(tenant, session_id)
        if data:
            self.put_pending(tenant, session_id, data)
        return bool(data)

    # -- tickets -----------------------------------------------------------------------------
    @abstractmethod
    def create_ticket(self, tenant: str, title: str, description: str, priority: str = "normal", contact: str = "",
                      conversation_id: str | None = None, history: Sequence[dict] = ()) -> Ticket: ...

    @abstractmethod
    def get_ticket(self, tenant: str, ticket_id: int) -> Ticket | None: ...

    @abstractmethod
    def tickets(self, tenant: str, status: str | None = None, assignee_id: int | None = None,
                conversation_id: str | None = None, limit: int = 100) -> list[Ticket]:
        """Newest first."""

    @abstractmethod
    def set_ticket_status(self, tenant: str, ticket_id: int, status: str, author: str = "") -> Ticket:
        """Moves along TICKET_FLOW; StateConflict for a step the workflow does not allow."""

    @abstractmethod
    def assign_ticket(self, tenant: str, ticket_id: int, user_id: int, author: str = "") -> Ticket: ...

    @abstractmethod
    def add_ticket_entry(self, tenant: str, ticket_id: int, kind: str, text: str, author: str = "") -> TicketEntry: ...

    @abstractmethod
    def ticket_entries(self, tenant: str, ticket_id: int, include_notes: bool = True) -> list[TicketEntry]: ...

    # -- ratings -----------------------------------------------------------------------------
    @abstractmethod
    def rate(self, tenant: str, conversation_id: str, score: int, comment: str = "", ticket_id: int = 0) -> Rating:
        """1-5; rating the same thing again replaces the earlier rating."""

    @abstractmethod
    def ratings(self, tenant: str, conversation_id: str | None = None) -> list[Rating]: ...

    # -- staff -------------------------------------------------------------------------------
    @abstractmethod
    def add_user(self, tenant: str, username: str, password: str, role: str = "agent", display_name: str = "") -> StaffUser: ...

    @abstractmethod
    def users(self, tenant: str) -> list[StaffUser]: ...

    @abstractmethod
    def get_user(self, tenant: str, user_id: int | None = None, username: str | None = None) -> StaffUser | None: ...

    @abstractmethod
    def update_user(self, tenant: str, user_id: int, *, password: str | None = None, disabled: bool | None = None,
                    role: str | None = None, status: str | None = None) -> StaffUser:
        """Disabling a user also ends their console sessions and revokes their API keys."""

    @abstractmethod
    def verify_login(self, tenant: str, username: str, password: str) -> StaffUser | None: ...

    @abstractmethod
    def agents_online(self, tenant: str, seen_within_s: float) -> int: ...

    @abstractmethod
    def create_session(self, tenant: str, user_id: int, hours: float) -> str: ...

    @abstractmethod
    def session_user(self, token: str) -> StaffUser | None:
        """The user of a console session (the tenant comes from the credential), refreshing `last_seen`."""

    @abstractmethod
    def end_session(self, token: str) -> None: ...

    @abstractmethod
    def create_api_key(self, tenant: str, user_id: int, name: str = "") -> tuple[ApiKey, str]:
        """The key record and the key itself, which is shown once and never stored."""

    @abstractmethod
    def api_keys(self, tenant: str) -> list[ApiKey]: ...

    @abstractmethod
    def revoke_api_key(self, tenant: str, key_id: int) -> bool: ...

    @abstractmethod
    def api_key_user(self, key: str) -> StaffUser | None: ...

    @abstractmethod
    def ping(self) -> bool: ...

    @abstractmethod
    def close_store(self) -> None: ...
