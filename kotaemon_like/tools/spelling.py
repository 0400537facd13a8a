"""Misspelt request words read as meant: "complant" as "complaint", "persn" as "person", "packge" as "package".

Chat shorthand is read first ("u" as "you", "some1" as "someone"), so request forms need not spell it out.

The vocabulary is the plugins' own words (their examples and the literal words of their request forms), so
a customer's typo in the word that names the action still reaches the request forms and the examples. Only
words one edit (insertion, deletion, substitution or swap of neighbours) from a vocabulary word of at least
six letters are corrected: shorter words have too many neighbours ("there" is one edit from "where").
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable

_WORD = re.compile(r"[A-Za-z]+")
# "some1" is one token; so is "doesn't", which stays as written ("doesn" is no typo of a vocabulary word "doesnt")
_TOKEN = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)+|(?<![\w'])[A-Za-z]+[0-9]?(?![\w'])|[A-Za-z]+")
_ESCAPE = re.compile(r"\\[A-Za-z]")  # \b, \s, \w in a request form's source are not words
_SHORTEST_TARGET = 6
_SHORTEST_TYPO = 5
# chat shorthand -> the word meant
SHORTHAND = {"u": "you", "ur": "your", "pls": "please", "plz": "please", "pl0x": "please", "thx": "thanks",
             "some1": "someone", "sum1": "someone", "any1": "anyone", "ppl": "people", "rn": "right now", "ty": "thank you"}
_INFLECTIONS = ("ing", "es", "ed", "s", "d")


def _edits(word: str) -> set[str]:
    """Every string one edit from `word` (Norvig's generator, lower-case ASCII letters)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    return ({a + b[1:] for a, b in splits if b}
            | {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
            | {a + c + b[1:] for a, b in splits if b for c in letters}
            | {a + c + b for a, b in splits for c in letters})


class Speller:
    """Corrects words one edit away from the vocabulary's long words; known and short words stay as they are."""

    def __init__(self, vocabulary: Iterable[str]):
        self.known = {w.lower() for w in vocabulary}
        self._targets = frozenset(w for w in self.known if len(w) >= _SHORTEST_TARGET)

    @classmethod
    def of_phrases(cls, phrases: Iterable[str]) -> "Speller":
        """A speller whose vocabulary is the words of `phrases` (examples, regular-expression sources)."""
        return cls(w for p in phrases for w in _WORD.findall(_ESCAPE.sub(" ", p)))

    def word(self, word: str) -> str:
        lowered = word.lower()
        if lowered in SHORTHAND:
            return SHORTHAND[lowered]
        if "'" in lowered:
            return word
        # another form of a known word is no typo either: "talking" is not "taking", nor "making" "taking"
        if len(lowered) < _SHORTEST_TYPO or lowered in self.known or _stems(lowered) & self.known:
            return word
        nearest = _nearest(lowered, self._targets)
        # "charged" is no typo of "charge", nor "stores" of "stored": another form of the same word stays as written
        return nearest if nearest is not None and not _stems(lowered) & _stems(nearest) else word

    def correct(self, text: str) -> str:
        """`text` with shorthand spelt out and each misspelt vocabulary word replaced by the word meant (Chinese
        text is left alone)."""
        return _TOKEN.sub(lambda m: self.word(m.group()), text)


def _stems(word: str) -> set[str]:
    """The word without an inflectional ending, with and without a final "e" ("stores" -> store, stor)."""
    stems = {word}
    for ending in _INFLECTIONS:
        if word.endswith(ending) and len(word) > len(ending) + 2:
            stem = word[: -len(ending)]
            stems |= {stem, stem + "e"}
    return stems


@lru_cache(maxsize=4096)
def _nearest(word: str, targets: frozenset[str]) -> str | None:
    # one correction only when it is unambiguous: two vocabulary words one edit away leave the word alone
    found = sorted(_edits(word) & targets)
    return found[0] if len(found) == 1 else None
