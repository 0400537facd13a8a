"""The two web pages, plain HTML and vanilla JS with no build step: the customer chat (`/chat`) and the agent
console (`/console`). They are separate on purpose: customers never load staff code or see staff controls."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

HERE = Path(__file__).parent
ASSETS = {"chat.js", "console.js", "pages.css", "stats.js", "stats.css"}
# the pages load nothing from elsewhere and run no inline script
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}

router = APIRouter(include_in_schema=False)


@router.get("/chat")
def chat_page():
    return FileResponse(HERE / "chat.html", headers=HEADERS)


@router.get("/console")
def console_page():
    return FileResponse(HERE / "console.html", headers=HEADERS)


@router.get("/pages/{name}")
def asset(name: str):
    if name not in ASSETS:
        raise HTTPException(status_code=404)
    return FileResponse(HERE / name, headers=HEADERS)
