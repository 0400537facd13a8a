"""The evaluation sets' splits: the `sealed` routing and answer splits are well formed, share no message with an
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


def test_the_sealed_routing_split_is_well_formed_and_new():
    routing = bench("routing")
    rows = routing.load_set()
    assert {row["split"] for row in rows} <= set(routing.SPLITS)
    assert {row["split"] for row in routing.load_set(routing.SEALED_SET)} == {"sealed"}
    sealed = [row for row in rows if row["split"] == "sealed"]
    assert len(sealed) >= 140 and {row["lang"] for row in sealed} == {"en", "zh"}
    assert all(row["expect"] in PLUGINS or row["expect"] is None for row in sealed)
    assert sum(row["expect"] is None for row in sealed) >= 60 and {row["expect"] for row in sealed} >= PLUGINS
    earlier = {row["text"].strip().lower() for row in rows if row["split"] != "sealed"}
    texts = [row["text"].strip().lower() for row in sealed]
    assert len(set(texts)) == len(texts) and not set(texts) & earlier


def test_bench_routing_leaves_sealed_out_unless_named():
    routing = bench("routing")
    rows = routing.load_set()
    assert "sealed" not in {row["split"] for row in routing.select(rows, exclude=["fresh"])}
    assert {"blind", "fresh"} <= {row["split"] for row in routing.select(rows)} and \
        "sealed" not in {row["split"] for row in routing.select(rows)}
    assert {row["split"] for row in routing.select(rows, only=["sealed"])} == {"sealed"}
    assert "sealed" in {row["split"] for row in routing.select(rows, include_sealed=True)}


def test_bench_answers_leaves_sealed_out_unless_named():
    answers = bench("answers")
    answerable, unanswerable = answers.load_set()
    assert "sealed" not in {q["split"] for q in answerable + unanswerable}
    assert "blind" in {q["split"] for q in answerable}
    answerable, unanswerable = answers.load_set(sealed=True)
    sealed = [q for q in answerable if q["split"] == "sealed"]
    assert len(sealed) >= 100 and sum(q["split"] == "sealed" for q in unanswerable) >= 20
    assert {q["lang"] for q in sealed} == {"en", "zh", "zh-en"}
    assert all(q["doc"] in answers.DOCUMENTS and q["pages"] and q["facts"] for q in sealed)
    assert len({q["id"] for q in answerable + unanswerable}) == len(answerable + unanswerable)
    earlier = {q["q"].strip().lower() for q in answerable + unanswerable if q["split"] != "sealed"}
    assert not {q["q"].strip().lower() for q in answerable + unanswerable if q["split"] == "sealed"} & earlier
