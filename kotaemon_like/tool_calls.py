"""Which tool plugins a chat message needs, and their results.

An accepted offer (the last assistant message offered a hand-off or a ticket) first; then LLM function
calling when an LLM is configured, else the embedded router; when a plugin asks for a missing argument,
the decision waits (in a `PendingQuestions` store) for the customer's next message in the same session.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

from .components import Message
from .tools.offers import accepted_offer

log = logging.getLogger(__name__)


def tool_text(results) -> str:
    return "\n\n".join(r.message for r in results if r.message)


@dataclass(frozen=True)
class ToolTurn:
    """The plugin results of one turn and, when an LLM chose the calls, the function-calling exchange it continues from."""

    results: list = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)  # assistant tool_calls message, then one "tool" message per call
    routed_by: str = ""  # "offer" | "llm" | "router" | "" (no plugin)


class PendingQuestions(Protocol):
    """Where a tool call waiting for the customer's answer is kept between turns (tools.RouteDecision)."""

    def put(self, session_id: str, decision: Any) -> None: ...

    def take(self, session_id: str) -> Any | None:
        """The waiting decision, removed; None when nothing waits."""

    def waiting(self, session_id: str) -> bool:
        """Whether a decision waits, leaving it there."""


class InProcessPendingQuestions:
    """Pending questions in this process only (the CLI, tests); the conversation store keeps them for servers."""

    def __init__(self):
        self._pending: dict[str, Any] = {}
        self._lock = threading.Lock()

    def put(self, session_id: str, decision: Any) -> None:
        with self._lock:
            self._pending[session_id] = decision

    def take(self, session_id: str) -> Any | None:
        with self._lock:
            return self._pending.pop(session_id, None)

    def waiting(self, session_id: str) -> bool:
        with self._lock:
            return session_id in self._pending


class ToolCalls:
    """Routes a message to plugins and calls them through the toolbox (breakers, timeouts).

    `conversations` is what plugins see as `ToolContext.conversations` (the hand-off queue, tickets).
    """

    def __init__(self, toolbox, llm=None, timeout_s: float = 10.0, pending: PendingQuestions | None = None,
                 conversations: Any = None):
        self.toolbox, self.llm, self.timeout_s = toolbox, llm, timeout_s
        self.pending = pending if pending is not None else InProcessPendingQuestions()
        self.conversations = conversations

    def run(self, message: str, session_id: str, history: list[Message], conversations: Any = None,
            pending: PendingQuestions | None = None, knowledge: float | None = None) -> ToolTurn:
        """Plugin calls for this message; `knowledge` is the knowledge base's best relevance for it, when known.

        `conversations` / `pending` given for this turn replace the defaults (an owned conversation's own).
        """
        from .tools import ToolContext

        conversations = conversations if conversations is not None else self.conversations
        pending = pending if pending is not None else self.pending
        context = ToolContext.from_messages(session_id, history, conversations=conversations)
        offer = accepted_offer(message, history)
        if offer is not None and offer in self.toolbox.plugins():
            pending.take(session_id)  # the offer replaces any question left waiting
            decision = self.toolbox.accept_offer(offer, history)
            calls = [(decision, decision.name, decision.arguments)]
            return ToolTurn(self._call(calls, session_id, context, pending), routed_by="offer")
        if self.llm is not None:
            exchange = self._llm_calls(message, history)
            if exchange is not None:
                calls, ids = exchange
                results = self._call(calls, session_id, context, pending)
                return ToolTurn(results, _function_messages(calls, ids, results), "llm" if results else "")
        # no LLM, or it failed: the embedded router decides
        decision = self.toolbox.route(message, pending.take(session_id), knowledge=knowledge)
        calls = [(decision, decision.name, decision.arguments)] if decision else []
        return ToolTurn(self._call(calls, session_id, context, pending), routed_by="router" if calls else "")

    def _call(self, calls, session_id: str, context, pending: PendingQuestions) -> list:
        results = []
        for decision, name, arguments in calls:
            result = self.toolbox.call(name, arguments, context)
            if result.status == "needs-input" and decision is not None:
                pending.put(session_id, decision)
            results.append(result)
        return results

    def _llm_calls(self, message: str, history: list[Message]):
        """(calls, their ids) chosen by the LLM; None when it failed (the embedded router takes over)."""
        tools = self.toolbox.openai_tools()
        if not tools:
            return [], []
        messages = [m.as_openai() for m in history] + [{"role": "user", "content": message}]
        try:
            response = self.llm.complete(messages, timeout_s=self.timeout_s, tools=tools, tool_choice="auto")
            calls = response.choices[0].message.tool_calls or []
            parsed = [(None, c.function.name, json.loads(c.function.arguments or "{}")) for c in calls]
            return parsed, [c.id or f"call_{i}" for i, c in enumerate(calls)]
        except Exception as exc:  # tool routing must never break the turn
            log.warning("LLM tool routing failed (%s); using the embedded router", exc)
            return None


def _function_messages(calls, ids: list[str], results: list) -> list[Message]:
    """The assistant's tool calls and their results, as the LLM expects to see them before answering."""
    if not results:
        return []
    requested = tuple(
        {"id": i, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments, ensure_ascii=False)}}
        for i, (_, name, arguments) in zip(ids, calls)
    )
    return [Message("assistant", "", tool_calls=requested),
            *(Message("tool", r.message, tool_call_id=i) for i, r in zip(ids, results))]
