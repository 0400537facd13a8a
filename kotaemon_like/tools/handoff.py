"""The queue of conversations waiting for a human agent, in SQLite, with each conversation's history."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping, Sequence

DEFAULT_HANDOFF_DB = Path("data/handoff.sqlite")
WAITING, ASSIGNED = "waiting", "assigned"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS handoffs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    session_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'waiting',
    agent TEXT,
    history TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class HandoffEntry:
    id: int
    created_at: str  # ISO 8601, UTC
    session_id: str
    reason: str
    status: str  # waiting | assigned
    agent: str | None
    history: list[dict[str, str]]  # the conversation so far, oldest first
    position: int | None = None  # 1 = next to be picked up; None once assigned


class HandoffQueue:
    """First come, first served; a conversation already waiting keeps its place when it asks again."""

    def __init__(self, path: Path | str = DEFAULT_HANDOFF_DB):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute(_SCHEMA)
            con.execute("CREATE INDEX IF NOT EXISTS handoffs_waiting ON handoffs(status, id)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(str(self.path), timeout=10, isolation_level=None)

    def enqueue(self, session_id: str, reason: str = "", history: Sequence[Mapping[str, str]] = ()) -> HandoffEntry:
        """Queue a conversation (or refresh the history of one already waiting) and return it with its position."""
        payload = json.dumps([{"role": m["role"], "content": m["content"]} for m in history], ensure_ascii=False)
        with closing(self._connect()) as con:
            con.execute("BEGIN IMMEDIATE")  # two workers queueing the same session must not both insert
            try:
                row = con.execute(
                    "SELECT id FROM handoffs WHERE session_id = ? AND status = ? AND session_id != ''", (session_id, WAITING)
                ).fetchone()
                if row:
                    entry_id = row[0]
                    con.execute("UPDATE handoffs SET history = ?, reason = CASE WHEN ? != '' THEN ? ELSE reason END WHERE id = ?",
                                (payload, reason, reason, entry_id))
                else:
                    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
                    entry_id = con.execute(
                        "INSERT INTO handoffs (created_at, session_id, reason, history) VALUES (?, ?, ?, ?)",
                        (created, session_id, reason, payload),
                    ).lastrowid
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            return self._get(con, int(entry_id))

    def waiting(self) -> list[HandoffEntry]:
        """Conversations waiting, next first."""
        with closing(self._connect()) as con:
            rows = con.execute(f"SELECT {_COLUMNS} FROM handoffs WHERE status = ? ORDER BY id", (WAITING,)).fetchall()
        return [_entry(row, position) for position, row in enumerate(rows, start=1)]

    def take_next(self, agent: str) -> HandoffEntry | None:
        """An agent picks up the longest-waiting conversation."""
        with closing(self._connect()) as con:
            con.execute("BEGIN IMMEDIATE")
            row = con.execute("SELECT id FROM handoffs WHERE status = ? ORDER BY id LIMIT 1", (WAITING,)).fetchone()
            if row:
                con.execute("UPDATE handoffs SET status = ?, agent = ? WHERE id = ?", (ASSIGNED, agent, row[0]))
            con.execute("COMMIT")
            return self._get(con, row[0]) if row else None

    def get(self, entry_id: int) -> HandoffEntry | None:
        with closing(self._connect()) as con:
            return self._get(con, entry_id)

    def _get(self, con: sqlite3.Connection, entry_id: int) -> HandoffEntry | None:
        row = con.execute(f"SELECT {_COLUMNS} FROM handoffs WHERE id = ?", (entry_id,)).fetchone()
        if row is None:
            return None
        position = None
        if row[4] == WAITING:
            position = con.execute("SELECT COUNT(*) FROM handoffs WHERE status = ? AND id <= ?", (WAITING, entry_id)).fetchone()[0]
        return _entry(row, position)


_COLUMNS = "id, created_at, session_id, reason, status, agent, history"


def _entry(row: Sequence, position: int | None) -> HandoffEntry:
    return HandoffEntry(*row[:-1], history=json.loads(row[-1]), position=position)


def list_handoffs(db_path: Path | str = DEFAULT_HANDOFF_DB) -> list[HandoffEntry]:
    """Conversations waiting for an agent, next first; empty when the queue file does not exist."""
    if not Path(db_path).is_file():
        return []
    return HandoffQueue(db_path).waiting()
