"""Statistics over a scripted day: exact figures per period and time zone, knowledge-gap groups, on SQLite and
on a real PostgreSQL server."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from kotaemon_like.conversations.gaps import knowledge_gaps
from kotaemon_like.conversations.sql_store import SqlConversationStore
from kotaemon_like.conversations.stats import ConversationStats, period, percentile
from kotaemon_like.conversations.gaps import gap_questions
from kotaemon_like.conversations.stats_export import tables, to_csv

from .postgres_server import postgres_server  # noqa: F401  (fixture)
from .stats_day import DAY, EXPECTED, REFUNDS, SHIPPING, Clock, write_day


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def day_store(request, tmp_path, monkeypatch):
    url = (f"sqlite:///{tmp_path / 'conversations.sqlite'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_server").create_database())
    store = SqlConversationStore(url)
    clock = Clock(monkeypatch)
    store.ids = write_day(store, clock)
    monkeypatch.undo()
    yield store
    store.close_store()


def test_periods_are_local_days_weeks_and_months():
    day = period("day", DAY, "Europe/Berlin")
    assert (day.label, day.start.isoformat(), day.end.isoformat()) == (
        "2026-03-10", "2026-03-09T23:00:00+00:00", "2026-03-10T23:00:00+00:00")
    week = period("week", DAY, "Europe/Berlin")
    assert (week.label, week.start.isoformat()) == ("2026-W11", "2026-03-08T23:00:00+00:00")
    month = period("month", DAY, "Europe/Berlin")  # summer time starts on 29 March: the end is at 22:00 UTC
    assert (month.label, month.start.isoformat(), month.end.isoformat()) == (
        "2026-03", "2026-02-28T23:00:00+00:00", "2026-03-31T22:00:00+00:00")
    with pytest.raises(ValueError, match="stats.timezone"):
        period("day", DAY, "Mars/Olympus")
    with pytest.raises(ValueError, match="period must be one of"):
        period("year", DAY)


def test_percentile_interpolates_like_numpy():
    assert percentile([60, 180], 0.9) == pytest.approx(168)
    assert percentile([5, 1, 3], 0.5) == 3 and percentile([], 0.5) is None


def test_a_scripted_day_yields_exactly_the_expected_figures(day_store):
    figures = ConversationStats(day_store.engine).figures("default", period("day", DAY, "Europe/Berlin"))
    assert {k: figures[k] for k in EXPECTED} == EXPECTED
    assert figures["period"]["label"] == "2026-03-10"


def test_the_time_zone_and_the_tenant_decide_what_counts(day_store):
    stats = ConversationStats(day_store.engine)
    utc_day = stats.figures("default", period("day", DAY, "UTC"))
    assert utc_day["conversations"] == 6  # the 00:30 Berlin conversation belongs to 9 March in UTC
    berlin_week = stats.figures("default", period("week", DAY, "Europe/Berlin"))
    assert berlin_week["conversations"] == 8 and berlin_week["no_answer"] == 6  # Monday 9 March evening is in
    month = stats.figures("default", period("month", DAY, "Europe/Berlin"))
    assert month["conversations"] == 8 and month["no_answer"] == 6
    acme = stats.figures("acme", period("day", DAY, "Europe/Berlin"))
    assert (acme["conversations"], acme["questions"], acme["no_answer"], acme["tickets"]["opened"]) == (1, 1, 1, 0)
    empty = stats.figures("default", period("day", dt.date(2026, 3, 11), "Europe/Berlin"))
    assert empty["conversations"] == 0 and empty["ai_resolved_rate"] is None
    assert empty["satisfaction"]["average"] is None and empty["first_human_reply_s"]["median"] is None


def test_conversation_rows_carry_outcome_wait_and_rating(day_store):
    rows = ConversationStats(day_store.engine).conversation_rows("default", period("day", DAY, "Europe/Berlin"))
    by_id = {r["id"]: r for r in rows}
    refund = by_id[day_store.ids["refund"]]
    assert (refund["handed_off"], refund["ai_resolved"], refund["questions"], refund["unanswered"], refund["rating"]) == (
        True, False, 2, 2, 2)
    assert (refund["first_agent_reply"] - refund["waiting_since"]).total_seconds() == 180
    assert by_id[day_store.ids["headphones"]]["ai_resolved"] is False  # closed by the assistant but rated 1
    assert by_id[day_store.ids["sweden"]]["handed_off"] is True  # a ticket was opened from it
    assert [r["id"] for r in rows][0] == day_store.ids["warranty"]


@pytest.mark.slow
def test_unanswered_questions_group_into_two_knowledge_gaps(day_store, embedder):
    gaps = knowledge_gaps(ConversationStats(day_store.engine), embedder, "default", period("day", DAY, "Europe/Berlin"))
    assert [(g["count"], g["conversations"]) for g in gaps] == [(3, 2), (2, 2)]
    assert set(gaps[0]["examples"]) == REFUNDS and set(gaps[1]["examples"]) == SHIPPING
    assert gaps[0]["reasons"] == {"unanswered": 3} and gaps[0]["topic"] in REFUNDS


def test_csv_cells_are_escaped_and_never_run_as_formulas():
    text = to_csv(["topic", "n"], [['=HYPERLINK("http://x")', 2], ["a, \"b\"\nc", None], ["-1+1", True]])
    assert text.split("\r\n")[0] == "topic,n"
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1:] == [["'=HYPERLINK(\"http://x\")", "2"], ["a, \"b\"\nc", ""], ["'-1+1", "yes"]]


def test_failed_questions_are_the_unanswered_ones_oldest_first(day_store):
    stats = ConversationStats(day_store.engine)
    questions = gap_questions(stats, "default", period("day", DAY, "Europe/Berlin"))
    assert [q.text for q in questions] == [
        "Can I get a refund for an opened item?", "Will you refund me if I already unpacked the product?",
        "Do you ship to Norway?", "Can I return opened headphones and get my money back?",
        "Do you deliver to Norway or Sweden?"]
    assert {q.reason for q in questions} == {"unanswered"}
    assert [q.text for q in gap_questions(stats, "default", period("day", DAY, "Europe/Berlin"), limit=2)] == [
        "Can I return opened headphones and get my money back?", "Do you deliver to Norway or Sweden?"]


def test_the_conversation_csv_rows_are_the_same_on_every_database(day_store):
    stats = ConversationStats(day_store.engine)
    p = period("day", DAY, "Europe/Berlin")
    header, rows = tables(stats.figures("default", p), conversations=stats.conversation_rows("default", p))["conversations"]
    parsed = list(csv.reader(io.StringIO(to_csv(header, rows))))
    names = {v: k for k, v in day_store.ids.items()}
    assert [(names[r[0]], r[3], r[7], r[8], r[10]) for r in parsed[1:]] == [
        ("warranty", "closed", "no", "yes", "5"), ("order", "closed", "no", "yes", ""), ("refund", "closed", "yes", "no", "2"),
        ("norway", "closed", "yes", "no", "4"), ("headphones", "closed", "no", "no", "1"), ("sweden", "bot", "yes", "no", ""),
        ("hours", "closed", "no", "yes", "3")]
    assert parsed[1][1] == "2026-03-09T23:30:00+00:00" and parsed[3][9] == "2026-03-10T09:05:00+00:00"
