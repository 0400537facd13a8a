"""The evaluation sets' splits: the `blind` routing and answer splits are well formed, share no message with an
earlier split, and are left out of the benchmarks unless asked for by name (nothing here routes or answers them)."""

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


def test_the_blind_routing_split_is_well_formed_and_new():
    routing = bench("routing")
    rows = routing.load_set()
    assert {row["split"] for row in rows} <= set(routing.SPLITS)
    blind = [row for row in rows if row["split"] == "blind"]
    assert len(blind) >= 120 and {row["lang"] for row in blind} == {"en", "zh"}
    assert all(row["expect"] in PLUGINS or row["expect"] is None for row in blind)
    assert sum(row["expect"] is None for row in blind) >= 50 and {row["expect"] for row in blind} >= PLUGINS
    earlier = {row["text"].strip().lower() for row in rows if row["split"] != "blind"}
    texts = [row["text"].strip().lower() for row in blind]
    assert len(set(texts)) == len(texts) and not set(texts) & earlier


def test_bench_routing_leaves_blind_out_unless_named():
    routing = bench("routing")
    rows = routing.load_set()
    assert "blind" not in {row["split"] for row in routing.select(rows, exclude=["fresh"])}
    assert "blind" not in {row["split"] for row in routing.select(rows)}
    assert {row["split"] for row in routing.select(rows, only=["blind"])} == {"blind"}
    assert "blind" in {row["split"] for row in routing.select(rows, include_blind=True)}


def test_bench_answers_leaves_blind_out_unless_named():
    answers = bench("answers")
    answerable, unanswerable = answers.load_set()
    assert "blind" not in {q["split"] for q in answerable + unanswerable}
    answerable, unanswerable = answers.load_set(blind=True)
    blind = [q for q in answerable if q["split"] == "blind"]
    assert len(blind) >= 60 and sum(q["split"] == "blind" for q in unanswerable) >= 18
    assert {q["lang"] for q in blind} == {"en", "zh", "zh-en"}
    assert all(q["doc"] in answers.DOCUMENTS and q["pages"] and q["facts"] for q in blind)
    assert len({q["id"] for q in answerable + unanswerable}) == len(answerable + unanswerable)
