"""Which tenant a request belongs to, from its credential only (never from a request field).

`caller(request) -> Caller` resolves once per request and leaves the result on `request.state.caller` and
`request.state.tenant` (a `tenants.Tenant`: id, name, status, assistant_name, welcome, colour, allowed_origins,
plugins, plugin_settings). `Caller.kind` is the credential used:

- `public`: a tenant's `pk_` key (chat only: conversations, their messages/events/rating/hand-off, /api/chat);
- `secret`: a tenant's `sk_` key (that tenant's admin API);
- `staff`: a console session or a staff `klk_` key (the staff user's tenant; the customer routes ignore it);
- `legacy`: the deployment's own API key (`server.api_key_env`), the default tenant, super-admin;
- `anonymous`: no credential, the default tenant (what a single-business deployment without a key runs on).

Keys are read from `X-API-Key` or `Authorization: Bearer`; a `pk_` key may also come as `?key=` (a browser's
EventSource cannot send headers; a public key is no secret). An unknown, revoked or rotated key is a 401; a key
or staff login of a disabled tenant is a 403.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Literal

from fastapi import Depends, HTTPException, Request

from ..conversations.records import StaffUser
from ..tenants import DEFAULT_TENANT, Tenant
from .api import get_state
from .auth import api_key
from .staff_auth import COOKIE

KeyKind = Literal["public", "secret", "staff", "legacy", "anonymous"]
CHAT_KINDS = ("public", "secret", "staff", "legacy", "anonymous")


@dataclass(frozen=True)
class Caller:
    tenant: Tenant
    kind: KeyKind
    key_id: int | None = None  # the tenant key's id (public / secret)
    user: StaffUser | None = None  # the staff user (staff)

    @property
    def super_admin(self) -> bool:
        """May manage every tenant: the deployment's own key, or an admin of the default tenant."""
        if self.tenant.id != DEFAULT_TENANT:
            return False
        return self.kind == "legacy" or (self.kind == "staff" and self.user is not None and self.user.role == "admin")

    def may_manage(self, tenant_id: str) -> bool:
        """A super-admin manages every tenant; a secret key or a tenant's admin only its own."""
        if self.super_admin:
            return True
        own_admin = self.kind == "secret" or (self.kind == "staff" and self.user is not None and self.user.role == "admin")
        return own_admin and self.tenant.id == tenant_id


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def presented_key(request: Request) -> str:
    key = request.headers.get("x-api-key", "").strip()
    bearer = request.headers.get("authorization", "")
    if not key and bearer.lower().startswith("bearer "):
        key = bearer[7:].strip()
    if not key and request.query_params.get("key", "").startswith("pk_"):
        key = request.query_params["key"]
    return key


def _resolve(request: Request) -> Caller:
    state = get_state(request)
    directory = state.tenants
    key = presented_key(request)
    if key.startswith(("pk_", "sk_")):
        found = directory.resolve(key)
        if found is None:
            raise _unauthorized("unknown, revoked or rotated key; ask the site's administrator for a current one")
        tenant, record = found
        if not tenant.active:
            raise HTTPException(status_code=403, detail=f"tenant {tenant.id!r} is disabled")
        return Caller(tenant, record.kind, key_id=record.id)
    legacy = api_key(request)
    if key and legacy and hmac.compare_digest(key.encode(), legacy.encode()):
        return Caller(directory.get(DEFAULT_TENANT), "legacy")
    user = None
    if key.startswith("klk_"):
        user = state.conversations.api_key_user(key)
    elif request.cookies.get(COOKIE):
        user = state.conversations.session_user(request.cookies[COOKIE])
    if user is not None:
        tenant = directory.get(user.tenant_id)
        if tenant is None or not tenant.active:
            raise HTTPException(status_code=403, detail=f"tenant {user.tenant_id!r} is disabled")
        return Caller(tenant, "staff", user=user)
    if key.startswith("klk_"):
        raise _unauthorized("unknown or revoked staff API key")
    # any other bearer may be a conversation token (the owned-conversation routes): the routes that need a
    # credential refuse `anonymous` when the deployment has a key
    return Caller(directory.get(DEFAULT_TENANT), "anonymous")


def caller(request: Request) -> Caller:
    """The request's caller (resolved once, then kept on request.state)."""
    found = getattr(request.state, "caller", None)
    if found is None:
        found = _resolve(request)
        request.state.caller, request.state.tenant = found, found.tenant
    return found


def customer(request: Request, who: Caller) -> Caller:
    """The caller as the customer routes see it: a console cookie (or staff key) picks no tenant there, so an
    agent of one tenant opening another site's chat page in the same browser is a plain visitor."""
    if who.kind == "staff":
        return Caller(get_state(request).tenants.get(DEFAULT_TENANT), "anonymous")
    return who


def chat_caller(request: Request, who: Caller = Depends(caller)) -> Caller:
    """/api/chat: a public or secret key, the deployment's key, or nobody when the deployment has no key."""
    who = customer(request, who)
    if who.kind == "anonymous" and api_key(request):
        raise _unauthorized("missing or wrong API key (send Authorization: Bearer KEY or X-API-Key)")
    return who


def open_chat_caller(request: Request, who: Caller = Depends(caller)) -> Caller:
    """The owned-conversation routes: the conversation token is the credential; the key only picks the tenant."""
    return customer(request, who)


def admin_caller(request: Request, who: Caller = Depends(caller)) -> Caller:
    """A tenant's admin API (documents): its secret key, its admin, or the deployment's key; public keys never."""
    if who.kind == "public":
        raise HTTPException(status_code=403, detail="a public key is for chat only; use the tenant's secret key")
    if who.kind == "anonymous" and api_key(request):
        raise _unauthorized("missing or wrong API key (send Authorization: Bearer KEY or X-API-Key)")
    if who.kind == "staff" and who.user.role != "admin":
        raise HTTPException(status_code=403, detail="only an admin may do this")
    return who
