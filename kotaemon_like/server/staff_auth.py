"""Who a staff request comes from: the console's session cookie, or a staff API key as `Authorization: Bearer klk_...`.

The cookie is HttpOnly and SameSite=Strict (another site cannot send it along); the server keeps only its hash.
"""

from __future__ import annotations

from fastapi import Depends, HTTPException, Request, Response

from ..conversations.records import StaffUser
from .api import get_state
from .state import AppState

COOKIE = "kl_staff"


def staff_credential(request: Request) -> tuple[str, str]:
    bearer = request.headers.get("authorization", "")
    if bearer.lower().startswith("bearer ") and bearer[7:].strip().startswith("klk_"):
        return "key", bearer[7:].strip()
    return "session", request.cookies.get(COOKIE, "")


def current_staff(request: Request, state: AppState = Depends(get_state)) -> StaffUser:
    kind, secret = staff_credential(request)
    user = None
    if secret:
        user = state.conversations.api_key_user(secret) if kind == "key" else state.conversations.session_user(secret)
    if user is None:
        raise HTTPException(status_code=401, detail="sign in at /console (or send a staff API key as Authorization: Bearer)",
                            headers={"WWW-Authenticate": "Bearer"})
    tenant = state.tenants.get(user.tenant_id)
    if tenant is None or not tenant.active:
        raise HTTPException(status_code=403, detail=f"tenant {user.tenant_id!r} is disabled")
    return user


def staff_service(user: StaffUser = Depends(current_staff), state: AppState = Depends(get_state)):
    """The conversation service of the staff user's own tenant (never one a request names)."""
    return state.runtime(state.tenants.get(user.tenant_id)).service


def current_admin(user: StaffUser = Depends(current_staff)) -> StaffUser:
    if user.role != "admin":
        raise HTTPException(status_code=403, detail="only an admin may do this")
    return user


def set_session_cookie(request: Request, response: Response, token: str, hours: float) -> None:
    response.set_cookie(COOKIE, token, max_age=int(hours * 3600), httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
