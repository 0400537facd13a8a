"""`kl watch/worker --all-tenants`: one process watches and indexes every active tenant's folder into that
tenant's own index; a tenant added while it runs is picked up, a disabled one is stopped."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from kotaemon_like import registry
from kotaemon_like.tenants.directory import TenantDirectory
from kotaemon_like.tenants.ingest import AllTenantsIngest
from kotaemon_like.tenants.records import DISABLED
from kotaemon_like.tenants.runtime import tenant_settings

from .conftest import ROOT, write_config

pytestmark = pytest.mark.slow


def wait_for(condition, what: str, timeout_s: float = 60.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def found(pool: AllTenantsIngest, tenant: str, words: str) -> list[str]:
    service = pool.services.get(tenant)
    return [h.chunk.text for h in service.kb.keyword_index.search(words, 3)] if service else []


def test_every_tenant_is_indexed_into_its_own_index_and_new_tenants_are_picked_up(tmp_path):
    (tmp_path / "data" / "knowledge").mkdir(parents=True)
    (tmp_path / "config").mkdir()
    settings = registry.load(write_config(tmp_path, """
        watcher: {quiet_s: 0.2, reconcile_s: 600}
        tenants: {refresh_s: 0.3}
        """))
    store, _ = registry.build_conversations(settings)
    directory = TenantDirectory(store.session)
    directory.add("acme", "Acme")
    pool = AllTenantsIngest(settings, watch=True, workers=1, refresh_s=settings.tenants.refresh_s)
    pool.start()
    waiting = threading.Thread(target=pool.wait, daemon=True)  # what `kl watch --all-tenants` blocks in
    waiting.start()
    try:
        assert set(pool.services) == {"default", "acme"}
        acme = tenant_settings(settings, "acme").paths.knowledge
        (acme / "vouchers.md").write_text("# Vouchers\n\nThe Acme voucher code is ACME-SUN-17.\n")
        assert "ACME-SUN-17" in wait_for(lambda: " ".join(found(pool, "acme", "voucher code")), "acme's file indexed")

        directory.add("beta", "Beta")  # while the pool runs, as the admin API would
        wait_for(lambda: "beta" in pool.services, "the new tenant picked up")
        beta = tenant_settings(settings, "beta").paths.knowledge
        (beta / "vouchers.md").write_text("# Vouchers\n\nThe Beta voucher code is BETA-MOON-42.\n")
        assert "BETA-MOON-42" in wait_for(lambda: " ".join(found(pool, "beta", "voucher code")), "beta's file indexed")
        assert "BETA" not in " ".join(found(pool, "acme", "voucher code"))  # each tenant's own index
        assert found(pool, "default", "voucher code") == []

        directory.set_status("acme", DISABLED)
        wait_for(lambda: "acme" not in pool.services, "the disabled tenant stopped")
        assert pool.health() == (True, "ok")
    finally:
        pool.request_stop()
        waiting.join(timeout=30)
        pool.stop()
        store.close_store()
    assert pool.services == {}


def test_all_tenants_and_one_tenant_are_refused_together(tmp_path):
    (tmp_path / "config").mkdir()
    config = write_config(tmp_path)
    done = subprocess.run([sys.executable, "-m", "kotaemon_like.cli", "--config", str(config), "worker", "--all-tenants",
                           "--tenant", "acme"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "either --tenant or --all-tenants" in done.stderr
