"""Figures a support manager acts on, per tenant and period, read from the conversation tables with SQL.

A conversation, question, rating or ticket counts in the period it was created in (tickets resolved: when
resolved); periods are local days, weeks (Monday first) or months in the configured time zone.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, case, exists, func, select

from .models import ConversationRow, MessageRow, RatingRow, TicketEntryRow, TicketRow
from .records import CLOSED, aware

PERIODS = ("day", "week", "month")
RESOLVED_MARK = "-> resolved"  # how a status entry records a ticket's resolution (sql_store.set_ticket_status)
conv, msg, rating, ticket, entry = (t.__table__ for t in (ConversationRow, MessageRow, RatingRow, TicketRow, TicketEntryRow))


@dataclass(frozen=True)
class Period:
    kind: str  # day | week | month
    label: str  # 2026-11-30, 2026-W48, 2026-11
    timezone: str
    start: dt.datetime  # UTC, inclusive
    end: dt.datetime  # UTC, exclusive


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"stats.timezone: unknown time zone {name!r}; use an IANA name such as Europe/Berlin") from None


def period(kind: str, day: dt.date | None = None, timezone: str = "UTC") -> Period:
    """The local day, week or month holding `day` (today by default) in `timezone`, as UTC bounds."""
    if kind not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)} (got {kind!r})")
    tz = zone(timezone)
    day = day or dt.datetime.now(tz).date()
    if kind == "day":
        first, after, label = day, day + dt.timedelta(days=1), day.isoformat()
    elif kind == "week":
        first = day - dt.timedelta(days=day.weekday())
        after = first + dt.timedelta(days=7)
        year, week, _ = first.isocalendar()
        label = f"{year}-W{week:02d}"
    else:
        first = day.replace(day=1)
        after = (first + dt.timedelta(days=32)).replace(day=1)
        label = f"{first:%Y-%m}"

    def utc(d: dt.date) -> dt.datetime:
        return dt.datetime.combine(d, dt.time(), tz).astimezone(dt.timezone.utc)

    return Period(kind, label, timezone, utc(first), utc(after))


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default), computed here because SQLite has no percentile_cont."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def seconds(values: list[float]) -> dict:
    return {"median": _round(percentile(values, 0.5)), "p90": _round(percentile(values, 0.9)), "count": len(values)}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


class ConversationStats:
    """Figures over a `SqlConversationStore`'s engine; every query is filtered by tenant and period."""

    def __init__(self, engine):
        self.engine = engine

    # -- the building blocks, also used by the gaps and the exports --------------------------------
    @staticmethod
    def in_period(column, p: Period):
        return and_(column >= p.start, column < p.end)

    @staticmethod
    def handed_off(tenant: str):
        """A person was asked for: queued for an agent, an agent wrote, or a ticket was opened from it."""
        other = msg.alias("agent_message")  # an alias, so a query over messages can ask this of each message's conversation
        agent_wrote = exists().where(other.c.tenant_id == tenant, other.c.conversation_id == conv.c.id, other.c.role == "agent")
        ticket_opened = exists().where(ticket.c.tenant_id == tenant, ticket.c.conversation_id == conv.c.id)
        return (conv.c.handoff_reason != "") | agent_wrote | ticket_opened

    @staticmethod
    def rated_badly(tenant: str):
        return exists().where(rating.c.tenant_id == tenant, rating.c.conversation_id == conv.c.id,
                              rating.c.ticket_id == 0, rating.c.score <= 2)

    def conversation_rows(self, tenant: str, p: Period) -> list[dict]:
        """One row per conversation of the period: outcome, questions, first human reply and rating."""
        questions = select(func.count()).where(msg.c.tenant_id == tenant, msg.c.conversation_id == conv.c.id,
                                               msg.c.role == "customer").scalar_subquery()
        unanswered = select(func.count()).where(msg.c.tenant_id == tenant, msg.c.conversation_id == conv.c.id,
                                                msg.c.role == "assistant", msg.c.answered.is_(False)).scalar_subquery()
        first_agent = select(func.min(msg.c.created_at)).where(
            msg.c.tenant_id == tenant, msg.c.conversation_id == conv.c.id, msg.c.role == "agent").scalar_subquery()
        score = select(rating.c.score).where(rating.c.tenant_id == tenant, rating.c.conversation_id == conv.c.id,
                                             rating.c.ticket_id == 0).scalar_subquery()
        comment = select(rating.c.comment).where(rating.c.tenant_id == tenant, rating.c.conversation_id == conv.c.id,
                                                 rating.c.ticket_id == 0).scalar_subquery()
        handed = case((self.handed_off(tenant), True), else_=False)
        query = (select(conv.c.id, conv.c.created_at, conv.c.channel, conv.c.state, conv.c.closed_at, conv.c.waiting_since,
                        handed.label("handed_off"), questions.label("questions"), unanswered.label("unanswered"),
                        first_agent.label("first_agent_reply"), score.label("rating"), comment.label("comment"))
                 .where(conv.c.tenant_id == tenant, self.in_period(conv.c.created_at, p))
                 .order_by(conv.c.created_at, conv.c.id))
        with self.engine.connect() as c:
            rows = [dict(r._mapping) for r in c.execute(query)]
        for row in rows:
            for key in ("created_at", "closed_at", "waiting_since", "first_agent_reply"):
                row[key] = aware(row[key])
            row["handed_off"] = bool(row["handed_off"])
            row["ai_resolved"] = (row["state"] == CLOSED and not row["handed_off"]
                                  and (row["rating"] is None or row["rating"] > 2))
        return rows

    # -- the figures --------------------------------------------------------------------------------
    def figures(self, tenant: str, p: Period) -> dict:
        """Every figure of the period as plain JSON-ready values (rates 0-1, times in seconds)."""
        rows = self.conversation_rows(tenant, p)
        total = len(rows)
        handed = sum(r["handed_off"] for r in rows)
        waits = [(r["first_agent_reply"] - r["waiting_since"]).total_seconds() for r in rows
                 if r["first_agent_reply"] and r["waiting_since"] and r["first_agent_reply"] >= r["waiting_since"]]
        with self.engine.connect() as c:
            questions = c.scalar(select(func.count()).where(
                msg.c.tenant_id == tenant, msg.c.role == "customer", self.in_period(msg.c.created_at, p)))
            answered = dict(c.execute(select(msg.c.answered, func.count()).where(
                msg.c.tenant_id == tenant, msg.c.role == "assistant", msg.c.answered.is_not(None),
                self.in_period(msg.c.created_at, p)).group_by(msg.c.answered)).all())
            scores = dict(c.execute(select(rating.c.score, func.count()).where(
                rating.c.tenant_id == tenant, rating.c.ticket_id == 0, self.in_period(rating.c.created_at, p))
                .group_by(rating.c.score)).all())
            # tool events and citations are JSON lists on the message: read only the messages that have them
            turns = c.execute(select(msg.c.tools, msg.c.sources).where(
                msg.c.tenant_id == tenant, msg.c.role == "assistant", self.in_period(msg.c.created_at, p))).all()
        turns_total = sum(answered.values())
        rated = sum(scores.values())
        return {
            "tenant": tenant,
            "period": {"kind": p.kind, "label": p.label, "timezone": p.timezone,
                       "start": p.start.isoformat(), "end": p.end.isoformat()},
            "conversations": total,
            "questions": int(questions or 0),
            "ai_resolved": sum(r["ai_resolved"] for r in rows),
            "ai_resolved_rate": rate(sum(r["ai_resolved"] for r in rows), total),
            "handed_off": handed,
            "handoff_rate": rate(handed, total),
            "assistant_turns": turns_total,
            "no_answer": answered.get(False, 0),
            "no_answer_rate": rate(answered.get(False, 0), turns_total),
            "first_human_reply_s": seconds(waits),
            "satisfaction": {"ratings": rated,
                             "average": round(sum(s * n for s, n in scores.items()) / rated, 2) if rated else None,
                             "distribution": {str(s): scores.get(s, 0) for s in range(1, 6)}},
            "tools": tool_counts(t for t, _ in turns),
            "tickets": self.tickets(tenant, p),
            "cited": cited_pages(s for _, s in turns),
        }

    def tickets(self, tenant: str, p: Period) -> dict:
        resolved_at = (select(entry.c.ticket_id, func.min(entry.c.created_at).label("at"))
                       .where(entry.c.tenant_id == tenant, entry.c.kind == "status", entry.c.text.like(f"%{RESOLVED_MARK}"))
                       .group_by(entry.c.ticket_id).subquery())
        with self.engine.connect() as c:
            opened = c.scalar(select(func.count()).where(ticket.c.tenant_id == tenant, self.in_period(ticket.c.created_at, p)))
            resolved = c.execute(select(ticket.c.created_at, resolved_at.c.at)
                                 .join(resolved_at, resolved_at.c.ticket_id == ticket.c.id)
                                 .where(ticket.c.tenant_id == tenant, self.in_period(resolved_at.c.at, p))).all()
        durations = [(aware(done) - aware(created)).total_seconds() for created, done in resolved]
        return {"opened": int(opened or 0), "resolved": len(resolved),
                "time_to_resolve_s": seconds(durations)}


def tool_counts(tool_lists) -> list[dict]:
    """Calls per plugin and outcome (ok, failed, timeout, skipped-open, needs-input), most calls first."""
    counts = Counter((t.get("name", "?"), t.get("status", "?")) for tools in tool_lists for t in tools or ())
    return [{"plugin": name, "outcome": status, "calls": n}
            for (name, status), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def cited_pages(source_lists, top: int = 20) -> list[dict]:
    """The documents and pages the answers cited most (each citation of an answer counts once)."""
    counts = Counter((s.get("source", "?"), s.get("page")) for sources in source_lists for s in sources or ())
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1] or 0))[:top]
    return [{"source": source, "page": page, "citations": n} for (source, page), n in ranked]
