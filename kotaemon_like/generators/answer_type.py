"""What a question asks for, and whether a sentence holds it: "how many architectures" is answered by a
count of them ("runs on 9 architectures"), "how much does the test cost" by an amount of money ("$3,400"),
and a yes/no question ("do I have to subscribe before I post?") often by a sentence that says no or sets a
limit ("Messages can be posted even without subscribing.")."""

from __future__ import annotations

import re
from typing import Callable

from ..stores.analyzer import query_terms, stem

_YES_NO = re.compile(r"^(?:do|does|did|can|could|is|are|was|were|should|will|would|may|must|has|have)\b", re.IGNORECASE)
_POLARITY = re.compile(r"\b(?:not|no|never|only|without|cannot|none|neither|nor)\b|n't\b", re.IGNORECASE)
_HOW_MANY = re.compile(r"\bhow many\b", re.IGNORECASE)
_PRICE = re.compile(r"\b(?:how much|what)\b.*\b(?:cost|costs|price|charge|fee|fees|pay)\b", re.IGNORECASE)
_MONEY = re.compile(r"[$€£]\s?\d|\b\d[\d,.]*\s?(?:dollars|euros?|usd|eur)\b", re.IGNORECASE)
# a number and the word after it, or the one after that ("9 architectures", "10 degrees of difference")
_COUNTED = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?\s+([a-z-]+)(?:\s+([a-z-]+))?", re.IGNORECASE)


def expected(question: str) -> Callable[[str], bool] | None:
    """A test of whether a sentence holds what `question` asks for, or None when it asks for no such thing."""
    if _PRICE.search(question):
        return lambda sentence: bool(_MONEY.search(sentence))
    if _HOW_MANY.search(question):
        wanted = set(query_terms(question))
        return lambda sentence: any(stem(word.lower()) in wanted for words in _COUNTED.findall(sentence)
                                    for word in words if word)
    return None


def says_no(question: str) -> Callable[[str], bool] | None:
    """For a yes/no question, a test of whether a sentence says no or sets a limit; None for other questions."""
    if _YES_NO.match(question.strip()):
        return lambda sentence: bool(_POLARITY.search(sentence))
    return None
