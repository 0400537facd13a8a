"""Answer cache hit vs miss, in process and over HTTP, and the rate limiter's cost on /api/chat.

    python bench/cache.py [--questions 8] [--rounds 3]

The demo shop's knowledge base, the extractive generator. In process: each question asked once with the
cache off (the baseline, every turn a miss), then twice with it on (a miss that stores, then a hit).
Over HTTP (`kl serve` in its own process, JSON answers): the same per question, with the limiter on
(default limits raised so none trips: only their bookkeeping is measured) and off (every limit null).
Reports p50 latency in ms and the server's CPU seconds per turn; writes bench/results/cache.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.serve import cpu_seconds, start_server  # noqa: E402
from kotaemon_like import registry  # noqa: E402

QUESTIONS = [
    "How long is the warranty?", "Can I return an item?", "How much does shipping cost?",
    "How do I descale the espresso machine?", "Do you ship abroad?", "How long does delivery take?",
    "What does the warranty not cover?", "How do I get a refund?", "退货需要多长时间？", "保修期多久？",
]


def config(work: Path, cache: bool, limits: bool) -> Path:
    data = yaml.safe_load((ROOT / "config" / "default.yaml").read_text())
    data["paths"] = {"knowledge": str(work / "knowledge"), "index": str(work / "index")}
    data["tools"] = {"folder": str(work / "no-plugins"), "reload": False}
    data["cache"] = {"enabled": cache}
    high = "100000/minute" if limits else None
    data["server"] = {"embedded_ingest": False, "rate_limits": {
        "conversations_per_ip": high, "messages_per_ip": high, "messages_per_key": high, "uploads_per_key": high}}
    path = work / f"cache-{cache}-limits-{limits}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def p50(values: list[float]) -> float:
    return round(1000 * statistics.median(values), 2)


def inprocess(work: Path, questions: list[str], rounds: int) -> dict:
    timings: dict[str, list[float]] = {"off": [], "miss": [], "hit": []}
    for cache in (False, True):
        kb = registry.build_knowledge_base(registry.load(config(work, cache, False)))
        for _ in range(rounds):
            engine = registry.build_chat(kb)  # a fresh cache each round
            for question in questions:
                for label in (("miss", "hit") if cache else ("off",)):
                    start = time.perf_counter()
                    done = list(engine.turn(question))[-1]
                    timings[label].append(time.perf_counter() - start)
                    assert done.cached == (label == "hit") or not done.answered, (label, question, done)
        kb.close()
    return {f"{k}_p50_ms": p50(v) for k, v in timings.items()} | {"turns": len(timings["off"])}


def over_http(work: Path, questions: list[str], rounds: int, limits: bool) -> dict:
    server, url = start_server(ROOT, config(work, True, limits))
    timings: dict[str, list[float]] = {"miss": [], "hit": []}
    cpu: dict[str, float] = {"miss": 0.0, "hit": 0.0}
    try:
        with httpx.Client(timeout=120) as http:
            for n in range(rounds):
                for question in questions:
                    for label in ("miss", "hit"):
                        asked = question if n == 0 else f"{question} ({n})"  # a new question each round: a miss first
                        before, start = cpu_seconds(server.pid), time.perf_counter()
                        body = http.post(f"{url}/api/chat", json={"message": asked, "stream": False}).json()
                        timings[label].append(time.perf_counter() - start)
                        cpu[label] += cpu_seconds(server.pid) - before
                        assert "done" in body, body
    finally:
        server.terminate()
        server.wait(60)
    turns = len(timings["miss"])
    return {"limiter": "on" if limits else "off", "miss_p50_ms": p50(timings["miss"]), "hit_p50_ms": p50(timings["hit"]),
            "miss_cpu_ms_per_turn": round(1000 * cpu["miss"] / turns, 2), "hit_cpu_ms_per_turn": round(1000 * cpu["hit"] / turns, 2),
            "turns": turns}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=len(QUESTIONS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "cache.json")
    args = parser.parse_args()
    questions = QUESTIONS[: args.questions]
    with tempfile.TemporaryDirectory(prefix="kl-cache-") as tmp:
        work = Path(tmp)
        shutil.copytree(ROOT / "kotaemon_like" / "demo" / "knowledge", work / "knowledge")
        (work / "no-plugins").mkdir()
        kb = registry.build_knowledge_base(registry.load(config(work, False, False)))
        registry.build_indexer(kb).sync()
        kb.close()
        result = {"inprocess": inprocess(work, questions, args.rounds),
                  "http": [over_http(work, questions, args.rounds, limits) for limits in (False, True)]}
    print(json.dumps(result, indent=1))
    args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
