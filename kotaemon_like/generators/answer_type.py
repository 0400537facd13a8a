"""What a question asks for, and whether a sentence holds it: "how many architectures" is answered by a
count of them ("runs on 9 architectures"), "how much does the test cost" by an amount of money ("$3,400"),
and a yes/no question ("do I have to subscribe before I post?") often by a sentence that says no or sets a
limit ("Messages can be posted even without subscribing.").

A question asking for a figure (a number, an amount, a duration, a year or a date: "how much RAM do I
need", "until what year is bullseye supported", "安装最少要多大内存") is not answered by sentences holding
none: `figure` tells the relevance gate so, which then says "I don't know" rather than quote the nearest
entry."""

from __future__ import annotations

import re
from typing import Callable

from ..stores.analyzer import query_terms, stem

_YES_NO = re.compile(r"^(?:do|does|did|can|could|is|are|was|were|should|will|would|may|must|has|have)\b", re.IGNORECASE)
_POLARITY = re.compile(r"\b(?:not|no|never|only|without|cannot|none|neither|nor)\b|n't\b", re.IGNORECASE)
_HOW_MANY = re.compile(r"\bhow many\b", re.IGNORECASE)
_PRICE = re.compile(r"\b(?:how much|what)\b.*\b(?:cost|costs|price|charge|fee|fees|pay|pays|paid|paying|spend|spends|spent|spending)\b",
                    re.IGNORECASE)
_MONEY = re.compile(r"[$€£]\s?\d|\b\d[\d,.]*\s?(?:dollars|euros?|usd|eur)\b", re.IGNORECASE)
# a number and the word after it, or the one after that ("9 architectures", "10 degrees of difference")
_COUNTED = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?\s+([a-z-]+)(?:\s+([a-z-]+))?", re.IGNORECASE)


# "who wrote the linux faq", "who's the faa contact person": a name not in the question answers them
_WHO = re.compile(r"^\W*(?:who|whom|whose)\b|\bwho(?:'s|\s+(?:is|are|was|were|wrote|made|created|signed|founded|started|came))\b",
                  re.IGNORECASE)
_NAME = re.compile(r"(?<=[^\s.!?:•]\s)[A-Z][a-z]+(?:\s+[A-Z]\.)?\s+(?:[A-Z][a-z]+|GmbH|Inc\.?|Ltd\.?)\b")

# questions asking for a figure, and what holds one
_ASKS_DATE = re.compile(r"\b(?:what|which)\s+(?:year|date|day)\b|哪一?年|哪一?天|几月几[号日]", re.IGNORECASE)
_ASKS_DURATION = re.compile(r"\bhow long\b|多久|多长时间", re.IGNORECASE)
_ASKS_NUMBER = re.compile(r"\bhow (?:much|many|big|large|old)\b|多少|多大|几[个位种台次天年周岁号]", re.IGNORECASE)
# 几个反应物之间的加号怎么读 asks how, not how many; "where do i check how much disk it needs" asks where to look
_ASKS_WAY = re.compile(r"怎么|如何|为什么|什么时候|\bwhere\s+(?:do|does|can|could|should|would|will|is|are)\b", re.IGNORECASE)
_ASKS_FREQUENCY = re.compile(r"\bhow often\b|多久一次|多频繁", re.IGNORECASE)
_FREQUENCY = re.compile(r"\b(?:daily|weekly|monthly|yearly|annually|hourly|nightly|every|each|once|twice|always|regularly|"
                        r"constantly|continuously)\b|每[天日周月年]", re.IGNORECASE)
_NUMBER = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|fifty|dozens?|"
    r"hundreds?|thousands?|millions?|billions?|single|twice|half|several|few)\b|"
    r"[一二两三四五六七八九十百千万亿几][个位种台次天年月周倍条件块元岁小分秒]", re.IGNORECASE)
_DURATION = re.compile(r"\b(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?)\b|[天月年周]", re.IGNORECASE)
# what a price can be besides an amount: a share of another price ("9 % of the item's price") or nothing at all
_PRICED = re.compile(r"\d\s?%|\bper ?cent\b|\bfree\b|\bno (?:charge|cost|fee)\b|免费|不收费|\d\s*[元块]", re.IGNORECASE)
_DATE = re.compile(
    r"\b(?:1[5-9]|20)\d\d\b|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?\b|"
    r"\d{1,2}\s*月\s*\d{1,2}\s*[日号]|\d{4}\s*年", re.IGNORECASE)


def figure(question: str) -> Callable[[str], bool] | None:
    """For a question asking for a figure, a test of whether a text holds one of the kind asked (an amount of
    money for a price, a year or a date, a duration, a number); None when it asks for none."""
    if _PRICE.search(question):
        return lambda text: bool(_MONEY.search(text) or _PRICED.search(text))
    if _ASKS_DATE.search(question):
        return lambda text: bool(_DATE.search(text))
    if _ASKS_WAY.search(question):
        return None
    if _ASKS_FREQUENCY.search(question):  # "how often … ?": "daily", "every 6 hours", "twice a day"
        return lambda text: bool(_NUMBER.search(text) or _FREQUENCY.search(text))
    if _ASKS_DURATION.search(question):
        return lambda text: bool(_NUMBER.search(text) or _DURATION.search(text))
    if _ASKS_NUMBER.search(question):
        return lambda text: bool(_NUMBER.search(text))
    return None


def expected(question: str) -> Callable[[str], bool] | None:
    """A test of whether a sentence holds what `question` asks for, or None when it asks for no such thing."""
    if _PRICE.search(question):
        return lambda sentence: bool(_MONEY.search(sentence))
    if _WHO.search(question):
        asked = set(query_terms(question))
        return lambda sentence: any(not set(query_terms(name)) <= asked for name in _NAME.findall(sentence))
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
