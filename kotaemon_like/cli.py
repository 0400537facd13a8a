"""The `kl` command: index a folder, ask a question, rebuild the index."""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from pathlib import Path

from . import registry
from .config import ConfigError, Settings
from .ingest.manifest import IndexMismatchError
from .logs import setup_logging
from .stores.faiss_store import DimensionMismatchError

log = logging.getLogger(__name__)
USER_ERRORS = (ConfigError, IndexMismatchError, DimensionMismatchError)


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


def run_index(settings: Settings, folder: str | None) -> int:
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    kb = registry.build_knowledge_base(settings)
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
    finally:
        kb.close()
    _print_report(report)
    return 0


def run_reindex(settings: Settings, folder: str | None) -> int:
    index_dir = Path(settings.paths.index)
    if index_dir.exists():
        print(f"removing the index in {index_dir} and rebuilding it from {folder or settings.paths.knowledge}")
        shutil.rmtree(index_dir)
    return run_index(settings, folder)


def run_ask(settings: Settings, question: str) -> int:
    from .chat import CitationEvent, DoneEvent, TokenEvent

    kb = registry.build_knowledge_base(settings)
    try:
        registry.build_indexer(kb)  # checks the index matches the configured embedder
        engine = registry.build_chat(kb)
        citations = []
        for event in engine.turn(question):
            if isinstance(event, TokenEvent):
                print(event.text, end="", flush=True)
            elif isinstance(event, CitationEvent):
                citations.append(event)
            elif isinstance(event, DoneEvent):
                print()
        if citations:
            print("\nSources:")
            for c in citations:
                print(f"  [{c.number}] {c.source} p.{c.page}")
    finally:
        kb.close()
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="kl", description="kotaemon-like: RAG for customer service")
    top.add_argument("--config", help="config file (default: $KL_CONFIG or config/default.yaml)")
    top.add_argument("--log-level", default="WARNING", help="DEBUG, INFO, WARNING (default) or ERROR")
    sub = top.add_subparsers(dest="command", required=True)
    index = sub.add_parser("index", help="index new and changed files of a folder, drop deleted ones")
    index.add_argument("folder", nargs="?", help="knowledge folder (default: paths.knowledge in the config)")
    reindex = sub.add_parser("reindex", help="delete the index and rebuild it from the folder (after changing the embedder)")
    reindex.add_argument("folder", nargs="?")
    ask = sub.add_parser("ask", help="answer one question from the index, with sources")
    ask.add_argument("question")
    sub.add_parser("check-config", help="validate the config file and exit")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    setup_logging(args.log_level)
    try:
        settings = registry.load(args.config)
        if args.command == "index":
            return run_index(settings, args.folder)
        if args.command == "reindex":
            return run_reindex(settings, args.folder)
        if args.command == "ask":
            return run_ask(settings, args.question)
        if args.command == "check-config":
            print(f"{settings.source_file}: OK")
            return 0
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; the index holds every file finished so far", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
