"""Customer-service metrics read from the conversation store when Prometheus scrapes: they survive restarts and
are the same from every app replica (dashboards take `max` across instances, never `sum`)."""

from __future__ import annotations

import logging

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import REGISTRY
from sqlalchemy import func, select

from .models import StaffUserRow
from .stats import ConversationStats, conv, rating

log = logging.getLogger(__name__)


class ServiceMetricsCollector:
    """Conversations, hand-offs, resolutions, ratings, the waiting queue and agents online, per tenant."""

    def __init__(self):
        self.store, self.agent_timeout_s = None, 120.0

    def watch(self, store, agent_timeout_s: float) -> None:
        """Report from `store` (the app's, once it is built); a store without SQL reports nothing."""
        self.store, self.agent_timeout_s = store, agent_timeout_s

    def describe(self):
        return []  # the families depend on the store; nothing to check at registration

    def collect(self):
        engine = getattr(self.store, "engine", None)
        if engine is None:
            return
        try:
            yield from self._families(engine)
        except Exception as exc:  # a scrape must not fail because the database blinked; readiness reports it
            log.warning("conversation metrics unavailable: %s", type(exc).__name__)

    def _families(self, engine):
        started = CounterMetricFamily("kl_conversations", "Conversations started", labels=["tenant"])
        handed = CounterMetricFamily("kl_handoffs", "Conversations handed to a person (queued, answered by an agent or a ticket)",
                                     labels=["tenant"])
        closed = CounterMetricFamily("kl_conversations_closed", "Closed conversations: ai (no person, not rated 2 or less) or other",
                                     labels=["tenant", "resolution"])
        ratings = CounterMetricFamily("kl_ratings", "Customer ratings of conversations, by score", labels=["tenant", "score"])
        waiting = GaugeMetricFamily("kl_waiting_queue_length", "Conversations waiting for a person", labels=["tenant"])
        online = GaugeMetricFamily("kl_agents_online", "Agents online (seen recently)", labels=["tenant"])
        with engine.connect() as c:
            tenants = [t for (t,) in c.execute(select(conv.c.tenant_id).distinct())]
            for tenant in tenants:
                handed_off = ConversationStats.handed_off(tenant)
                mine = conv.c.tenant_id == tenant
                not_ai = handed_off | ConversationStats.rated_badly(tenant)
                started.add_metric([tenant], c.scalar(select(func.count()).where(mine)))
                handed.add_metric([tenant], c.scalar(select(func.count()).where(mine, handed_off)))
                closed_all = c.scalar(select(func.count()).where(mine, conv.c.state == "closed"))
                other = c.scalar(select(func.count()).where(mine, conv.c.state == "closed", not_ai))
                closed.add_metric([tenant, "ai"], closed_all - other)
                closed.add_metric([tenant, "other"], other)
                scores = dict(c.execute(select(rating.c.score, func.count()).where(
                    rating.c.tenant_id == tenant, rating.c.ticket_id == 0).group_by(rating.c.score)).all())
                for score in range(1, 6):
                    ratings.add_metric([tenant, str(score)], scores.get(score, 0))
                waiting.add_metric([tenant], c.scalar(select(func.count()).where(mine, conv.c.state == "waiting")))
            staff_tenants = {t for (t,) in c.execute(select(StaffUserRow.tenant_id).distinct())}
        for tenant in sorted(staff_tenants | set(tenants)):
            online.add_metric([tenant], self.store.agents_online(tenant, self.agent_timeout_s))
        yield from (started, handed, closed, ratings, waiting, online)


SERVICE_METRICS = ServiceMetricsCollector()
REGISTRY.register(SERVICE_METRICS)
