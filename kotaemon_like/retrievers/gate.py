"""The relevance gate: whether the retrieved chunks can answer a question at all, or the honest reply is
"I don't know". One score is not enough: an off-topic question ("who won the world cup in 2018") still
finds chunks sharing a word or two with it, whose keyword relevance clears any threshold that keeps
reworded questions answered. Its meaning, though, is far from every chunk. And a question about something
the documents never mention ("customer service opening hours") can land near a chunk in meaning while its
topic words are missing from every source: the similarity bar rises with the share of the question's
content terms that no source contains.

A question the embedder cannot read (Chinese, with an English-only embedder) is judged through its English
gloss (translate.py) on the chunks the embedder can read: a cross-language hit must be close in meaning to the
gloss, while Chinese chunks found by their own terms pass on relevance alone."""

from __future__ import annotations

import logging
import re
from typing import Callable, NamedTuple, Protocol, Sequence

from ..components import Embedder, ScoredChunk
from ..stores.analyzer import query_terms, terms
from .translate import QueryTranslator

log = logging.getLogger(__name__)


def _one_edit(a: str, b: str) -> bool:
    """Whether `a` becomes `b` by one insertion, deletion or substitution ("pakag" / "packag")."""
    if abs(len(a) - len(b)) > 1:
        return False
    i = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return a[i + 1 :] == b[i + 1 :] or a[i:] == b[i + 1 :] or a[i + 1 :] == b[i:]


def term_coverage(query: str, hits: Sequence[ScoredChunk], min_typo_chars: int = 5) -> float:
    """Share of the question's content terms found in the hits' text; a term of `min_typo_chars` or more
    one typo away from a term of the text counts as found."""
    return term_share(query, " ".join(h.chunk.text for h in hits), min_typo_chars)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])")  # ".deb" and "v1.2" end no sentence


_HOW_MUCH = re.compile(r"\bhow (?:long|many|much|often|far|old|soon|big|large)\b", re.IGNORECASE)


def asked(message: str) -> str:
    """What an answer must speak to: the sentences of a message that ask (end in a question mark), or the
    whole message when none does, without the measure a "how long" asks for ("24 months" answers it).
    In "I am Alice Smith, my card ends 4242. How long is the warranty?" the name and card are context."""
    questions = [s.strip() for s in _SENTENCE_END.split(message) if s.rstrip().endswith(("?", "？"))]
    return _HOW_MUCH.sub(lambda m: m.group(0).split()[0], " ".join(questions) or message)


def term_share(query: str, text: str, min_typo_chars: int = 5, weights: dict[str, float] | None = None) -> float:
    """Share of the question's content terms found in `text` (one typo away counts, from `min_typo_chars`);
    with `weights` (term -> weight, see the extractive generator's `rarity`), the share of their weight."""
    wanted = query_terms(query)
    if not wanted:
        return 1.0
    present = set(terms(text))
    weight = (lambda t: weights.get(t, 1.0)) if weights else (lambda t: 1.0)
    found = sum(weight(t) for t in wanted if t in present or
                (len(t) >= min_typo_chars and any(_one_edit(t, p) for p in present if abs(len(p) - len(t)) <= 1)))
    return found / sum(weight(t) for t in wanted)


class Evidence(NamedTuple):
    """What the answer a reader would give from some sources says about them."""

    meaning: float  # cosine of the answer sentence closest to the question (0 when the embedder cannot judge)
    coverage: float  # share of the question's terms in the sentences it would quote
    figure: bool = True  # False: the question asks for a figure ("how much RAM", "哪年") the quoted sentences lack
    anchored: bool = False  # a rare name or command of the question, in Latin script, is quoted verbatim (translate.anchored)


class AnswerReader(Protocol):
    def evidence(self, question: str, sources: Sequence[ScoredChunk]) -> Evidence:
        """How the answer these sources give holds up against the question."""


class RelevanceGate:
    """Chunks at `min_relevance` or above may answer; when the embedder can read the question, the closest
    of them must also be within `min_similarity` of it in meaning (a cosine on MiniLM's scale: the embedder's
    `relevance` rescales e5's 0.7..1 cosines to it), a bar raised by `missing_terms`
    times the share of the question's content terms that none of them contains.

    With a `reader` (the extractive generator), the answer itself is judged: its closest sentence may be
    the one close in meaning, and the bar rises by `answer_terms` times the share of the question's terms
    missing from the sentences it would quote. A shop's question ("change the delivery address of my
    order") finds a notice's "Hand Delivery: … address" chunk close enough, but not an answer that says it.
    A question asking for a figure ("how much RAM do I need", "Debian 12 的安全支持到哪年结束") whose quoted
    sentences hold none of the kind asked is not answered either, however close they are."""

    def __init__(
        self, min_relevance: float = 0.4, embedder: Embedder | None = None, min_similarity: float = 0.0,
        min_coverage: float = 0.8,  # share of the question's tokens the embedder must know for its cosine to count
        translator: QueryTranslator | None = None,  # judges questions the embedder cannot read by their English gloss
        missing_terms: float = 0.0,
        reader: AnswerReader | None = None,
        answer_terms: float = 0.0,
        judged: int = 0,  # only the best this many hits are judged (0: all); once they answer, any passing hit is quoted
    ):
        self.min_relevance = min_relevance
        self.embedder = embedder
        self.min_similarity = min_similarity
        self.min_coverage = min_coverage
        self.translator = translator
        self.missing_terms = missing_terms
        self.reader = reader
        self.answer_terms = answer_terms
        self.judged = judged

    def similarity(self, query: str, hits: Sequence[ScoredChunk]) -> float | None:
        """Cosine of the question to its closest chunk, or None when the embedder cannot judge it.

        The vector search already measured it for the chunks it found; only the others are embedded here."""
        if self.embedder is None or not hits or self.embedder.coverage(query) < self.min_coverage:
            return None
        known = [h.similarity for h in hits if h.similarity is not None]
        unknown = [h.chunk.text for h in hits if h.similarity is None]
        if unknown:
            known.extend(self.embedder.embed_documents(unknown) @ self.embedder.embed_query(query))
        return float(max(known))

    def sources(self, query: str, hits: Sequence[ScoredChunk],
                expand: Callable[[list[ScoredChunk]], list[ScoredChunk]] | None = None) -> list[ScoredChunk]:
        """The hits that may answer `query`, passed through `expand` (the section continuation) when given;
        empty when the knowledge base holds no answer. With `judged`, the best hits decide whether it does: the
        answer may then quote the others that pass `min_relevance` too."""
        expand = expand or list
        judged = hits[: self.judged] if self.judged else hits
        kept = self.kept(query, judged, expand)
        later = [h for h in hits[len(judged) :] if h.relevance >= self.min_relevance]
        return expand([*kept, *later]) if kept else []

    def kept(self, query: str, hits: Sequence[ScoredChunk],
             expand: Callable[[list[ScoredChunk]], list[ScoredChunk]]) -> list[ScoredChunk]:
        """The hits that may answer `query` (not expanded); empty when they hold no answer."""
        passing = [h for h in hits if h.relevance >= self.min_relevance]
        if not passing or self.min_similarity <= 0:
            return passing
        similarity = self.similarity(query, passing)
        if similarity is None and self.translator is not None and (gloss := self.translator.gloss(query)):
            return self.cross_language(gloss, passing, query, expand)
        if similarity is None:
            return passing
        similarity = self.embedder.relevance(similarity)  # on MiniLM's scale, whatever the embedder's cosine range
        bar = self.min_similarity
        if self.missing_terms > 0:
            bar += self.missing_terms * (1.0 - term_coverage(query, passing))
        if self.reader is not None and self.answer_terms > 0:
            meaning, coverage, figure, _ = self.reader.evidence(query, expand(passing))
            if not figure:
                log.debug("gate: the question asks for a figure the answer does not hold")
                return []
            similarity = max(similarity, self.embedder.relevance(meaning))
            bar += self.answer_terms * (1.0 - coverage)
        if similarity < bar:
            log.debug("gate: sources far from the question in meaning",
                      extra={"similarity": round(similarity, 3), "bar": round(bar, 3)})
            return []
        return passing

    def cross_language(self, gloss: str, hits: list[ScoredChunk], question: str = "",
                       expand: Callable[[list[ScoredChunk]], list[ScoredChunk]] | None = None) -> list[ScoredChunk]:
        """The hits the embedder cannot read as they are (Chinese text found by its own terms), and those it
        reads when the answer they give holds up against the gloss: without a reader, each within
        `min_similarity` of it; with one, judged together, as an English answer is.

        A gloss is a bag of words, far from any whole chunk: its closeness is the mean of the closest chunk's
        cosine and the closest answer sentence's, and the bar rises by `answer_terms` times the share of the
        question's words the quoted sentences do not translate ("service" alone is half of 客服)."""
        readable = [h for h in hits if self.embedder.coverage(h.chunk.text) >= self.min_coverage]
        if not readable:
            return hits
        unknown = [h for h in readable if h.similarity is None]
        # the hybrid retriever's gloss vector list already measured the cosine to the gloss for what it found
        cosine = {id(h): h.similarity for h in readable if h.similarity is not None}
        if unknown:
            vectors = self.embedder.embed_documents([h.chunk.text for h in unknown]) @ self.embedder.embed_query(gloss)
            cosine.update((id(h), float(v)) for h, v in zip(unknown, vectors))
        if self.reader is not None and self.answer_terms > 0 and question:
            meaning, coverage, figure, anchor = self.reader.evidence(question, (expand or list)(readable))
            closeness = self.embedder.relevance((max(cosine.values()) + meaning) / 2)
            bar = self.min_similarity + self.answer_terms * (1.0 - coverage)
            passed = {id(h) for h in readable} if figure and (closeness >= bar or anchor) else set()
        else:
            passed = {i for i, c in cosine.items() if self.embedder.relevance(c) >= self.min_similarity}
        kept = [h for h in hits if id(h) not in cosine or id(h) in passed]
        if len(kept) < len(hits):
            log.debug("gate: cross-language sources far from the gloss", extra={"dropped": len(hits) - len(kept)})
        return kept
