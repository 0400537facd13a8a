"""Request bodies capped while they stream: past its route's cap a request gets a 413 before the route stores anything.

A body announced larger than the cap (Content-Length) is refused before a byte is read; a chunked body is
counted as it arrives and cut at the cap, so a 300 MB upload never reaches a spool file or the knowledge
folder. The counting is Starlette's RequestBodyLimitMiddleware (FastAPI knows its signal); this module picks
the cap by route and says which setting sets it.
"""

from __future__ import annotations

import json
import logging

from starlette.datastructures import Headers
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import Settings

log = logging.getLogger(__name__)
MULTIPART_SLACK = 64 * 1024  # form boundaries and part headers around the file bytes
CHAT_PATHS = ("/api/chat",)


def caps(settings: Settings) -> dict[str, tuple[int, str]]:
    """Each kind of route's cap in bytes, with the setting that sets it."""
    server = settings.server
    upload_mb = min(server.max_upload_mb, settings.ingest.max_file_mb)
    return {
        "upload": (int(upload_mb * 2**20) + MULTIPART_SLACK, "server.max_upload_mb"),
        "chat": (int(server.max_chat_kb * 1024), "server.max_chat_kb"),
        "openai": (int(server.max_openai_kb * 1024), "server.max_openai_kb"),
        "other": (int(server.max_body_kb * 1024), "server.max_body_kb"),
    }


def route_kind(method: str, path: str) -> str:
    if method == "POST" and path.rstrip("/") in ("/api/documents", "/gradio_api/upload", "/upload"):
        return "upload"
    if path.startswith("/v1/"):
        return "openai"
    if path in CHAT_PATHS or (path.startswith("/api/conversations/") and path.endswith("/messages")):
        return "chat"
    return "other"


class BodyCap:
    """ASGI middleware: one Starlette body limit per kind of route; its bare 413 becomes a sentence naming the cap."""

    def __init__(self, app: ASGIApp, settings: Settings):
        self.app = app
        self.caps = caps(settings)
        self.limiters = {kind: RequestBodyLimitMiddleware(app, size) for kind, (size, _) in self.caps.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        kind = route_kind(scope["method"], scope["path"])
        size, setting = self.caps[kind]
        announced = Headers(scope=scope).get("content-length", "")
        received = int(announced) if announced.isdigit() else 0
        replaced = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request" and not announced:
                received += len(message.get("body", b""))
            return message

        async def explained(message: Message) -> None:
            nonlocal replaced
            if replaced:
                return
            if message["type"] == "http.response.start" and message["status"] == 413 and received > size:
                replaced = True  # the limiter's bare 413, however a route passed it on: say which cap and setting
                log.warning("request body over the cap refused", extra={"path": scope["path"], "cap_bytes": size})
                text = f"the request body is larger than this route's {size // 1024} KB limit ({setting}); send less"
                error = ({"message": text, "type": "invalid_request_error", "param": None, "code": "request_too_large"}
                         if kind == "openai" else text)
                body = json.dumps({"error": error}).encode()
                await send({"type": "http.response.start", "status": 413,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.limiters[kind](scope, counted, explained)
