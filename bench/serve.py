"""Load on `kl serve`: N concurrent chat sessions over HTTP, streamed (SSE) and as one JSON object, vs the same
turns through chat.py in-process.

    python bench/serve.py [--concurrency 1 8 32 64] [--requests 64] [--quick] [--limiter] [--baseline-root DIR]

Per path: first-token and total latency (for JSON both are the whole response), and the server's CPU
milliseconds per turn (from /proc: on a shared machine that stays meaningful when wall times are not).

Two generators: `extractive` (no LLM) and `llm` (the fake OpenAI-compatible server from tests/fake_llm.py,
streaming at a fixed token rate, so the numbers show the server's own overhead, not a model's speed).
Prints one JSON object per generator, path (http / inprocess) and concurrency; writes bench/results/serve.json.
Rate limits are off on every server (one load generator would be refused), except with `--limiter`: a third
server counts every request against limits set too high to refuse any (`limiter on` rows), which is the
limiter's whole cost per turn.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kotaemon_like import registry  # noqa: E402
from kotaemon_like.chat import TokenEvent  # noqa: E402
from tests.fake_llm import start_fake_llm  # noqa: E402

PDFS = ROOT.parent / "shared" / "data" / "pdfs"
QUESTIONS = [
    "How do I hold back a package from being upgraded?",
    "Where should commenters send their comments?",
    "How do I install a source package?",
    "What does the proposed airworthiness directive require?",
    "How can I find out which package a file belongs to?",
    "What is the Debian testing distribution?",
    "Who do I contact about the proposal?",
    "How do I upgrade from an older Debian release?",
]
TOKENS_PER_S = 50


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def summary(kind: str, path: str, concurrency: int, firsts: list[float], totals: list[float], errors: int, wall: float,
            cpu_s: float | None = None) -> dict:
    return {
        "generator": kind, "path": path, "concurrency": concurrency, "requests": len(totals) + errors,
        "server_cpu_ms_per_turn": None if cpu_s is None else round(1000 * cpu_s / max(1, len(totals))),
        "errors": errors, "requests_per_s": round(len(totals) / wall, 2),
        "first_token_p50_ms": round(1000 * percentile(firsts, 0.5), 1), "first_token_p95_ms": round(1000 * percentile(firsts, 0.95), 1),
        "total_p50_ms": round(1000 * percentile(totals, 0.5), 1), "total_p95_ms": round(1000 * percentile(totals, 0.95), 1),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def http_load(url: str, concurrency: int, requests: int, stream: bool = True) -> tuple[list[float], list[float], int, float]:
    firsts, totals, errors = [], [], 0
    counter = iter(range(requests))

    async def client(worker: int) -> None:
        nonlocal errors
        async with httpx.AsyncClient(timeout=120) as http:
            for n in counter:
                start = time.perf_counter()
                first = None
                try:
                    body = {"message": QUESTIONS[n % len(QUESTIONS)], "stream": stream}
                    async with http.stream("POST", f"{url}/api/chat", json=body) as response:
                        if response.status_code != 200:
                            raise RuntimeError(response.status_code)
                        async for line in response.aiter_lines():
                            if first is None and line == "event: token":
                                first = time.perf_counter() - start
                    totals.append(time.perf_counter() - start)
                    firsts.append(first or totals[-1])
                except Exception:
                    errors += 1

    wall = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(concurrency)))
    return firsts, totals, errors, time.perf_counter() - wall


def inprocess_load(engine, concurrency: int, requests: int) -> tuple[list[float], list[float], int, float]:
    firsts, totals, errors = [], [], 0

    def one(n: int) -> tuple[float, float]:
        start, first = time.perf_counter(), None
        for event in engine.turn(QUESTIONS[n % len(QUESTIONS)], session_id=f"i{n}"):
            if first is None and isinstance(event, TokenEvent):
                first = time.perf_counter() - start
        total = time.perf_counter() - start
        return first or total, total

    wall = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for result in pool.map(one, range(requests)):
            firsts.append(result[0])
            totals.append(result[1])
    return firsts, totals, errors, time.perf_counter() - wall


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, server: subprocess.Popen, timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("kl serve exited before it was ready")
        try:
            if httpx.get(f"{url}/api/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"kl serve not ready after {timeout_s}s")


LIMITS_NEVER_REACHED = "1000000/minute"


def config_for(work: Path, kind: str, llm_url: str, code: Path = ROOT, limiter: bool = False) -> Path:
    """The default config of the checkout at `code`, on the bench's folders (a baseline keeps its own index and
    databases: their formats may differ)."""
    config = yaml.safe_load((code / "config" / "default.yaml").read_text())
    index = work / ("index" if code == ROOT else "index-baseline")
    config["paths"] = {"knowledge": str(work / "knowledge"), "index": str(index)}
    if "conversations" in config:
        config["conversations"] = {**config["conversations"], "url": f"sqlite:///{index / 'conversations.sqlite'}"}
    config["server"] = {"embedded_ingest": False}
    if "rate_limits" in (code / "kotaemon_like" / "config.py").read_text():  # a checkout that has them
        # the load generator is one address opening a conversation per turn: limits would answer 429
        config["server"]["rate_limits"] = dict.fromkeys(("conversations_per_ip", "messages_per_ip", "messages_per_key"),
                                                        LIMITS_NEVER_REACHED if limiter else None)
    if "cache" in config:
        config["cache"] = {**config["cache"], "enabled": False}  # repeated questions: measure turns, not cache hits
    config["tools"] = {"folder": str(work / "no-plugins"), "reload": False}
    if kind == "llm":
        config["generator"] = {"type": "litellm", "model": "openai/fake", "api_base": llm_url, "api_key_env": "KL_BENCH_KEY",
                               "max_retries": 0, "first_token_timeout_s": 30, "timeout_s": 60}
    path = work / f"{kind}{'' if code == ROOT else '-baseline'}{'-limiter' if limiter else ''}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def start_server(code: Path, config: Path) -> tuple[subprocess.Popen, str]:
    """`kl serve` from the checkout at `code`, in its own process like in production (the load generator must
    not share its interpreter and GIL with it); ready when this returns."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(code)}
    server = subprocess.Popen([sys.executable, "-m", "kotaemon_like.cli", "--config", str(config), "serve", "--port", str(port)],
                              cwd=code, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, server)
    return server, url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32, 64])
    parser.add_argument("--requests", type=int, default=64, help="turns per concurrency level (at least the concurrency)")
    parser.add_argument("--quick", action="store_true", help="concurrency 1 and 8, 16 turns")
    parser.add_argument("--baseline-root", type=Path, help="also serve from this checkout (e.g. a worktree of the previous "
                        "release) and measure it side by side")
    parser.add_argument("--limiter", action="store_true", help="also serve with the rate limiter counting every request")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "serve.json")
    args = parser.parse_args()
    if args.quick:
        args.concurrency, args.requests = [1, 8], 16
    os.environ["KL_BENCH_KEY"] = "bench"
    fake = start_fake_llm()
    words = " ".join(["The answer is in the source [1]."] * 8)
    fake.behaviour.reply = lambda request: words
    fake.behaviour.token_delay_s = 1 / TOKENS_PER_S
    rows = []
    with tempfile.TemporaryDirectory(prefix="kl-serve-") as tmp:
        work = Path(tmp)
        (work / "knowledge").mkdir()
        (work / "no-plugins").mkdir()
        for name in ("debian-faq.en.pdf", "federal-register-2020-17221.pdf"):
            shutil.copy(PDFS / name, work / "knowledge" / name)
        for kind in ("extractive", "llm"):
            settings = registry.load(config_for(work, kind, fake.url))
            kb = registry.build_knowledge_base(settings)
            registry.build_indexer(kb).sync()
            kb.close()
            kb = registry.build_knowledge_base(settings)
            engine = registry.build_chat(kb)
            servers = {"": start_server(ROOT, config_for(work, kind, fake.url))}
            if args.limiter:
                servers["limiter on "] = start_server(ROOT, config_for(work, kind, fake.url, limiter=True))
            if args.baseline_root:
                baseline_config = config_for(work, kind, fake.url, args.baseline_root)
                subprocess.run([sys.executable, "-m", "kotaemon_like.cli", "--config", str(baseline_config), "index"],
                               cwd=args.baseline_root, env={**os.environ, "PYTHONPATH": str(args.baseline_root)},
                               check=True, stdout=subprocess.DEVNULL)
                servers["baseline "] = start_server(args.baseline_root, baseline_config)
            try:
                for concurrency in args.concurrency:
                    n = max(args.requests, concurrency)
                    row = summary(kind, "inprocess", concurrency, *inprocess_load(engine, concurrency, n))
                    print(json.dumps(row), flush=True)
                    rows.append(row)
                    for label, (server, url) in servers.items():
                        for path in ("http-json", "http-sse"):
                            before = cpu_seconds(server.pid)
                            result = asyncio.run(http_load(url, concurrency, n, stream=path == "http-sse"))
                            row = summary(kind, label + path, concurrency, *result, cpu_s=cpu_seconds(server.pid) - before)
                            print(json.dumps(row), flush=True)
                            rows.append(row)
            finally:
                for server, _ in servers.values():
                    server.terminate()
                    server.wait(60)
                kb.close()
    fake.stop()
    args.out.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
