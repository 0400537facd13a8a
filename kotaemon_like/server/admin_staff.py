"""Admins manage the staff: add agents, disable them, reset passwords, issue and revoke API keys (shown once)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ..conversations.records import StaffUser
from .agents import user_dict
from .api import get_state
from .staff_auth import current_admin
from .state import AppState

router = APIRouter(prefix="/api/admin", tags=["admin"])


class NewUser(BaseModel):
    username: str = Field(min_length=2, max_length=64)
    password: str = Field(min_length=1, max_length=1000)
    role: Literal["agent", "admin"] = "agent"
    name: str = Field("", max_length=120)


class UserChange(BaseModel):
    password: str | None = Field(None, max_length=1000)
    disabled: bool | None = None
    role: Literal["agent", "admin"] | None = None


class NewKey(BaseModel):
    username: str
    name: str = Field("", max_length=120)


def _user(state: AppState, tenant: str, username: str) -> StaffUser:
    user = state.conversations.get_user(tenant, username=username)
    if user is None:
        raise HTTPException(status_code=404, detail=f"no staff user {username!r}")
    return user


@router.get("/users")
def users(admin: StaffUser = Depends(current_admin), state: AppState = Depends(get_state)):
    return {"users": [user_dict(u) for u in state.conversations.users(admin.tenant_id)]}


@router.post("/users", status_code=201)
def add_user(body: NewUser, admin: StaffUser = Depends(current_admin), state: AppState = Depends(get_state)):
    try:
        user = state.conversations.add_user(admin.tenant_id, body.username, body.password, body.role, body.name)
    except ValueError as exc:
        return JSONResponse({"error": str(exc)}, status_code=422)
    return user_dict(user)


@router.patch("/users/{username}", summary="Disable (signs out, revokes keys), enable, change role or password")
def change_user(username: str, body: UserChange, admin: StaffUser = Depends(current_admin),
                state: AppState = Depends(get_state)):
    user = _user(state, admin.tenant_id, username)
    if user.id == admin.id and (body.disabled or body.role == "agent"):
        return JSONResponse({"error": "you cannot disable or demote yourself"}, status_code=409)
    try:
        changed = state.conversations.update_user(admin.tenant_id, user.id, password=body.password,
                                                  disabled=body.disabled, role=body.role)
    except ValueError as exc:
        return JSONResponse({"error": str(exc)}, status_code=422)
    return user_dict(changed)


@router.get("/keys")
def keys(admin: StaffUser = Depends(current_admin), state: AppState = Depends(get_state)):
    names = {u.id: u.username for u in state.conversations.users(admin.tenant_id)}
    return {"keys": [{"id": k.id, "user": names.get(k.user_id), "name": k.name, "prefix": k.prefix, "revoked": k.revoked,
                      "last_used": k.last_used.isoformat(timespec="seconds") if k.last_used else None}
                     for k in state.conversations.api_keys(admin.tenant_id)]}


@router.post("/keys", status_code=201, summary="A staff API key; the key is in this response only")
def create_key(body: NewKey, admin: StaffUser = Depends(current_admin), state: AppState = Depends(get_state)):
    key, secret = state.conversations.create_api_key(admin.tenant_id, _user(state, admin.tenant_id, body.username).id, body.name)
    return {"id": key.id, "user": body.username, "key": secret}


@router.delete("/keys/{key_id}")
def revoke_key(key_id: int, admin: StaffUser = Depends(current_admin), state: AppState = Depends(get_state)):
    if not state.conversations.revoke_api_key(admin.tenant_id, key_id):
        raise HTTPException(status_code=404, detail=f"no active API key {key_id}")
    return {"revoked": key_id}
