"""`/v1/chat/completions` and `/v1/models`: any OpenAI client or chat widget can talk to the assistant.

The conversation comes from the request's `messages` (OpenAI clients send the whole history). Sources
are returned in the extension field `sources` (on the response, and on the last streamed chunk).
System messages reach an LLM generator after the built-in instructions; the extractive generator
quotes the sources and cannot follow them, which the header `X-KL-System-Messages` states.
Errors have OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
import uuid
from contextlib import closing
from typing import Any, Callable, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, model_validator
from sse_starlette import ServerSentEvent
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..chat import CitationEvent, DoneEvent, TokenEvent
from ..components import Message
from ..tokens import count_tokens
from .api import MAX_MESSAGE_CHARS, collect, get_state
from .event_stream import sse_response
from .limits import limited
from .quotas import metered, within_quota
from .state import AppState
from .streams import events_while_connected, while_connected
from .tenancy import Caller, admin_caller

log = logging.getLogger(__name__)
MODEL = "kotaemon-like"
CREATED = 1735689600  # the model's listing date, fixed so /v1/models is stable
_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
          404: "not_found_error", 413: "invalid_request_error", 429: "rate_limit_error"}


class OpenAIError(Exception):
    """An error to send in OpenAI's shape."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code


def error_response(status: int, message: str, param: str | None = None, code: str | None = None,
                   headers: dict | None = None) -> JSONResponse:
    kind = _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


class OpenAIRoute(APIRoute):
    """Turns validation, auth and handler errors of a /v1 route into OpenAI-shaped bodies."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except OpenAIError as exc:
                return error_response(exc.status, exc.message, exc.param, exc.code)
            except RequestValidationError as exc:
                first = exc.errors()[0]
                param = ".".join(str(p) for p in first["loc"] if p != "body") or None
                return error_response(400, f"{param}: {first['msg']}" if param else first["msg"], param)
            except StarletteHTTPException as exc:  # FastAPI's and Starlette's (the body cap's 413)
                code = "invalid_api_key" if exc.status_code == 401 else None
                return error_response(exc.status_code, str(exc.detail), code=code, headers=exc.headers)
            except Exception:
                log.exception("openai-compatible request failed", extra={"path": request.url.path})
                return error_response(500, "the assistant failed to answer; try again", code="internal_error")

        return route


router = APIRouter(tags=["openai-compatible"], dependencies=[Depends(admin_caller)], route_class=OpenAIRoute)


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


def _model_card() -> dict:
    return {"id": MODEL, "object": "model", "created": CREATED, "owned_by": "kotaemon-like"}


@router.get("/v1/models", summary="The one model this server offers (the assistant)")
def list_models():
    return {"object": "list", "data": [_model_card()]}


@router.get("/v1/models/{model}", summary="One model by id")
def get_model(model: str):
    if model != MODEL:
        raise OpenAIError(404, f"The model '{model}' does not exist; this server offers '{MODEL}'", "model", "model_not_found")
    return _model_card()


def _chunk(cid: str, created: int, delta: dict, finish: str | None = None, **extra: Any):
    body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
    return ServerSentEvent(json.dumps(body, ensure_ascii=False))  # unnamed, as OpenAI's stream is


def _usage(reported: dict, prompt: str, answer: str) -> dict:
    """The generator's own counts (an LLM's), else cl100k_base counts of what was asked and answered."""
    prompt_tokens, completion_tokens = reported.get("prompt_tokens", 0), reported.get("completion_tokens", 0)
    if not prompt_tokens and not completion_tokens:
        prompt_tokens, completion_tokens = count_tokens(prompt), count_tokens(answer)
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


@router.post("/v1/chat/completions", dependencies=[Depends(limited("messages_per_ip", "messages_per_key")), Depends(within_quota)],
              summary="OpenAI-compatible chat completions (streaming and not)")
def completions(body: CompletionRequest, request: Request, state: AppState = Depends(get_state),
                who: Caller = Depends(admin_caller)):
    """A secret key (or the deployment's key) answers from its own tenant's knowledge base; public keys never."""
    engine = state.runtime(who.tenant).engine
    users = [i for i, m in enumerate(body.messages) if m.role == "user"]
    if not users:
        raise OpenAIError(400, "messages must contain at least one user message", "messages")
    last = users[-1]
    question = body.messages[last].text()
    history = [Message(m.role, m.text()) for m in body.messages[:last] if m.role in ("system", "user", "assistant")]
    headers = {}
    if any(m.role == "system" for m in history):
        headers["X-KL-System-Messages"] = (
            "honoured" if getattr(engine.generator, "reads_system_messages", False)
            else "ignored: the extractive generator quotes the sources only"
        )
    prompt = "\n".join(m.text() for m in body.messages[: last + 1])
    events = metered(engine.turn(question, session_id=body.user, history=history, channel="openai"), state.usage,
                     who.tenant.id)
    cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())

    if body.stream:
        def stream():
            yield _chunk(cid, created, {"role": "assistant", "content": ""})
            sources, answer = [], []
            with closing(events):
                for event in events:
                    if isinstance(event, TokenEvent):  # one chunk per delta the generator streamed
                        answer.append(event.text)
                        yield _chunk(cid, created, {"content": event.text})
                    elif isinstance(event, CitationEvent):
                        sources.append(dataclasses.asdict(event))
                    elif isinstance(event, DoneEvent):
                        usage = _usage(event.usage, prompt, "".join(answer))
                        yield _chunk(cid, created, {}, "stop", sources=sources, usage=usage)
            yield ServerSentEvent("[DONE]")

        server = state.settings.server
        return sse_response(while_connected(request, stream()), ping_s=server.sse_ping_s, grace_s=server.grace_s,
                            headers=headers)

    turn = collect(events_while_connected(request, events))
    return JSONResponse({
        "id": cid, "object": "chat.completion", "created": created, "model": MODEL,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": turn["answer"]}, "finish_reason": "stop"}],
        "usage": _usage((turn["done"] or {}).get("usage", {}), prompt, turn["answer"]), "sources": turn["citations"],
    }, headers=headers)
