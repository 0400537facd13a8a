"""The `kl` command: create a project, index a folder, ask a question, serve, rebuild the index."""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from pathlib import Path

from . import cli_conversations, cli_tenants, cli_usage, registry
from .config import ConfigError, Settings
from .ingest.manifest import IndexMismatchError
from .logs import setup_logging
from .queues.base import QueueUnavailable
from .stores.faiss_store import DimensionMismatchError
from .tenants import DEFAULT_TENANT

log = logging.getLogger(__name__)
# exit codes: 0 done, 1 files failed (`--strict`), 2 bad config or a service down, 130 interrupted
FILES_FAILED = 1
USER_ERRORS = (ConfigError, IndexMismatchError, DimensionMismatchError, QueueUnavailable)


def _print_report(report) -> None:
    for result in report.results:
        if result.action in ("failed", "skipped"):
            print(f"  {result.action:<8} {result.source}: {result.error}")
        elif result.action in ("new", "changed"):
            note = f"; {result.note}" if result.note else ""
            print(f"  {result.action:<8} {result.source} ({result.chunks} chunks{note})")
        elif result.action == "deleted":
            print(f"  deleted  {result.source}")
    print(report.summary())


def run_index(settings: Settings, folder: str | None, recreate: bool = False, strict: bool = False) -> int:
    """Sync the index with the folder; with `strict`, exit 1 when any file could not be indexed."""
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    kb = registry.build_knowledge_base(settings, recreate=recreate)
    try:
        indexer = registry.build_indexer(kb, folder)
        plan = indexer.plan()
        bar = tqdm(total=len(plan.to_index), unit="file", desc="indexing", disable=not plan.to_index, file=sys.stderr)

        def progress(result) -> None:
            bar.set_postfix_str(result.source[-40:], refresh=False)
            bar.update()

        with logging_redirect_tqdm():
            report = indexer.sync(on_progress=progress, plan=plan)
        bar.close()
        empty = kb.keyword_index.count() == 0
    finally:
        kb.close()
    _print_report(report)
    if empty:
        print(empty_folder_hint(folder or settings.paths.knowledge))
    return FILES_FAILED if strict and report.count("failed") else 0


def empty_folder_hint(folder) -> str:
    return (f"nothing to search yet: {Path(folder).resolve()} has no PDF, Markdown or text file. Copy your "
            "documents there and run `kl index` again, or try the demo shop: `kl init demo && cd demo && kl index`")


def run_reindex(settings: Settings, folder: str | None, strict: bool = False) -> int:
    index_dir = Path(settings.paths.index)
    print(f"rebuilding the index in {index_dir} from {folder or settings.paths.knowledge}")
    if index_dir.exists():
        shutil.rmtree(index_dir)
    return run_index(settings, folder, recreate=True, strict=strict)


def run_migrate(settings: Settings, target_config: str) -> int:
    """Copy vectors and chunks into the store another config names, without re-embedding."""
    from tqdm import tqdm

    from .ingest.migrate import copy_sqlite, migrate

    target = registry.load(target_config)
    if target.embedder != settings.embedder:
        raise ConfigError(
            f"{target.source_file}: embedder differs from {settings.source_file}; migrate copies vectors as they are, "
            "so both must name the same embedder (use `kl reindex` with the new config instead)"
        )
    kb = registry.build_knowledge_base(settings)
    registry.build_indexer(kb)
    target_dir = Path(target.paths.index)
    target_dir.mkdir(parents=True, exist_ok=True)
    store = registry.build("vector_store", target.vector_store, target, index_dir=target_dir, dim=kb.embedder.dim)
    try:
        bar = tqdm(total=kb.vector_store.count(), unit="chunk", desc="migrating", file=sys.stderr)
        copied = migrate(kb.vector_store, store, progress=lambda done, total: bar.update(done - bar.n))
        bar.close()
        if target_dir.resolve() != Path(settings.paths.index).resolve():
            for name in ("keyword.sqlite", "manifest.sqlite"):
                copy_sqlite(Path(settings.paths.index) / name, target_dir / name)
    finally:
        store.close()
        kb.close()
    print(f"copied {copied} chunks to {target.vector_store.type} ({target.source_file}); the target holds {copied}")
    return 0


def print_turn(events, verbose: bool = False) -> None:
    """Stream one turn to the terminal: answer text as it comes, then tool calls and sources."""
    from .chat import CitationEvent, DoneEvent, TokenEvent, ToolEvent

    citations = []
    for event in events:
        if isinstance(event, TokenEvent):
            print(event.text, end="", flush=True)
        elif isinstance(event, ToolEvent):
            print(f"[{event.name}: {event.status}] ", end="", flush=True)
        elif isinstance(event, CitationEvent):
            citations.append(event)
        elif isinstance(event, DoneEvent):
            print()
            if citations:
                print("\nSources:")
                for c in citations:
                    print(f"  [{c.number}] {c.source} p.{c.page}")
            if verbose:
                fell = f" after {', '.join(event.failed_generators)} failed" if event.failed_generators else ""
                print(f"  ({event.generator}{fell}; {event.latency_ms.get('total', 0):.0f} ms)")


def open_chat(settings: Settings, tenant: str | None = None):
    kb = registry.build_knowledge_base(settings)
    registry.build_indexer(kb)  # checks the index matches the configured embedder
    toolbox = registry.build_toolbox(settings, kb.embedder)
    for error in toolbox.load_errors():
        print(f"plugin skipped: {error.source}: {error.message}", file=sys.stderr)
    # tickets opened from the terminal land in the store, in the tenant's name
    _, desk = registry.build_conversations(settings, tenant=tenant or DEFAULT_TENANT)
    return kb, registry.build_chat(kb, toolbox=toolbox, desk=desk)


def run_ask(settings: Settings, question: str, tenant: str | None = None) -> int:
    kb, engine = open_chat(settings, tenant)
    try:
        if kb.keyword_index.count() == 0:
            print(f"the index in {settings.paths.index.resolve()} is empty: run `kl index` first", file=sys.stderr)
        print_turn(engine.turn(question, channel="cli"))
    finally:
        kb.close()
    return 0


def run_chat(settings: Settings, tenant: str | None = None) -> int:
    import uuid

    kb, engine = open_chat(settings, tenant)
    session = uuid.uuid4().hex
    print("Ask about your documents. /new starts a new conversation, /quit (or Ctrl-D) leaves.")
    try:
        while True:
            try:
                message = input("\nyou> ").strip()
            except EOFError:
                print()
                break
            if message in ("/quit", "/exit"):
                break
            if message == "/new":
                session = uuid.uuid4().hex
                print("(new conversation)")
                continue
            if message:
                print("bot> ", end="")
                print_turn(engine.turn(message, session_id=session, channel="cli"), verbose=True)
    finally:
        kb.close()
    return 0


def run_ingest(settings: Settings, watch: bool, workers: int, metrics_port: int | None, all_tenants: bool = False) -> int:
    import signal

    from .ingest_service import IngestService
    from .metrics import serve_metrics

    port = metrics_port or settings.worker.metrics_port
    if port:
        serve_metrics(port)
    if all_tenants:
        from .tenants.ingest import AllTenantsIngest

        service = AllTenantsIngest(settings, watch=watch, workers=workers, refresh_s=settings.tenants.refresh_s)
    else:
        service = IngestService(settings, watch=watch, workers=workers)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: service.request_stop())
    service.start()
    folders = "every active tenant's folder" if all_tenants else str(settings.paths.knowledge)
    what = " and ".join(p for p, on in (("watching " + folders, watch), (f"{workers} worker(s)", workers)) if on)
    print(f"{what}; queue: {settings.queue.type}. Ctrl-C to stop.", file=sys.stderr)
    healthy = service.wait()
    print("stopping: finishing the current job", file=sys.stderr)
    service.stop()
    if not healthy:  # exit so the supervisor (compose, systemd) restarts a process that stopped working
        print("error: an ingest thread stopped unexpectedly; see the log above", file=sys.stderr)
        return 1
    return 0


def run_serve(settings: Settings, host: str | None, port: int | None) -> int:
    import uvicorn

    from .server.app import create_app

    server = settings.server
    app = create_app(settings)
    mode = "embedded: API + UI + watcher + workers" if server.embedded_ingest else "API + UI (ingest runs elsewhere)"
    print(f"serving on http://{host or server.host}:{port or server.port} ({mode})", file=sys.stderr)
    # log_config=None: uvicorn's own loggers go through ours, so their lines are masked like every other
    uvicorn.run(app, host=host or server.host, port=port or server.port, log_level="warning", log_config=None,
                timeout_graceful_shutdown=int(server.grace_s) or None)
    return 0


def run_check_config(settings: Settings) -> int:
    """The config is valid and every tool plugin it points at loads (plugins are code: a broken one is an error)."""
    from .tools import Toolbox

    toolbox = Toolbox(settings.tools, None, watch=False)
    try:
        names, errors = sorted(toolbox.plugins()), [error.message for error in toolbox.load_errors()]
        try:
            requests = toolbox.requests()
        except (OSError, ValueError) as exc:
            requests, errors = [], [*errors, f"tools.requests_file: {exc}"]
    finally:
        toolbox.close()
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    if errors:
        return 2
    unknown = sorted({r.expect for r in requests if r.expect and r.expect not in names})
    if unknown:
        print(f"warning: tools.requests_file has lines for {', '.join(unknown)}, which no loaded plugin is; "
              "routing leaves them out", file=sys.stderr)
    learnt = (f"; routing learns from {len(requests)} labelled messages "
              f"({sum(r.expect is None for r in requests)} knowledge questions)") if requests else ""
    print(f"{settings.source_file}: OK; tool plugins: {', '.join(names) or 'none'}{learnt}")
    return 0


def run_init(folder: Path, demo: bool) -> int:
    from .project import init_project

    written = init_project(folder, demo=demo)
    documents = sum(1 for w in written if "knowledge" in Path(w).parts)
    print(f"created the project {folder.resolve()}: {len(written)} files"
          + (f", {documents} demo documents in data/knowledge" if documents else ""))
    steps = f"cd {folder} && " if folder.resolve() != Path.cwd().resolve() else ""
    question = "Can I return an item for a refund?"
    print(f"next: {steps}kl index && kl ask \"{question}\"" if documents else
          f"next: copy your documents into {folder / 'data' / 'knowledge'}, then {steps}kl index")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="kl", description="kotaemon-like: RAG for customer service",
        epilog="exit codes: 0 done; 1 files failed (index/reindex --strict); 2 bad config, or a service "
               "(Redis, Qdrant) unreachable; 130 interrupted",
    )
    top.add_argument("--config", help="config file (default: $KL_CONFIG, else ./config/default.yaml, else the packaged default)")
    top.add_argument("--log-level", default="WARNING", help="DEBUG, INFO, WARNING (default) or ERROR")
    sub = top.add_subparsers(dest="command", required=True)
    init = sub.add_parser("init", help="create a project folder: config, plugins, knowledge folder (with a demo shop), .env.example")
    init.add_argument("folder", nargs="?", default=".", help="the project folder (default: the current one)")
    init.add_argument("--empty", action="store_true", help="leave the knowledge folder empty (no demo documents)")
    index = sub.add_parser("index", help="index new and changed files of a folder, drop deleted ones")
    reindex = sub.add_parser("reindex", help="delete the index and rebuild it from the folder (after changing the embedder)")
    for command in (index, reindex):
        command.add_argument("folder", nargs="?", help="knowledge folder (default: paths.knowledge in the config)")
        command.add_argument("--strict", action="store_true",
                             help="exit 1 if any file failed (one line per failure is printed either way)")
    migrate = sub.add_parser("migrate", help="copy the index into the vector store another config names (no re-embedding)")
    migrate.add_argument("--to", required=True, metavar="CONFIG", help="the config naming the target store")
    ask = sub.add_parser("ask", help="answer one question from the index, with sources")
    ask.add_argument("question")
    serve = sub.add_parser("serve", help="the HTTP API and chat UI (with watcher and workers in embedded mode)")
    serve.add_argument("--host", help="default: server.host (127.0.0.1)")
    serve.add_argument("--port", type=int, help="default: server.port (8080)")
    sub.add_parser("chat", help="an interactive conversation in the terminal, with sources under each answer")
    watch = sub.add_parser("watch", help="watch the knowledge folder and queue changed files")
    watch.add_argument("--workers", type=int, default=None,
                       help="in-process indexing workers (default: config worker.threads with an in-process queue, 0 with Redis)")
    watch.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on this port")
    worker = sub.add_parser("worker", help="index queued files (run several for more throughput)")
    worker.add_argument("--threads", type=int, default=None, help="worker threads in this process (default: worker.threads)")
    worker.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on this port")
    for command in (watch, worker):
        command.add_argument("--all-tenants", action="store_true",
                             help="every active tenant, the default one included; tenants added later are picked up "
                                  "within tenants.refresh_s")
    orders = sub.add_parser("demo-orders", help="the demo orders API the order_status plugin talks to")
    orders.add_argument("--host", default="127.0.0.1")
    orders.add_argument("--port", type=int, default=8081)
    orders.add_argument("--failure-rate", type=float, help="share of requests answered with HTTP 500 (0..1)")
    orders.add_argument("--latency", type=float, help="seconds added to every request")
    orders.add_argument("--hang", action="store_true", help="never answer (to show timeouts and the breaker)")
    cli_conversations.add_parsers(sub)
    cli_tenants.add_parsers(sub)
    cli_usage.add_parser(sub)
    sub.add_parser("check-config", help="validate the config file and exit")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    setup_logging(args.log_level)
    try:
        if args.command == "init":
            return run_init(Path(args.folder), demo=not args.empty)
        if args.command == "demo-orders":
            from .demo_orders import run_demo_orders

            run_demo_orders(args.host, args.port, args.failure_rate, args.latency, args.hang or None)
            return 0
        settings = registry.load(args.config)
        if args.command == "tenants" or (args.command == "keys" and (getattr(args, "kind", None) or args.action == "rotate")):
            return cli_tenants.run(args, settings)
        if getattr(args, "all_tenants", False) and getattr(args, "tenant", None):
            raise ConfigError("give either --tenant or --all-tenants, not both")
        if args.command not in cli_conversations.COMMANDS:  # those take the tenant's accounts, not its folders
            settings = cli_tenants.for_tenant(settings, getattr(args, "tenant", None))
        print(f"kl: config {settings.source_file}; knowledge {settings.paths.knowledge.resolve()}; "
              f"index {settings.paths.index.resolve()}; plugins {Path(settings.tools.folder).resolve()}", file=sys.stderr)
        if args.command == "index":
            return run_index(settings, args.folder, strict=args.strict)
        if args.command == "reindex":
            return run_reindex(settings, args.folder, strict=args.strict)
        if args.command == "migrate":
            return run_migrate(settings, args.to)
        if args.command == "ask":
            return run_ask(settings, args.question, args.tenant)
        if args.command == "serve":
            return run_serve(settings, args.host, args.port)
        if args.command == "chat":
            return run_chat(settings, args.tenant)
        if args.command == "watch":
            workers = args.workers
            if workers is None:
                workers = settings.worker.threads if settings.queue.type == "memory" else 0
            return run_ingest(settings, watch=True, workers=workers, metrics_port=args.metrics_port,
                              all_tenants=args.all_tenants)
        if args.command == "worker":
            if settings.queue.type == "memory":
                raise ConfigError(
                    f"{settings.source_file}: queue.type is 'memory', which only reaches workers in the same process; "
                    "use `kl watch` (it runs workers too) or set queue.type: redis"
                )
            return run_ingest(settings, watch=False, workers=args.threads or settings.worker.threads,
                              metrics_port=args.metrics_port, all_tenants=args.all_tenants)
        if args.command in cli_conversations.COMMANDS:
            return cli_conversations.run(args, settings)
        if args.command == "usage":
            return cli_usage.run(args, settings)
        if args.command == "check-config":
            return run_check_config(settings)
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; the index holds every file finished so far", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
