"""The agents' API behind the console: sign in, online/away, the queue, take, reply, hand back, close, tickets."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ..conversations import ConversationNotFound, StateConflict
from ..conversations.records import TICKET_STATUSES, StaffUser, Ticket, ticket_id
from ..conversations.service import ConversationService
from ..tenants import DEFAULT_TENANT
from .api import get_state
from .staff_auth import clear_session_cookie, current_staff, set_session_cookie, staff_credential, staff_service
from .state import AppState

router = APIRouter(prefix="/api/staff", tags=["agents"])


class Login(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1000)
    tenant: str = Field(DEFAULT_TENANT, max_length=64, description="the business the account belongs to (user names "
                        "are unique within a tenant); default: the deployment's own")


class Status(BaseModel):
    status: Literal["online", "away"]


class Text(BaseModel):
    text: str = Field(min_length=1, max_length=8000)


class TicketStatus(BaseModel):
    status: Literal["open", "assigned", "waiting_on_customer", "resolved", "closed"]


class Assign(BaseModel):
    username: str | None = Field(None, description="the agent; default: yourself")


def user_dict(user: StaffUser) -> dict:
    return {"id": user.id, "username": user.username, "name": user.name, "role": user.role, "status": user.status,
            "disabled": user.disabled}


def ticket_dict(ticket: Ticket, names: dict[int, str]) -> dict:
    return {"number": ticket.number, "title": ticket.title, "description": ticket.description, "priority": ticket.priority,
            "contact": ticket.contact, "status": ticket.status, "assignee": names.get(ticket.assignee_id, None),
            "conversation_id": ticket.conversation_id, "created_at": ticket.created_at.isoformat(timespec="seconds"),
            "updated_at": ticket.updated_at.isoformat(timespec="seconds")}


def conflict(exc: Exception) -> JSONResponse:
    status = 404 if isinstance(exc, LookupError) else 409
    return JSONResponse({"error": str(exc)}, status_code=status)


@router.post("/login", summary="Sign in: sets the console session cookie")
def login(body: Login, request: Request, response: Response, state: AppState = Depends(get_state)):
    store, settings = state.conversations, state.settings.conversations
    tenant = state.tenants.get(body.tenant or DEFAULT_TENANT)
    user = store.verify_login(body.tenant or DEFAULT_TENANT, body.username, body.password)
    if user is None or tenant is None or not tenant.active:  # one answer: no telling which part was wrong
        raise HTTPException(status_code=401, detail="wrong tenant, user name or password")
    token = store.create_session(user.tenant_id, user.id, settings.staff_session_hours)
    set_session_cookie(request, response, token, settings.staff_session_hours)
    return user_dict(user)


@router.post("/logout", summary="Sign out (and go away)")
def logout(request: Request, response: Response, user: StaffUser = Depends(current_staff),
           state: AppState = Depends(get_state)):
    state.conversations.update_user(user.tenant_id, user.id, status="away")
    kind, secret = staff_credential(request)
    if kind == "session":
        state.conversations.end_session(secret)
    clear_session_cookie(response)
    return {"signed_out": user.username}


@router.get("/me")
def me(user: StaffUser = Depends(current_staff)):
    return user_dict(user)


@router.post("/status", summary="Online (hand-offs reach you) or away")
def set_status(body: Status, user: StaffUser = Depends(current_staff), state: AppState = Depends(get_state)):
    return user_dict(state.conversations.update_user(user.tenant_id, user.id, status=body.status))


@router.get("/queue", summary="Waiting conversations, longest waiting first, with wait times")
def queue(user: StaffUser = Depends(current_staff), state: AppState = Depends(get_state)):
    store, tenant = state.conversations, user.tenant_id
    mine = store.conversations(tenant, state="agent", agent_id=user.id)
    return {
        "waiting": [{"id": e.conversation.id, "position": e.position, "waited_s": e.waited_s, "channel": e.conversation.channel,
                     "reason": e.conversation.handoff_reason, "last_message": e.last_message} for e in store.queue(tenant)],
        "mine": [{"id": c.id, "channel": c.channel, "updated_at": c.updated_at.isoformat(timespec="seconds")} for c in mine],
        "agents_online": store.agents_online(tenant, state.settings.conversations.agent_timeout_s),
    }


@router.get("/conversations/{conversation_id}", summary="The transcript with the AI's answers, their sources and tool calls")
def conversation(conversation_id: str, user: StaffUser = Depends(current_staff), service: ConversationService = Depends(staff_service)):
    found = service.store.get_conversation(service.tenant, conversation_id)
    if found is None:
        raise HTTPException(status_code=404, detail="no such conversation")
    return service.transcript(found, staff=True)


@router.post("/conversations/{conversation_id}/take", summary="Take a waiting conversation (one agent wins)")
def take(conversation_id: str, user: StaffUser = Depends(current_staff), service: ConversationService = Depends(staff_service)):
    if not service.take(user, conversation_id):
        return JSONResponse({"error": "another agent took it first, or it is no longer waiting"}, status_code=409)
    return {"taken": conversation_id}


@router.post("/conversations/{conversation_id}/reply", summary="Reply; the customer's open chat shows it live")
def reply(conversation_id: str, body: Text, user: StaffUser = Depends(current_staff),
          service: ConversationService = Depends(staff_service)):
    try:
        message = service.reply(user, conversation_id, body.text)
    except (ConversationNotFound, StateConflict) as exc:
        return conflict(exc)
    return {"id": message.id}


@router.post("/conversations/{conversation_id}/hand-back", summary="Give the conversation back to the assistant")
def hand_back(conversation_id: str, user: StaffUser = Depends(current_staff), service: ConversationService = Depends(staff_service)):
    try:
        service.hand_back(user, conversation_id)
    except (ConversationNotFound, StateConflict) as exc:
        return conflict(exc)
    return {"state": "bot"}


@router.post("/conversations/{conversation_id}/close", summary="Close; the customer is asked for a rating")
def close(conversation_id: str, user: StaffUser = Depends(current_staff), service: ConversationService = Depends(staff_service)):
    try:
        service.close(user, conversation_id)
    except (ConversationNotFound, StateConflict) as exc:
        return conflict(exc)
    return {"state": "closed"}


# -- tickets -----------------------------------------------------------------------------------

def _names(state: AppState, tenant: str) -> dict[int, str]:
    return {u.id: u.username for u in state.conversations.users(tenant)}


def _ticket(number: str, state: AppState, tenant: str) -> Ticket:
    """A ticket of the staff user's tenant; another tenant's number is a 404 like an unknown one."""
    try:
        ticket = state.conversations.get_ticket(tenant, ticket_id(number))
    except ValueError:
        ticket = None
    if ticket is None:
        raise HTTPException(status_code=404, detail=f"no ticket {number}")
    return ticket


@router.get("/tickets", summary="Tickets, newest first; filter by status or your own")
def tickets(status: str | None = None, mine: bool = False, user: StaffUser = Depends(current_staff),
            state: AppState = Depends(get_state)):
    if status and status not in TICKET_STATUSES:
        raise HTTPException(status_code=422, detail=f"status must be one of {', '.join(TICKET_STATUSES)}")
    found = state.conversations.tickets(user.tenant_id, status=status, assignee_id=user.id if mine else None)
    names = _names(state, user.tenant_id)
    return {"tickets": [ticket_dict(t, names) for t in found]}


@router.get("/tickets/{number}", summary="A ticket with its replies, internal notes and status changes")
def ticket(number: str, user: StaffUser = Depends(current_staff), state: AppState = Depends(get_state)):
    found = _ticket(number, state, user.tenant_id)
    entries = state.conversations.ticket_entries(user.tenant_id, found.id)
    return {**ticket_dict(found, _names(state, user.tenant_id)), "history": found.history,
            "entries": [{"kind": e.kind, "author": e.author, "text": e.text,
                         "created_at": e.created_at.isoformat(timespec="seconds")} for e in entries]}


@router.post("/tickets/{number}/assign")
def assign(number: str, body: Assign | None = None, user: StaffUser = Depends(current_staff),
           state: AppState = Depends(get_state)):
    found, tenant = _ticket(number, state, user.tenant_id), user.tenant_id
    assignee = user
    if body and body.username:
        assignee = state.conversations.get_user(tenant, username=body.username)
        if assignee is None or assignee.disabled:
            raise HTTPException(status_code=404, detail=f"no active staff user {body.username!r}")
    return ticket_dict(state.conversations.assign_ticket(tenant, found.id, assignee.id, user.username), _names(state, user.tenant_id))


@router.post("/tickets/{number}/reply", summary="Reply to the customer (also shown in their conversation)")
def ticket_reply(number: str, body: Text, user: StaffUser = Depends(current_staff), state: AppState = Depends(get_state)):
    found, tenant, store = _ticket(number, state, user.tenant_id), user.tenant_id, state.conversations
    store.add_ticket_entry(tenant, found.id, "reply", body.text, user.name)
    if found.conversation_id and store.get_conversation(tenant, found.conversation_id):
        store.add_message(tenant, found.conversation_id, "agent", f"About ticket {found.number}: {body.text}", author=user.name)
    if found.status in ("open", "assigned"):
        if found.status == "open":
            store.assign_ticket(tenant, found.id, user.id, user.username)
        found = store.set_ticket_status(tenant, found.id, "waiting_on_customer", user.username)
    return ticket_dict(store.get_ticket(tenant, found.id), _names(state, user.tenant_id))


@router.post("/tickets/{number}/note", summary="An internal note (never shown to the customer)")
def note(number: str, body: Text, user: StaffUser = Depends(current_staff), state: AppState = Depends(get_state)):
    found = _ticket(number, state, user.tenant_id)
    state.conversations.add_ticket_entry(user.tenant_id, found.id, "note", body.text, user.name)
    return {"noted": found.number}


@router.post("/tickets/{number}/status", summary="Move along open -> assigned -> waiting_on_customer -> resolved -> closed")
def ticket_status(number: str, body: TicketStatus, user: StaffUser = Depends(current_staff),
                  state: AppState = Depends(get_state)):
    found = _ticket(number, state, user.tenant_id)
    try:
        updated = state.conversations.set_ticket_status(user.tenant_id, found.id, body.status, user.username)
    except StateConflict as exc:
        return conflict(exc)
    return ticket_dict(updated, _names(state, user.tenant_id))
