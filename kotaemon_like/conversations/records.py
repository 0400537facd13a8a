"""What the conversation store returns: plain, immutable records (no database objects leave the store)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

BOT, WAITING, AGENT, CLOSED = "bot", "waiting", "agent", "closed"
STATES = (BOT, WAITING, AGENT, CLOSED)
ROLES = ("customer", "assistant", "agent", "system")
PRIORITIES = ("low", "normal", "high", "urgent")
TICKET_STATUSES = ("open", "assigned", "waiting_on_customer", "resolved", "closed")
# the ticket workflow: which status may follow which
TICKET_FLOW = {
    "open": ("assigned", "resolved", "closed"),
    "assigned": ("open", "waiting_on_customer", "resolved", "closed"),
    "waiting_on_customer": ("assigned", "resolved", "closed"),
    "resolved": ("assigned", "closed"),
    "closed": ("assigned",),
}
STAFF_ROLES = ("agent", "admin")


@dataclass(frozen=True)
class Conversation:
    tenant_id: str
    id: str
    channel: str
    customer: str
    state: str
    agent_id: int | None
    handoff_reason: str
    unanswered: int
    created_at: dt.datetime
    updated_at: dt.datetime
    waiting_since: dt.datetime | None
    closed_at: dt.datetime | None


@dataclass(frozen=True)
class ChatMessage:
    id: int
    conversation_id: str
    role: str
    text: str
    author: str
    sources: list
    tools: list
    answered: bool | None
    created_at: dt.datetime


@dataclass(frozen=True)
class Ticket:
    id: int
    tenant_id: str
    conversation_id: str | None
    title: str
    description: str
    priority: str
    contact: str
    status: str
    assignee_id: int | None
    history: list
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def number(self) -> str:
        """What the customer is told, e.g. TKT-000042."""
        return f"TKT-{self.id:06d}"


@dataclass(frozen=True)
class TicketEntry:
    id: int
    ticket_id: int
    kind: str  # reply (to the customer) | note (internal) | status | customer (their answer)
    author: str
    text: str
    created_at: dt.datetime


@dataclass(frozen=True)
class Rating:
    conversation_id: str
    ticket_id: int
    score: int
    comment: str
    created_at: dt.datetime


@dataclass(frozen=True)
class StaffUser:
    id: int
    tenant_id: str
    username: str
    display_name: str
    role: str
    disabled: bool
    status: str
    last_seen: dt.datetime | None
    created_at: dt.datetime

    @property
    def name(self) -> str:
        return self.display_name or self.username


@dataclass(frozen=True)
class ApiKey:
    id: int
    user_id: int
    name: str
    prefix: str
    revoked: bool
    created_at: dt.datetime
    last_used: dt.datetime | None


@dataclass(frozen=True)
class QueueEntry:
    conversation: Conversation
    position: int  # 1 = next
    waited_s: float
    last_message: str = ""


def ticket_id(number: str | int) -> int:
    """TKT-000042, 42 or "42" -> 42; ValueError for anything else."""
    if isinstance(number, int):
        return number
    return int(str(number).upper().removeprefix("TKT-"))


def aware(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands datetimes back without their zone; they were written in UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


def from_row(cls, row):
    """The record `cls` with the same-named attributes of a table row."""
    values = {}
    for f in dataclasses.fields(cls):
        value = getattr(row, f.name)
        values[f.name] = aware(value) if isinstance(value, dt.datetime) else value
    return cls(**values)
