"""Routing without an LLM: a plugin fires only when the message asks for its action.

A message is compared with each plugin's `examples` (what it is for) and `counter_examples` (look-alike
questions it is not for): by meaning with the embedder, or by shared terms for Chinese text (the bundled
MiniLM cannot read it) and when there is no embedder. Similarity alone does not route: the message must
also be nearly one of the examples, or carry evidence that it is the customer's own request. The
strongest is one of the plugin's declared `intents` (its request forms: "talk to a human", "open a
ticket", "查一下订单") in a message that does not ask for general information, which routes on its own;
then an argument the plugin's patterns find (an order number, an email address); then a request cue
("my", "I want", "please", "我的", "帮我") in a statement, not a question, with which, when the knowledge
base's relevance for the same message is known, the plugin must match the message at least as well as
the knowledge base does. A classifier learnt from labelled messages (classifier.py) decides when it is sure
of a message of three words or more: the knowledge base, or a plugin unless the message asks for information;
when very sure, it also overrules a request form or a named case (an order number in a message asking no
question for information) to the knowledge base, and the question reading. The rules
decide the rest. How a message reads (a question for
information, a request cue) is cues.py's job. Shorthand and misspelt request words are read as meant (spelling.py), and the message is embedded
as a query, so a chat turn reuses the vector its retrieval already computed.
"""

from __future__ import annotations

import math
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from ..components import Embedder
from ..embedding_cache import embed_queries
from ..stores.analyzer import has_cjk, query_terms
from .base import ROUTE_PREFIX_CHARS
from .classifier import MAJORITY, VERY_SURE, RequestClassifier
from .cues import asks_for_information, asks_permission, request_cue, states_intent
from .schema import PluginSpec
from .spelling import Speller

DEFAULT_THRESHOLD = 0.45  # similarity a request with a request cue needs
STRONG = 0.8  # similarity that routes without a cue: the message is nearly one of the examples
ARGUMENT_RELIEF = 0.15  # an argument found in the message (an order number) lowers the bar by this much


# embedder -> example phrase -> vector; shared by every router on that embedder and kept across reloads
_VECTORS: "weakref.WeakKeyDictionary[Any, dict[str, np.ndarray]]" = weakref.WeakKeyDictionary()
_VECTORS_LOCK = threading.Lock()
# plugin classes -> the speller over their words; rebuilt only when the plugins change (a reload)
_SPELLERS: dict[tuple, Speller] = {}


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


@dataclass(frozen=True)
class Match:
    """How a message compares with one plugin: what it is for, what it is not for, and the evidence."""

    similarity: float  # best similarity to the plugin's examples (the message is nearly one of them)
    counter: float  # best similarity to its counter-examples
    support: float  # like similarity, but a longer message containing an example's terms counts too (Chinese)
    counter_support: float
    argument: bool  # its patterns found an argument in the message
    cue: bool  # the message speaks of the customer's own case or asks for something
    intent: bool = False  # the message asks for the plugin's action in one of its declared request forms
    information: bool = False  # the message asks for general information ("how do I ...", "do I get ...")
    identified: bool = False  # its patterns found everything it requires: the message names the customer's own case
    # the only question the message asks is whether it may ("can I get someone from billing on the chat?"): a
    # polite request as often as a question on what is possible
    permission: bool = False

    def bar(self, threshold: float, knowledge: float | None) -> float | None:
        """The lowest similarity that routes to this plugin, or None when nothing would."""
        if self.argument or self.cue or self.intent:
            # a look-alike question vetoes; against a request form only when the message nearly copies it ("agent"
            # is closer to "what does the agent program do" than to "connect me to an agent", and still asks for one)
            # (a counter-example all of whose terms a longer message contains, "发货需要几天" in "前几天买的跑鞋怎么还没发货",
            # is no copy of it: against a request form or a named case only the similarity of the whole message counts)
            named = self.identified and not self.information
            if self.support <= self.counter_support and (not (self.intent or named) or self.counter >= STRONG):
                return None
            if self.intent or named:
                # the customer's own case, named ("58213这单现在啥情况", "'processing' since 5 days for 43318"), in a message
                # that does not ask what is possible or how things work, is a request whatever its words
                # the request form says what the customer wants, on its own: similarity says nothing about "operator"
                # or "叫你们经理来" (no word in common with any example), and the knowledge base's relevance (high for
                # any short message sharing a word with the documents) does not outweigh it
                return 0.0
            if self.argument:
                # "can I cancel order 12345?" asks what is possible: its number does not outweigh the knowledge base
                bar = threshold - ARGUMENT_RELIEF
                return bar if knowledge is None or not self.information else min(max(bar, knowledge), STRONG)
            # a borderline match loses to a knowledge base that matches the message better
            return threshold if knowledge is None else min(max(threshold, knowledge), STRONG)
        # without evidence, only a near copy of an example routes, and never a question for information
        return STRONG if self.similarity > self.counter and not self.information else None

    def score(self) -> float:
        """What the bar is compared with: similarity on its own, support when there is evidence."""
        return self.support if self.argument or self.cue or self.intent else self.similarity


class ToolRouter:
    """Picks the plugin a customer message asks for, or None for a question the knowledge base should answer."""

    def __init__(self, embedder: Embedder | None = None, threshold: float = DEFAULT_THRESHOLD):
        self.embedder, self.threshold = embedder, threshold

    @staticmethod
    def speller(plugins: Mapping[str, PluginSpec]) -> Speller:
        """A speller over the plugins' examples, counter-examples and request forms."""
        key = tuple(sorted((n, id(s.cls)) for n, s in plugins.items()))
        speller = _SPELLERS.get(key)
        if speller is None:
            speller = Speller.of_phrases(p for s in plugins.values()
                                         for p in (*s.cls.examples, *s.cls.counter_examples, *s.cls.intents))
            if len(_SPELLERS) > 32:
                _SPELLERS.clear()
            _SPELLERS[key] = speller
        return speller

    def route(
        self, message: str, plugins: Mapping[str, PluginSpec], pending: RouteDecision | None = None,
        knowledge: float | None = None, classifier: RequestClassifier | None = None,
    ) -> RouteDecision | None:
        """The plugin for `message`, or None when it is not a tool request.

        `pending` is the previous turn's decision that still missed arguments: when this message
        supplies one of them (the customer answered the question), that decision is completed.
        `knowledge` is the knowledge base's best relevance (0..1) for the same message, when known.
        A `classifier` (classifier.py) trained on labelled messages decides when it is sure (see above); the
        rules decide the rest.
        """
        text = " ".join(message[:ROUTE_PREFIX_CHARS].split())
        if not text:
            return None
        if pending is not None and pending.missing and pending.name in plugins:
            spec = plugins[pending.name]
            found = {k: v for k, v in spec.cls.extract(text).items() if k in pending.missing}
            if found:
                return decide(spec, {**pending.arguments, **found}, pending.score)
        # a misspelt request word ("complant", "persn") is read as meant; arguments come from the message as written
        read = self.speller(plugins).correct(text)
        # a plugin whose request form the message uses beats one that merely shares more words with it
        matches = self.matches(read, plugins)
        routed = [((match.intent, match.score()), name) for name, match in matches.items()
                  if (bar := match.bar(self.threshold, knowledge)) is not None and match.score() >= bar]
        (by_form, score), name = max(routed) if routed else ((False, 0.0), None)
        # on a message long enough to read ("hello", "yes" and "ok please" are no requests, whatever it says), a sure
        # classifier outweighs similarity and cues, but sends a question for information to a plugin only when very
        # sure ("is a real agent ever on this chat"; asking whether one may, "could one of your agents take over?",
        # is no such question); a request form stands unless it is very sure the message is a question ("which mail
        # transfer agent does debian install by default?") or another plugin's request; the customer's own case named
        # ("ordr 66721 whats the eta") goes to the knowledge base only when it is very sure too
        if classifier is not None and readable(text):
            choice, probability = classifier.predict(text)
            if by_form:
                # a very sure classifier also reads which request it is: "my refund for 48857 still hasn't shown up,
                # raise it with the team" names an order (order_status's form) and asks for a ticket
                if probability >= VERY_SURE and choice != name and (choice is None or choice in matches):
                    name, score = choice, probability
            elif probability >= MAJORITY and (
                    choice is None and (not named(name, matches) or probability >= VERY_SURE)
                    or choice in matches and (
                        not matches[choice].information or matches[choice].permission or probability >= VERY_SURE)):
                name, score = choice, probability
        return decide(plugins[name], plugins[name].cls.extract(text), score) if name else None

    def matches(self, message: str, plugins: Mapping[str, PluginSpec]) -> dict[str, Match]:
        """Each routable plugin's match with the message (plugins without examples are left out)."""
        routable = {n: s for n, s in plugins.items() if s.cls.examples}
        if not routable:
            return {}
        cue, permission = request_cue(message), asks_permission(message)
        # a named case (an order number) is the customer's own, as "my" is: "what's happening with 43318" asks about it
        information = {own: asks_for_information(message, own=own) for own in (False, True)}
        if self.embedder is None or has_cjk(message):
            similar, support = _lexical, _containment
        else:
            similar = support = self._semantic(message, routable)
        matches = {}
        for n, s in routable.items():
            examples, counters = s.cls.examples, s.cls.counter_examples
            intent = states_intent(message, s.cls.intents)
            found = s.cls.match_patterns(message)
            identified = bool(found) and set(s.required) <= set(found)
            # "can I pay my order by bank transfer?" asks what is possible, unless in the plugin's own request form
            asks = information[identified] or (permission and not intent)
            matches[n] = Match(similar(message, examples), similar(message, counters),
                               support(message, examples), support(message, counters),
                               bool(found), cue and not asks, intent, asks, identified,
                               asks and not information[identified])
        return matches

    def scores(self, message: str, plugins: Mapping[str, PluginSpec]) -> dict[str, float]:
        """Each routable plugin's best example similarity (for diagnostics)."""
        return {n: round(m.similarity, 4) for n, m in self.matches(" ".join(message.split()), plugins).items()}

    def _semantic(self, message: str, routable: Mapping[str, PluginSpec]):
        # both sides embedded as queries (phrase-to-phrase similarity is symmetric; e5 models want "query: " on
        # both); the message's vector is the one retrieval embeds for the same turn, so the router reuses it
        query = self.embedder.embed_query(message)
        phrases = [p for s in routable.values() for p in (*s.cls.examples, *s.cls.counter_examples) if not has_cjk(p)]
        self._example_vectors(phrases)

        def similar(_: str, examples: Sequence[str]) -> float:
            # on the relevance scale the knowledge base's score uses, so the bars mean the same with any embedder
            # (e5 cosines of unrelated phrases sit near 0.8, MiniLM's near 0.1)
            latin = [e for e in examples if not has_cjk(e)]
            return self.embedder.relevance(float(np.max(self._example_vectors(latin) @ query))) if latin else 0.0

        return similar

    def _example_vectors(self, examples: Sequence[str]) -> np.ndarray:
        with _VECTORS_LOCK:
            cache = _VECTORS.setdefault(self.embedder, {})
            new = [e for e in dict.fromkeys(examples) if e not in cache]
            if new:
                cache.update(zip(new, embed_queries(self.embedder, new)))
            return np.stack([cache[e] for e in examples])


def _lexical(message: str, examples: Sequence[str]) -> float:
    """Cosine of the term sets (words; characters and character pairs for Chinese), best example."""
    terms = set(query_terms(message))
    best = 0.0
    for example in examples:
        other = set(query_terms(example))
        if terms and other:
            best = max(best, len(terms & other) / math.sqrt(len(terms) * len(other)))
    return best


def _containment(message: str, examples: Sequence[str]) -> float:
    """The larger of the cosine and the share of an example's terms found in the message, best example."""
    terms = set(query_terms(message))
    best = _lexical(message, examples)
    for example in examples:
        other = set(query_terms(example))
        if terms and other:
            best = max(best, len(terms & other) / len(other))
    return best


def named(name: str | None, matches: Mapping[str, Match]) -> bool:
    """Whether the rules routed to `name` on the customer's own case named in a message that asks no question for
    information ("ordr 66721 whats the eta"): short of very sure, the classifier may read another request in it, but
    not send it to the knowledge base."""
    return name is not None and matches[name].identified and not matches[name].information


def readable(message: str, words: int = 3) -> bool:
    """Whether a message holds at least `words` content words (Chinese characters counted one by one)."""
    return sum(not (has_cjk(t) and len(t) > 1) for t in query_terms(message)) >= words


def decide(spec: PluginSpec, arguments: dict[str, Any], score: float) -> RouteDecision:
    """A decision for `spec` with the arguments found so far."""
    missing = tuple(p for p in spec.required if p not in arguments)
    return RouteDecision(spec.name, dict(arguments), missing, round(score, 4))
