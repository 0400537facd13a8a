"""The conversation layer's tables (SQLAlchemy 2). Every table carries `tenant_id`, and every index leads with it.

Changing a table means a new Alembic revision in migrations/versions/ (run by `kl db upgrade` and at start).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, DateTime, ForeignKeyConstraint, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

DEFAULT_TENANT = "default"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {dt.datetime: DateTime(timezone=True), dict: JSON, list: JSON}


class ConversationRow(Base):
    __tablename__ = "conversations"
    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    customer: Mapped[str] = mapped_column(String(64))  # anonymous identity, e.g. visitor-3f2a9c
    token_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the customer token; the token itself is never stored
    state: Mapped[str] = mapped_column(String(16), default="bot")  # bot | waiting | agent | closed
    agent_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    handoff_reason: Mapped[str] = mapped_column(Text, default="")
    unanswered: Mapped[int] = mapped_column(Integer, default=0)  # assistant turns in a row without an answer
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    waiting_since: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    __table_args__ = (Index("ix_conversations_queue", "tenant_id", "state", "waiting_since"),)


class MessageRow(Base):
    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)  # also the live stream's cursor
    tenant_id: Mapped[str] = mapped_column(String(64))
    conversation_id: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(16))  # customer | assistant | agent | system
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(120), default="")  # the agent's display name
    sources: Mapped[list] = mapped_column(default=list)  # citations of an assistant answer
    tools: Mapped[list] = mapped_column(default=list)  # tool events of the turn
    answered: Mapped[bool | None] = mapped_column(Boolean, nullable=True)  # assistant: did the knowledge base answer
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "conversation_id"], ["conversations.tenant_id", "conversations.id"],
                             ondelete="CASCADE"),
        Index("ix_messages_conversation", "tenant_id", "conversation_id", "id"),
    )


class PendingQuestionRow(Base):
    """A tool call waiting for the customer's answer ("What is your order number?"), for any replica to continue."""

    __tablename__ = "pending_questions"
    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    decision: Mapped[dict] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TicketRow(Base):
    __tablename__ = "tickets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)  # TKT-000042
    tenant_id: Mapped[str] = mapped_column(String(64))
    conversation_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    contact: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(24), default="open")
    assignee_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    history: Mapped[list] = mapped_column(default=list)  # the chat that led to the ticket
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (Index("ix_tickets_status", "tenant_id", "status", "id"),)


class TicketEntryRow(Base):
    """A reply to the customer, an internal note or a status change on a ticket."""

    __tablename__ = "ticket_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # reply | note | status | customer
    author: Mapped[str] = mapped_column(String(120), default="")
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (Index("ix_ticket_entries_ticket", "tenant_id", "ticket_id", "id"),)


class RatingRow(Base):
    __tablename__ = "ratings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    conversation_id: Mapped[str] = mapped_column(String(40))
    ticket_id: Mapped[int] = mapped_column(Integer, default=0)  # 0: the conversation itself
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("tenant_id", "conversation_id", "ticket_id", name="uq_ratings_target"),)


class StaffUserRow(Base):
    __tablename__ = "staff_users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    username: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(120), default="")
    role: Mapped[str] = mapped_column(String(16))  # agent | admin
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2id
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="away")  # online | away
    last_seen: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("tenant_id", "username", name="uq_staff_username"),)


class StaffSessionRow(Base):
    """A console sign-in; the cookie holds the token, the table only its sha256."""

    __tablename__ = "staff_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    __table_args__ = (Index("ix_staff_sessions_user", "tenant_id", "user_id"),)


class HashedKey:
    """The columns of a key stored as sha256 and shown once at creation (staff API keys, tenant keys)."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(120), default="")
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters, to tell keys apart in listings
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class ApiKeyRow(HashedKey, Base):
    """A key for programmatic staff access, acting as its user."""

    __tablename__ = "api_keys"
    user_id: Mapped[int] = mapped_column(Integer)
    __table_args__ = (Index("ix_api_keys_tenant", "tenant_id", "user_id"),)


class UsageRow(Base):
    """What a tenant used in one calendar month (UTC): answered customer messages and LLM tokens."""

    __tablename__ = "usage"
    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # 2026-11
    messages: Mapped[int] = mapped_column(Integer, default=0)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
