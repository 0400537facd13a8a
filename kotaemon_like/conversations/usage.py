"""Usage accounting: answered messages and LLM tokens per tenant per calendar month (UTC), in the conversation
database so every app replica adds to the same counts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..config import Quotas
from .models import UsageRow, utcnow


def this_month(now: dt.datetime | None = None) -> str:
    return (now or utcnow()).strftime("%Y-%m")


def next_month_start(now: dt.datetime | None = None) -> dt.datetime:
    now = now or utcnow()
    return dt.datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=dt.timezone.utc)


def allowance(quotas: Quotas, tenant: str) -> dict[str, int | None]:
    """The tenant's monthly messages and tokens (its own entry in `server.quotas.tenants` wins)."""
    own = quotas.tenants.get(tenant)
    pick = lambda name: getattr(own, name) if own is not None and getattr(own, name) is not None else getattr(quotas, name)  # noqa: E731
    return {"messages": pick("messages_per_month"), "tokens": pick("tokens_per_month")}


@dataclass(frozen=True)
class Usage:
    tenant: str
    month: str
    messages: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class UsageLedger:
    """Counts kept in the `usage` table; one short transaction per call."""

    def __init__(self, session):
        self.session = session  # a sessionmaker of the conversation database

    def add(self, tenant: str, messages: int = 0, prompt_tokens: int = 0, completion_tokens: int = 0,
            month: str | None = None) -> None:
        month = month or this_month()
        values = dict(messages=UsageRow.messages + messages, prompt_tokens=UsageRow.prompt_tokens + prompt_tokens,
                      completion_tokens=UsageRow.completion_tokens + completion_tokens, updated_at=utcnow())
        where = (UsageRow.tenant_id == tenant, UsageRow.month == month)
        for _ in range(3):  # the first message of a month inserts; two replicas may race to it: the loser adds
            with self.session.begin() as s:
                if s.execute(update(UsageRow).where(*where).values(**values)).rowcount:
                    return
            try:
                with self.session.begin() as s:
                    s.add(UsageRow(tenant_id=tenant, month=month, messages=messages, prompt_tokens=prompt_tokens,
                                   completion_tokens=completion_tokens))
                return
            except IntegrityError:
                continue

    def get(self, tenant: str, month: str | None = None) -> Usage:
        month = month or this_month()
        with self.session() as s:
            row = s.get(UsageRow, (tenant, month))
        return self._usage(row) if row else Usage(tenant, month)

    def report(self, month: str | None = None, tenant: str | None = None) -> list[Usage]:
        """Every tenant's usage in `month` (or one tenant's), by tenant id."""
        query = select(UsageRow).where(UsageRow.month == (month or this_month())).order_by(UsageRow.tenant_id)
        if tenant is not None:
            query = query.where(UsageRow.tenant_id == tenant)
        with self.session() as s:
            return [self._usage(row) for row in s.scalars(query)]

    @staticmethod
    def _usage(row: UsageRow) -> Usage:
        return Usage(row.tenant_id, row.month, row.messages, row.prompt_tokens, row.completion_tokens)
