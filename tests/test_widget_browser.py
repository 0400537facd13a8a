"""The widget in headless Chromium, embedded by pages served from other loopback origins (as a customer's site).

An allowed page under a hostile stylesheet asks about generated PDFs and sees a streamed answer with its source;
a reload keeps the conversation; an agent's reply through the staff API arrives live; the rating is saved.
A page from an origin that is not allowed is refused: the widget says so and the server logs and returns 403.
Screenshots go to test-artifacts/widget-*.png.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import httpx
import pytest

from kotaemon_like import registry
from kotaemon_like.server.app import create_app

from .conftest import ROOT, free_port, write_config
from .conversation_helpers import PASSWORD, Agent
from .sample_pdfs import ENGLISH, write_english
from .test_browser import ARGS, CHROMIUM
from .test_server import LiveServer

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (scripts/test.sh installs it)")]
# every rule a careless or hostile site might have; none of it may reach inside the widget
HOSTILE_CSS = """
* { font-size: 40px !important; color: rgb(255, 0, 0) !important; font-family: serif !important;
    letter-spacing: 6px !important; display: block !important; }
button, div, section, form, input { background: rgb(255, 255, 0) !important; border: 9px dotted red !important;
    width: 10px !important; visibility: hidden !important; }
kl-chat-widget { display: none !important; transform: translateX(-5000px) !important; }
"""
PAGE = """<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>A shop</title><style>{css}</style></head><body><h1>Our shop</h1>
<div class="panel" id="shop-panel">the shop's own panel</div><button class="launcher" id="shop-button">shop button</button>
<script src="{server}/widget.js" data-key="{key}" async></script></body></html>"""


class PageServer:
    """A static site on 127.0.0.1 (another origin than the app); stops at exit, its thread dies with the test."""

    def __init__(self, folder):
        handler = functools.partial(Quiet, directory=str(folder))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
        return self

    def __exit__(self, *_):
        self.httpd.shutdown()
        self.httpd.server_close()


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The app with a small knowledge base, a page server that is allowed and one that is not, and Chromium."""
    playwright = pytest.importorskip("playwright.sync_api")
    workdir = tmp_path_factory.mktemp("widget")
    (workdir / "data" / "knowledge").mkdir(parents=True)
    (workdir / "config").mkdir()
    write_english(workdir / "data" / "knowledge" / ENGLISH)
    pages = workdir / "site"
    pages.mkdir()
    with PageServer(pages) as allowed, PageServer(pages) as refused:
        config = write_config(workdir, """
            conversations: {events_poll_s: 0.2, events_max_s: 30}
            server: {rate_limits: {conversations_per_ip: 2/minute}}
            tools: {reload: false, settings: {order_status: {base_url: "http://127.0.0.1:9"}}}
            """)
        settings = registry.load(config)
        registry.build_indexer(kb := registry.build_knowledge_base(settings)).sync()
        kb.close()
        app = create_app(settings, ui=False)
        state = app.state.kl
        state.tenants.update("default", assistant_name="小灯 Lumi", colour="#aa3300", allowed_origins=[allowed.url],
                             welcome="Hello! 您好！Ask about your lamp.")
        _, key = state.tenants.issue_key("default", "public", "widget")
        state.conversations.add_user("default", "maria", PASSWORD, "agent", "Maria")
        with LiveServer(app) as server, playwright.sync_playwright() as p:
            (pages / "shop.html").write_text(PAGE.format(css=HOSTILE_CSS, server=server.url, key=key))
            (pages / "plain.html").write_text(PAGE.format(css="", server=server.url, key=key))
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                yield {"server": server, "allowed": allowed, "refused": refused, "browser": browser,
                       "store": state.conversations, "key": key}
            finally:
                browser.close()


def open_page(site, origin: str, name: str = "shop.html", **context):
    page = site["browser"].new_context(**context).new_page()
    outside: list[str] = []
    page.on("request", lambda r: urlparse(r.url).hostname != "127.0.0.1" and outside.append(r.url))
    page.outside = outside
    page.goto(f"{origin}/{name}")
    page.wait_for_selector("kl-chat-widget .launcher[aria-label^='Open chat']", timeout=30_000)
    return page


def widget_text(page) -> str:
    return page.locator("kl-chat-widget .log").inner_text()


def wait_for_text(page, selector: str, text: str, timeout=60_000) -> None:
    page.wait_for_function("([s, t]) => document.querySelector('kl-chat-widget').shadowRoot.querySelector(s)"
                           "?.innerText.includes(t)", arg=[selector, text], timeout=timeout)


def ask(page, question: str) -> None:
    page.locator("kl-chat-widget form input").fill(question)
    page.locator("kl-chat-widget form input").press("Enter")


def test_ask_reload_hand_off_and_rate_from_an_allowed_site_under_a_hostile_stylesheet(site):
    page = open_page(site, site["allowed"].url, viewport={"width": 1280, "height": 860})
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    try:
        launcher = page.locator("kl-chat-widget .launcher")
        page.wait_for_selector("kl-chat-widget .launcher[aria-label='Open chat with 小灯 Lumi']")  # the tenant's settings
        # the page's CSS does not reach in: the widget is visible, sized and coloured by its own rules
        style = launcher.evaluate("b => { const s = getComputedStyle(b); return [s.fontSize, s.backgroundColor, s.width, "
                                  "s.visibility, s.letterSpacing]; }")
        assert style == ["15px", "rgb(170, 51, 0)", "56px", "visible", "normal"], style
        box = launcher.bounding_box()
        assert box and box["x"] > 1000 and box["y"] > 700  # bottom right, not moved off screen
        # and the widget's CSS does not reach out: the shop's own .panel and .launcher keep the shop's styles
        shop = page.evaluate("() => ['#shop-panel', '#shop-button'].map(s => { const c = getComputedStyle("
                             "document.querySelector(s)); return [c.position, c.borderRadius, c.boxShadow]; })")
        assert shop == [["static", "0px", "none"]] * 2, shop

        launcher.click()
        wait_for_text(page, ".log", "您好")
        assert page.evaluate("() => document.querySelector('kl-chat-widget').shadowRoot.activeElement?.getAttribute('aria-label')") \
            == "Your message"
        ask(page, "How long are batteries covered?")
        wait_for_text(page, ".msg.assistant", "twelve months")
        wait_for_text(page, ".msg.assistant .sources", f"{ENGLISH} p.3")
        answer = widget_text(page)

        page.reload()
        page.wait_for_selector("kl-chat-widget .launcher")
        wait_for_text(page, ".log", "twelve months", timeout=30_000)  # reopened as it was, with the conversation
        assert "How long are batteries covered?" in widget_text(page) and f"{ENGLISH} p.3" in widget_text(page)
        assert widget_text(page).count("twelve months") == answer.count("twelve months")

        agent = Agent(site["server"].url, "maria")
        assert agent.post("/status", {"status": "online"}).status_code == 200
        page.locator("kl-chat-widget .human").click()
        wait_for_text(page, ".status", "position 1", timeout=30_000)
        (waiting,) = agent.get("/queue").json()["waiting"]
        assert waiting["channel"] == "widget"
        assert agent.post(f"/conversations/{waiting['id']}/take").status_code == 200
        assert agent.post(f"/conversations/{waiting['id']}/reply", {"text": "Hi, Maria here. 我来帮您。"}).status_code == 200
        url_before = page.url
        wait_for_text(page, ".log", "Maria here. 我来帮您。", timeout=30_000)
        wait_for_text(page, ".status", "talking to Maria", timeout=30_000)
        assert page.url == url_before and page.locator("kl-chat-widget .msg.agent").count() == 1

        assert agent.post(f"/conversations/{waiting['id']}/close").status_code == 200
        page.wait_for_selector("kl-chat-widget .rating:not([hidden])", timeout=30_000)
        page.locator("kl-chat-widget .stars button").nth(3).click()
        page.locator("kl-chat-widget .rate").click()
        wait_for_text(page, ".rating", "Thank you")
        page.screenshot(path=str(artifacts / "widget-desktop.png"))

        page.keyboard.press("Escape")  # Esc closes the panel and gives the focus back to the button
        page.wait_for_selector("kl-chat-widget .panel[hidden]", state="attached")
        assert page.evaluate("() => document.querySelector('kl-chat-widget').shadowRoot.activeElement?.className") == "launcher"
    finally:
        page.screenshot(path=str(artifacts / "widget-last.png"))
        page.context.close()
    (rating,) = site["store"].ratings("default")
    assert rating.score == 4
    assert page.outside == [], f"the widget reached outside this machine: {page.outside[:5]}"


def test_a_message_and_a_person_asked_for_while_the_chat_starts_share_one_live_stream(site):
    """"Talk to a person" clicked, then a message sent, before the conversation exists: both wait for the one
    conversation, and the widget follows its live events once (two streams showed every state change twice)."""
    page = site["browser"].new_context().new_page()
    held, streams = [], set()
    page.on("request", lambda r: "/events" in r.url and streams.add(r))
    page.on("requestfinished", lambda r: streams.discard(r))
    page.on("requestfailed", lambda r: streams.discard(r))

    def hold_creation(route):
        if route.request.method == "POST":
            held.append(route)  # answered once the customer has both asked for a person and written
        else:
            route.continue_()

    assert Agent(site["server"].url, "maria").post("/status", {"status": "online"}).status_code == 200  # a queue to join
    try:
        page.route(re.compile(r"/api/conversations\?"), hold_creation)
        page.goto(f"{site['allowed'].url}/plain.html")
        page.locator("kl-chat-widget .launcher").click()
        page.locator("kl-chat-widget .human").click()
        ask(page, "Is the lamp waterproof?")
        page.wait_for_timeout(500)
        assert len(held) == 1, f"{len(held)} conversations were asked for"
        sending = "kl-chat-widget form button.primary"
        assert page.locator(sending).is_disabled()  # the message waits for the conversation
        held[0].continue_()
        wait_for_text(page, ".status", "position", timeout=30_000)
        page.wait_for_selector(f"{sending}:not([disabled])", timeout=60_000)  # the message was sent
        page.wait_for_timeout(2500)  # a second listener would have opened its stream by now
        assert len(streams) == 1, f"{len(streams)} live event streams open"
    finally:
        page.context.close()


def test_on_a_phone_the_panel_fills_the_screen(site):
    # a well-behaved page: the hostile one overflows a phone's width, so the browser zooms the whole page out
    page = open_page(site, site["allowed"].url, "plain.html", viewport={"width": 375, "height": 740}, is_mobile=True,
                     has_touch=True)
    try:
        page.locator("kl-chat-widget .launcher").tap()
        wait_for_text(page, ".log", "Ask about your lamp")
        box = page.locator("kl-chat-widget .panel").bounding_box()
        assert box == {"x": 0, "y": 0, "width": 375, "height": 740}, box
        page.screenshot(path=str(ROOT / "test-artifacts" / "widget-phone.png"))
        page.context.set_offline(True)
        ask(page, "Is the lamp waterproof?")
        wait_for_text(page, ".msg.error", "You appear to be offline. Check your connection and try again.")
    finally:
        page.context.close()


def test_too_many_new_conversations_are_told_how_long_to_wait(site):
    """Two new conversations a minute per address (the fixture's limit): a third customer is told to wait."""
    told = []
    for _ in range(3):
        page = open_page(site, site["allowed"].url, "plain.html")
        try:
            page.locator("kl-chat-widget .launcher").click()
            ask(page, "How long are batteries covered?")
            page.wait_for_selector("kl-chat-widget .msg.assistant, kl-chat-widget .msg.error", timeout=60_000)
            errors = page.locator("kl-chat-widget .msg.error")
            if errors.count():
                told.append(errors.first.inner_text())
                break
        finally:
            page.context.close()
    assert told and re.fullmatch(r"Too many messages right now\. Please wait \d+ seconds and try again\.", told[0]), told


def test_a_site_that_is_not_allowed_is_refused(site, caplog):
    caplog.set_level(logging.WARNING, logger="kotaemon_like.server.cors")
    page = open_page(site, site["refused"].url)
    try:
        page.locator("kl-chat-widget .launcher").click()
        wait_for_text(page, ".msg.error", "not available on this website", timeout=30_000)
        assert page.locator("kl-chat-widget form input").is_disabled()
    finally:
        page.context.close()
    refusals = [r for r in caplog.records if r.getMessage() == "public key refused: origin not allowed"]
    assert refusals and refusals[0].origin == site["refused"].url
    # what the browser hid from the page: the server said 403
    response = httpx.get(f"{site['server'].url}/api/tenant?key={site['key']}", headers={"Origin": site["refused"].url})
    assert response.status_code == 403 and "access-control-allow-origin" not in response.headers
