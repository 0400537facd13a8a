"""The "Customer service" Grafana dashboard: every panel's query returns data from a real Prometheus scraping a
live app while a scripted day of conversations is written, and the figures it shows are the day's."""

from __future__ import annotations

import json
import re
import subprocess
import time

import httpx
import pytest
import yaml

from kotaemon_like import registry
from kotaemon_like.server.app import create_app

from .conftest import ROOT, free_port, wait_until, write_config
from .stats_day import Clock, write_day
from .test_server import LiveServer
from .test_stack import need, query

pytestmark = pytest.mark.slow
DASHBOARD = ROOT / "grafana" / "dashboards" / "customer-service.json"


def panels() -> list[dict]:
    return [p for p in json.loads(DASHBOARD.read_text())["panels"] if p["type"] != "row"]


@pytest.fixture(scope="module")
def app_and_prometheus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("service-dashboard")
    (folder / "data" / "knowledge").mkdir(parents=True)
    (folder / "config").mkdir()
    app = create_app(registry.load(write_config(folder, "tools: {reload: false}")), ui=False)
    store = app.state.kl.conversations
    for tenant in ("default", "acme"):  # the series exist before the day, so Prometheus sees them increase
        store.create_conversation(tenant, "web")
    binary = need("prometheus", "prometheus")
    with LiveServer(app) as server:
        port = free_port()
        config = {"global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
                  "scrape_configs": [{"job_name": "app", "metrics_path": "/metrics",
                                      "static_configs": [{"targets": [f"127.0.0.1:{server.port}"]}]}]}
        (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
        with open(folder / "prometheus.log", "wb") as log:
            proc = subprocess.Popen([binary, f"--config.file={folder / 'prometheus.yml'}", f"--storage.tsdb.path={folder / 'tsdb'}",
                                     f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until(lambda: proc.poll() is None and _scraped(url), 60, every_s=0.5, what="prometheus scraping the app")
            time.sleep(2)
            with pytest.MonkeyPatch.context() as patch:
                write_day(store, Clock(patch))
            alice = store.get_user("default", username="alice")
            store.update_user("default", alice.id, status="online")
            store.enqueue("default", store.create_conversation("default", "web")[0].id, "the customer asked for a person")
            time.sleep(4)
            yield url, store
        finally:
            proc.terminate()
            proc.wait(15)


def _scraped(url: str) -> bool:
    """Prometheus is ready (it answers 503 "Service Unavailable" while its storage starts) and has the app's series."""
    try:
        return httpx.get(f"{url}/-/ready", timeout=10).status_code == 200 \
            and bool(query(url, 'kl_conversations_total{job="app"}'))
    except httpx.HTTPError:
        return False


def test_every_panel_names_known_metrics_of_the_app_job(app_and_prometheus):
    from prometheus_client import REGISTRY

    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    known = {m.name + s for m in REGISTRY.collect() for s in suffixes.get(m.type, ("",))}
    assert len(panels()) >= 8
    for panel in panels():
        for target in panel["targets"]:
            names = set(re.findall(r"\b(kl_\w+)\s*[{\[(]", target["expr"]))
            assert names and names <= known, f"{panel['title']}: unknown metric in {target['expr']}"
            assert 'job="app"' in target["expr"], panel["title"]


def test_every_panel_query_returns_the_days_figures(app_and_prometheus):
    url, _ = app_and_prometheus
    results, empty = {}, []
    for panel in panels():
        for target in panel["targets"]:
            expr = target["expr"].replace("$__rate_interval", "1m").replace("$__range", "10m")
            values = [float(r["value"][1]) for r in query(url, expr)]
            if not any(v == v for v in values):
                empty.append(f"{panel['title']}: {expr} -> {values}")
            results.setdefault(panel["title"], values)
    assert not empty, "panels without data:\n" + "\n".join(empty)
    assert results["AI-resolved share of closed conversations"] == [pytest.approx(0.5, abs=0.01)]  # 3 of 6 closed
    assert results["Low ratings share (1-2)"] == [pytest.approx(0.4, abs=0.01)]  # 2 of 5 ratings
    # per tenant: default has one customer waiting and Alice online, acme neither
    assert sorted(results["Waiting queue length"]) == [0.0, 1.0] and sorted(results["Agents online"]) == [0.0, 1.0]
    assert results["Answer cache hit rate"] == [0.0]
    # one series per limited route (the limiter declares its routes at start), none of them refused anything
    limited = results["Rate-limited requests/s"]
    assert limited and all(v == 0.0 for v in limited)
