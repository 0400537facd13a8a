"""Admin statistics: the figures and knowledge gaps as JSON, each table as CSV, and the /console/stats page."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import FileResponse, Response

from ..conversations.gaps import knowledge_gaps
from ..conversations.records import StaffUser
from ..conversations.service_metrics import SERVICE_METRICS
from ..conversations.stats import ConversationStats, Period, period
from ..conversations.stats_export import TABLES, tables, to_csv
from .api import get_state
from .pages import HEADERS, HERE
from .staff_auth import current_admin
from .state import AppState

router = APIRouter(tags=["admin"])
PeriodKind = Literal["day", "week", "month"]


def chosen_period(kind: PeriodKind = "day", date: dt.date | None = Query(None, description="any day of the period; default today"),
                  state: AppState = Depends(get_state)) -> Period:
    return period(kind, date, state.settings.stats.timezone)


def stats_of(state: AppState) -> ConversationStats:
    engine = getattr(state.conversations, "engine", None)
    if engine is None:
        raise HTTPException(status_code=501, detail="statistics need the SQL conversation store (conversations.url)")
    return ConversationStats(engine)


def gaps_of(state: AppState, p: Period, tenant: str) -> list[dict]:
    return knowledge_gaps(stats_of(state), state.kb.embedder, tenant, p, state.settings.stats.gap_similarity)


def watch(state: AppState) -> None:
    """Export the customer-service metrics of this app's conversation store on /metrics."""
    SERVICE_METRICS.watch(state.conversations, state.settings.conversations.agent_timeout_s)


@router.get("/api/admin/stats", summary="Support figures of a day, week or month in the configured time zone")
def figures(p: Period = Depends(chosen_period), admin: StaffUser = Depends(current_admin), state: AppState = Depends(get_state)):
    return stats_of(state).figures(admin.tenant_id, p)


@router.get("/api/admin/stats/gaps", summary="Questions the documents failed, grouped by meaning, largest group first")
def gaps(p: Period = Depends(chosen_period), admin: StaffUser = Depends(current_admin), state: AppState = Depends(get_state)):
    return {"period": p.label, "gaps": gaps_of(state, p, admin.tenant_id)}


@router.get("/api/admin/stats/{table}.csv", summary="One statistics table (or the conversations with ratings) as CSV")
def csv_table(table: str, p: Period = Depends(chosen_period), admin: StaffUser = Depends(current_admin),
              state: AppState = Depends(get_state)):
    if table not in TABLES:
        raise HTTPException(status_code=404, detail=f"no table {table!r}; tables: {', '.join(TABLES)}")
    stats, tenant = stats_of(state), admin.tenant_id
    header, rows = tables(stats.figures(tenant, p),
                          gaps=gaps_of(state, p, admin.tenant_id) if table == "gaps" else None,
                          conversations=stats.conversation_rows(tenant, p) if table == "conversations" else None)[table]
    name = f"{table}-{tenant}-{p.label}.csv"
    return Response(to_csv(header, rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/console/stats", include_in_schema=False)
def stats_page():
    return FileResponse(HERE / "stats.html", headers=HEADERS)
