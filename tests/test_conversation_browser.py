"""A full hand-off in headless Chromium: a customer on /chat asks for a person; an agent signs in on /console,
takes the conversation and replies; the customer's page shows the reply without reloading."""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from urllib.parse import urlparse

import pytest

from kotaemon_like import registry
from kotaemon_like.server.app import create_app

from .conftest import ROOT, write_config
from .conversation_helpers import PASSWORD
from .test_browser import ARGS, CHROMIUM
from .test_server import LiveServer

pytestmark = pytest.mark.slow


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (scripts/test.sh installs it)")
def test_customer_asks_for_a_person_agent_takes_it_and_the_reply_arrives_live(workdir):
    playwright = pytest.importorskip("playwright.sync_api")
    (workdir / "data" / "knowledge" / "returns.md").write_text("# Returns\n\nYou can return any item within 30 days.\n")
    config = write_config(workdir, "conversations: {events_poll_s: 0.2}\ntools: {reload: false}")
    settings = registry.load(config)
    kb = registry.build_knowledge_base(settings)
    registry.build_indexer(kb).sync()
    kb.close()
    app = create_app(settings)
    outside: list[str] = []
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with LiveServer(app) as server, playwright.sync_playwright() as p:
        store, _ = registry.build_conversations(settings)
        store.add_user("default", "maria", PASSWORD, "agent", "Maria")
        store.close_store()
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            agent = browser.new_context().new_page()
            customer = browser.new_context().new_page()
            for page in (agent, customer):
                page.on("request", lambda r: urlparse(r.url).hostname not in ("127.0.0.1", "localhost", None)
                        and outside.append(r.url))
            agent.goto(f"{server.url}/console")
            agent.fill("#username", "maria")
            agent.fill("#password", PASSWORD)
            agent.click("#login button[type=submit]")
            agent.wait_for_selector("#app:not(.hidden)")
            agent.select_option("#presence", "online")

            customer.goto(f"{server.url}/chat")
            customer.fill("#message", "How long do I have to return an item?")
            customer.press("#message", "Enter")
            customer.wait_for_function("() => document.querySelector('#log').innerText.includes('30 days')", timeout=60_000)
            customer.wait_for_function("() => document.querySelector('#log').innerText.includes('Sources: [1] returns.md p.')")
            customer.click("#human")
            customer.wait_for_function("() => document.querySelector('#status').innerText.includes('position 1')",
                                       timeout=30_000)

            agent.wait_for_selector("#queue .item", timeout=30_000)
            agent.click("#queue .item")
            agent.wait_for_selector("#take:not(.hidden)")
            agent.click("#take")
            agent.wait_for_selector("#reply:not(.hidden)", timeout=30_000)
            transcript = agent.inner_text("#transcript")
            assert "How long do I have to return an item?" in transcript and "returns.md" in transcript
            agent.fill("#reply-text", "Hello, this is Maria. How can I help with your return?")
            agent.press("#reply-text", "Enter")

            url_before = customer.url
            customer.wait_for_function(
                "() => document.querySelector('#log').innerText.includes('this is Maria')", timeout=30_000)
            customer.wait_for_function(
                "() => document.querySelector('#status').innerText.includes('talking to Maria')", timeout=30_000)
            assert customer.url == url_before  # no reload
            assert customer.locator("#log .msg.agent").count() == 1
            assert customer.locator("input[type=file]").count() == 0  # no staff controls on the customer page

            agent.click("#close")
            customer.wait_for_selector("#rating:not(.hidden)", timeout=30_000)
            customer.click("#stars button:nth-child(5)")
            customer.click("#rate")
            customer.wait_for_function("() => document.querySelector('#rating').innerText.includes('Thank you')")
        finally:
            customer.screenshot(path=str(artifacts / "chat-handoff.png"), full_page=True)
            agent.screenshot(path=str(artifacts / "console.png"), full_page=True)
            browser.close()
    store, _ = registry.build_conversations(settings)
    (rating,) = store.ratings("default")
    assert rating.score == 5
    store.close_store()
    assert outside == [], f"the pages reached outside this machine: {outside[:5]}"


@contextmanager
def customer_chat(settings, pattern: str, handler):
    """A customer's /chat page in headless Chromium, with `handler` answering its requests to `pattern`."""
    playwright = pytest.importorskip("playwright.sync_api")
    with LiveServer(create_app(settings)) as server, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            customer = browser.new_context().new_page()
            customer.route(pattern, handler)
            customer.goto(f"{server.url}/chat")
            yield customer
        finally:
            browser.close()


def until(customer, done, attempts: int) -> None:
    """Lets the page (and Playwright's route handlers) run, 0.1 s at a time, until done() or `attempts` run out."""
    for _ in range(attempts):
        if done():
            return
        customer.wait_for_timeout(100)


def agent_reply_arrives(settings, customer, conversation: str, timeout_ms: int) -> None:
    """An agent's reply written to the conversation reaches the customer's page within `timeout_ms`."""
    store, _ = registry.build_conversations(settings)
    store.add_message("default", conversation, "agent", "Hello, this is Maria.", author="Maria")
    store.close_store()
    customer.wait_for_function("() => document.querySelector('#log').innerText.includes('this is Maria')",
                               timeout=timeout_ms)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (scripts/test.sh installs it)")
def test_an_agent_reply_arrives_within_seconds_after_the_live_stream_failed_several_times(workdir):
    """The page retries a failing events stream with a short backoff: after four refused requests in a row
    (a busy or restarting server), an agent's reply still reaches the customer within seconds, not half a minute."""
    settings = registry.load(write_config(workdir, "conversations: {events_poll_s: 0.2}\ntools: {reload: false}"))
    refused: list[str] = []

    def refuse_four(route):
        if len(refused) < 4:
            refused.append(route.request.url)
            route.fulfill(status=503, body="busy")
        else:
            route.continue_()

    with customer_chat(settings, "**/api/conversations/*/events*", refuse_four) as customer:
        until(customer, lambda: len(refused) == 4, 600)  # the page's own retries: 2 + 4 + 5 s with the short backoff
        assert len(refused) == 4, f"the page asked for its events {len(refused)} times in 60 s"
        conversation = customer.evaluate("() => JSON.parse(localStorage.getItem('kl-conversation')).id")
        # after the fourth failure the page waits 5 s (it waited 16 s, then 30 s, before the backoff was capped)
        agent_reply_arrives(settings, customer, conversation, 12_000)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (scripts/test.sh installs it)")
def test_a_message_sent_while_the_page_starts_joins_the_page_conversation(workdir):
    """A customer who types before the page has created its conversation gets one conversation, the one the
    page listens to: an agent's reply to it arrives. (Two conversations, the message in one and the live stream on
    the other, lost every agent reply.)"""
    settings = registry.load(write_config(workdir, "conversations: {events_poll_s: 0.2}\ntools: {reload: false}"))
    held, created = [], []

    def hold_creation(route):
        if route.request.method == "POST":
            created.append(route.request.url)
            held.append(route)  # answered only after the customer has sent a message
        else:
            route.continue_()

    with customer_chat(settings, "**/api/conversations", hold_creation) as customer:
        until(customer, lambda: held, 100)
        assert len(created) == 1, "the page did not create its conversation on load"
        customer.fill("#message", "Is anyone there?")
        customer.press("#message", "Enter")
        customer.wait_for_timeout(1000)  # time for a second creation request, were one sent
        for route in held:
            route.continue_()
        store, _ = registry.build_conversations(settings)

        def stored() -> list[str]:
            conversation = customer.evaluate("() => JSON.parse(localStorage.getItem('kl-conversation') || 'null')")
            return [m.text for m in store.messages("default", conversation["id"]) if m.role == "customer"] \
                if conversation else []

        until(customer, stored, 300)
        assert len(created) == 1, f"the page created {len(created)} conversations"
        assert stored() == ["Is anyone there?"]
        store.close_store()
        conversation = customer.evaluate("() => JSON.parse(localStorage.getItem('kl-conversation')).id")
        agent_reply_arrives(settings, customer, conversation, 15_000)
