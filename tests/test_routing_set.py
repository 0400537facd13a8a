"""The routing set (plugins/requests.jsonl) through the rules of the embedded router with the bundled embedder,
the classifier off (it learns from this very file; test_request_classifier.py measures it on a split it never
saw): no knowledge question may reach a plugin, and requests must reach the right one (bench/routing.py reports
precision and recall per plugin and split). `blind` is tuning material now and held to the same figures; the
probes and the later blind splits are reported by the benchmark only; `quay` lives in a file of its own, never read here."""

from __future__ import annotations

import json

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.slow

TUNED = ("tune", "dev", "held", "test", "unseen", "fresh", "blind")  # every split the router and the plugins were tuned on
ROWS = [row for line in (ROOT / "plugins" / "requests.jsonl").read_text(encoding="utf-8").splitlines()
        if (row := json.loads(line))["split"] in TUNED]


@pytest.fixture(scope="module")
def routes(embedder):
    from kotaemon_like.config import ToolsSettings
    from kotaemon_like.tools import Toolbox

    with Toolbox(ToolsSettings(folder=ROOT / "plugins", reload=False, requests_file=""), embedder, entry_points=False, watch=False) as box:
        return {row["text"]: (d.name if (d := box.route(row["text"])) else None) for row in ROWS}


def test_the_set_is_big_enough_and_bilingual():
    assert len(ROWS) >= 80 and {r["lang"] for r in ROWS} == {"en", "zh"} and {r["split"] for r in ROWS} == set(TUNED)
    assert sum(r["expect"] is None for r in ROWS) >= 40 and sum(r["expect"] is not None for r in ROWS) >= 40


@pytest.mark.parametrize("row", [r for r in ROWS if r["expect"] is None], ids=lambda r: f"{r['split']}: {r['text']}")
def test_no_knowledge_question_is_hijacked(routes, row):
    assert routes[row["text"]] is None


@pytest.mark.parametrize("split", TUNED)
def test_requests_reach_the_right_plugin(routes, split):
    # every split tuned on routes all its requests right (bench/results/routing.json); 3 % is the margin
    requests = [r for r in ROWS if r["expect"] is not None and r["split"] == split]
    wrong = [(r["text"], routes[r["text"]]) for r in requests if routes[r["text"]] != r["expect"]]
    assert len(wrong) <= 0.03 * len(requests), wrong
