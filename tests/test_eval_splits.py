"""The evaluation sets' splits: the locked routing (`inlet`) and answer (`inlet`) splits are well formed, share no message
with an earlier split or with the classifier's training file, and are left out of the benchmarks unless asked
for by name (nothing here routes or answers them)."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from .conftest import ROOT

PLUGINS = {"order_status", "create_ticket", "handoff_to_human"}


def bench(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_locked_routing_split_is_well_formed_and_new():
    routing = bench("routing")
    rows = routing.load_set()
    assert {row["split"] for row in rows} <= set(routing.SPLITS)
    assert {row["split"] for row in routing.load_set(routing.LOCKED_SET)} == {routing.LOCKED}
    locked = [row for row in rows if row["split"] == routing.LOCKED]
    assert len(locked) >= 140 and {row["lang"] for row in locked} == {"en", "zh"}
    assert all(row["expect"] in PLUGINS or row["expect"] is None for row in locked)
    assert sum(row["expect"] is None for row in locked) >= 60 and {row["expect"] for row in locked} >= PLUGINS
    earlier = {row["text"].strip().lower() for row in rows if row["split"] != routing.LOCKED}
    texts = [row["text"].strip().lower() for row in locked]
    assert len(set(texts)) == len(texts) and not set(texts) & earlier
    # the router's classifier learns from plugins/requests.jsonl: the locked split must not be in it
    training = {row["text"].strip().lower() for row in routing.load_set(routing.SET)}
    assert routing.SET.parent.name == "plugins" and len(training) > 1000 and not set(texts) & training


def test_bench_routing_leaves_the_locked_split_out_unless_named():
    routing = bench("routing")
    rows = routing.load_set()
    assert routing.LOCKED not in {row["split"] for row in routing.select(rows, exclude=["fresh"])}
    assert {"blind", "sealed"} <= {row["split"] for row in routing.select(rows)} and \
        routing.LOCKED not in {row["split"] for row in routing.select(rows)}
    assert {row["split"] for row in routing.select(rows, only=[routing.LOCKED])} == {routing.LOCKED}
    assert routing.LOCKED in {row["split"] for row in routing.select(rows, include_locked=True)}


def test_bench_answers_leaves_the_locked_split_out_unless_named():
    answers = bench("answers")
    answerable, unanswerable = answers.load_set()
    assert answers.LOCKED not in {q["split"] for q in answerable + unanswerable}
    assert {"blind", "sealed"} <= {q["split"] for q in answerable}
    answerable, unanswerable = answers.load_set(locked=True)
    locked = [q for q in answerable if q["split"] == answers.LOCKED]
    assert len(locked) >= 100 and sum(q["split"] == answers.LOCKED for q in unanswerable) >= 20
    assert {q["lang"] for q in locked} == {"en", "zh", "zh-en"}
    assert all(q["doc"] in answers.DOCUMENTS and q["pages"] and q["facts"] for q in locked)
    assert len({q["id"] for q in answerable + unanswerable}) == len(answerable + unanswerable)
    earlier = {q["q"].strip().lower() for q in answerable + unanswerable if q["split"] != answers.LOCKED}
    assert not {q["q"].strip().lower() for q in answerable + unanswerable if q["split"] == answers.LOCKED} & earlier
