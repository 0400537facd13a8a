"""The conformance suite every `ConversationStore` must pass; shipped so a third-party store can run it.

Subclass `ConversationStoreContract` in a test module and provide an `open_store` fixture: a callable
that opens a new store instance on the same (initially empty) database each time it is called.
"""

from __future__ import annotations

import threading
import time

import pytest

from .records import AGENT, BOT, CLOSED, WAITING
from .store import ConversationNotFound, StateConflict

T = "default"
PASSWORD = "correct horse battery staple"


class ConversationStoreContract:
    @pytest.fixture
    def store(self, open_store):
        return open_store()

    def test_only_the_token_opens_a_conversation(self, store):
        mine, token = store.create_conversation(T, "web")
        other, other_token = store.create_conversation(T, "web")
        assert mine.state == BOT and mine.tenant_id == T and len(token) >= 40 and mine.id != other.id
        assert store.authorize(T, mine.id, token).id == mine.id
        assert store.authorize(T, mine.id, other_token) is None
        assert store.authorize(T, mine.id, "") is None and store.authorize(T, mine.id, token[:-1]) is None
        assert store.authorize(T, "no-such-id", token) is None
        assert store.authorize("another-tenant", mine.id, token) is None

    def test_transcript_keeps_roles_sources_and_order(self, store):
        conversation, _ = store.create_conversation(T, "web")
        first = store.add_message(T, conversation.id, "customer", "How long is the warranty?")
        store.add_message(T, conversation.id, "assistant", "24 months [1]", answered=True,
                          sources=[{"number": 1, "source": "warranty.pdf", "page": 2}],
                          tools=[{"name": "order_status", "status": "ok"}])
        store.add_message(T, conversation.id, "agent", "Anything else?", author="Alice")
        messages = store.messages(T, conversation.id)
        assert [m.role for m in messages] == ["customer", "assistant", "agent"]
        assert messages[1].sources[0]["source"] == "warranty.pdf" and messages[1].tools[0]["name"] == "order_status"
        assert messages[1].answered is True and messages[2].author == "Alice"
        assert [m.text for m in store.messages(T, conversation.id, after_id=first.id)] == ["24 months [1]", "Anything else?"]
        assert [m.role for m in store.messages(T, conversation.id, limit=2)] == ["assistant", "agent"]
        assert store.messages("another-tenant", conversation.id) == []
        with pytest.raises(ValueError):
            store.add_message(T, conversation.id, "hacker", "x")
        with pytest.raises(ConversationNotFound):
            store.add_message("another-tenant", conversation.id, "customer", "x")

    def test_queue_take_hand_back_and_close(self, store):
        first, _ = store.create_conversation(T, "web")
        second, _ = store.create_conversation(T, "web")
        assert store.enqueue(T, first.id, "wants a refund") == 1
        time.sleep(0.01)
        assert store.enqueue(T, second.id, "") == 2
        assert store.enqueue(T, first.id, "again") == 1  # asking twice keeps the place
        queue = store.queue(T)
        assert [(e.conversation.id, e.position) for e in queue] == [(first.id, 1), (second.id, 2)]
        assert queue[0].conversation.handoff_reason == "wants a refund" and queue[0].waited_s >= 0
        assert store.take(T, first.id, agent_id=7) is True
        assert store.take(T, first.id, agent_id=8) is False
        taken = store.get_conversation(T, first.id)
        assert taken.state == AGENT and taken.agent_id == 7
        assert store.queue_position(T, second.id) == 1 and store.queue_position(T, first.id) is None
        assert store.enqueue(T, first.id, "") is None  # with an agent already
        assert store.hand_back(T, first.id, agent_id=8) is False  # not theirs
        assert store.hand_back(T, first.id, agent_id=7) is True
        assert store.get_conversation(T, first.id).state == BOT and store.get_conversation(T, first.id).agent_id is None
        assert store.close(T, first.id) is True and store.close(T, first.id) is False
        assert store.get_conversation(T, first.id).state == CLOSED
        assert store.enqueue(T, first.id, "") is None
        assert store.queue("another-tenant") == [] and store.take("another-tenant", second.id, 1) is False
        assert [c.id for c in store.conversations(T, state=WAITING)] == [second.id]

    def test_two_agents_racing_exactly_one_wins(self, store):
        for _ in range(5):
            conversation, _ = store.create_conversation(T, "web")
            store.enqueue(T, conversation.id, "")
            results: dict[int, bool] = {}
            barrier = threading.Barrier(4)

            def take(agent: int) -> None:
                barrier.wait()
                results[agent] = store.take(T, conversation.id, agent)

            threads = [threading.Thread(target=take, args=(a,)) for a in range(1, 5)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            winners = [a for a, won in results.items() if won]
            assert len(results) == 4 and len(winners) == 1
            assert store.get_conversation(T, conversation.id).agent_id == winners[0]

    def test_pending_questions_are_answered_once(self, store):
        decision = {"name": "order_status", "arguments": {}, "missing": ["order_id"], "score": 0.7}
        store.put_pending(T, "c1", decision)
        store.put_pending(T, "c1", {**decision, "score": 0.8})  # a newer question replaces the older
        assert store.has_pending(T, "c1") and store.has_pending(T, "c1")  # looking leaves it there
        assert not store.has_pending("another-tenant", "c1")
        assert store.take_pending("another-tenant", "c1") is None
        assert store.take_pending(T, "c1") == {**decision, "score": 0.8}
        assert store.take_pending(T, "c1") is None and not store.has_pending(T, "c1")

    def test_ticket_workflow(self, store):
        conversation, _ = store.create_conversation(T, "web")
        ticket = store.create_ticket(T, "Cracked jar", "The jar arrived cracked.", "high", "ana@example.com",
                                     conversation.id, [{"role": "user", "content": "my jar is cracked"}])
        assert ticket.number == f"TKT-{ticket.id:06d}" and ticket.status == "open" and ticket.history[0]["role"] == "user"
        with pytest.raises(ValueError):
            store.create_ticket(T, "x", "y", "whenever")
        assigned = store.assign_ticket(T, ticket.id, user_id=3, author="alice")
        assert assigned.status == "assigned" and assigned.assignee_id == 3
        store.add_ticket_entry(T, ticket.id, "reply", "We are sending a new jar.", author="alice")
        store.add_ticket_entry(T, ticket.id, "note", "Courier damage, claim filed.", author="alice")
        for status in ("waiting_on_customer", "resolved", "closed"):
            assert store.set_ticket_status(T, ticket.id, status, author="alice").status == status
        with pytest.raises(StateConflict):
            store.set_ticket_status(T, ticket.id, "waiting_on_customer")
        kinds = [e.kind for e in store.ticket_entries(T, ticket.id)]
        assert kinds.count("status") == 4 and "note" in kinds and "reply" in kinds
        assert "note" not in [e.kind for e in store.ticket_entries(T, ticket.id, include_notes=False)]
        assert [t.id for t in store.tickets(T, status="closed")] == [ticket.id]
        assert [t.id for t in store.tickets(T, conversation_id=conversation.id)] == [ticket.id]
        assert store.tickets(T, status="open") == [] and store.tickets("another-tenant") == []
        assert store.get_ticket("another-tenant", ticket.id) is None
        with pytest.raises(ConversationNotFound):
            store.assign_ticket("another-tenant", ticket.id, 1)

    def test_ratings(self, store):
        conversation, _ = store.create_conversation(T, "web")
        with pytest.raises(ValueError):
            store.rate(T, conversation.id, 6)
        store.rate(T, conversation.id, 2, "slow")
        store.rate(T, conversation.id, 5, "solved in the end")
        store.rate(T, conversation.id, 4, ticket_id=9)
        ratings = store.ratings(T, conversation.id)
        assert sorted((r.ticket_id, r.score, r.comment) for r in ratings) == [(0, 5, "solved in the end"), (9, 4, "")]
        assert store.ratings("another-tenant") == []

    @pytest.mark.slow  # argon2 hashes are slow on purpose
    def test_staff_accounts_sessions_and_keys(self, store):
        with pytest.raises(ValueError):
            store.add_user(T, "bob", "short")
        alice = store.add_user(T, "alice", PASSWORD, "admin", "Alice A.")
        with pytest.raises(ValueError):
            store.add_user(T, "alice", PASSWORD)
        assert store.verify_login(T, "alice", PASSWORD).id == alice.id
        assert store.verify_login(T, "alice", "wrong password!") is None
        assert store.verify_login(T, "nobody", PASSWORD) is None
        assert store.verify_login("another-tenant", "alice", PASSWORD) is None
        session = store.create_session(T, alice.id, hours=1)
        assert store.session_user(session).username == "alice" and store.session_user("forged") is None
        expired = store.create_session(T, alice.id, hours=-1)
        assert store.session_user(expired) is None
        key, secret = store.create_api_key(T, alice.id, "reports")
        assert secret.startswith("klk_") and key.prefix == secret[:10] and secret not in repr(store.api_keys(T))
        assert store.api_key_user(secret).id == alice.id
        assert store.agents_online(T, 60) == 0
        store.update_user(T, alice.id, status="online")
        assert store.agents_online(T, 60) == 1 and store.agents_online("another-tenant", 60) == 0
        store.update_user(T, alice.id, disabled=True)
        assert store.verify_login(T, "alice", PASSWORD) is None
        assert store.session_user(session) is None and store.api_key_user(secret) is None
        assert store.agents_online(T, 60) == 0
        store.update_user(T, alice.id, disabled=False, password="another long password")
        assert store.verify_login(T, "alice", "another long password") is not None
        assert store.api_key_user(secret) is None  # a re-enabled user's old keys stay revoked
        key2, secret2 = store.create_api_key(T, alice.id)
        assert store.revoke_api_key(T, key2.id) and store.api_key_user(secret2) is None

    def test_nothing_is_lost_when_the_store_is_reopened(self, store, open_store):
        conversation, token = store.create_conversation(T, "web")
        store.add_message(T, conversation.id, "customer", "where is my order?")
        store.put_pending(T, conversation.id, {"name": "order_status", "arguments": {}, "missing": ["order_id"], "score": 0.6})
        ticket = store.create_ticket(T, "Late parcel", "It is late.", contact="ana@example.com", conversation_id=conversation.id)
        store.enqueue(T, conversation.id, "late parcel")
        store.close_store()
        reopened = open_store()
        assert reopened.authorize(T, conversation.id, token).state == WAITING
        assert [m.text for m in reopened.messages(T, conversation.id)] == ["where is my order?"]
        assert reopened.take_pending(T, conversation.id)["name"] == "order_status"
        assert reopened.get_ticket(T, ticket.id).contact == "ana@example.com"
        assert [e.conversation.id for e in reopened.queue(T)] == [conversation.id]
