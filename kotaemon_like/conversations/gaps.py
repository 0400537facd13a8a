"""Knowledge gaps: the customer questions the documents failed, grouped by meaning with the configured embedder.

A question counts when the assistant's reply to it found nothing (`answered` false), or when it was asked to
the assistant in a conversation that then went to a person or was rated 2 or less.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select

from .stats import ConversationStats, Period, conv, msg

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Question:
    conversation_id: str
    text: str
    reason: str  # unanswered | handed_off | rated_badly


def gap_questions(stats: ConversationStats, tenant: str, p: Period, limit: int = 2000) -> list[Question]:
    """The failed questions of the period (newest `limit`), one per conversation and text."""
    handed = stats.handed_off(tenant)
    bad = stats.rated_badly(tenant)
    query = (select(msg.c.id, msg.c.conversation_id, msg.c.role, msg.c.text, msg.c.answered, handed.label("handed"), bad.label("bad"))
             .join(conv, (conv.c.tenant_id == msg.c.tenant_id) & (conv.c.id == msg.c.conversation_id))
             .where(msg.c.tenant_id == tenant, msg.c.role.in_(("customer", "assistant")),
                    stats.in_period(msg.c.created_at, p))
             .order_by(msg.c.conversation_id, msg.c.id))
    with stats.engine.connect() as c:
        rows = c.execute(query).all()
    found: dict[tuple[str, str], tuple[int, Question]] = {}
    asked = None  # the customer message the next assistant reply answers
    for row in rows:
        if row.role == "customer":
            asked = row if row.text.strip() else None
            continue
        if asked is None or asked.conversation_id != row.conversation_id:
            continue
        reason = "unanswered" if row.answered is False else "handed_off" if row.handed else "rated_badly" if row.bad else ""
        key = (asked.conversation_id, " ".join(asked.text.split()).lower())
        if reason and (key not in found or reason == "unanswered"):
            found[key] = (asked.id, Question(asked.conversation_id, asked.text.strip(), reason))
        asked = None
    return [question for _, question in sorted(found.values(), key=lambda item: item[0])][-limit:]


def cluster(vectors: np.ndarray, threshold: float) -> list[int]:
    """Average-linkage clusters whose members are on average at least `threshold` cosine-similar; a label per row."""
    if len(vectors) == 0:
        return []
    if len(vectors) == 1:
        return [0]
    from scipy.cluster.hierarchy import fcluster, linkage

    tree = linkage(vectors.astype(np.float64), method="average", metric="cosine")
    return [int(label) - 1 for label in fcluster(tree, t=1.0 - threshold, criterion="distance")]


def knowledge_gaps(stats: ConversationStats, embedder, tenant: str, p: Period, threshold: float = 0.45,
                   examples: int = 5) -> list[dict]:
    """Groups of failed questions, largest first: count, conversations, reasons and a few example questions."""
    questions = gap_questions(stats, tenant, p)
    if not questions:
        return []
    vectors = np.asarray(embedder.embed_documents([q.text for q in questions]), dtype=np.float32)
    labels = cluster(vectors, threshold)
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        groups.setdefault(label, []).append(index)
    out = []
    for members in groups.values():
        centre = vectors[members].mean(axis=0)
        # the example list starts with the question closest to the group's centre: the best name for it
        order = sorted(members, key=lambda i: -float(vectors[i] @ centre / (np.linalg.norm(vectors[i]) * np.linalg.norm(centre) or 1)))
        texts = list(dict.fromkeys(questions[i].text for i in order))
        out.append({"topic": texts[0], "count": len(members),
                    "conversations": len({questions[i].conversation_id for i in members}),
                    "reasons": dict(Counter(questions[i].reason for i in members)),
                    "examples": texts[:examples]})
    out.sort(key=lambda g: (-g["count"], g["topic"]))
    log.info("knowledge gaps", extra={"tenant": tenant, "period": p.label, "questions": len(questions), "groups": len(out)})
    return out
