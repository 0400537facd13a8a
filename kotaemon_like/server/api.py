"""HTTP routes: chat (SSE or JSON), documents, health, readiness, metrics. Handlers hold no business logic."""

from __future__ import annotations

import dataclasses
import json
from typing import Iterator

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import JSONResponse, Response, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from ..chat import CitationEvent, DoneEvent, TokenEvent, ToolEvent
from .auth import require_api_key
from .documents import DocumentError, DocumentFolder
from .state import AppState


def get_state(request: Request) -> AppState:
    return request.app.state.kl


def get_folder(state: AppState = Depends(get_state)) -> DocumentFolder:
    suffixes = tuple(s for loader in state.kb.loaders for s in loader.suffixes)
    max_bytes = int(min(state.settings.server.max_upload_mb, state.settings.ingest.max_file_mb) * 2**20)
    return DocumentFolder(state.settings.paths.knowledge, state.manifest, suffixes, max_bytes)


class ChatRequest(BaseModel):
    message: str = Field(min_length=1, max_length=8000, description="the customer's message")
    session_id: str | None = Field(None, max_length=200, description="keeps the conversation's memory; new if omitted")
    stream: bool = Field(True, description="Server-Sent Events (default) or one JSON object")
    filter: dict[str, str | list[str]] | None = Field(None, description='metadata filter, e.g. {"tenant": "acme"}')


def sse(event) -> str:
    return f"event: {event.type}\ndata: {json.dumps(dataclasses.asdict(event), ensure_ascii=False)}\n\n"


def collect(events: Iterator) -> dict:
    """The whole turn as one JSON object (non-streaming mode)."""
    answer, citations, tools, done = [], [], [], None
    for event in events:
        if isinstance(event, TokenEvent):
            answer.append(event.text)
        elif isinstance(event, CitationEvent):
            citations.append(dataclasses.asdict(event))
        elif isinstance(event, ToolEvent):
            tools.append(dataclasses.asdict(event))
        elif isinstance(event, DoneEvent):
            done = dataclasses.asdict(event)
    return {"answer": "".join(answer), "citations": citations, "tools": tools, "done": done}


public = APIRouter(tags=["operations"])
private = APIRouter(dependencies=[Depends(require_api_key)])


@private.post("/api/chat", tags=["chat"], summary="One chat turn: SSE events token/citation/tool/done, or JSON")
def chat(body: ChatRequest, state: AppState = Depends(get_state)):
    events = state.engine.turn(body.message, session_id=body.session_id, filter=body.filter, channel="api")
    if not body.stream:
        return collect(events)
    return StreamingResponse((sse(e) for e in events), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@private.post("/api/documents", tags=["documents"], status_code=201, summary="Upload files into the knowledge folder")
def upload(files: list[UploadFile] = File(...), folder: DocumentFolder = Depends(get_folder)):
    saved = []
    for upload_file in files:
        try:
            saved.append(folder.as_dict(folder.save(upload_file.filename or "", upload_file.file)))
        except DocumentError as exc:
            return JSONResponse({"error": str(exc), "saved": saved}, status_code=exc.status)
    return {"saved": saved}


@private.get("/api/documents", tags=["documents"], summary="Every file with its index status")
def list_documents(folder: DocumentFolder = Depends(get_folder)):
    return {"documents": [folder.as_dict(d) for d in folder.list()]}


@private.delete("/api/documents/{name:path}", tags=["documents"], summary="Delete a file; its chunks leave the index")
def delete_document(name: str, folder: DocumentFolder = Depends(get_folder)):
    try:
        folder.delete(name)
    except DocumentError as exc:
        return JSONResponse({"error": str(exc)}, status_code=exc.status)
    return {"deleted": name}


@public.get("/api/health", summary="The process is alive")
def health():
    return {"status": "ok"}


@public.get("/api/ready", summary="Stores, queue and memory reachable; 503 names the failing part")
def ready(state: AppState = Depends(get_state)):
    ok, checks = state.readiness()
    body = {"ready": ok, "checks": checks, "chunks": state.kb.keyword_index.count()}
    if not ok:
        body["failing"] = [name for name, value in checks.items() if value != "ok"]
    return JSONResponse(body, status_code=200 if ok else 503)


@public.get("/metrics", summary="Prometheus exposition")
def prometheus_metrics(state: AppState = Depends(get_state)):
    state.refresh_gauges()
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
