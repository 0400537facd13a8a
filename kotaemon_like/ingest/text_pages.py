"""Text files: decoding bytes of an unknown encoding, and cutting long text into pseudo-pages."""

from __future__ import annotations

import logging
from typing import Iterator

from charset_normalizer import from_bytes

from .errors import LoadError

log = logging.getLogger(__name__)

# When several encodings read the bytes equally well (short files: "café crème" in Latin-1 also
# decodes without error as cp1006 or cp1251), the ones business files are actually written in win.
COMMON_ENCODINGS = ("cp1252", "cp1251", "cp932", "gb18030", "cp949", "big5", "cp1250", "iso8859_15", "koi8_r")
CHAOS_SLACK = 0.1  # candidates this close to the least chaotic one count as equally good


def decode_text(data: bytes, source: str) -> str:
    """UTF-8 (with or without BOM), else the most plausible encoding; `LoadError` for binary data."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    matches = list(from_bytes(data))
    if not matches:
        raise LoadError(
            f"not UTF-8 text (byte {data[first_bad]:#04x} at offset {first_bad}) and no other "
            "encoding fits; save it as UTF-8"
        )
    least = min(m.chaos for m in matches)
    close = [m for m in matches if m.chaos <= least + CHAOS_SLACK]
    best_coherence = max(m.coherence for m in close)
    close = [m for m in close if m.coherence >= best_coherence - CHAOS_SLACK]
    rank = {name: i for i, name in enumerate(COMMON_ENCODINGS)}
    best = min(close, key=lambda m: (rank.get(m.encoding, len(rank)), m.chaos, -m.coherence))
    text = str(best)
    if "\x00" in text:
        raise LoadError(
            f"not UTF-8 text (byte {data[first_bad]:#04x} at offset {first_bad}) and no other "
            "encoding fits; save it as UTF-8"
        )
    log.warning("text file is not UTF-8; decoded as %s", best.encoding, extra={"source": source})
    return text


def pseudo_pages(text: str, page_chars: int) -> list[str]:
    """`text` cut at line ends into pieces of at most about `page_chars` characters (a longer line is cut hard)."""
    return list(_pages(text, page_chars))


def _pages(text: str, page_chars: int) -> Iterator[str]:
    start, length = 0, len(text)
    while start < length:
        end = min(start + page_chars, length)
        if end < length:
            # prefer a paragraph break, then a line break, in the second half of the page
            cut = text.rfind("\n\n", start + page_chars // 2, end)
            if cut < 0:
                cut = text.rfind("\n", start + page_chars // 2, end)
            end = cut + 1 if cut >= 0 else end
        yield text[start:end]
        start = end
