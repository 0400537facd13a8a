"""Hand-off rules that need no server: business hours, and which conversation a desk may touch."""

from __future__ import annotations

import datetime as dt

from kotaemon_like.config import BusinessHours, ConversationSettings
from kotaemon_like.conversations.desk import ConversationDesk, open_now
from kotaemon_like.conversations.sql_store import SqlConversationStore

UTC = dt.timezone.utc


def test_business_hours_in_their_own_time_zone():
    hours = BusinessHours(timezone="Europe/Berlin", days=["mon", "tue", "wed", "thu", "fri"], open="09:00", close="17:00")
    assert open_now(None)
    assert open_now(hours, dt.datetime(2026, 11, 30, 8, 30, tzinfo=UTC))  # Monday 09:30 in Berlin
    assert not open_now(hours, dt.datetime(2026, 11, 30, 7, 30, tzinfo=UTC))  # 08:30 in Berlin
    assert not open_now(hours, dt.datetime(2026, 11, 30, 16, 0, tzinfo=UTC))  # 17:00 in Berlin: closed
    assert not open_now(hours, dt.datetime(2026, 11, 29, 12, 0, tzinfo=UTC))  # Sunday


def test_outside_business_hours_a_ticket_is_offered_even_with_agents_online(tmp_path):
    store = SqlConversationStore(f"sqlite:///{tmp_path / 'c.sqlite'}")
    closed_all_week = BusinessHours(days=[], open="00:00", close="00:01")
    desk = ConversationDesk(store, ConversationSettings(business_hours=closed_all_week), "default")
    conversation, _ = store.create_conversation("default", "web")
    agent = store.add_user("default", "alice", "correct horse battery staple")
    store.update_user("default", agent.id, status="online")
    text = desk.bound(conversation.id).handoff(conversation.id, "refund")
    assert "not available at this hour" in text and store.get_conversation("default", conversation.id).state == "bot"
    assert store.take_pending("default", conversation.id)["arguments"]["title"] == "refund"
    open_desk = ConversationDesk(store, ConversationSettings(), "default")
    assert "next in line" in open_desk.bound(conversation.id).handoff(conversation.id)
    # an unbound desk (a client-chosen session id) never queues or links an owned conversation
    other, _ = store.create_conversation("default", "web")
    assert "customer chat" in open_desk.handoff(other.id) and store.get_conversation("default", other.id).state == "bot"
    store.close_store()
