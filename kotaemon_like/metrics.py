"""Prometheus metrics, one registry for the process; served by the API (/metrics) or `--metrics-port`."""

from __future__ import annotations

import os

from prometheus_client import Counter, Gauge, Histogram, start_http_server

INGEST_JOBS_QUEUED = Counter("kl_ingest_jobs_queued_total", "Ingest jobs published", ["action"])
INGEST_JOBS_DONE = Counter("kl_ingest_jobs_done_total", "Ingest jobs finished", ["result"])
INGEST_JOBS_FAILED = Counter("kl_ingest_jobs_failed_total", "Ingest job attempts that raised (retried or dead-lettered)")
INGEST_DEAD_LETTERS = Counter("kl_ingest_dead_letters_total", "Ingest jobs moved to the dead-letter stream")
INGEST_QUEUE_DEPTH = Gauge("kl_ingest_queue_depth", "Jobs waiting in the ingest queue, not yet delivered")
INGEST_QUEUE_PENDING = Gauge("kl_ingest_queue_pending", "Jobs delivered to a worker and not yet acknowledged")
INGEST_FRESHNESS = Histogram(
    "kl_ingest_freshness_seconds", "File event to searchable",
    buckets=(0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300, 900),
)
INGEST_FILE_SECONDS = Histogram(
    "kl_ingest_file_seconds", "Time to index one file", buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300)
)
INGEST_CHUNKS = Counter("kl_ingest_chunks_total", "Chunks embedded and stored")
WATCHER_BUFFERED = Gauge("kl_watcher_buffered_jobs", "Jobs the watcher holds because the queue is unreachable")


def serve_metrics(port: int, host: str | None = None) -> None:
    """Expose this process's metrics on http://host:port/metrics (watcher and worker processes);
    all interfaces unless KL_METRICS_HOST says otherwise (containers are scraped over their network)."""
    start_http_server(port, addr=host or os.environ.get("KL_METRICS_HOST", "0.0.0.0"))

CHAT_REQUESTS = Counter("kl_chat_requests_total", "Chat turns started", ["channel"])
CHAT_STAGE_SECONDS = Histogram(
    "kl_chat_stage_seconds", "Chat latency by stage (retrieval, first_token, total)", ["stage"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
CHAT_ANSWERS = Counter("kl_chat_answers_total", "Answers by the generator that produced them", ["generator"])
CHAT_NO_ANSWER = Counter("kl_chat_no_answer_total", "Turns where nothing relevant was found (I don't know)")
CHAT_TOKENS = Counter("kl_chat_tokens_total", "LLM tokens", ["kind"])
GENERATOR_FALLBACKS = Counter("kl_generator_fallbacks_total", "Generator failures that passed the turn on", ["generator"])

# Tool plugins: one series per plugin name (a handful), so the label stays low-cardinality.
TOOL_BREAKER_STATE = Gauge("kl_tool_breaker_state", "Circuit breaker per plugin: 0 closed, 1 open, 2 half-open", ["plugin"])
TOOL_CALLS = Counter("kl_tool_calls_total", "Plugin runs started (skipped calls are not counted here)", ["plugin"])
TOOL_FAILURES = Counter("kl_tool_failures_total", "Plugin runs that failed, by kind (error, timeout)", ["plugin", "kind"])
TOOL_SKIPS = Counter("kl_tool_skips_total", "Calls skipped because the plugin's breaker was open", ["plugin"])
TOOL_LATENCY = Histogram(
    "kl_tool_latency_seconds", "Plugin run time, up to the timeout", ["plugin"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)

HTTP_REQUESTS = Counter("kl_http_requests_total", "HTTP requests", ["route", "method", "status"])
HTTP_SECONDS = Histogram("kl_http_request_seconds", "HTTP request time (to the first byte for streams)", ["route"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
DOCUMENTS_INDEXED = Gauge("kl_documents_indexed", "Files indexed, by status", ["status"])
CHUNKS_INDEXED = Gauge("kl_chunks_indexed", "Chunks in the keyword index")

# Customer service, counted where it happens (the conversation figures themselves come from the store:
# conversations/service_metrics.py). Both series exist from the start, so a hit rate reads 0, not "no data".
ANSWER_CACHE = Counter("kl_answer_cache_total", "Answer cache look-ups, by result (hit, miss)", ["result"])
RATE_LIMITED = Counter("kl_rate_limited_total", "Requests refused by a rate limit, by route", ["route"])
for _result in ("hit", "miss"):
    ANSWER_CACHE.labels(_result)
