"""The statistics as tables (a header and rows) for the admin page and the CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io

TABLES = ("summary", "satisfaction", "tools", "cited", "gaps", "conversations")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run such a cell as a formula


def summary(figures: dict) -> list[list]:
    first, resolve = figures["first_human_reply_s"], figures["tickets"]["time_to_resolve_s"]
    return [
        ["conversations", figures["conversations"]], ["questions", figures["questions"]],
        ["ai_resolved", figures["ai_resolved"]], ["ai_resolved_rate", figures["ai_resolved_rate"]],
        ["handed_off", figures["handed_off"]], ["handoff_rate", figures["handoff_rate"]],
        ["assistant_turns", figures["assistant_turns"]], ["no_answer", figures["no_answer"]],
        ["no_answer_rate", figures["no_answer_rate"]],
        ["first_human_reply_median_s", first["median"]], ["first_human_reply_p90_s", first["p90"]],
        ["satisfaction_average", figures["satisfaction"]["average"]], ["ratings", figures["satisfaction"]["ratings"]],
        ["tickets_opened", figures["tickets"]["opened"]], ["tickets_resolved", figures["tickets"]["resolved"]],
        ["time_to_resolve_median_s", resolve["median"]], ["time_to_resolve_p90_s", resolve["p90"]],
    ]


def tables(figures: dict, gaps: list[dict] | None = None, conversations: list[dict] | None = None) -> dict[str, tuple[list, list]]:
    """Each table as (header, rows); `gaps` and `conversations` only when given (they cost more to compute)."""
    out = {
        "summary": (["figure", "value"], summary(figures)),
        "satisfaction": (["score", "ratings"], [[int(s), n] for s, n in figures["satisfaction"]["distribution"].items()]),
        "tools": (["plugin", "outcome", "calls"], [[t["plugin"], t["outcome"], t["calls"]] for t in figures["tools"]]),
        "cited": (["source", "page", "citations"], [[c["source"], c["page"], c["citations"]] for c in figures["cited"]]),
    }
    if gaps is not None:
        out["gaps"] = (["topic", "questions", "conversations", "unanswered", "handed_off", "rated_badly", "examples"],
                       [[g["topic"], g["count"], g["conversations"], *(g["reasons"].get(r, 0) for r in
                         ("unanswered", "handed_off", "rated_badly")), " | ".join(g["examples"])] for g in gaps])
    if conversations is not None:
        columns = ["id", "created_at", "channel", "state", "closed_at", "questions", "unanswered", "handed_off",
                   "ai_resolved", "first_agent_reply", "rating", "comment"]
        out["conversations"] = (columns, [[row[c] for c in columns] for row in conversations])
    return out


def cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat(timespec="seconds")
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value  # shown as text, never evaluated (OWASP CSV injection advice)
    return value


def to_csv(header: list, rows: list[list]) -> str:
    """RFC 4180 CSV (quotes, commas and newlines escaped by the csv module); times in UTC ISO 8601."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([cell(v) for v in row] for row in rows)
    return buffer.getvalue()
