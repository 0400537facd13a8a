"""Monthly quotas per tenant (answered messages, LLM tokens), the usage they are measured on, and its admin API.

Over quota a chat request gets a 429 with Retry-After (seconds to the next month, UTC) and a sentence
saying which allowance ran out. Not the hand-off offer: a quota is the deployment's limit on what a
tenant may spend, and sending every further customer to the agents would move the cost onto people
without anyone deciding so; the widget shows the sentence instead.
"""

from __future__ import annotations

import math
from contextlib import closing
from typing import Iterator

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from ..chat import DoneEvent
from ..config import Quotas
from ..conversations.usage import Usage, UsageLedger, allowance, next_month_start, this_month
from ..conversations.models import utcnow
from .api import get_state
from .state import AppState
from .tenancy import Caller, admin_caller, caller

router = APIRouter(prefix="/api/admin", tags=["admin"])


def check(ledger: UsageLedger, quotas: Quotas, tenant: str) -> None:
    """HTTPException 429 when the tenant has used up a monthly allowance."""
    limits = allowance(quotas, tenant)
    if limits["messages"] is None and limits["tokens"] is None:
        return
    used = ledger.get(tenant)
    for name, spent in (("messages", used.messages), ("tokens", used.tokens)):
        if limits[name] is not None and spent >= limits[name]:
            resets = next_month_start()
            wait = max(1, math.ceil((resets - utcnow()).total_seconds()))
            what = "messages" if name == "messages" else "LLM tokens"
            raise HTTPException(429, headers={"Retry-After": str(wait)}, detail=(
                f"this assistant has used its {limits[name]} {what} for {used.month} (server.quotas); "
                f"it answers again from {resets:%Y-%m-%d} UTC"))


def within_quota(request: Request, state: AppState = Depends(get_state)) -> None:
    """A chat route's dependency: refuse the caller's tenant once a monthly allowance is used up."""
    check(state.usage, state.settings.server.quotas, caller(request).tenant.id)


def metered(events: Iterator, ledger: UsageLedger, tenant: str) -> Iterator:
    """The turn's events unchanged; its end counts one answered message and the LLM tokens the generator reported."""
    with closing(events):
        for event in events:
            if isinstance(event, DoneEvent):
                ledger.add(tenant, messages=1, prompt_tokens=event.usage.get("prompt_tokens", 0),
                           completion_tokens=event.usage.get("completion_tokens", 0))
            yield event


def usage_dict(usage: Usage, quotas: Quotas) -> dict:
    return {"tenant": usage.tenant, "month": usage.month, "messages": usage.messages,
            "prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
            "tokens": usage.tokens, "quota": allowance(quotas, usage.tenant)}


@router.get("/usage", summary="Messages and LLM tokens per tenant in a month, with each tenant's quota")
def read_usage(month: str = Query(None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM; default: this month"),
               tenant: str | None = Query(None, max_length=64, description="one tenant (a super-admin may name any)"),
               who: Caller = Depends(admin_caller), state: AppState = Depends(get_state)):
    if not who.super_admin:
        if tenant not in (None, who.tenant.id):
            raise HTTPException(status_code=404, detail=f"no tenant {tenant!r}")
        tenant = who.tenant.id
    month = month or this_month()
    rows = state.usage.report(month, tenant)
    if tenant is not None and not rows:
        rows = [Usage(tenant, month)]
    return {"month": month, "usage": [usage_dict(u, state.settings.server.quotas) for u in rows]}
