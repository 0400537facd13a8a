"""The chat UI in a real headless Chromium: upload a PDF, ask about it, see a streamed, cited answer.

Also checks that the page loads nothing from outside this machine. The screenshot is kept in
test-artifacts/ui.png.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

from kotaemon_like import registry
from kotaemon_like.server.app import create_app

from .conftest import PDFS, ROOT, write_config
from .test_server import LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (scripts/test.sh installs it)")
def test_upload_ask_and_see_a_cited_streamed_answer(workdir, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    config = write_config(workdir, "watcher: {quiet_s: 0.3}")
    app = create_app(registry.load(config))
    pdf = tmp_path / "federal-register-2020-17221.pdf"
    shutil.copy(PDFS / pdf.name, pdf)
    outside: list[str] = []
    with LiveServer(app) as server, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("request", lambda r: urlparse(r.url).hostname not in ("127.0.0.1", "localhost", None)
                and not r.url.startswith(("data:", "blob:")) and outside.append(r.url))
        page.goto(server.url, wait_until="load")
        page.wait_for_selector("#question textarea", timeout=60_000)
        page.get_by_text("Documents and status").click()
        page.locator("#upload input[type=file]").set_input_files(str(pdf))
        page.wait_for_function(
            "() => document.querySelector('#status') && document.querySelector('#status').innerText.includes('1 of 1 documents indexed')",
            timeout=120_000,
        )
        box = page.locator("#question textarea")
        box.fill("Where should commenters send their comments?")
        box.press("Enter")
        artifacts = ROOT / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        try:
            page.wait_for_function(
                "() => document.querySelector('#sources').innerText.includes('federal-register-2020-17221.pdf')",
                timeout=60_000,
            )
            # the answer's citation line is drawn when the stream ends, which can be a moment after the sources
            page.wait_for_function(
                "() => document.querySelector('#chat').innerText.includes('federal-register-2020-17221.pdf p.')",
                timeout=30_000,
            )
            sources = page.locator("#sources").inner_text()
            answer = page.locator("#chat").inner_text()
        finally:
            page.screenshot(path=str(artifacts / "ui.png"), full_page=True)
            browser.close()
    assert "federal-register-2020-17221.pdf — p. " in sources
    assert "comments" in answer.lower() and "federal-register-2020-17221.pdf p." in answer
    assert outside == [], f"the UI reached outside this machine: {outside[:5]}"
