"""Every tenant's live folder from one process: `kl watch --all-tenants`, `kl worker --all-tenants`.

One IngestService per active tenant (its folder, queue stream and index), sharing one embedder. The tenant
list is read again every `refresh_s`: a tenant added through the admin API is watched and indexed without a
restart, a disabled one is stopped, a re-enabled one started again.
"""

from __future__ import annotations

import logging
import threading

from .. import registry
from ..config import Settings
from ..ingest_service import IngestService
from .directory import TenantDirectory
from .records import Tenant
from .runtime import tenant_settings

log = logging.getLogger(__name__)


class AllTenantsIngest:
    """IngestService's start / wait / stop / health over every active tenant."""

    def __init__(self, settings: Settings, watch: bool = True, workers: int = 1, refresh_s: float = 10.0):
        self.settings, self.watch, self.workers, self.refresh_s = settings, watch, workers, refresh_s
        self.store, _ = registry.build_conversations(settings)
        self.directory = TenantDirectory(self.store.session)
        self.services: dict[str, IngestService] = {}
        self._embedder = None  # one model in memory for every tenant's workers
        self._stop = threading.Event()

    def _start(self, tenant: Tenant) -> None:
        own = tenant_settings(self.settings, tenant)
        own.paths.knowledge.mkdir(parents=True, exist_ok=True)
        kb = registry.build_knowledge_base(own, embedder=self._embedder) if self.workers else None
        if kb is not None:
            self._embedder = kb.embedder
        try:
            service = IngestService(own, watch=self.watch, workers=self.workers, kb=kb)
            service.start()
        except BaseException:
            if kb is not None:
                kb.close()
            raise
        self.services[tenant.id] = service
        log.info("tenant ingest started", extra={"tenant": tenant.id, "knowledge": str(own.paths.knowledge)})

    def _stop_one(self, tenant_id: str) -> None:
        service = self.services.pop(tenant_id)
        service.stop()
        if service.kb is not None:
            service.kb.close()  # built here, so closed here (the service only flushes a kb it was given)
        log.info("tenant ingest stopped", extra={"tenant": tenant_id})

    def refresh(self) -> None:
        """Start the tenants that are active and not running, stop the ones disabled since."""
        active = {t.id: t for t in self.directory.all() if t.active}
        for tenant_id in [t for t in self.services if t not in active]:
            self._stop_one(tenant_id)
        for tenant_id, tenant in active.items():
            if tenant_id not in self.services:
                try:
                    self._start(tenant)
                except Exception as exc:  # one tenant's broken index must not stop the others; retried next time
                    log.error("tenant ingest not started: %s", exc, extra={"tenant": tenant_id})

    def start(self) -> None:
        self.refresh()

    def health(self) -> tuple[bool, str]:
        for tenant_id, service in self.services.items():
            ok, why = service.health()
            if not ok:
                return False, f"tenant {tenant_id}: {why}"
        return (False, "stopping") if self._stop.is_set() else (True, "ok")

    def wait(self) -> bool:
        """Refresh the tenants until a stop is requested (True) or a tenant's worker or watcher died (False)."""
        while not self._stop.wait(self.refresh_s):
            ok, why = self.health()
            if not ok:
                log.error("ingest service unhealthy: %s", why)
                return False
            try:
                self.refresh()
            except Exception as exc:  # the database restarting: keep indexing with the tenants we have
                log.warning("tenant list not refreshed: %s", exc)
        return True

    def request_stop(self) -> None:
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        for tenant_id in list(self.services):
            self._stop_one(tenant_id)
        self.store.close_store()
