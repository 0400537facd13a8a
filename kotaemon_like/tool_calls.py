"""Which tool plugins a chat message needs, and their results.

LLM function calling when an LLM is configured, else the embedded router; when a plugin asks for a
missing argument, the decision waits (in a `PendingQuestions` store) for the customer's next message
in the same session.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any, Protocol

from .components import Message

log = logging.getLogger(__name__)


def tool_text(results) -> str:
    return "\n\n".join(r.message for r in results if r.message)


class PendingQuestions(Protocol):
    """Where a tool call waiting for the customer's answer is kept between turns (tools.RouteDecision)."""

    def put(self, session_id: str, decision: Any) -> None: ...

    def take(self, session_id: str) -> Any | None:
        """The waiting decision, removed; None when nothing waits."""


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
            pending: PendingQuestions | None = None) -> list:
        """`conversations` / `pending` given for this turn replace the defaults (an owned conversation's own)."""
        from .tools import ToolContext

        conversations = conversations if conversations is not None else self.conversations
        pending = pending if pending is not None else self.pending
        context = ToolContext.from_messages(session_id, history, conversations=conversations)
        calls = self._llm_calls(message, history) if self.llm is not None else None
        if calls is None:  # no LLM, or it failed: the embedded router decides
            decision = self.toolbox.route(message, pending.take(session_id))
            calls = [(decision, decision.name, decision.arguments)] if decision else []
        results = []
        for decision, name, arguments in calls:
            result = self.toolbox.call(name, arguments, context)
            if result.status == "needs-input" and decision is not None:
                pending.put(session_id, decision)
            results.append(result)
        return results

    def _llm_calls(self, message: str, history: list[Message]):
        tools = self.toolbox.openai_tools()
        if not tools:
            return []
        messages = [{"role": m.role, "content": m.content} for m in history] + [{"role": "user", "content": message}]
        try:
            response = self.llm.complete(messages, timeout_s=self.timeout_s, tools=tools, tool_choice="auto")
            calls = response.choices[0].message.tool_calls or []
            return [(None, c.function.name, json.loads(c.function.arguments or "{}")) for c in calls]
        except Exception as exc:  # tool routing must never break the turn
            log.warning("LLM tool routing failed (%s); using the embedded router", exc)
            return None
