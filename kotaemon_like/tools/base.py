"""The tool plugin contract: a class with a name, a description, a typed `run(...)` and optional routing hints.

`run` may be sync or async. Its type hints become the JSON schema an LLM sees; a parameter annotated
`ToolContext` is filled by the runner (session, history) and is not part of that schema.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping, Sequence

from pydantic import BaseModel, ConfigDict

from ..components import Message

# ToolResult.status values (the same strings chat.ToolEvent carries)
OK = "ok"
FAILED = "failed"
SKIPPED_OPEN = "skipped-open"
TIMEOUT = "timeout"
# The embedded router, plugin patterns and extractors see at most this much of a message: a tool
# request says what it wants up front, and no pattern can cost more than this bound, whatever is sent.
ROUTE_PREFIX_CHARS = 2000
NEEDS_INPUT = "needs-input"
STATUSES = (OK, FAILED, SKIPPED_OPEN, TIMEOUT, NEEDS_INPUT)


@dataclass(frozen=True)
class ToolContext:
    """What a plugin may know about the conversation it is called from; injected, never sent to an LLM."""

    session_id: str = ""  # the conversation id when the message came through the conversation layer
    history: tuple[Mapping[str, str], ...] = ()  # {"role": "user" | "assistant" | "system", "content": ...}, oldest first
    # conversations.ConversationDesk: the hand-off queue and tickets (None when no conversation store is wired)
    conversations: Any = None

    @classmethod
    def from_messages(cls, session_id: str, messages: Sequence[Message | Mapping[str, str]],
                      conversations: Any = None) -> "ToolContext":
        history = tuple(
            {"role": m["role"], "content": m["content"]} if isinstance(m, Mapping) else {"role": m.role, "content": m.content}
            for m in messages
        )
        return cls(session_id=session_id, history=history, conversations=conversations)


@dataclass(frozen=True)
class ToolOutput:
    """What `run` may return instead of a plain string; `ok=False` is an error result (counts as a failure)."""

    message: str
    ok: bool = True


class ToolError(Exception):
    """Raised by a plugin when its backing service cannot answer; counts as a failure for the breaker."""


@dataclass(frozen=True)
class ToolResult:
    """The outcome of one call; field names match chat.ToolEvent, so `ToolEvent(**asdict(result))` works."""

    name: str
    arguments: dict[str, Any]
    status: str  # ok | failed | skipped-open | timeout | needs-input
    latency_ms: float
    message: str = ""  # customer-facing: the answer, the question to ask, or why the lookup is unavailable
    stale: bool = False  # the message repeats the last good result because the plugin is failing now

    @property
    def ok(self) -> bool:
        return self.status == OK


class ToolPlugin:
    """Base class of a tool plugin. Subclass it in a file in plugins/ and implement `run`."""

    name: ClassVar[str] = ""  # the function name an LLM calls: letters, digits, _ and -
    description: ClassVar[str] = ""  # what it does, for the LLM and for people
    label: ClassVar[str] = ""  # how the customer hears of it ("order lookup"); default: name with spaces
    examples: ClassVar[Sequence[str]] = ()  # customer requests that should trigger it (routing without an LLM)
    counter_examples: ClassVar[Sequence[str]] = ()  # look-alike questions that are NOT for it (the knowledge base answers)
    # request forms (regexes, case-insensitive): how a customer asks for this action ("talk to a human");
    # a match outweighs counter-examples unless the message asks for general information ("how do I ...")
    intents: ClassVar[Sequence[str]] = ()
    # not used for routing any more (a keyword alone made product questions look like requests); still accepted
    keywords: ClassVar[Sequence[str]] = ()
    patterns: ClassVar[Mapping[str, str]] = {}  # parameter -> regex finding its value in a message (group 1 or all)
    questions: ClassVar[Mapping[str, str]] = {}  # parameter -> what to ask when it is missing
    timeout_s: ClassVar[float | None] = None  # None: tools.timeout_s from the config

    class Settings(BaseModel):
        """Per-plugin settings from `tools.settings.<name>` in the config; subclass it to declare yours."""

        model_config = ConfigDict(extra="forbid")

    def __init__(self, settings: BaseModel | None = None):
        self.settings = settings if settings is not None else self.Settings()

    def run(self, *args: Any, **kwargs: Any) -> str | ToolOutput:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the plugin holds; called when it is reloaded or the toolbox closes."""

    @classmethod
    def display_name(cls) -> str:
        return cls.label or cls.name.replace("_", " ").replace("-", " ")

    @classmethod
    def extract(cls, message: str) -> dict[str, Any]:
        """Arguments for a customer message (embedded router); by default what the `patterns` find. Override to add more."""
        return cls.match_patterns(message)

    @classmethod
    def match_patterns(cls, message: str) -> dict[str, str]:
        """The values the declared `patterns` find in a message (group 1, else the whole match)."""
        found: dict[str, str] = {}
        message = message[:ROUTE_PREFIX_CHARS]
        for parameter, pattern in cls.patterns.items():
            match = re.search(pattern, message, flags=re.IGNORECASE)
            if match:
                found[parameter] = (match.group(1) if match.groups() else match.group(0)).strip()
        return found
