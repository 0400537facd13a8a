"""A small orders API standing in for a shop's order system, with knobs to make it fail, slow down or hang.

Serves data/orders.json. Faults are set at start (arguments or ORDERS_FAILURE_RATE, ORDERS_LATENCY_S,
ORDERS_HANG) and at runtime with POST /admin/faults; GET /admin/requests lists the order lookups
that reached it, so a test can prove that an open circuit breaker really stopped calling.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from .config import ConfigError

log = logging.getLogger(__name__)

DEFAULT_PORT = 8081
MAX_HANG_S = 600.0  # a hung request still ends eventually, so a forgotten demo never pins a connection forever
REQUEST_LOG_SIZE = 10_000


class Faults(BaseModel):
    model_config = ConfigDict(extra="forbid")
    failure_rate: float = Field(0.0, ge=0, le=1)  # share of order lookups answered with HTTP 500
    latency_s: float = Field(0.0, ge=0)  # added to every order lookup
    hang: bool = False  # order lookups never answer (until hang is switched off or the client gives up)


class FaultsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    failure_rate: float | None = Field(None, ge=0, le=1)
    latency_s: float | None = Field(None, ge=0)
    hang: bool | None = None


def orders_file() -> Path:
    """ORDERS_DATA, else data/orders.json in the working directory, else the demo orders shipped in the package."""
    if os.environ.get("ORDERS_DATA"):
        return Path(os.environ["ORDERS_DATA"])
    local = Path("data/orders.json")
    return local if local.is_file() else Path(__file__).resolve().parent / "defaults" / "orders.json"


def load_orders(path: Path | str | None = None) -> dict[str, dict[str, Any]]:
    file = Path(path) if path else orders_file()
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"orders file {file} not found; set ORDERS_DATA or run from the project folder") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"orders file {file} is not valid JSON: {exc}") from None
    return {str(order["id"]): order for order in data["orders"]}


def _env_faults() -> dict[str, Any]:
    env = {"failure_rate": "ORDERS_FAILURE_RATE", "latency_s": "ORDERS_LATENCY_S", "hang": "ORDERS_HANG"}
    values = {key: os.environ[var] for key, var in env.items() if os.environ.get(var)}
    if "hang" in values:
        values["hang"] = values["hang"].lower() in ("1", "true", "yes", "on")
    return values


def create_app(
    orders_path: Path | str | None = None,
    failure_rate: float | None = None,
    latency_s: float | None = None,
    hang: bool | None = None,
    seed: int | None = None,
) -> FastAPI:
    """The orders API; an argument left as None falls back to its environment variable, then to no fault."""
    given = {"failure_rate": failure_rate, "latency_s": latency_s, "hang": hang}
    faults = Faults(**{**_env_faults(), **{k: v for k, v in given.items() if v is not None}})
    orders = load_orders(orders_path)
    app = FastAPI(title="kotaemon-like demo orders API")
    app.state.faults = faults
    app.state.requests = deque(maxlen=REQUEST_LOG_SIZE)
    app.state.stopping = threading.Event()
    rng = random.Random(seed)

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "orders": len(orders)}

    @app.get("/orders/{order_id}")
    async def get_order(order_id: str, request: Request) -> dict[str, Any]:
        entry = {"time": time.time(), "method": "GET", "path": request.url.path, "outcome": "pending"}
        app.state.requests.append(entry)  # logged on arrival, so hung and failed lookups are counted too
        current: Faults = app.state.faults
        if current.hang:
            entry["outcome"] = "hang"
            await _hang(request, app)
            if app.state.faults.hang or await request.is_disconnected():
                raise HTTPException(503, "gave up hanging")
        if current.latency_s:
            await asyncio.sleep(current.latency_s)
        if current.failure_rate and rng.random() < current.failure_rate:
            entry["outcome"] = "500"
            raise HTTPException(500, "injected failure")
        order = orders.get(order_id.strip().lstrip("#"))
        if order is None:
            entry["outcome"] = "404"
            raise HTTPException(404, f"no order {order_id}")
        entry["outcome"] = "200"
        return order

    @app.get("/admin/faults")
    def get_faults() -> Faults:
        return app.state.faults

    @app.post("/admin/faults")
    def set_faults(update: FaultsUpdate) -> Faults:
        changes = update.model_dump(exclude_none=True)
        app.state.faults = app.state.faults.model_copy(update=changes)
        log.warning("demo orders faults set: %s", app.state.faults.model_dump(), extra=changes)
        return app.state.faults

    @app.get("/admin/requests")
    def request_log() -> dict[str, Any]:
        entries = list(app.state.requests)
        return {"count": len(entries), "requests": entries}

    @app.delete("/admin/requests")
    def clear_request_log() -> dict[str, int]:
        app.state.requests.clear()
        return {"count": 0}

    return app


async def _hang(request: Request, app: FastAPI) -> None:
    """Hold the request until the client leaves, hang is switched off, the server stops, or MAX_HANG_S."""
    deadline = time.monotonic() + MAX_HANG_S
    while app.state.faults.hang and time.monotonic() < deadline and not app.state.stopping.is_set():
        if await request.is_disconnected():
            return
        await asyncio.sleep(0.05)


def run_demo_orders(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    failure_rate: float | None = None,
    latency_s: float | None = None,
    hang: bool | None = None,
) -> None:
    """Serve the demo orders API in the foreground (`kl demo-orders`)."""
    import uvicorn

    app = create_app(failure_rate=failure_rate, latency_s=latency_s, hang=hang)
    log.warning("demo orders API on http://%s:%d, faults: %s", host, port, app.state.faults.model_dump())
    uvicorn.run(app, host=host, port=port, log_level="warning")


class DemoOrdersServer:
    """The demo orders API on a background thread (tests, benchmarks); it stops itself after `max_lifetime_s`."""

    def __init__(self, port: int, host: str = "127.0.0.1", max_lifetime_s: float = 300.0, **app_args: Any):
        import uvicorn

        self.host, self.port = host, port
        self.url = f"http://{host}:{port}"
        self.app = create_app(**app_args)
        config = uvicorn.Config(
            self.app, host=host, port=port, log_level="warning", lifespan="off", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=f"demo-orders-{port}", daemon=True)
        self._lifetime = threading.Timer(max_lifetime_s, self.stop)
        self._lifetime.daemon = True

    def start(self, timeout_s: float = 10.0) -> "DemoOrdersServer":
        self._thread.start()
        self._lifetime.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"demo orders API did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._lifetime.cancel()
        self.app.state.stopping.set()
        self._server.should_exit = True
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)

    def set_faults(self, **changes: Any) -> dict[str, Any]:
        """Change the faults through the HTTP admin endpoint, as an operator would."""
        import httpx

        return httpx.post(f"{self.url}/admin/faults", json=changes, timeout=5).raise_for_status().json()

    def order_requests(self) -> int:
        """How many order lookups have reached the server (from GET /admin/requests)."""
        import httpx

        return httpx.get(f"{self.url}/admin/requests", timeout=5).raise_for_status().json()["count"]

    def __enter__(self) -> "DemoOrdersServer":
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
