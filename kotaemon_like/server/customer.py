"""The customer's API: owned conversations. Creating one returns its id and a token; everything after needs the
token (`X-Conversation-Token` or `Authorization: Bearer`). A wrong or missing token is a 404, like an unknown id."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from contextlib import closing

import anyio
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator

from ..components import check_filter
from ..conversations import StateConflict
from ..conversations.events import ConversationEvent, MessageEvent
from ..conversations.records import Conversation
from ..conversations.service import ConversationService
from .api import MAX_MESSAGE_CHARS, FilterValue, collect, get_state
from .event_stream import sse_event, sse_response
from .limits import enforce, limited
from .quotas import metered, within_quota
from .state import AppState
from .streams import events_while_connected, while_connected
from .tenancy import Caller, chat_caller, open_chat_caller

router = APIRouter(tags=["conversations"])
NOT_FOUND = "no such conversation"


def get_service(who: Caller = Depends(open_chat_caller), state: AppState = Depends(get_state)) -> ConversationService:
    """The conversation service of the caller's tenant (from its key; the default tenant without one)."""
    return state.runtime(who.tenant).service


def chat_service(who: Caller = Depends(chat_caller), state: AppState = Depends(get_state)) -> ConversationService:
    return state.runtime(who.tenant).service


def conversation_token(request: Request) -> str:
    token = request.headers.get("x-conversation-token", "")
    bearer = request.headers.get("authorization", "")
    if not token and bearer.lower().startswith("bearer ") and not bearer[7:].strip().startswith(("pk_", "sk_")):
        token = bearer[7:].strip()
    return token


def owned(conversation_id: str, request: Request, service: ConversationService = Depends(get_service)) -> Conversation:
    """The conversation the request's token owns, else 404 (never 401/403: that would confirm the id exists)."""
    conversation = service.open(conversation_id, conversation_token(request)) if len(conversation_id) <= 64 else None
    if conversation is None:
        raise HTTPException(status_code=404, detail=NOT_FOUND)
    return conversation


class NewConversation(BaseModel):
    channel: str = Field("web", pattern=r"^[a-z][a-z0-9_-]{0,31}$", description="where the customer writes from")


class CustomerMessage(BaseModel):
    message: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    stream: bool = Field(True, description="Server-Sent Events (default) or one JSON object")


class ChatRequest(BaseModel):
    message: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS, description="the customer's message")
    conversation_id: str | None = Field(None, max_length=64, description="continue this conversation (send its token "
                                        "in X-Conversation-Token); omitted: a new one, announced by a `conversation` event")
    stream: bool = Field(True, description="Server-Sent Events (default) or one JSON object")
    filter: dict[str, FilterValue | list[FilterValue]] | None = Field(
        None, description='metadata filter within the caller\'s own knowledge base, e.g. {"source": "faq.md"}'
    )

    @field_validator("filter")
    @classmethod
    def _filter_keys(cls, value):  # refused here, before any stream starts
        if value and "tenant" in value:
            raise ValueError("the tenant comes from the API key, not from a filter; send the tenant's key instead")
        return check_filter(value)


class RatingRequest(BaseModel):
    score: int = Field(ge=1, le=5)
    comment: str = Field("", max_length=2000)
    ticket: str | None = Field(None, max_length=20, description="rate a ticket of this conversation, e.g. TKT-000042")


def respond(request: Request, service: ConversationService, conversation: Conversation, text: str, stream: bool,
            filter=None, first=()):
    """One customer message as SSE (chat events, then a `state` event if it changed) or as one JSON object;
    the turn stops when the client disconnects."""
    events = metered(service.post(conversation, text, filter=filter), request.app.state.kl.usage, service.tenant)
    if stream:
        def with_first():
            yield from first
            with closing(events):
                yield from events
        # the server's shutdown grace: on SIGTERM the answer in flight still finishes
        return sse_response(while_connected(request, with_first()), grace_s=request.app.state.kl.settings.server.grace_s)
    try:
        body = collect(events_while_connected(request, events))
    except StateConflict as exc:
        return JSONResponse({"error": str(exc)}, status_code=409)
    for event in first:
        body[event.type] = {"id": event.id, "token": event.token}
    return body


@router.get("/api/tenant", summary="The caller's tenant as a widget shows it: name, assistant name, welcome, colour")
def tenant(who: Caller = Depends(open_chat_caller)):
    return {**who.tenant.public(), "key": who.kind}


MESSAGE_LIMITS = limited("messages_per_ip", "messages_per_key")  # spent first; then the tenant's monthly quota


@router.post("/api/conversations", status_code=201, dependencies=[Depends(limited("conversations_per_ip"))],
             summary="Start a conversation: its id and the customer token (shown once)")
def start(body: NewConversation | None = None, service: ConversationService = Depends(get_service)):
    conversation, token = service.start((body or NewConversation()).channel)
    return {"id": conversation.id, "token": token, "state": conversation.state}


@router.post("/api/conversations/{conversation_id}/messages", dependencies=[Depends(MESSAGE_LIMITS), Depends(within_quota)], summary="Send a message: the assistant's answer (SSE or JSON)")
def post_message(body: CustomerMessage, request: Request, conversation: Conversation = Depends(owned),
                 service: ConversationService = Depends(get_service)):
    if body.stream and conversation.state == "closed":
        return JSONResponse({"error": "this conversation is closed; start a new one"}, status_code=409)
    return respond(request, service, conversation, body.message, body.stream)


@router.post("/api/chat", tags=["chat"], dependencies=[Depends(MESSAGE_LIMITS), Depends(within_quota)],
             summary="One chat turn in an owned conversation: SSE events conversation/token/citation/tool/done/state, or JSON")
def chat(body: ChatRequest, request: Request, service: ConversationService = Depends(chat_service)):
    first: tuple = ()
    if body.conversation_id:
        # only the header here: a bearer on this route is an API key
        conversation = service.open(body.conversation_id, request.headers.get("x-conversation-token", ""))
        if conversation is None:
            raise HTTPException(status_code=404, detail=NOT_FOUND)
    else:
        enforce(request, "conversations_per_ip")
        conversation, token = service.start("api")
        first = (ConversationEvent(conversation.id, token),)
    if body.stream and conversation.state == "closed":
        return JSONResponse({"error": "this conversation is closed; start a new one"}, status_code=409)
    return respond(request, service, conversation, body.message, body.stream, body.filter, first)


@router.post("/api/conversations/{conversation_id}/handoff", summary="Ask for a person: the queue place, or a ticket offer")
def handoff(conversation: Conversation = Depends(owned), service: ConversationService = Depends(get_service)):
    if conversation.state == "closed":
        return JSONResponse({"error": "this conversation is closed; start a new one"}, status_code=409)
    event = service.ask_for_person(conversation)
    return {k: v for k, v in dataclasses.asdict(event).items() if k != "type"}


@router.get("/api/conversations/{conversation_id}", summary="The transcript, the state and the queue position")
def transcript(conversation: Conversation = Depends(owned), service: ConversationService = Depends(get_service)):
    return service.transcript(conversation)


@router.post("/api/conversations/{conversation_id}/rating", summary="Rate a closed conversation (or a resolved ticket) 1-5")
def rate(body: RatingRequest, conversation: Conversation = Depends(owned), service: ConversationService = Depends(get_service)):
    try:
        rating = service.rate(conversation, body.score, body.comment, body.ticket)
    except StateConflict as exc:
        return JSONResponse({"error": str(exc)}, status_code=409)
    except (LookupError, ValueError) as exc:
        return JSONResponse({"error": str(exc)}, status_code=404)
    return {"score": rating.score, "comment": rating.comment}


@router.get("/api/conversations/{conversation_id}/events", summary="Live SSE: agent replies and state changes")
async def live(request: Request, after: int = 0, conversation: Conversation = Depends(owned),
               service: ConversationService = Depends(get_service), state: AppState = Depends(get_state)):
    """Polls the store, so a reply written by any app replica reaches the customer; ends after events_max_s."""
    settings = state.settings.conversations
    last_id = request.headers.get("last-event-id", "")
    cursor = int(last_id) if last_id.isdigit() else max(after, 0)

    async def events():
        nonlocal cursor
        shown, deadline = None, time.monotonic() + settings.events_max_s
        while time.monotonic() < deadline and not await request.is_disconnected():
            messages, current = await anyio.to_thread.run_sync(service.updates, conversation.id, cursor)
            for message in messages:
                cursor = message.id
                yield sse_event(MessageEvent.of(message), message.id)
            status = await anyio.to_thread.run_sync(service.state_event, current)
            if status != shown:
                shown = status
                yield sse_event(status)
            await asyncio.sleep(settings.events_poll_s)

    return sse_response(events())
