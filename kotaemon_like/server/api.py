"""HTTP routes: documents, health, readiness, metrics. Handlers hold no business logic."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Iterator

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import Field

from ..chat import TurnRecord
from .documents import DocumentError, DocumentFolder
from .limits import limited
from .state import AppState


def get_state(request: Request) -> AppState:
    return request.app.state.kl


def get_folder(request: Request, state: AppState = Depends(get_state)) -> DocumentFolder:
    """The knowledge folder of the caller's tenant: its secret key, its admin, or the deployment's key."""
    from .tenancy import admin_caller, caller

    runtime = state.runtime(admin_caller(request, caller(request)).tenant)
    suffixes = tuple(s for loader in runtime.kb.loaders for s in loader.suffixes)
    max_bytes = int(min(state.settings.server.max_upload_mb, state.settings.ingest.max_file_mb) * 2**20)
    return DocumentFolder(runtime.settings.paths.knowledge, runtime.manifest, suffixes, max_bytes)


MAX_MESSAGE_CHARS = 8000  # what one customer message may hold, on every chat endpoint
FilterValue = Annotated[str, Field(max_length=200)]  # a metadata filter value, as chat requests accept it


def collect(events: Iterator) -> dict:
    """The whole turn as one JSON object (non-streaming mode); a conversation's `state` event when there is one."""
    record, extra = TurnRecord(), {}
    for event in events:
        if not record.add(event) and dataclasses.is_dataclass(event):
            extra[event.type] = {k: v for k, v in dataclasses.asdict(event).items() if k != "type"}
    done = dataclasses.asdict(record.done) if record.done else None
    return {"answer": record.answer, "citations": record.citations, "tools": record.tools, "done": done, **extra}


public = APIRouter(tags=["operations"])
private = APIRouter()  # each route's folder comes from the caller's credential (get_folder)


@private.post("/api/documents", tags=["documents"], status_code=201, dependencies=[Depends(limited("uploads_per_key"))], summary="Upload files into the knowledge folder")
def upload(files: list[UploadFile] = File(...), replace: bool = Query(False, description="overwrite a file of the same name"),
           folder: DocumentFolder = Depends(get_folder)):
    saved = []
    for upload_file in files:
        try:
            saved.append(folder.as_dict(folder.save(upload_file.filename or "", upload_file.file, replace=replace)))
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
