"""The admin statistics over real HTTP: figures and gaps as JSON, every CSV table, admin-only access, the page."""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from kotaemon_like import registry
from kotaemon_like.server.app import create_app

from .conftest import write_config
from .stats_day import EXPECTED, REFUNDS, SHIPPING, Clock, write_day
from .test_server import LiveServer

pytestmark = pytest.mark.slow
DAY = {"kind": "day", "date": "2026-03-10"}


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("stats")
    (workdir / "data" / "knowledge").mkdir(parents=True)
    (workdir / "config").mkdir()
    config = write_config(workdir, """
        stats: {timezone: Europe/Berlin}
        tools: {reload: false}
        """)
    app = create_app(registry.load(config), ui=False)
    store = app.state.kl.conversations
    with pytest.MonkeyPatch.context() as patch:
        ids = write_day(store, Clock(patch))
    admin = store.add_user("default", "root", "a-long-passphrase-2", "admin", "Root")
    agent = store.get_user("default", username="alice")
    with LiveServer(app) as server:
        server.ids = ids
        server.admin = {"Authorization": f"Bearer {store.create_api_key('default', admin.id)[1]}"}
        server.agent = {"Authorization": f"Bearer {store.create_api_key('default', agent.id)[1]}"}
        yield server


def get(live, path: str, headers=None, **params) -> httpx.Response:
    return httpx.get(live.url + path, params=params or DAY, headers=live.admin if headers is None else headers, timeout=120)


def csv_rows(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.text)))


def test_figures_of_the_configured_time_zone_as_json(live):
    figures = get(live, "/api/admin/stats").json()
    assert {k: figures[k] for k in EXPECTED} == EXPECTED
    assert figures["period"] == {"kind": "day", "label": "2026-03-10", "timezone": "Europe/Berlin",
                                 "start": "2026-03-09T23:00:00+00:00", "end": "2026-03-10T23:00:00+00:00"}
    assert get(live, "/api/admin/stats", kind="week", date="2026-03-12").json()["conversations"] == 8


def test_only_admins_see_statistics(live):
    assert get(live, "/api/admin/stats", headers={}).status_code == 401
    assert get(live, "/api/admin/stats", headers=live.agent).status_code == 403
    assert get(live, "/api/admin/stats/conversations.csv", headers=live.agent).status_code == 403
    assert get(live, "/api/admin/stats", kind="year").status_code == 422
    assert get(live, "/api/admin/stats/passwords.csv").status_code == 404


def test_knowledge_gaps_as_json_and_csv(live):
    gaps = get(live, "/api/admin/stats/gaps").json()["gaps"]
    assert [(set(g["examples"]), g["count"]) for g in gaps] == [(REFUNDS, 3), (SHIPPING, 2)]
    rows = csv_rows(get(live, "/api/admin/stats/gaps.csv"))
    assert rows[0] == ["topic", "questions", "conversations", "unanswered", "handed_off", "rated_badly", "examples"]
    assert [r[1:6] for r in rows[1:]] == [["3", "2", "3", "0", "0"], ["2", "2", "2", "0", "0"]]
    assert set(rows[1][6].split(" | ")) == REFUNDS


def test_summary_and_small_tables_as_csv(live):
    summary = dict(csv_rows(get(live, "/api/admin/stats/summary.csv"))[1:])
    assert summary["conversations"] == "7" and summary["ai_resolved_rate"] == "0.4286"
    assert summary["first_human_reply_p90_s"] == "168.0" and summary["time_to_resolve_median_s"] == "7200.0"
    assert csv_rows(get(live, "/api/admin/stats/satisfaction.csv"))[1:] == [[str(s), "1"] for s in range(1, 6)]
    assert csv_rows(get(live, "/api/admin/stats/tools.csv")) == [
        ["plugin", "outcome", "calls"], ["order_status", "failed", "1"], ["order_status", "ok", "1"]]
    assert csv_rows(get(live, "/api/admin/stats/cited.csv"))[1:] == [["warranty.md", "1", "2"], ["faq.md", "2", "1"]]


def test_conversations_with_their_ratings_as_csv(live):
    response = get(live, "/api/admin/stats/conversations.csv")
    assert 'filename="conversations-default-2026-03-10.csv"' in response.headers["content-disposition"]
    rows = csv_rows(response)
    header = rows[0]
    assert header == ["id", "created_at", "channel", "state", "closed_at", "questions", "unanswered", "handed_off",
                      "ai_resolved", "first_agent_reply", "rating", "comment"]
    names = {v: k for k, v in live.ids.items()}
    got = [(names[r[0]], r[3], r[5], r[6], r[7], r[8], r[10], r[11]) for r in rows[1:]]
    comment = 'scored {}, "quoted", with a comma'.format
    assert got == [
        ("warranty", "closed", "1", "0", "no", "yes", "5", comment(5)),
        ("order", "closed", "1", "0", "no", "yes", "", ""),
        ("refund", "closed", "2", "2", "yes", "no", "2", comment(2)),
        ("norway", "closed", "1", "1", "yes", "no", "4", comment(4)),
        ("headphones", "closed", "1", "1", "no", "no", "1", comment(1)),
        ("sweden", "bot", "1", "1", "yes", "no", "", ""),
        ("hours", "closed", "1", "0", "no", "yes", "3", comment(3)),
    ]
    assert rows[1][1] == "2026-03-09T23:30:00+00:00" and rows[3][9] == "2026-03-10T09:05:00+00:00"
    assert '"scored 5, ""quoted"", with a comma"' in response.text  # quotes doubled, the field quoted


def test_the_statistics_page_is_served_with_its_script(live):
    page = httpx.get(live.url + "/console/stats")
    assert page.status_code == 200 and "/pages/stats.js" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    script = httpx.get(live.url + "/pages/stats.js")
    assert script.status_code == 200 and "/api/admin/stats/gaps" in script.text
