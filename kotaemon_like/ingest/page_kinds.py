"""Which PDF pages and lines are navigation rather than content: contents and index pages, running headers
and footers, page numbers. Such text matches many questions by its words and answers none of them, so it
is kept out of the index and can never be cited."""

from __future__ import annotations

import logging
import re
from collections import Counter
from typing import Iterable

log = logging.getLogger(__name__)

_LEADER = re.compile(r"(?:\.\s?){4,}|…\s*\d+\s*$")  # ". . . . 12" dot leaders of a contents line
_NUMBER = re.compile(r"^(?:\d+(?:\.\d+)*\.?|[ivxlc]+)$", re.IGNORECASE)  # "7.12", "32", "iv"
# a page's label at its foot or head, "Page 1 of 2", "- 7 -", "3/12", "第 3 页": on a short document too, where it
# is seen on too few pages to count as running
PAGE_LABEL = re.compile(r"^(?:page\s*)?[-–]?\s*\d+\s*(?:(?:of|/)\s*\d+)?\s*[-–]?$|^第\s*\d+\s*页", re.IGNORECASE)
_INDEX_ENTRY = re.compile(r"\S,\s*\d+(?:\s*[,–-]\s*\d+)*$")  # "apt-doc, 36, 37"
_HEADING_WORD = re.compile(r"^(?:table of )?contents$|^index$", re.IGNORECASE)
_DIGITS = re.compile(r"\d+")
EDGE_LINES = 3  # running headers and footers sit in the first or last lines of a page
BLOCK_LINES = 12  # a typeset footer block ("VerDate … Jkt … Frm …") spans up to this many short lines


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def page_kind(text: str) -> str:
    """'contents', 'index' or 'text' for one page's text."""
    lines = _lines(text)
    if len(lines) < 6:
        return "text"
    n = len(lines)
    titled = any(_HEADING_WORD.match(line) for line in lines[:4])
    leaders = sum(bool(_LEADER.search(line)) for line in lines)
    numbers = sum(bool(_NUMBER.match(line)) for line in lines)
    entries = sum(bool(_INDEX_ENTRY.search(line)) for line in lines)
    if leaders / n >= 0.25 or (titled and (leaders + numbers) / n >= 0.3):
        return "contents"
    if entries / n >= 0.5 or (titled and entries / n >= 0.25):
        return "index"
    return "text"


def _shape(line: str) -> str:
    """A line with its numbers blanked, so "47699 Federal Register / Vol. 85" matches on every page."""
    return _DIGITS.sub("#", " ".join(line.split()).lower())


def _is_caps_header(line: str) -> bool:
    """An all-capitals Latin line such as "CHAPTER 7. BASICS OF THE DEBIAN PACKAGE …" (a running head)."""
    letters = [c for c in line if c.isalpha()]
    return len(letters) >= 4 and all(c.isascii() and c.isupper() for c in letters)


class PageCleaner:
    """Built from all pages of one document: drops navigation pages and the repeated lines at page edges."""

    def __init__(self, page_texts: Iterable[str], min_repeats: int = 3, block_share: float = 0.5):
        edges: Counter[str] = Counter()
        blocks: Counter[str] = Counter()
        pages = 0
        for text in page_texts:
            lines = _lines(text)
            pages += 1
            edges.update({_shape(line) for line in lines[:EDGE_LINES] + lines[-EDGE_LINES:] if len(line) >= 8})
            blocks.update({_shape(line) for line in lines[:BLOCK_LINES] + lines[-BLOCK_LINES:] if len(line) >= 3 and not _NUMBER.match(line)})
        # a line at a page's edge seen on a few pages, or near the edge on most pages, is a running head or foot
        self.running = {shape for shape, count in edges.items() if count >= min_repeats}
        block_min = max(min_repeats, block_share * pages)
        self.blocks = {shape for shape, count in blocks.items() if count >= block_min}

    def clean(self, text: str, source: str = "", page: int = 0) -> str | None:
        """The page's content text, or None for a contents or index page."""
        kind = page_kind(text)
        if kind != "text":
            log.info("navigation page left out of the index", extra={"source": source, "page": page, "kind": kind})
            return None
        lines = [line for line in text.splitlines() if line.strip()]
        keep = [True] * len(lines)
        for i, line in enumerate(lines):
            depth = min(i, len(lines) - 1 - i)
            shape = _shape(line)
            label = _NUMBER.match(line.strip()) or PAGE_LABEL.match(line.strip())
            if depth < EDGE_LINES and (shape in self.running or label):
                keep[i] = False
            elif depth < BLOCK_LINES and shape in self.blocks:
                keep[i] = False
        # the running section title under the chapter head ("7.12. HOW DO I PUT A PACKAGE ON HOLD?")
        for i in range(min(2, len(lines))):
            if keep[i] and _is_caps_header(lines[i]) and i + 1 < len(lines):
                keep[i] = False
        return "\n".join(line for line, k in zip(lines, keep) if k)
