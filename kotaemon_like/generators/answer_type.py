"""What a question asks for, and whether a sentence holds it: "how many architectures" is answered by a
count of them ("runs on 9 architectures"), "how much does the test cost" by an amount of money ("$3,400")."""

from __future__ import annotations

import re
from typing import Callable

from ..stores.analyzer import query_terms, stem

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
