"""Helpers for the conversation tests: a customer and an agent talking to a live server over HTTP."""

from __future__ import annotations

import json
import threading

import httpx

from .conftest import wait_until

PASSWORD = "correct horse battery staple"


class Customer:
    """One owned conversation, as the chat page uses it."""

    def __init__(self, url: str, channel: str = "web"):
        self.url = url
        body = httpx.post(f"{url}/api/conversations", json={"channel": channel}, timeout=30).json()
        self.id, self.token = body["id"], body["token"]

    @property
    def headers(self) -> dict:
        return {"X-Conversation-Token": self.token}

    def say(self, text: str) -> dict:
        response = httpx.post(f"{self.url}/api/conversations/{self.id}/messages", json={"message": text, "stream": False},
                              headers=self.headers, timeout=60)
        assert response.status_code == 200, response.text
        return response.json()

    def transcript(self) -> dict:
        return httpx.get(f"{self.url}/api/conversations/{self.id}", headers=self.headers, timeout=30).json()


class Agent:
    """A signed-in console session (the cookie the console page holds)."""

    def __init__(self, url: str, username: str, password: str = PASSWORD):
        self.client = httpx.Client(base_url=url, timeout=30)
        response = self.client.post("/api/staff/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        self.user = response.json()

    def post(self, path: str, body: dict | None = None) -> httpx.Response:
        return self.client.post(f"/api/staff{path}", json=body or {})

    def get(self, path: str) -> httpx.Response:
        return self.client.get(f"/api/staff{path}")


class LiveEvents:
    """Reads a conversation's live SSE stream in a thread; `events` fills as they arrive."""

    def __init__(self, customer: Customer):
        self.events: list[tuple[str, dict]] = []
        self.customer = customer
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        kind = None
        with httpx.stream("GET", f"{self.customer.url}/api/conversations/{self.customer.id}/events",
                          headers=self.customer.headers, timeout=60) as response:
            for line in response.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    self.events.append((kind, json.loads(line[6:])))

    def wait_for(self, predicate, what: str, timeout_s: float = 30):
        return wait_until(lambda: next((d for k, d in list(self.events) if predicate(k, d)), None), timeout_s, what=what)
