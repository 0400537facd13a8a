"""What tool plugins reach as `ToolContext.conversations`: hand a conversation to a person, open a ticket,
and keep pending tool questions in the store so any replica continues the conversation."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import math
from typing import Any, Mapping, Sequence
from zoneinfo import ZoneInfo

from ..config import BusinessHours, ConversationSettings
from .records import AGENT, CLOSED, WAITING, Ticket
from .store import ConversationStore

log = logging.getLogger(__name__)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ASK_CONTACT = "Which email address or phone number should our support team use to reach you?"


def open_now(hours: BusinessHours | None, now: dt.datetime | None = None) -> bool:
    """Within the configured business hours (always, when none are configured)."""
    if hours is None:
        return True
    local = (now or dt.datetime.now(dt.timezone.utc)).astimezone(ZoneInfo(hours.timezone))
    return DAYS[local.weekday()] in hours.days and hours.open <= local.time() < hours.close


class StorePendingQuestions:
    """`tool_calls.PendingQuestions` in the conversation store (a RouteDecision kept as JSON).

    `namespace` keeps client-chosen session ids (the demo UI, the OpenAI `user`) apart from owned conversations'
    ids, so such a session can never read or plant a question in someone's conversation.
    """

    def __init__(self, store: ConversationStore, tenant: str, namespace: str = ""):
        self.store, self.tenant, self.namespace = store, tenant, namespace

    def _key(self, session_id: str) -> str:
        key = self.namespace + session_id
        return key if len(key) <= 200 else self.namespace + hashlib.sha256(session_id.encode()).hexdigest()

    def put(self, session_id: str, decision: Any) -> None:
        self.store.put_pending(self.tenant, self._key(session_id), dataclasses.asdict(decision))

    def take(self, session_id: str) -> Any | None:
        from ..tools import RouteDecision

        data = self.store.take_pending(self.tenant, self._key(session_id))
        if not data:
            return None
        return RouteDecision(data["name"], dict(data.get("arguments", {})), tuple(data.get("missing", ())),
                             float(data.get("score", 0.0)))

    def waiting(self, session_id: str) -> bool:
        return self.store.has_pending(self.tenant, session_id)


class ConversationDesk:
    """The hand-off rules (agents online, business hours, queue place) and ticket creation for one tenant.

    Bound to an owned conversation (`bound(id)`, what the conversation service hands plugins), it queues that
    conversation and links tickets to it. Unbound (the CLI, the demo UI, the OpenAI-compatible endpoint) it
    never looks a conversation up by the session id it is given: that id comes from the client.
    """

    def __init__(self, store: ConversationStore, settings: ConversationSettings, tenant: str,
                 conversation_id: str | None = None):
        self.store, self.settings, self.tenant = store, settings, tenant
        self.conversation_id = conversation_id
        self.pending = StorePendingQuestions(store, tenant)

    def bound(self, conversation_id: str) -> "ConversationDesk":
        return ConversationDesk(self.store, self.settings, self.tenant, conversation_id)

    def handoff(self, session_id: str, reason: str = "", history: Sequence[Mapping[str, str]] = ()) -> str:
        """Queue the conversation for a person and say where it stands, or offer a ticket when nobody can come."""
        conversation_id = self.conversation_id
        conversation = self.store.get_conversation(self.tenant, conversation_id) if conversation_id else None
        if conversation is None:  # a session outside the conversation layer (`kl chat`, the demo UI)
            return ("Agents answer in the customer chat, not here. I can open a ticket instead: tell me what happened "
                    "and the email address or phone number our support team should use.")
        if conversation.state == AGENT:
            return "An agent is already with you in this conversation."
        if conversation.state == CLOSED:
            return "This conversation is closed; please start a new one to reach an agent."
        if not open_now(self.settings.business_hours):
            return self._offer_ticket(conversation_id, reason, history, "Our agents are not available at this hour.")
        if conversation.state != WAITING and self.store.agents_online(self.tenant, self.settings.agent_timeout_s) == 0:
            return self._offer_ticket(conversation_id, reason, history, "No agent is available right now.")
        position = self.store.enqueue(self.tenant, conversation_id, reason)
        log.info("hand-off queued", extra={"conversation_id": conversation_id, "position": position})
        return self.queue_text(position)

    def queue_text(self, position: int | None) -> str:
        ahead = (position or 1) - 1
        wait = math.ceil(ahead * self.settings.minutes_per_customer)
        where = "You are next in line" if ahead == 0 else f"You are number {position} in the queue"
        estimate = f" (about {wait} minutes)" if wait else ""
        return f"I am transferring you to a human agent, who will see our conversation so far. {where}{estimate}."

    def _offer_ticket(self, session_id: str, reason: str, history: Sequence[Mapping[str, str]], why: str) -> str:
        """The next message giving a contact completes a create_ticket call (a pending question)."""
        from ..tools import RouteDecision

        asked = reason or next((m["content"] for m in reversed(history) if m["role"] == "user"), "") or "Call back requested"
        title = " ".join(asked.split())[:120]
        self.pending.put(session_id, RouteDecision("create_ticket", {"title": title, "description": asked}, ("contact",)))
        return f"{why} I can open a ticket instead, and our support team will get back to you. {ASK_CONTACT}"

    def open_ticket(self, title: str, description: str, priority: str, contact: str, session_id: str,
                    history: Sequence[Mapping[str, str]]) -> Ticket:
        """A ticket, linked to the bound conversation (its replies then reach the customer's chat)."""
        ticket = self.store.create_ticket(self.tenant, title, description, priority, contact, self.conversation_id, history)
        log.info("ticket opened", extra={"ticket": ticket.number, "priority": priority})
        return ticket
