"""A customer message, handled by state: `bot` -> the assistant's turn (chat.py); `waiting`/`agent` -> stored for
the person; unanswered turns in a row -> a hand-off. Agents take, reply, hand back and close through here too."""

from __future__ import annotations

import dataclasses
import logging
from typing import Iterator

from ..chat import TurnRecord
from ..components import Message
from .desk import ConversationDesk
from .events import MessageEvent, StateEvent
from .records import AGENT, BOT, CLOSED, WAITING, ChatMessage, Conversation, StaffUser
from .store import ConversationNotFound, StateConflict

log = logging.getLogger(__name__)
HISTORY_ROLES = {"customer": "user", "assistant": "assistant", "agent": "assistant"}


class ConversationService:
    """One tenant's conversations over a store, a chat engine and the hand-off rules."""

    def __init__(self, desk: ConversationDesk, engine):
        self.desk, self.engine = desk, engine
        self.store, self.settings, self.tenant = desk.store, desk.settings, desk.tenant

    # -- the customer side ---------------------------------------------------------------------
    def start(self, channel: str = "web") -> tuple[Conversation, str]:
        return self.store.create_conversation(self.tenant, channel)

    def open(self, conversation_id: str, token: str) -> Conversation | None:
        """The conversation when the token owns it; None alike for unknown ids and wrong tokens."""
        return self.store.authorize(self.tenant, conversation_id, token)

    def post(self, conversation: Conversation, text: str, filter: dict | None = None) -> Iterator:
        """Handle a customer message: chat turn events from the assistant, or a state event while a person has it."""
        current = self.store.get_conversation(self.tenant, conversation.id)
        if current is None:
            raise ConversationNotFound(conversation.id)
        if current.state == CLOSED:
            raise StateConflict("this conversation is closed; start a new one")
        history = self._history(current.id)
        self.store.add_message(self.tenant, current.id, "customer", text)
        self._answer_tickets(current.id, text)
        if current.state != BOT:
            yield self.state_event(current, "Your message was passed to the agent." if current.state == AGENT else "")
            return
        record = TurnRecord()
        turn = self.engine.turn(text, session_id=current.id, filter=filter, channel=current.channel, history=history,
                                conversations=self.desk.bound(current.id), pending=self.desk.pending)
        for event in turn:
            record.add(event)
            yield event
        answered = bool(record.done and record.done.answered)
        self.store.add_message(self.tenant, current.id, "assistant", record.answer, sources=record.citations,
                               tools=record.tools, answered=answered)
        after = self.store.get_conversation(self.tenant, current.id)
        if after.state != BOT:  # a plugin handed it over (the customer asked for a person)
            yield self.state_event(after)
            return
        unanswered = 0 if answered else current.unanswered + 1
        self.store.set_unanswered(self.tenant, current.id, unanswered)
        limit = self.settings.handoff_after_unanswered
        if limit and unanswered >= limit:
            notice = self.desk.bound(current.id).handoff(
                current.id, f"the assistant could not answer {unanswered} questions in a row",
                [{"role": m.role, "content": m.content} for m in history])
            self.store.add_message(self.tenant, current.id, "system", notice)
            self.store.set_unanswered(self.tenant, current.id, 0)
            yield self.state_event(self.store.get_conversation(self.tenant, current.id), notice)

    def _answer_tickets(self, conversation_id: str, text: str) -> None:
        """A customer writing while a ticket of theirs waits on them answers it: back to its agent."""
        for ticket in self.store.tickets(self.tenant, status="waiting_on_customer", conversation_id=conversation_id):
            self.store.add_ticket_entry(self.tenant, ticket.id, "customer", text, author="customer")
            self.store.set_ticket_status(self.tenant, ticket.id, "assigned", author="customer")

    def ask_for_person(self, conversation: Conversation) -> StateEvent:
        """The customer pressed "talk to a person": queue them, or offer a ticket when nobody can come."""
        history = [{"role": m.role, "content": m.content} for m in self._history(conversation.id)]
        notice = self.desk.bound(conversation.id).handoff(conversation.id, "the customer asked for a person", history)
        self.store.add_message(self.tenant, conversation.id, "system", notice)
        return self.state_event(self.store.get_conversation(self.tenant, conversation.id), notice)

    def _history(self, conversation_id: str) -> list[Message]:
        """The earlier turns the assistant sees (agents' replies included, as the assistant side)."""
        limit = self.settings.history_turns * 2
        if not limit:
            return []
        messages = self.store.messages(self.tenant, conversation_id, limit=limit)
        return [Message(HISTORY_ROLES[m.role], m.text) for m in messages if m.role in HISTORY_ROLES]

    def state_event(self, conversation: Conversation, message: str = "") -> StateEvent:
        position = self.store.queue_position(self.tenant, conversation.id) if conversation.state == WAITING else None
        if conversation.state == WAITING and not message:
            message = self.desk.queue_text(position).split(". ", 1)[-1]
        agent = ""
        if conversation.state == AGENT and conversation.agent_id is not None:
            user = self.store.get_user(self.tenant, user_id=conversation.agent_id)
            agent = user.name if user else ""
        return StateEvent(conversation.state, position, message, agent)

    def updates(self, conversation_id: str, after_id: int) -> tuple[list[ChatMessage], Conversation | None]:
        """New messages since `after_id` and the conversation as it is now (for the live stream)."""
        return self.store.messages(self.tenant, conversation_id, after_id=after_id), \
            self.store.get_conversation(self.tenant, conversation_id)

    def transcript(self, conversation: Conversation, staff: bool = False) -> dict:
        """The conversation for its customer (or, with `staff`, with tool events and what the assistant could not answer)."""
        conversation = self.store.get_conversation(self.tenant, conversation.id)
        messages = []
        for m in self.store.messages(self.tenant, conversation.id):
            item = dataclasses.asdict(MessageEvent.of(m))
            item.pop("type")
            if staff:
                item.update(tools=m.tools, answered=m.answered)
            messages.append(item)
        tickets = self.store.tickets(self.tenant, conversation_id=conversation.id)
        ratings = self.store.ratings(self.tenant, conversation.id)
        return {
            "id": conversation.id,
            "channel": conversation.channel,
            **{k: v for k, v in dataclasses.asdict(self.state_event(conversation)).items() if k != "type"},
            "created_at": conversation.created_at.isoformat(timespec="seconds"),
            "messages": messages,
            "tickets": [{"number": t.number, "status": t.status, "title": t.title} for t in tickets],
            "ratings": [{"ticket": f"TKT-{r.ticket_id:06d}" if r.ticket_id else None, "score": r.score,
                         "comment": r.comment} for r in ratings],
            **({"customer": conversation.customer, "agent_id": conversation.agent_id,
                "handoff_reason": conversation.handoff_reason} if staff else {}),
        }

    def rate(self, conversation: Conversation, score: int, comment: str = "", ticket_number: str | None = None):
        """The customer rates a closed conversation, or a resolved or closed ticket opened from it."""
        ticket_id = 0
        if ticket_number:
            from .records import ticket_id as parse

            ticket = self.store.get_ticket(self.tenant, parse(ticket_number))
            if ticket is None or ticket.conversation_id != conversation.id:
                raise ConversationNotFound(f"no ticket {ticket_number} in this conversation")
            if ticket.status not in ("resolved", "closed"):
                raise StateConflict(f"ticket {ticket.number} can be rated once it is resolved")
            ticket_id = ticket.id
        elif self.store.get_conversation(self.tenant, conversation.id).state != CLOSED:
            raise StateConflict("a conversation can be rated once it is closed")
        return self.store.rate(self.tenant, conversation.id, score, comment, ticket_id)

    # -- the agent side ------------------------------------------------------------------------
    def take(self, agent: StaffUser, conversation_id: str) -> bool:
        won = self.store.take(self.tenant, conversation_id, agent.id)
        if won:
            self.store.add_message(self.tenant, conversation_id, "system", f"{agent.name} joined the conversation.")
            log.info("conversation taken", extra={"conversation_id": conversation_id, "agent": agent.username})
        return won

    def reply(self, agent: StaffUser, conversation_id: str, text: str) -> ChatMessage:
        conversation = self._assigned(agent, conversation_id)
        return self.store.add_message(self.tenant, conversation.id, "agent", text, author=agent.name)

    def hand_back(self, agent: StaffUser, conversation_id: str) -> None:
        conversation = self._assigned(agent, conversation_id)
        if not self.store.hand_back(self.tenant, conversation.id, None if agent.role == "admin" else agent.id):
            raise StateConflict("the conversation changed meanwhile; reload it")
        self.store.add_message(self.tenant, conversation.id, "system", "You are talking to the assistant again.")

    def close(self, agent: StaffUser, conversation_id: str) -> None:
        conversation = self.store.get_conversation(self.tenant, conversation_id)
        if conversation is None:
            raise ConversationNotFound(conversation_id)
        if conversation.state == AGENT and conversation.agent_id != agent.id and agent.role != "admin":
            raise StateConflict("another agent has this conversation")
        if self.store.close(self.tenant, conversation_id):
            self.store.add_message(self.tenant, conversation_id, "system",
                                   "This conversation was closed. How did we do? Please rate it from 1 to 5.")

    def _assigned(self, agent: StaffUser, conversation_id: str) -> Conversation:
        conversation = self.store.get_conversation(self.tenant, conversation_id)
        if conversation is None:
            raise ConversationNotFound(conversation_id)
        if conversation.state != AGENT or (conversation.agent_id != agent.id and agent.role != "admin"):
            raise StateConflict("take the conversation first (it is not assigned to you)")
        return conversation
