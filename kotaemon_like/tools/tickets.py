"""Support tickets in a SQLite file: what the create_ticket plugin writes and `kl tickets` lists."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping, Sequence

DEFAULT_TICKETS_DB = Path("data/tickets.sqlite")
PRIORITIES = ("low", "normal", "high", "urgent")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    priority TEXT NOT NULL,
    contact TEXT NOT NULL,
    session_id TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    conversation TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class Ticket:
    id: int
    created_at: str  # ISO 8601, UTC
    title: str
    description: str
    priority: str
    contact: str
    session_id: str
    status: str
    conversation: list[dict[str, str]]  # the chat that led to the ticket, oldest first

    @property
    def number(self) -> str:
        """What the customer is told, e.g. TKT-000042."""
        return f"TKT-{self.id:06d}"


def ticket_number_to_id(number: str) -> int:
    return int(number.upper().removeprefix("TKT-"))


class TicketStore:
    """Create and list tickets. One short connection per operation, so any thread or process may use it."""

    def __init__(self, path: Path | str = DEFAULT_TICKETS_DB):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(str(self.path), timeout=10, isolation_level=None)

    def create(
        self,
        title: str,
        description: str,
        priority: str = "normal",
        contact: str = "",
        session_id: str = "",
        conversation: Sequence[Mapping[str, str]] = (),
    ) -> Ticket:
        if priority not in PRIORITIES:
            raise ValueError(f"priority must be one of {', '.join(PRIORITIES)} (got {priority!r})")
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        history = [{"role": m["role"], "content": m["content"]} for m in conversation]
        with closing(self._connect()) as con:
            cursor = con.execute(
                "INSERT INTO tickets (created_at, title, description, priority, contact, session_id, conversation) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (created, title, description, priority, contact, session_id, json.dumps(history, ensure_ascii=False)),
            )
            ticket_id = int(cursor.lastrowid)
        return Ticket(ticket_id, created, title, description, priority, contact, session_id, "open", history)

    def get(self, number: str | int) -> Ticket | None:
        ticket_id = number if isinstance(number, int) else ticket_number_to_id(number)
        with closing(self._connect()) as con:
            row = con.execute(f"SELECT {_COLUMNS} FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        return _ticket(row) if row else None

    def list(self, status: str | None = None, limit: int = 100) -> list[Ticket]:
        """Newest first."""
        where, params = ("WHERE status = ?", [status]) if status else ("", [])
        with closing(self._connect()) as con:
            rows = con.execute(f"SELECT {_COLUMNS} FROM tickets {where} ORDER BY id DESC LIMIT ?", [*params, limit]).fetchall()
        return [_ticket(r) for r in rows]


_COLUMNS = "id, created_at, title, description, priority, contact, session_id, status, conversation"


def _ticket(row: Sequence) -> Ticket:
    return Ticket(*row[:-1], conversation=json.loads(row[-1]))


def list_tickets(db_path: Path | str = DEFAULT_TICKETS_DB, status: str | None = None, limit: int = 100) -> list[Ticket]:
    """Tickets in `db_path`, newest first; an empty list when no ticket was ever created there (for `kl tickets`)."""
    if not Path(db_path).is_file():
        return []
    return TicketStore(db_path).list(status=status, limit=limit)
