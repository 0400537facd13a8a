"""Optional API-key auth: on when the env var named by `server.api_key_env` is set and not empty."""

from __future__ import annotations

import hmac
import os

from fastapi import HTTPException, Request


def api_key(request: Request) -> str:
    return os.environ.get(request.app.state.kl.settings.server.api_key_env, "")


def require_api_key(request: Request) -> None:
    """Accepts `Authorization: Bearer KEY` or `X-API-Key: KEY`."""
    key = api_key(request)
    if not key:
        return
    given = request.headers.get("x-api-key", "")
    bearer = request.headers.get("authorization", "")
    if bearer.lower().startswith("bearer "):
        given = given or bearer[7:].strip()
    if not given or not hmac.compare_digest(given.encode(), key.encode()):
        raise HTTPException(status_code=401, detail="missing or wrong API key (send Authorization: Bearer KEY or X-API-Key)",
                            headers={"WWW-Authenticate": "Bearer"})
