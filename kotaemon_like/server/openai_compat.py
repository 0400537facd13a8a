"""`POST /v1/chat/completions`: any OpenAI client or chat widget can talk to the assistant.

The conversation comes from the request's `messages` (OpenAI clients send the whole history). Sources
are returned in the extension field `sources` (on the response, and on the last streamed chunk).
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from contextlib import closing
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, model_validator

from ..chat import CitationEvent, DoneEvent, TokenEvent
from ..components import Message
from .api import MAX_MESSAGE_CHARS, collect, get_state
from .auth import require_api_key
from .state import AppState
from .streams import events_while_connected, while_connected

router = APIRouter(tags=["openai-compatible"], dependencies=[Depends(require_api_key)])
MODEL = "kotaemon-like"


MAX_CONVERSATION_CHARS = 4 * MAX_MESSAGE_CHARS  # all messages of one request together
MAX_MESSAGES = 200


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = Field(None, max_length=MAX_CONVERSATION_CHARS)

    def text(self) -> str:
        if isinstance(self.content, list):  # content parts: keep the text ones
            return " ".join(p.get("text", "") for p in self.content if p.get("type") == "text")
        return self.content or ""


class CompletionRequest(BaseModel):
    model: str = Field(MODEL, max_length=200)
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False
    user: str | None = Field(None, max_length=200)  # used as the session id for metrics and logs

    @model_validator(mode="after")
    def _bounded(self):
        """Every pattern, tokenizer and prompt downstream sees bounded text, whatever a client sends."""
        texts = [m.text() for m in self.messages]
        if sum(map(len, texts)) > MAX_CONVERSATION_CHARS:
            raise ValueError(f"messages hold more than {MAX_CONVERSATION_CHARS} characters in all; send less history")
        users = [t for m, t in zip(self.messages, texts) if m.role == "user"]
        if users and len(users[-1]) > MAX_MESSAGE_CHARS:
            raise ValueError(f"the last user message is longer than {MAX_MESSAGE_CHARS} characters")
        return self


def _chunk(cid: str, created: int, delta: dict, finish: str | None = None, **extra: Any) -> str:
    body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


@router.post("/v1/chat/completions", summary="OpenAI-compatible chat completions (streaming and not)")
def completions(body: CompletionRequest, request: Request, state: AppState = Depends(get_state)):
    users = [i for i, m in enumerate(body.messages) if m.role == "user"]
    if not users:
        raise HTTPException(status_code=422, detail="messages must contain at least one user message")
    last = users[-1]
    question = body.messages[last].text()
    history = [Message(m.role, m.text()) for m in body.messages[:last] if m.role in ("user", "assistant")]
    events = state.engine.turn(question, session_id=body.user, history=history, channel="openai")
    cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())

    if body.stream:
        def stream():
            yield _chunk(cid, created, {"role": "assistant", "content": ""})
            sources = []
            with closing(events):
                for event in events:
                    if isinstance(event, TokenEvent):
                        yield _chunk(cid, created, {"content": event.text})
                    elif isinstance(event, CitationEvent):
                        sources.append(dataclasses.asdict(event))
                    elif isinstance(event, DoneEvent):
                        yield _chunk(cid, created, {}, "stop", sources=sources, usage=_usage(event.usage))
            yield "data: [DONE]\n\n"

        return StreamingResponse(while_connected(request, stream()), media_type="text/event-stream")

    turn = collect(events_while_connected(request, events))
    return {
        "id": cid, "object": "chat.completion", "created": created, "model": MODEL,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": turn["answer"]}, "finish_reason": "stop"}],
        "usage": _usage((turn["done"] or {}).get("usage", {})), "sources": turn["citations"],
    }


def _usage(usage: dict) -> dict:
    prompt, completion = usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
