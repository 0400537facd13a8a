"""Text to index terms, for Latin-script and CJK text alike.

Words become lower-cased, Porter-stemmed terms (so "accounts" finds "account"); runs of
Chinese / Japanese characters, which carry no spaces, become single characters plus character
bigrams, the standard BM25 treatment for CJK without a dictionary.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+", re.UNICODE)
_CJK_RUN = re.compile(rf"[{_CJK}]+")


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    from ..bundled import english_stopwords

    return frozenset(english_stopwords())


@lru_cache(maxsize=1)
def _stemmer():
    from nltk.stem.porter import PorterStemmer

    return PorterStemmer()


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return _stemmer().stem(word) if word.isascii() else word


def warm_up() -> None:
    """Import the stemmer and the stop words now, in the calling thread.

    nltk and llama-index imported for the first time by two threads at once (a search in the app while an
    ingest worker splits its first file) can leave one of them a half-initialised module.
    """
    _stemmed_stopwords()


@lru_cache(maxsize=1)
def _stemmed_stopwords() -> frozenset[str]:
    return frozenset(stem(w) for w in stopwords()) | stopwords()


def terms(text: str) -> list[str]:
    """Index terms of `text` in order (CJK: unigrams then bigrams per run)."""
    out: list[str] = []
    for token in _TOKEN.findall(unicodedata.normalize("NFKC", text).lower()):
        if _CJK_RUN.fullmatch(token):
            out.extend(token)
            out.extend(token[i : i + 2] for i in range(len(token) - 1))
        else:
            out.append(stem(token))
    return out


# Chinese function words and question words: the 的/吗/多少 of a question say nothing about its topic.
ZH_STOP_CHARS = frozenset("的了是在吗呢吧啊么呀哦嘛我你他她它们这那哪谁啥个和与及或请问要会能可以有没也都就还又很")
ZH_STOP_WORDS = frozenset(
    "什么 怎么 怎样 如何 多少 哪里 哪些 哪个 为什么 需要 可以 能否 是否 我们 你们 他们 没有 一下 请问 知道 告诉".split()
)


_ZH_STOP_PATTERN = re.compile("|".join(sorted(ZH_STOP_WORDS, key=len, reverse=True)))


def _is_stop(term: str) -> bool:
    if term in _stemmed_stopwords() or term in ZH_STOP_WORDS:
        return True
    return bool(_CJK_RUN.fullmatch(term)) and any(ch in ZH_STOP_CHARS for ch in term)


def query_terms(text: str) -> list[str]:
    """Distinct terms of a query, without stop words (English, and Chinese function/question words);
    all terms are kept if nothing else is left."""
    distinct = list(dict.fromkeys(terms(text)))
    content = [t for t in dict.fromkeys(terms(_ZH_STOP_PATTERN.sub(" ", text))) if not _is_stop(t)]
    return content or distinct


def has_cjk(text: str) -> bool:
    return bool(_CJK_RUN.search(text))


def term_overlap(query: str, text: str) -> float:
    """Share of the query's content terms (0..1) that occur in `text`: a crude, comparable relevance."""
    wanted = query_terms(query)
    if not wanted:
        return 0.0
    present = set(terms(text))
    return sum(1 for t in wanted if t in present) / len(wanted)
