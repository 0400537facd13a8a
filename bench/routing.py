"""Tool routing without an LLM: does each message reach the right plugin, and no knowledge question a plugin?

    python bench/routing.py                 # every split of plugins/requests.jsonl, each by a classifier trained without it
    python bench/routing.py --details       # also print every message with its decision
    python bench/routing.py --exclude tune  # leave a split out (repeatable)
    python bench/routing.py --only inlet --out bench/results/routing_inlet.json  # the locked split alone; run once

For the plugins in plugins/, reports per split and per language: precision and recall per plugin,
requests routed to the right plugin, and knowledge questions hijacked by a plugin. The labelled messages
live in plugins/requests.jsonl, which the router's classifier learns from (kotaemon_like/tools/classifier.py),
so each split is routed by a classifier trained WITHOUT that split (leave one split out): every figure is on
messages the classifier has not seen. The rules, though, were tuned on every split of that file: `tune`, `dev`,
`held`, `test`, `unseen` and `fresh` were each held back for a while, measured, and tuned on since; `blind`,
`sealed` and `vault` were written blind, one after another, each run once and then tuned on; `probe6`-`probe8`
were measured before the rules saw them; `harbor` was written blind after vault had been tuned on, run twice
(before and after the classifier's "no question for information" rule) and added to the file since; so was
`quay`, written blind after harbor and run once, `reef`, written blind after quay had been run, run once, and
`wharf`, written blind after reef had been run, run once, and `jetty`, written blind after wharf had been run,
run once, `kelp`, written blind after jetty had been run, run once, and `shoal`, written blind after kelp had been
run, run once, `cove`, written blind after shoal had been run, run once, and `lagoon`, written blind after cove had
been run, run once, `atoll`, written blind after lagoon had been run, run once, and `fjord`, written blind after atoll had
been run, run once. `inlet` (tests/data/routing_inlet.jsonl), written blind after fjord had been run, is in no training
file: it is left out of every run unless `--include-locked` or `--only inlet` is given. Four routers run on the same messages: the router as `kl chat` runs it (classifier,
then rules weighing the knowledge base's relevance: the Debian FAQ from ../shared/data/pdfs indexed with the
default config; skipped when absent), the rules alone, the rules with the knowledge base, and the first
embedded router as the baseline (example similarity plus keyword and argument bonuses over 0.5).
Writes bench/results/routing.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kotaemon_like import registry  # noqa: E402
from kotaemon_like.config import ToolsSettings  # noqa: E402
from kotaemon_like.embedders import SentenceTransformerEmbedder, cache_dir  # noqa: E402
from kotaemon_like.tools.classifier import Labelled, RequestClassifier, VectorStore, multilingual_embedder  # noqa: E402
from kotaemon_like.tools import Toolbox  # noqa: E402

SET = ROOT / "plugins" / "requests.jsonl"  # every split tuned on; the classifier's training file
LOCKED_SET = ROOT / "tests" / "data" / "routing_inlet.jsonl"  # the split nobody tunes on, in a file of its own
FAQ = ROOT.parent / "shared" / "data" / "pdfs" / "debian-faq.en.pdf"
KNOWLEDGE = "knowledge base"  # the expected route of a question a plugin must leave alone
LOCKED = "inlet"  # left out of every run that does not ask for it, so tuning never sees it
SPLITS = ("tune", "dev", "held", "test", "unseen", "fresh", "blind", "probe6", "probe7", "probe8", "sealed", "vault", "harbor", "quay", "reef", "wharf", "jetty", "kelp", "shoal", "cove", "lagoon", "atoll", "fjord", LOCKED)  # as written

# the previous router's keywords per plugin (its rule: best example cosine, +0.1 for a keyword, +0.1 for
# an argument, 0 when a counter-example is closer; a plugin at 0.5 or more fires)
BASELINE_KEYWORDS = {
    "order_status": ("order", "package", "parcel", "tracking", "shipped", "delivery"),
    "create_ticket": ("complaint", "ticket", "broken", "damaged", "refund"),
    "handoff_to_human": ("human", "agent", "person", "representative", "operator"),
}


def load_set(*paths: Path) -> list[dict]:
    """The messages of `paths` (default: the training file and the locked split)."""
    return [json.loads(line) for path in paths or (SET, LOCKED_SET) if path.is_file()
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def select(rows: list[dict], only=(), exclude=(), include_locked: bool = False) -> list[dict]:
    """The rows of the splits asked for: `only` these, else all but `exclude`; LOCKED only when named or included."""
    if only:
        return [row for row in rows if row["split"] in only and row["split"] not in exclude]
    return [row for row in rows if row["split"] not in exclude and (include_locked or row["split"] != LOCKED)]


def baseline_route(box: Toolbox, message: str) -> str | None:
    """The previous router's decision, on the same examples and embedder."""
    router, lowered = box.router, message.lower()
    query = router.embedder.embed_documents([message])[0]
    best, choice = 0.5, None
    for name, plugin in box.plugins().items():
        cls = plugin.spec.cls
        similarity = float((router._example_vectors(list(cls.examples)) @ query).max())
        if cls.counter_examples and float((router._example_vectors(list(cls.counter_examples)) @ query).max()) >= similarity:
            continue
        hits = any(re.search(rf"\b{re.escape(k)}\b", lowered) for k in BASELINE_KEYWORDS.get(name, ()))
        score = similarity + 0.1 * (hits + bool(cls.match_patterns(message)))
        if score >= best:
            best, choice = score, name
    return choice


def knowledge_relevance(embedder) -> tuple[callable, object] | tuple[None, None]:
    """best relevance(message) over the Debian FAQ indexed with the default config; (None, None) without the PDF."""
    if not FAQ.is_file():
        return None, None
    work = Path(tempfile.mkdtemp(prefix="kl-routing-"))
    (work / "knowledge").mkdir()
    shutil.copy(FAQ, work / "knowledge" / FAQ.name)
    os.environ["KL_KNOWLEDGE_DIR"], os.environ["KL_INDEX_DIR"] = str(work / "knowledge"), str(work / "index")
    kb = registry.build_knowledge_base(registry.load(ROOT / "config" / "default.yaml"))
    registry.build_indexer(kb).sync()
    retriever = registry.build_retriever(kb)

    def best(message: str) -> float:
        return max((h.relevance for h in retriever.retrieve(message)), default=0.0)

    def close() -> None:
        kb.close()
        shutil.rmtree(work, ignore_errors=True)

    return best, close


def score(rows: list[dict], routes: list[str], plugins: list[str]) -> dict:
    """Precision / recall per plugin, requests routed right, knowledge questions hijacked."""
    out: dict = {"messages": len(rows)}
    for name in plugins:
        predicted = sum(1 for r in routes if r == name)
        expected = sum(1 for row in rows if row["expect"] == name)
        right = sum(1 for row, r in zip(rows, routes) if r == name and row["expect"] == name)
        out[name] = {"precision": round(right / predicted, 3) if predicted else None,
                     "recall": round(right / expected, 3) if expected else None, "expected": expected}
    requests = [(row, r) for row, r in zip(rows, routes) if row["expect"] != KNOWLEDGE]
    questions = [(row, r) for row, r in zip(rows, routes) if row["expect"] == KNOWLEDGE]
    out["requests"] = len(requests)
    out["requests_routed_right"] = round(sum(r == row["expect"] for row, r in requests) / len(requests), 3) if requests else None
    out["knowledge_questions"] = len(questions)
    out["knowledge_hijacked"] = sum(r != KNOWLEDGE for _, r in questions)
    out["hijacked"] = [row["text"] for row, r in questions if r != KNOWLEDGE]
    out["missed"] = [f"{row['text']} -> {r}" for row, r in requests if r != row["expect"]]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--details", action="store_true", help="print every message with its decisions")
    parser.add_argument("--exclude", action="append", default=[], metavar="SPLIT",
                        help="leave this split out: neither routed nor reported (repeatable)")
    parser.add_argument("--include-locked", action="store_true", help=f"also route the `{LOCKED}` split (run once)")
    parser.add_argument("--only", action="append", default=[], metavar="SPLIT",
                        help=f"route only this split (repeatable); `--only {LOCKED}` runs the locked split alone")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "routing.json")
    args = parser.parse_args()

    rows = select(load_set(), only=args.only, exclude=args.exclude, include_locked=args.include_locked)
    if not rows:
        parser.error(f"no messages left in {SET.name} after --only/--exclude; the splits are {', '.join(SPLITS)}")
    splits = [s for s in SPLITS if any(row["split"] == s for row in rows)]
    splits += sorted({row["split"] for row in rows} - set(splits))
    for row in rows:
        row["expect"] = row["expect"] or KNOWLEDGE
    embedder = SentenceTransformerEmbedder()
    box = Toolbox(ToolsSettings(folder=ROOT / "plugins", reload=False), embedder, entry_points=False, watch=False)
    plugins = sorted(box.plugins())
    relevance, close = knowledge_relevance(embedder)
    specs = {n: p.spec for n, p in box.plugins().items()}
    store = VectorStore(multilingual_embedder(), cache_dir("routing"))
    training = load_set(SET)
    # leave one split out: each split is routed by a classifier that never saw it (the locked split is in no file)
    learnt = {split: RequestClassifier.for_plugins(store, specs, [Labelled(r["text"], r["expect"]) for r in training
                                                                  if r["split"] != split]) for split in splits}
    knowledge = relevance or (lambda text: None)
    routers = {
        "router (as kl chat runs)": lambda row: box.router.route(row["text"], specs, knowledge=knowledge(row["text"]),
                                                                 classifier=learnt[row["split"]]),
        "rules alone": lambda row: box.router.route(row["text"], specs),
        "baseline (previous router)": lambda row: baseline_route(box, row["text"]),
    }
    if relevance is not None:
        routers["rules + knowledge base"] = lambda row: box.router.route(row["text"], specs, knowledge=relevance(row["text"]))
    results: dict = {"set": str(SET.relative_to(ROOT)), "splits": splits, "embedder": embedder.name, "plugins": plugins,
                     "knowledge_base": FAQ.name if relevance else None, "routers": {}}
    for label, route in routers.items():
        route(rows[0])  # the example vectors are embedded once, on the first message
        start, cpu = time.perf_counter(), time.process_time()
        decided = [route(row) for row in rows]
        ms = (time.perf_counter() - start) * 1000 / len(rows)
        cpu_ms = (time.process_time() - cpu) * 1000 / len(rows)
        routes = [(d if isinstance(d, str) else d.name) if d else KNOWLEDGE for d in decided]
        # CPU time is the honest cost on a loaded machine; with the knowledge base it includes retrieval
        per_router: dict = {"ms_per_message": round(ms, 2), "cpu_ms_per_message": round(cpu_ms, 2)}
        for split in splits:
            for lang in ("all", "en", "zh"):
                picked = [(row, r) for row, r in zip(rows, routes)
                          if row["split"] == split and lang in ("all", row["lang"])]
                per_router[f"{split}/{lang}"] = score([p[0] for p in picked], [p[1] for p in picked], plugins)
        results["routers"][label] = per_router
        if args.details:
            for row, r in zip(rows, routes):
                mark = "  " if r == row["expect"] else "XX"
                print(f"{mark} [{label[:8]}] {row['split']:4} {row['expect']:17} -> {r:17} {row['text']}")
    box.close()
    if close is not None:
        close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    for label, per_router in results["routers"].items():
        for split in splits:
            s = per_router[f"{split}/all"]
            print(f"{label:28} {split}: requests right {s['requests_routed_right']}, "
                  f"hijacked {s['knowledge_hijacked']}/{s['knowledge_questions']}, "
                  + ", ".join(f"{p} P {s[p]['precision']} R {s[p]['recall']}" for p in plugins))


if __name__ == "__main__":
    main()
