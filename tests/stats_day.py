"""A scripted day of customer service (Tuesday 2026-03-10, Europe/Berlin), written through the real store API
at controlled times, and the figures, gap groups and CSV rows it must yield."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from kotaemon_like.conversations import models

BERLIN = ZoneInfo("Europe/Berlin")
DAY = dt.date(2026, 3, 10)
WARRANTY = {"number": 1, "source": "warranty.md", "page": 1, "chunk_id": "warranty.md:0", "score": 0.8, "snippet": "24 months"}
HOURS = {"number": 2, "source": "faq.md", "page": 2, "chunk_id": "faq.md:3", "score": 0.7, "snippet": "9 to 17"}


class Clock:
    """What `models.utcnow` returns while the day is written: local Berlin times set by the script."""

    def __init__(self, monkeypatch):
        self.now = dt.datetime(2026, 3, 10, tzinfo=dt.timezone.utc)
        outer = self

        class FrozenDatetime(dt.datetime):
            @classmethod
            def now(cls, tz=None):
                return outer.now.astimezone(tz) if tz else outer.now.replace(tzinfo=None)

        monkeypatch.setattr(models, "dt", SimpleNamespace(datetime=FrozenDatetime, timezone=dt.timezone))

    def at(self, hhmm: str, day: dt.date = DAY) -> "Clock":
        hours, minutes = map(int, hhmm.split(":"))
        self.now = dt.datetime.combine(day, dt.time(hours, minutes), BERLIN).astimezone(dt.timezone.utc)
        return self


def write_day(store, clock: Clock, tenant: str = "default") -> dict[str, str]:
    """Seven conversations of the day, one the evening before and one of another tenant; their ids by name."""
    ids: dict[str, str] = {}
    agent = store.add_user(tenant, "alice", "a-long-passphrase-1", "agent", "Alice")

    def start(name: str, hhmm: str, day: dt.date = DAY, owner: str = tenant) -> str:
        clock.at(hhmm, day)
        ids[name] = store.create_conversation(owner, "web")[0].id
        return ids[name]

    def turn(cid: str, hhmm: str, question: str, answered: bool, sources=(), tools=(), owner: str = tenant) -> None:
        clock.at(hhmm)
        store.add_message(owner, cid, "customer", question)
        store.add_message(owner, cid, "assistant", "answer" if answered else "I could not find that in our documents.",
                          sources=sources, tools=tools, answered=answered)

    def close(cid: str, hhmm: str, score: int | None = None) -> None:
        clock.at(hhmm)
        store.close(tenant, cid)
        if score is not None:
            store.rate(tenant, cid, score, f"scored {score}, \"quoted\", with a comma")

    # the evening before in Berlin: outside the day
    cid = start("yesterday", "23:30", DAY - dt.timedelta(days=1))
    clock.at("23:31", DAY - dt.timedelta(days=1))
    store.add_message(tenant, cid, "customer", "Can I get a refund for an opened box?")
    store.add_message(tenant, cid, "assistant", "I could not find that.", answered=False)
    # 00:30 Berlin is still 2026-03-09 in UTC: inside the day only when the time zone is applied
    c1 = start("warranty", "00:30")
    turn(c1, "00:31", "How long is the warranty?", True, sources=[WARRANTY])
    close(c1, "00:35", 5)
    c2 = start("order", "09:10")
    turn(c2, "09:11", "Where is my order 1042?", True, tools=[{"name": "order_status", "status": "ok", "latency_ms": 12}])
    close(c2, "09:12")
    c3 = start("refund", "10:00")
    turn(c3, "10:00", "Can I get a refund for an opened item?", False)
    turn(c3, "10:01", "Will you refund me if I already unpacked the product?", False)
    clock.at("10:02")
    store.enqueue(tenant, c3, "the assistant could not answer 2 questions in a row")
    clock.at("10:03")
    store.take(tenant, c3, agent.id)
    clock.at("10:05")
    store.add_message(tenant, c3, "agent", "Yes, within 14 days.", author="Alice")
    close(c3, "10:20", 2)
    c4 = start("norway", "11:00")
    turn(c4, "11:00", "Do you ship to Norway?", False)
    clock.at("11:01")
    store.enqueue(tenant, c4, "the customer asked for a person")
    store.take(tenant, c4, agent.id)
    clock.at("11:02")
    store.add_message(tenant, c4, "agent", "We do, 5 days.", author="Alice")
    close(c4, "11:10", 4)
    c5 = start("headphones", "12:00")
    turn(c5, "12:00", "Can I return opened headphones and get my money back?", False)
    close(c5, "12:05", 1)
    c6 = start("sweden", "13:00")
    turn(c6, "13:00", "Do you deliver to Norway or Sweden?", False)
    clock.at("13:02")
    linked = store.create_ticket(tenant, "Delivery abroad", "Norway or Sweden?", contact="eva@example.com", conversation_id=c6)
    clock.at("15:02")
    store.set_ticket_status(tenant, linked.id, "resolved", author="Alice")
    c7 = start("hours", "14:00")
    turn(c7, "14:00", "What are your opening hours?", True, sources=[HOURS, WARRANTY],
         tools=[{"name": "order_status", "status": "failed", "latency_ms": 2000}])
    close(c7, "14:30", 3)
    clock.at("16:00")
    store.create_ticket(tenant, "Invoice copy", "Please send the invoice again.", contact="max@example.com")
    # another tenant's busy day must not show
    other = start("other", "12:00", owner="acme")
    turn(other, "12:01", "Can I get a refund for an opened item?", False, owner="acme")
    return ids


EXPECTED = {
    "conversations": 7, "questions": 8, "ai_resolved": 3, "ai_resolved_rate": 0.4286, "handed_off": 3,
    "handoff_rate": 0.4286, "assistant_turns": 8, "no_answer": 5, "no_answer_rate": 0.625,
    "first_human_reply_s": {"median": 120.0, "p90": 168.0, "count": 2},
    "satisfaction": {"ratings": 5, "average": 3.0, "distribution": {"1": 1, "2": 1, "3": 1, "4": 1, "5": 1}},
    "tools": [{"plugin": "order_status", "outcome": "failed", "calls": 1}, {"plugin": "order_status", "outcome": "ok", "calls": 1}],
    "tickets": {"opened": 2, "resolved": 1, "time_to_resolve_s": {"median": 7200.0, "p90": 7200.0, "count": 1}},
    "cited": [{"source": "warranty.md", "page": 1, "citations": 2}, {"source": "faq.md", "page": 2, "citations": 1}],
}
REFUNDS = {"Can I get a refund for an opened item?", "Will you refund me if I already unpacked the product?",
           "Can I return opened headphones and get my money back?"}
SHIPPING = {"Do you ship to Norway?", "Do you deliver to Norway or Sweden?"}
