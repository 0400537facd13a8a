"""The extractive generator: answers with the sentences of the sources that answer the question, each cited. No LLM.

Candidates are the answer sentences of each source (see `passages`: never headings, contents lines or
questions). Where a FAQ heading matches the question, the text under it is the answer. Otherwise sentences
are ranked by meaning (the embedder's cosine to the question, when it can read the text) plus shared terms.
A question the embedder cannot read is ranked against English sentences through its English gloss.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from functools import partial
from typing import Callable, Iterator, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..components import Embedder, Message, ScoredChunk
from ..retrievers.continuation import CONTINUES
from ..retrievers.gate import Evidence, asked, term_share
from ..retrievers.translate import QueryTranslator, anchored
from ..stores.analyzer import query_terms, term_overlap, terms
from .answer_type import expected, figure, says_no
from .passages import carry_over, is_quotable, sections, strip_overlap

log = logging.getLogger(__name__)


# a sentence opening with these words leans on the one before it
_REFERS_BACK = re.compile(r"^(?:this|these|that|those|it|its|they|their|such|then|thus|so|however|therefore|also|"
                          r"for example|for instance|instead|otherwise|to take advantage of (?:it|this))\b",
                          re.IGNORECASE)


@dataclass
class Candidate:
    number: int  # source number, 1-based
    position: int  # order inside the source
    text: str
    heading: str  # of the section it belongs to
    group: int = 0  # the source number a continued section started in
    depth: int = 0  # how many chunks after the group's first one
    lexical: float = 0.0
    semantic: float = 0.0
    score: float = 0.0


def rarity(query: str, texts: Sequence[str]) -> dict[str, float]:
    """Weight of each content term of `query`: the rarer among `texts` (the candidate sentences), the more a
    sentence holding it says about the question ("subscribe" over "debian" in a FAQ about Debian)."""
    bags = [set(terms(t)) for t in texts]
    return {t: math.log(1 + (len(bags) + 1) / (1 + sum(t in b for b in bags))) for t in query_terms(query)}


def weighted_overlap(weights: dict[str, float], text: str) -> float:
    """Share of the weight of the query's terms (see `rarity`) found in `text`; with equal weights, the share
    of its terms (`term_overlap`)."""
    total = sum(weights.values())
    present = set(terms(text))
    return sum(w for t, w in weights.items() if t in present) / total if total else 0.0


def sentences(text: str, min_chars: int = 12) -> list[str]:
    """The quotable sentences of a chunk, in order."""
    return [s for section in sections(text) for s in section.sentences if is_quotable(s, min_chars)]


class ExtractiveGenerator:
    """Quotes the best answer sentences of the sources in source order, citing each as [n]."""

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        max_sentences: int = Field(4, gt=0)  # within max_chars
        min_chars: int = Field(12, ge=0)  # shorter fragments are not quoted alone
        semantic_weight: float = Field(0.6, ge=0)  # cosine of sentence and question
        lexical_weight: float = Field(0.4, ge=0)  # share of the question's terms in the sentence
        max_chars: int = Field(700, gt=0)  # a chat bubble: no further sentence once the answer would pass this
        heading_match: float = Field(0.55, ge=0, le=1)  # a FAQ heading this close to the question answers it
        min_coverage: float = Field(0.8, ge=0, le=1)  # embedder must know this share of tokens to be trusted
        heading_context: float = Field(0.5, ge=0, le=1)  # weight of the shared terms counted with the heading
        rare_terms: bool = True  # shared terms weighted by their rarity among the sentences (False: a plain share)
        answer_type: float = Field(0.2, ge=0)  # added for holding what the question asks ("how many" -> a count)
        polarity: float = Field(0.05, ge=0)  # added, for a yes/no question, for a "not", "only", "without" ...
        short_sentence: int = Field(40, ge=0)  # a sentence shorter than this after the best one is quoted with it

    name = "extractive"
    reads_system_messages = False  # it quotes the sources; instructions cannot change what they say

    def __init__(self, params: Params | None = None, embedder: Embedder | None = None,
                 translator: QueryTranslator | None = None):
        self.params = params or self.Params()
        self.embedder = embedder
        self.translator = translator  # Chinese questions over English sources: rank by the English gloss

    def _similarity(self, question: str, texts: list[str]) -> np.ndarray:
        """Cosine of each text to the question; zeros when there is no embedder or it cannot read the question."""
        if self.embedder is None or not texts:
            return np.zeros(len(texts))
        if self.embedder.coverage(question) >= self.params.min_coverage:
            return self.embedder.embed_documents(texts) @ self.embedder.embed_query(question)
        gloss = self.translator.gloss(question) if self.translator is not None else None
        if not gloss:
            return np.zeros(len(texts))
        # only the texts the embedder reads: its cosine to Chinese text says nothing
        readable = [self.embedder.coverage(t) >= self.params.min_coverage for t in texts]
        similarity = self.embedder.embed_documents(texts) @ self.embedder.embed_query(gloss)
        return np.where(readable, similarity, 0.0)

    def candidates(self, question: str, sources: Sequence[ScoredChunk]) -> tuple[list[Candidate], dict[str, float]]:
        """Scored answer sentences, and the similarity of each heading to the question."""
        texts = self._stitched(sources)
        parsed = {hit.chunk.id: (number, hit, sections(texts[hit.chunk.id])) for number, hit in enumerate(sources, start=1)}
        opening: dict[str, tuple[str, int, int]] = {}  # chunk id -> (heading it opens under, group, depth)

        def start(chunk_id: str) -> tuple[str, int, int]:
            """A continuation opens under its predecessor's last heading, whatever the order it was retrieved in."""
            if chunk_id not in opening:
                number, hit, parts = parsed[chunk_id]
                opening[chunk_id] = ("", number, 0)  # a guard against a cycle
                parent = hit.chunk.metadata.get(CONTINUES)
                if parent in parsed:
                    heading, group, depth = start(parent)
                    last = next((part.heading for part in reversed(parsed[parent][2]) if part.heading), heading)
                    opening[chunk_id] = (last, group, depth + 1)
            return opening[chunk_id]

        found: list[Candidate] = []
        headings: list[str] = []
        for chunk_id, (number, hit, parts) in parsed.items():
            heading, group, depth = start(chunk_id)
            position = 0
            # a chunk cut mid-sentence opens with that sentence's tail ("conditions. The checklist ..."): no answer
            fragment = (hit.chunk.metadata.get(CONTINUES) not in parsed and hit.chunk.text.lstrip()[:1].islower()
                        and bool(parts) and not parts[0].heading)
            for section in parts:
                heading = section.heading or heading
                if section.heading and section.heading not in headings:
                    headings.append(section.heading)
                for i, sentence in enumerate(section.sentences):
                    if fragment and section is parts[0] and i == 0:
                        continue
                    if is_quotable(sentence, self.params.min_chars):
                        found.append(Candidate(number, position, sentence, heading, group, depth))
                        position += 1
        unique = list(dict.fromkeys(c.text for c in found))
        gloss = self.translator.gloss(question) if self.translator is not None else None
        similarity = self._similarity(question, headings + unique)
        reads = bool(similarity.any())
        heading_score = {h: float(s) if reads else term_overlap(question, h) for h, s in zip(headings, similarity)}
        semantic = dict(zip(unique, similarity[len(headings):]))
        context = self.params.heading_context
        # shared terms count by their rarity among the sentences: "subscribe" says more than "debian"
        weights = rarity(question, unique) if self.params.rare_terms else dict.fromkeys(query_terms(question), 1.0)
        own = partial(weighted_overlap, weights)
        # of a Chinese question over English text, the share of its words a sentence translates, each word once
        # by its best sense (as the relevance gate counts them), not the terms of every sense in the gloss
        glossed = partial(self.translator.overlap, question) if gloss else lambda text: 0.0
        for c in found:
            # a sentence under a heading is read with it: "Usually nobody should install things from this place"
            # answers "is it safe to install from incoming?" because its heading asks "What is incoming?"
            c.lexical = max(self._overlap(own, c, context), self._overlap(glossed, c, context))
            c.semantic = float(semantic.get(c.text, 0.0))
            c.score = self.params.semantic_weight * c.semantic + self.params.lexical_weight * c.lexical
        holds = expected(question)  # a count or an amount of money, when the question asks for one
        limits = says_no(question)  # a yes/no question: the sentence that says no or sets a limit
        for c in found:
            c.score += self.params.answer_type if holds is not None and holds(c.text) else 0.0
            c.score += self.params.polarity if limits is not None and limits(c.text) else 0.0
        return found, heading_score

    @staticmethod
    def _stitched(sources: Sequence[ScoredChunk]) -> dict[str, str]:
        """Each source's text, read as one with the source it continues: without the words the chunk overlap
        repeats, and a sentence cut at the chunk's end finished there with the next chunk's words."""
        texts = {hit.chunk.id: hit.chunk.text for hit in sources}
        followers = [(hit.chunk.metadata[CONTINUES], hit.chunk.id) for hit in sources
                     if hit.chunk.metadata.get(CONTINUES) in texts and hit.chunk.metadata[CONTINUES] != hit.chunk.id]
        for parent, child in followers:
            texts[child] = strip_overlap(texts[parent], texts[child])
        for parent, child in followers:
            head, texts[child] = carry_over(texts[parent], texts[child])
            if head:
                texts[parent] = f"{texts[parent].rstrip()}\n{head}"
        return texts

    @staticmethod
    def _overlap(shared: Callable[[str], float], c: Candidate, context: float) -> float:
        own = shared(c.text)
        if context <= 0 or not c.heading:
            return own
        return (1 - context) * own + context * shared(f"{c.heading} {c.text}")

    def select(self, question: str, sources: Sequence[ScoredChunk]) -> list[tuple[int, str]]:
        """(source number, sentence) pairs in reading order."""
        return self._chosen(*self.candidates(question, sources))

    def _chosen(self, found: list[Candidate], heading_score: dict[str, float]) -> list[tuple[int, str]]:
        """`select` on sentences already scored (`candidates`)."""
        if not found:
            return []
        top = max(found, key=lambda c: (c.score, -c.number, -c.position))
        best_under: dict[str, float] = {}
        for c in found:
            best_under[c.heading] = max(best_under.get(c.heading, 0.0), c.score)
        # of the headings asking this question, the one whose entry also holds the sentences closest to it
        matching = [h for h, s in heading_score.items() if s >= self.params.heading_match and h in best_under]
        if matching:
            heading = max(matching, key=lambda h: heading_score[h] + best_under[h])  # a FAQ entry asking this question
        elif top.heading.endswith(("?", "？")):
            heading = top.heading  # the FAQ entry holding the sentence closest to the question
        else:
            heading = ""
        under = [c for c in found if heading and c.heading == heading]
        if under:
            group = top.group if top.heading == heading else under[0].group
            section = sorted((c for c in under if c.group == group), key=lambda c: (c.depth, c.position))
            # its opening sentence (FAQ answers start with the answer), then the ones closest to the question,
            # among them any sentence elsewhere that is closer than all of the entry's own
            best = max(c.score for c in section)
            better = [c for c in found if c.heading != heading and c.score > best]
            rest = sorted([*section[1:], *better], key=lambda c: c.score, reverse=True)
            return self._distinct([section[0], *rest], first={id(c) for c in section})
        ranked = sorted(found, key=lambda c: (c.score, -c.number, -c.position), reverse=True)
        if ranked[0].score <= 0:
            ranked = [c for c in found if c.number == 1]  # nothing shared or close: quote the best source's start
            return self._distinct(ranked)
        return self._distinct([*self._passage(ranked[0], found), *ranked])

    def _passage(self, best: Candidate, found: list[Candidate]) -> list[Candidate]:
        """The best sentence, the one before it when it refers back to it ("To take advantage of it, use
        ...", "This word is a contraction of ..."): quoted alone it would not say what it speaks of; and the
        one after it when that one carries it on ("Use apt-get instead.", "Therefore, ...", "(It is not ...)"):
        a sentence that names a thing is often followed by the one that says what the question asks of it."""
        text = sorted((c for c in found if c.group == best.group), key=lambda c: (c.depth, c.number, c.position))
        text = list(dict.fromkeys(c.text for c in text))  # overlapping chunks repeat sentences
        at = text.index(best.text)
        before = [c for c in found if at > 0 and c.text == text[at - 1]] if _REFERS_BACK.match(best.text) else []
        after = [c for c in found if at + 1 < len(text) and c.text == text[at + 1] and self._carries_on(c.text)]
        return [best, *before[:1], *after[:1]]

    def _carries_on(self, sentence: str) -> bool:
        """Whether a sentence leans on the one before it: it refers back, or is too short to stand alone."""
        opens = sentence.lstrip("(")[:1]
        if not (opens.isupper() or opens.isdigit()):  # "* or linux.*.": the tail of a sentence, not one
            return False
        return bool(_REFERS_BACK.match(sentence.lstrip("(")) or len(sentence) < self.params.short_sentence)

    def evidence(self, question: str, sources: Sequence[ScoredChunk]) -> Evidence:
        """How well the answer these sources give holds up: the cosine of the sentence closest to the question
        (0 when the embedder cannot judge), the share of the question's content terms found in the sentences
        it would quote and their headings (of the sentences that ask, when the message says more; of a
        question the embedder cannot read, the share of its words the quoted English translates), and
        whether they hold the figure the question asks for, if it asks for one ("how much RAM", "哪年")."""
        found, heading_score = self.candidates(question, sources)
        quoted = {text for _, text in self._chosen(found, heading_score)}
        text = " ".join(f"{c.heading} {c.text}" for c in found if c.text in quoted)
        holds = figure(question)
        has_figure = holds is None or any(holds(sentence) for sentence in quoted)
        meaning = max((c.semantic for c in found), default=0.0)
        among = [c.text for c in found]
        if self.translator is not None and self.translator.gloss(question) and not self._reads(question):
            # a rare name, command or code name of the question quoted verbatim vouches for the words the gloss missed
            if anchored(question, text, among):
                return Evidence(meaning, 1.0, has_figure, anchored=True)
            return Evidence(meaning, self.translator.overlap(question, text, among), has_figure)
        # the question's rarest words among the candidate sentences weigh most: an answer on installing Debian
        # lacking "wechat" of "how do I install wechat on debian" lacks what the question is about
        asking = asked(question)
        return Evidence(meaning, term_share(asking, text, weights=rarity(asking, among)), has_figure)

    def _reads(self, text: str) -> bool:
        return self.embedder is not None and self.embedder.coverage(text) >= self.params.min_coverage

    def _distinct(self, ranked: list[Candidate], first: set[int] = frozenset()) -> list[tuple[int, str]]:
        """The first max_sentences distinct sentences (overlapping chunks repeat them) in reading order, those
        of the answering entry (`first`, by id) before the others."""
        picked: dict[str, Candidate] = {}
        length = 0
        for c in ranked:
            if c.text in picked or (picked and length + len(c.text) > self.params.max_chars):
                continue
            picked[c.text] = c
            length += len(c.text) + 5  # the citation marker
            if len(picked) == self.params.max_sentences:
                break
        ordered = sorted(picked.values(), key=lambda c: (id(c) not in first, c.group, c.depth, c.position))
        return [(c.number, c.text) for c in ordered]

    def stream(self, question: str, sources: Sequence[ScoredChunk], history: Sequence[Message] = ()) -> Iterator[str]:
        for i, (number, sentence) in enumerate(self.select(question, sources)):
            yield ("" if i == 0 else " ") + f"{sentence} [{number}]"
