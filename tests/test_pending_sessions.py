"""Pending tool questions of sessions outside the conversation layer are kept in the conversation store."""

from __future__ import annotations


def test_client_chosen_sessions_never_reach_an_owned_conversations_pending_question(tmp_path):
    from kotaemon_like.conversations.desk import StorePendingQuestions
    from kotaemon_like.conversations.sql_store import SqlConversationStore
    from kotaemon_like.tools import RouteDecision

    store = SqlConversationStore(f"sqlite:///{tmp_path / 'c.sqlite'}")
    try:
        owned = StorePendingQuestions(store, "default")
        sessions = StorePendingQuestions(store, "default", namespace="session:")
        conversation, _ = store.create_conversation("default", "web")
        owned.put(conversation.id, RouteDecision("order_status", {}, ("order_id",)))
        assert sessions.take(conversation.id) is None  # a UI / OpenAI `user` equal to a conversation id
        sessions.put("x" * 300, RouteDecision("order_status", {}, ("order_id",)))  # long ids are hashed, not cut
        assert sessions.take("x" * 300).name == "order_status" and sessions.take("x" * 299 + "y") is None
        assert owned.take(conversation.id).missing == ("order_id",)
    finally:
        store.close_store()
