"""Routing without an LLM: pick the plugin whose example phrases the message resembles, and pull out its arguments."""

from __future__ import annotations

import re
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from ..components import Embedder
from .base import ROUTE_PREFIX_CHARS
from .schema import PluginSpec

# score below which a message is not a tool request; with all-MiniLM-L6-v2 the requests in tests/test_router.py
# score 0.56 and up and the knowledge questions 0.40 and below
DEFAULT_THRESHOLD = 0.5
BONUS = 0.1  # a declared keyword in the message, or an argument found in it, tips a borderline match


# embedder -> example phrase -> vector; shared by every router on that embedder and kept across reloads
_VECTORS: "weakref.WeakKeyDictionary[Any, dict[str, np.ndarray]]" = weakref.WeakKeyDictionary()
_VECTORS_LOCK = threading.Lock()


@dataclass(frozen=True)
class RouteDecision:
    """The plugin to call, the arguments found so far, and the required ones still missing."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    score: float = 0.0

    @property
    def complete(self) -> bool:
        return not self.missing


class ToolRouter:
    """Embedding similarity to each plugin's `examples` plus its `keywords`; keywords alone without an embedder."""

    def __init__(self, embedder: Embedder | None = None, threshold: float = DEFAULT_THRESHOLD, bonus: float = BONUS):
        self.embedder, self.threshold, self.bonus = embedder, threshold, bonus

    def route(self, message: str, plugins: Mapping[str, PluginSpec], pending: RouteDecision | None = None) -> RouteDecision | None:
        """The best plugin for `message`, or None when it is not a tool request.

        `pending` is the previous turn's decision that still missed arguments: when this message
        supplies one of them (the customer answered the question), that decision is completed.
        """
        text = " ".join(message[:ROUTE_PREFIX_CHARS].split())
        if not text:
            return None
        if pending is not None and pending.missing and pending.name in plugins:
            spec = plugins[pending.name]
            found = {k: v for k, v in spec.cls.extract(text).items() if k in pending.missing}
            if found:
                return _decision(spec, {**pending.arguments, **found}, pending.score)
        scores = self.scores(text, plugins)
        if not scores:
            return None
        name, score = max(scores.items(), key=lambda item: item[1])
        if score < (self.threshold if self.embedder is not None else 1.0):
            return None
        return _decision(plugins[name], plugins[name].cls.extract(text), score)

    def scores(self, message: str, plugins: Mapping[str, PluginSpec]) -> dict[str, float]:
        """Each routable plugin's score for the message (plugins without examples or keywords are left out).

        With an embedder: the best cosine to its examples, plus a bonus for a keyword and one for an
        argument its patterns find; 0 when the message is closer to one of its counter-examples.
        """
        routable = {n: s for n, s in plugins.items() if s.cls.examples or s.cls.keywords}
        if not routable:
            return {}
        lowered = message.lower()
        keyword_hits = {n: _keyword_hits(lowered, s.cls.keywords) for n, s in routable.items()}
        if self.embedder is None:
            # keywords only: a keyword or a whole example phrase in the message reaches the bar of 1.0
            scores = {}
            for n, s in routable.items():
                phrase = any(e.lower() in lowered for e in s.cls.examples)
                scores[n] = (1.0 + 0.1 * keyword_hits[n]) if phrase or keyword_hits[n] else 0.0
            return scores
        # both sides embedded the same way (documents, batched): phrase-to-phrase similarity is symmetric
        query = self.embedder.embed_documents([message])[0]
        self._example_vectors([p for s in routable.values() for p in (*s.cls.examples, *s.cls.counter_examples)])
        result = {}
        for n, s in routable.items():
            similarity = self._best(s.cls.examples, query)
            if s.cls.counter_examples and self._best(s.cls.counter_examples, query) >= similarity:
                result[n] = 0.0
                continue
            bonus = self.bonus * (bool(keyword_hits[n]) + bool(s.cls.match_patterns(message)))
            result[n] = similarity + bonus if similarity > 0 else 0.0
        return result

    def _best(self, phrases: Sequence[str], query: np.ndarray) -> float:
        return float(np.max(self._example_vectors(phrases) @ query)) if phrases else 0.0

    def _example_vectors(self, examples: Sequence[str]) -> np.ndarray:
        with _VECTORS_LOCK:
            cache = _VECTORS.setdefault(self.embedder, {})
            new = [e for e in dict.fromkeys(examples) if e not in cache]
            if new:
                cache.update(zip(new, self.embedder.embed_documents(new)))
            return np.stack([cache[e] for e in examples])


def _keyword_hits(lowered: str, keywords: Sequence[str]) -> int:
    return sum(1 for k in keywords if re.search(rf"\b{re.escape(k.lower())}\b", lowered))


def _decision(spec: PluginSpec, arguments: dict[str, Any], score: float) -> RouteDecision:
    missing = tuple(p for p in spec.required if p not in arguments)
    return RouteDecision(spec.name, dict(arguments), missing, round(score, 4))
