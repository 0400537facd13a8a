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
    from llama_index.core.utils import globals_helper

    return frozenset(globals_helper.stopwords)


@lru_cache(maxsize=1)
def _stemmer():
    from nltk.stem.porter import PorterStemmer

    return PorterStemmer()


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return _stemmer().stem(word) if word.isascii() else word


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


def query_terms(text: str) -> list[str]:
    """Distinct terms of a query, without English stop words (kept if nothing else is left)."""
    distinct = list(dict.fromkeys(terms(text)))
    content = [t for t in distinct if t not in _stemmed_stopwords()]
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
