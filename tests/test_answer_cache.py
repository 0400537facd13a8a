"""The answer cache: a repeated question is answered from it (marked `cached`, counted in metrics), any document
change invalidates it, tool turns, follow-ups, pending offers and questions never use it, tenants never share
it, and replicas share it through Redis."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from kotaemon_like import metrics, registry
from kotaemon_like.answer_cache import AnswerCache, InProcessCache, normalise
from kotaemon_like.chat import CitationEvent, DoneEvent, TokenEvent, ToolEvent
from kotaemon_like.components import Message

from .conftest import ROOT, write_config
from .tool_fixtures import orders_server  # noqa: F401  (fixture)

PRICING = "# Plans\n\nThe Pro plan costs 49 euros per month and includes priority support.\n"
SHIPPING = "# Shipping\n\nOrders ship within two working days; delivery is free above 50 euros.\n"


def test_questions_differing_in_case_spacing_and_end_punctuation_are_one():
    assert normalise("  How much is the PRO   plan?? ") == normalise("how much is the pro plan") == "how much is the pro plan"
    assert normalise("退货政策是什么？") == normalise("退货政策是什么")
    assert normalise("Is the Pro plan free?") != normalise("Is the Basic plan free?")


def test_the_in_process_cache_is_bounded_and_expires():
    cache = InProcessCache(max_entries=2)
    cache.set("a", "1", 60)
    cache.set("b", "2", 60)
    cache.get("a")  # a is now the most recently used
    cache.set("c", "3", 60)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == ("1", None, "3")
    cache.set("d", "4", 0.05)
    time.sleep(0.1)
    assert cache.get("d") is None


@pytest.fixture
def project(tmp_path, orders_server):
    (tmp_path / "data" / "knowledge").mkdir(parents=True)
    (tmp_path / "config").mkdir()
    (tmp_path / "data" / "knowledge" / "pricing.md").write_text(PRICING)
    (tmp_path / "data" / "knowledge" / "shipping.md").write_text(SHIPPING)
    return SimpleNamespace(root=tmp_path, orders=orders_server)


def build(project, extra: str = "", tenant: str | None = None):
    """A knowledge base (indexed), its indexer and a chat engine with the order plugin, as `kl serve` builds them."""
    config = write_config(project.root, f"""
        tools:
          folder: "{ROOT / 'plugins'}"
          reload: false
          settings: {{order_status: {{base_url: "{project.orders.url}"}}}}
        {extra}
        """, name=f"cache-{time.monotonic_ns()}.yaml")
    kb = registry.build_knowledge_base(registry.load(config))
    indexer = registry.build_indexer(kb)
    indexer.sync()
    toolbox = registry.build_toolbox(kb.settings, kb.embedder)
    desk = None
    if tenant:
        from kotaemon_like.conversations.desk import ConversationDesk

        store, _ = registry.build_conversations(kb.settings)
        desk = ConversationDesk(store, kb.settings.conversations, tenant)
    return kb, indexer, registry.build_chat(kb, toolbox=toolbox, desk=desk)


def ask(engine, message: str, session: str = "s", history=None):
    events = list(engine.turn(message, session_id=session, history=history))
    done = events[-1]
    assert isinstance(done, DoneEvent)
    text = "".join(e.text for e in events if isinstance(e, TokenEvent))
    return text, [e for e in events if isinstance(e, CitationEvent)], [e for e in events if isinstance(e, ToolEvent)], done


def hits() -> float:
    return metrics.ANSWER_CACHE.labels("hit")._value.get()


@pytest.mark.slow
def test_a_repeated_question_is_answered_from_the_cache_until_a_document_changes(project):
    kb, indexer, engine = build(project)
    text, citations, _, done = ask(engine, "How much is the Pro plan?", session="a")
    assert "49 euros" in text and citations and not done.cached
    before = hits()
    again, again_citations, _, done = ask(engine, "how much is the  PRO plan", session="b")
    assert done.cached and again == text and again_citations == citations and done.answered
    assert hits() == before + 1
    # any change to the documents invalidates it: a new price is answered at once
    (project.root / "data" / "knowledge" / "pricing.md").write_text(PRICING.replace("49", "59"))
    indexer.sync()
    text, _, _, done = ask(engine, "How much is the Pro plan?", session="c")
    assert not done.cached and "59 euros" in text
    assert ask(engine, "How much is the Pro plan?", session="d")[3].cached
    (project.root / "data" / "knowledge" / "shipping.md").unlink()  # deleting another document invalidates too
    indexer.sync()
    assert not ask(engine, "How much is the Pro plan?", session="e")[3].cached


@pytest.mark.slow
def test_an_answer_read_while_the_index_changed_is_filed_under_the_index_it_was_read_from(project):
    """A document written while a turn is being answered renews the index version mid-turn: the answer, read
    from the index as it was, must not be served later as the answer of the new index."""
    kb, indexer, engine = build(project)
    real = engine.cache.version
    calls = []

    def version():  # the version the turn sees first, then what the index write made of it
        calls.append(1)
        return real() if len(calls) == 1 else "renewed-" + real()

    engine.cache.version = version
    _, _, _, done = ask(engine, "How much is the Pro plan?", session="a")
    assert not done.cached and len(calls) == 1  # the key was taken once, before retrieving
    engine.cache.version = lambda: "renewed-" + real()
    assert not ask(engine, "How much is the Pro plan?", session="b")[3].cached
    engine.cache.version = real
    assert ask(engine, "How much is the Pro plan?", session="c")[3].cached  # filed under the version it was read from


@pytest.mark.slow
def test_tool_turns_follow_ups_offers_and_pending_questions_never_use_it(project):
    kb, indexer, engine = build(project)
    lookups = project.orders.order_requests()
    for session in ("t1", "t2"):
        _, _, tools, done = ask(engine, "where is my order 12345?", session=session)
        assert [t.name for t in tools] == ["order_status"] and not done.cached
    assert project.orders.order_requests() == lookups + 2  # both asked the orders service

    follow_up = "what about the Pro plan price?"
    assert not ask(engine, follow_up, session="f1", history=[])[3].cached
    assert ask(engine, follow_up, session="f2", history=[])[3].cached  # asked on its own, it is a repeat
    earlier = [Message("user", "How fast do orders ship?"), Message("assistant", "Within two working days [1].")]
    _, _, _, done = ask(engine, follow_up, session="f3", history=earlier)
    assert not done.cached and done.query != follow_up  # searched with the earlier subject

    ask(engine, "Do you ship to Iceland by sea freight with a pallet?", session="o1")  # not answerable: no cache entry
    ask(engine, "How much is the Pro plan?", session="o2")
    offer = [Message("user", "Can I pay in bitcoin?"), Message("assistant", ask(engine, "Can I pay in bitcoin?")[0])]
    _, _, _, done = ask(engine, "How much is the Pro plan?", session="o3", history=offer)
    assert not done.cached  # after an offer, a reply is read against it first

    _, _, tools, _ = ask(engine, "where is my order?", session="p1")  # the plugin asks for the number
    assert tools[0].status == "needs-input"
    assert not ask(engine, "How much is the Pro plan?", session="p1")[3].cached


@pytest.mark.slow
def test_tenants_never_share_answers_and_replicas_share_them_through_redis(project, redis_server):
    url = f'cache: {{url: "{redis_server.url}", ttl_s: 120}}'
    _, _, acme = build(project, url, tenant="acme")
    _, _, acme_replica = build(project, url, tenant="acme")
    _, _, globex = build(project, url, tenant="globex")
    assert not ask(acme, "How much is the Pro plan?")[3].cached
    assert ask(acme_replica, "How much is the Pro plan?")[3].cached  # another process, the same Redis
    assert not ask(globex, "How much is the Pro plan?")[3].cached  # same question and index, another tenant
    import redis

    client = redis.Redis.from_url(redis_server.url)
    keys = sorted(k.decode() for k in client.keys("kl:answer:*"))
    assert [k.split(":")[2] for k in keys] == ["acme", "globex"]
    assert all(0 < client.pttl(k) <= 120_000 for k in keys)


def test_an_unreachable_redis_is_a_miss_not_a_failure():
    from kotaemon_like.answer_cache import CachedAnswer, RedisCache

    cache = AnswerCache(RedisCache("redis://127.0.0.1:1/0"), "default", lambda: "v1")
    cache.put(cache.key("How much is the Pro plan?"), CachedAnswer("49 euros"))
    assert cache.get(cache.key("How much is the Pro plan?")) is None
