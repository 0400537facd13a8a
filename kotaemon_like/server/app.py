"""The FastAPI app: API routes, the Gradio UI at `/`, request ids, metrics, and errors that leak nothing."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from .. import __version__
from ..config import Settings
from . import admin_staff, admin_tenants, agents, api, customer, openai_compat, pages, quotas, stats, widget
from .cors import PublicKeyCors
from .edge import install_edge
from .state import AppState

log = logging.getLogger(__name__)


def create_app(settings: Settings, state: AppState | None = None, ui: bool = True) -> FastAPI:
    """Build the app; `state` (the parts) is built here unless given, and started/closed with the app."""
    state = state or AppState.build(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        state.start()
        log.info("kotaemon-like ready", extra={"chunks": state.kb.keyword_index.count()})
        yield
        state.close()
        log.info("shut down cleanly: answers in flight finished, index written")

    app = FastAPI(title="kotaemon-like", version=__version__, lifespan=lifespan,
                  description="RAG for customer service: cited answers from your documents, tool plugins.")
    app.state.kl = state
    app.include_router(api.public)
    app.include_router(api.private)
    app.include_router(customer.router)
    app.include_router(agents.router)
    app.include_router(admin_staff.router)
    app.include_router(admin_tenants.router)
    app.include_router(quotas.router)
    app.include_router(stats.router)
    stats.watch(state)
    app.include_router(pages.router)
    app.include_router(openai_compat.router)
    app.include_router(widget.router)

    app.add_middleware(PublicKeyCors, resolve=lambda key: state.tenants.resolve(key))
    install_edge(app, settings)  # outside the CORS check, so its refusals carry request ids and are counted

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        problems = [f"{'.'.join(str(p) for p in e['loc'] if p != 'body')}: {e['msg']}" for e in exc.errors()]
        return JSONResponse({"error": "invalid request", "problems": problems}, status_code=422)

    if ui:
        from .ui import mount_ui

        app = mount_ui(app, state)
    return app
