"""`ConversationStore` on SQLAlchemy 2: a SQLite file embedded, PostgreSQL in the stack. One short transaction per call."""

from __future__ import annotations

import logging
import secrets
from typing import Sequence

from sqlalchemy import create_engine, delete, event, func, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from . import migrate
from .credentials import new_token, same_hash, token_hash
from .models import ConversationRow, MessageRow, PendingQuestionRow, RatingRow, TicketEntryRow, TicketRow, utcnow
from .records import (
    AGENT, BOT, CLOSED, PRIORITIES, ROLES, TICKET_FLOW, WAITING, ChatMessage, Conversation, QueueEntry, Rating, Ticket,
    TicketEntry, aware, from_row,
)
from .sql_staff import StaffTables
from .store import ConversationNotFound, ConversationStore, StateConflict

log = logging.getLogger(__name__)


def make_engine(url: str):
    """An engine for `url`; SQLite gets WAL, a busy timeout and foreign keys, and its folder is created."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    if parsed.database and parsed.database != ":memory:":
        from pathlib import Path

        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(connection, _record):
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


class SqlConversationStore(StaffTables, ConversationStore):
    """Migrates the database to the newest schema when opened (`migrate=False` to only check it)."""

    def __init__(self, url: str, migrate_schema: bool = True):
        self.url = url
        self.engine = make_engine(url)
        if migrate_schema:
            migrate.upgrade(self.engine)
        self.session = sessionmaker(self.engine, expire_on_commit=False)

    def ping(self) -> bool:
        with self.engine.connect() as connection:
            return connection.execute(text("SELECT 1")).scalar() == 1

    def close_store(self) -> None:
        self.engine.dispose()

    # -- conversations ---------------------------------------------------------------------
    def create_conversation(self, tenant: str, channel: str) -> tuple[Conversation, str]:
        token = new_token()
        row = ConversationRow(tenant_id=tenant, id=secrets.token_hex(16), channel=channel[:32],
                              customer=f"visitor-{secrets.token_hex(3)}", token_hash=token_hash(token),
                              state=BOT, handoff_reason="", unanswered=0)
        with self.session.begin() as s:
            s.add(row)
        return from_row(Conversation, row), token

    def get_conversation(self, tenant: str, conversation_id: str) -> Conversation | None:
        with self.session() as s:
            row = s.get(ConversationRow, (tenant, conversation_id))
            return from_row(Conversation, row) if row else None

    def authorize(self, tenant: str, conversation_id: str, token: str) -> Conversation | None:
        with self.session() as s:
            row = s.get(ConversationRow, (tenant, conversation_id))
            # compare against a hash either way, so an unknown id and a wrong token take the same time
            ok = same_hash(token or "", row.token_hash if row else "0" * 64)
            return from_row(Conversation, row) if row and ok and token else None

    def add_message(self, tenant, conversation_id, role, text, *, author="", sources=(), tools=(), answered=None) -> ChatMessage:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)} (got {role!r})")
        with self.session.begin() as s:
            if s.get(ConversationRow, (tenant, conversation_id)) is None:
                raise ConversationNotFound(f"no conversation {conversation_id}")
            row = MessageRow(tenant_id=tenant, conversation_id=conversation_id, role=role, text=text, author=author,
                             sources=list(sources), tools=list(tools), answered=answered)
            s.add(row)
            s.execute(update(ConversationRow).where(*_key(tenant, conversation_id)).values(updated_at=utcnow()))
        return from_row(ChatMessage, row)

    def messages(self, tenant, conversation_id, after_id=0, limit=None) -> list[ChatMessage]:
        query = select(MessageRow).where(MessageRow.tenant_id == tenant, MessageRow.conversation_id == conversation_id,
                                         MessageRow.id > after_id)
        with self.session() as s:
            if limit is None:
                rows = s.scalars(query.order_by(MessageRow.id)).all()
            else:
                rows = list(reversed(s.scalars(query.order_by(MessageRow.id.desc()).limit(limit)).all()))
            return [from_row(ChatMessage, r) for r in rows]

    def conversations(self, tenant, state=None, agent_id=None, limit=100) -> list[Conversation]:
        query = select(ConversationRow).where(ConversationRow.tenant_id == tenant)
        if state:
            query = query.where(ConversationRow.state == state)
        if agent_id is not None:
            query = query.where(ConversationRow.agent_id == agent_id)
        with self.session() as s:
            rows = s.scalars(query.order_by(ConversationRow.updated_at.desc()).limit(limit)).all()
            return [from_row(Conversation, r) for r in rows]

    def set_unanswered(self, tenant, conversation_id, count) -> None:
        with self.session.begin() as s:
            s.execute(update(ConversationRow).where(*_key(tenant, conversation_id)).values(unanswered=count))

    # -- the queue --------------------------------------------------------------------------
    def enqueue(self, tenant, conversation_id, reason) -> int | None:
        now = utcnow()
        with self.session.begin() as s:
            s.execute(update(ConversationRow).where(*_key(tenant, conversation_id), ConversationRow.state == BOT)
                      .values(state=WAITING, waiting_since=now, updated_at=now, handoff_reason=reason[:500], agent_id=None))
        return self.queue_position(tenant, conversation_id)

    def queue_position(self, tenant, conversation_id) -> int | None:
        with self.session() as s:
            row = s.get(ConversationRow, (tenant, conversation_id))
            if row is None or row.state != WAITING:
                return None
            ahead = s.scalar(select(func.count()).select_from(ConversationRow).where(
                ConversationRow.tenant_id == tenant, ConversationRow.state == WAITING,
                ConversationRow.waiting_since < row.waiting_since))
            return int(ahead) + 1

    def queue(self, tenant) -> list[QueueEntry]:
        now = utcnow()
        with self.session() as s:
            rows = s.scalars(select(ConversationRow).where(ConversationRow.tenant_id == tenant, ConversationRow.state == WAITING)
                             .order_by(ConversationRow.waiting_since, ConversationRow.id)).all()
            out = []
            for position, row in enumerate(rows, start=1):
                last = s.scalar(select(MessageRow.text).where(
                    MessageRow.tenant_id == tenant, MessageRow.conversation_id == row.id, MessageRow.role == "customer")
                    .order_by(MessageRow.id.desc()).limit(1)) or ""
                waited = (now - aware(row.waiting_since)).total_seconds() if row.waiting_since else 0.0
                out.append(QueueEntry(from_row(Conversation, row), position, round(waited, 1), last[:200]))
            return out

    def take(self, tenant, conversation_id, agent_id) -> bool:
        # the guard is the WHERE clause: of two agents updating at once, only one finds it still waiting
        with self.session.begin() as s:
            result = s.execute(update(ConversationRow).where(
                *_key(tenant, conversation_id), ConversationRow.state == WAITING, ConversationRow.agent_id.is_(None))
                .values(state=AGENT, agent_id=agent_id, updated_at=utcnow()))
            return result.rowcount == 1

    def hand_back(self, tenant, conversation_id, agent_id=None) -> bool:
        conditions = [*_key(tenant, conversation_id), ConversationRow.state.in_((AGENT, WAITING))]
        if agent_id is not None:
            conditions.append(ConversationRow.agent_id == agent_id)
        with self.session.begin() as s:
            result = s.execute(update(ConversationRow).where(*conditions).values(
                state=BOT, agent_id=None, unanswered=0, waiting_since=None, updated_at=utcnow()))
            return result.rowcount == 1

    def close(self, tenant, conversation_id) -> bool:
        now = utcnow()
        with self.session.begin() as s:
            result = s.execute(update(ConversationRow).where(*_key(tenant, conversation_id), ConversationRow.state != CLOSED)
                               .values(state=CLOSED, closed_at=now, updated_at=now))
            return result.rowcount == 1

    # -- pending tool questions -------------------------------------------------------------
    def put_pending(self, tenant, session_id, decision) -> None:
        with self.session.begin() as s:
            s.merge(PendingQuestionRow(tenant_id=tenant, session_id=session_id, decision=dict(decision), created_at=utcnow()))

    def has_pending(self, tenant, session_id) -> bool:
        with self.session() as s:
            return s.get(PendingQuestionRow, (tenant, session_id)) is not None

    def take_pending(self, tenant, session_id) -> dict | None:
        with self.session.begin() as s:
            result = s.execute(delete(PendingQuestionRow).where(
                PendingQuestionRow.tenant_id == tenant, PendingQuestionRow.session_id == session_id)
                .returning(PendingQuestionRow.decision))
            row = result.first()
            return dict(row[0]) if row else None

    # -- tickets ----------------------------------------------------------------------------
    def create_ticket(self, tenant, title, description, priority="normal", contact="", conversation_id=None, history=()) -> Ticket:
        if priority not in PRIORITIES:
            raise ValueError(f"priority must be one of {', '.join(PRIORITIES)} (got {priority!r})")
        row = TicketRow(tenant_id=tenant, conversation_id=conversation_id or None, title=title[:200], description=description,
                        priority=priority, contact=contact[:200], status="open",
                        history=[{"role": m["role"], "content": m["content"]} for m in history])
        with self.session.begin() as s:
            s.add(row)
        return from_row(Ticket, row)

    def get_ticket(self, tenant, ticket_id) -> Ticket | None:
        with self.session() as s:
            row = s.get(TicketRow, ticket_id)
            return from_row(Ticket, row) if row is not None and row.tenant_id == tenant else None

    def tickets(self, tenant, status=None, assignee_id=None, conversation_id=None, limit=100) -> list[Ticket]:
        query = select(TicketRow).where(TicketRow.tenant_id == tenant)
        if status:
            query = query.where(TicketRow.status == status)
        if assignee_id is not None:
            query = query.where(TicketRow.assignee_id == assignee_id)
        if conversation_id:
            query = query.where(TicketRow.conversation_id == conversation_id)
        with self.session() as s:
            return [from_row(Ticket, r) for r in s.scalars(query.order_by(TicketRow.id.desc()).limit(limit)).all()]

    def _ticket_row(self, s, tenant, ticket_id) -> TicketRow:
        row = s.get(TicketRow, ticket_id, with_for_update=True)
        if row is None or row.tenant_id != tenant:
            raise ConversationNotFound(f"no ticket TKT-{ticket_id:06d}")
        return row

    def set_ticket_status(self, tenant, ticket_id, status, author="") -> Ticket:
        with self.session.begin() as s:
            row = self._ticket_row(s, tenant, ticket_id)
            if status != row.status:
                if status not in TICKET_FLOW.get(row.status, ()):
                    allowed = ", ".join(TICKET_FLOW.get(row.status, ())) or "nothing"
                    raise StateConflict(f"a ticket that is {row.status} can move to {allowed}, not {status}")
                s.add(TicketEntryRow(tenant_id=tenant, ticket_id=ticket_id, kind="status", author=author,
                                     text=f"{row.status} -> {status}"))
                row.status, row.updated_at = status, utcnow()
            return from_row(Ticket, row)

    def assign_ticket(self, tenant, ticket_id, user_id, author="") -> Ticket:
        with self.session.begin() as s:
            row = self._ticket_row(s, tenant, ticket_id)
            row.assignee_id, row.updated_at = user_id, utcnow()
            if row.status == "open":
                row.status = "assigned"
            s.add(TicketEntryRow(tenant_id=tenant, ticket_id=ticket_id, kind="status", author=author,
                                 text=f"assigned to user {user_id}"))
            return from_row(Ticket, row)

    def add_ticket_entry(self, tenant, ticket_id, kind, text, author="") -> TicketEntry:
        if kind not in ("reply", "note", "customer"):
            raise ValueError(f"kind must be reply, note or customer (got {kind!r})")
        with self.session.begin() as s:
            row = self._ticket_row(s, tenant, ticket_id)
            entry = TicketEntryRow(tenant_id=tenant, ticket_id=ticket_id, kind=kind, author=author, text=text)
            s.add(entry)
            row.updated_at = utcnow()
        return from_row(TicketEntry, entry)

    def ticket_entries(self, tenant, ticket_id, include_notes=True) -> list[TicketEntry]:
        query = select(TicketEntryRow).where(TicketEntryRow.tenant_id == tenant, TicketEntryRow.ticket_id == ticket_id)
        if not include_notes:
            query = query.where(TicketEntryRow.kind != "note")
        with self.session() as s:
            return [from_row(TicketEntry, r) for r in s.scalars(query.order_by(TicketEntryRow.id)).all()]

    # -- ratings ----------------------------------------------------------------------------
    def rate(self, tenant, conversation_id, score, comment="", ticket_id=0) -> Rating:
        if not 1 <= int(score) <= 5:
            raise ValueError(f"a rating is 1 to 5 (got {score})")
        target = (RatingRow.tenant_id == tenant, RatingRow.conversation_id == conversation_id, RatingRow.ticket_id == ticket_id)
        for _ in range(2):  # a concurrent first rating may win the insert; then ours updates it
            try:
                with self.session.begin() as s:
                    row = s.scalars(select(RatingRow).where(*target)).first()
                    if row is None:
                        row = RatingRow(tenant_id=tenant, conversation_id=conversation_id, ticket_id=ticket_id)
                        s.add(row)
                    row.score, row.comment, row.created_at = int(score), comment[:2000], utcnow()
                return from_row(Rating, row)
            except IntegrityError:
                continue
        raise StateConflict("the rating could not be saved; try again")

    def ratings(self, tenant, conversation_id=None) -> list[Rating]:
        query = select(RatingRow).where(RatingRow.tenant_id == tenant)
        if conversation_id:
            query = query.where(RatingRow.conversation_id == conversation_id)
        with self.session() as s:
            return [from_row(Rating, r) for r in s.scalars(query.order_by(RatingRow.id)).all()]


def _key(tenant: str, conversation_id: str) -> Sequence:
    return ConversationRow.tenant_id == tenant, ConversationRow.id == conversation_id
