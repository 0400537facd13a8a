"""A chunk's text as sections (heading + answer sentences), with PDF line wrapping undone.

What a customer should never be quoted: headings, contents lines, lone page numbers and questions.
Headings are kept apart so that a FAQ entry whose heading matches the question can answer with its body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..ingest.page_kinds import PAGE_LABEL  # the text before a page's label ended with the page

_CJK = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
# a stop after these ends no sentence: "Mr. Potato Head", "Docket No. FAA-2020-0746", "e.g. Debian"
_ABBREVIATIONS = ("Mr", "Mrs", "Ms", "Dr", "Prof", "Jr", "Sr", "St", "No", "Nos", "Vol", "Fig", "vs", "cf", "e.g", "i.e")
_NOT_AFTER = "".join(rf"(?<!\b{re.escape(a)}\.)" for a in _ABBREVIATIONS)
# a sentence ends at . ! ? before a non-lower-case start, but not after an initial ("Susan G. Kleinmann")
_SENTENCE_END = re.compile(rf"(?<![\s.][A-Z]\.){_NOT_AFTER}(?<=[.!?])\s+(?=[^a-z])|(?<=[。！？；])|\n\s*\n|\n(?=\s*[-•*]\s)")
_ENUMERATOR = re.compile(r"^(?:\d{1,2}|[a-z])[.)]$")  # "1." opening a list item: it belongs to the item
_ITEM_NUMBER = re.compile(r"\n\s*(\d{1,2}[.)])$")  # "… function:\n1." : the first item's number ends the piece
_SECTION_NUMBER = re.compile(r"^(?:chapter\s+)?\d+(?:\.\d+)*\.?$", re.IGNORECASE)  # "7.12", "Chapter 7"
# "7.12 How do I …"; not "11.43 and 11.45, by any of the following" (a wrapped line of a citation)
_NUMBERED_TITLE = re.compile(r"^(?:\d+(?:\.\d+)+\.?|[Cc]hapter\s+\d+|CHAPTER\s+\d+)\s+(?![a-z])\S")
_WRAPPED_NUMBER = re.compile(r"^\d+[.,;:)]?$")  # "2020." ending "comments … by September 21,"
_LEADER = re.compile(r"(?:\.\s?){4,}|…\s*\d+$")
_LONE_NUMBER = re.compile(r"^[\divxlc.\s]+$", re.IGNORECASE)
_HYPHEN_WRAP = re.compile(r"([a-z])-\n\s*([a-z])")
_SHORT_REPLY = re.compile(r"^[A-Z][A-Za-z ,']{0,8}[.!]$")  # "No.", "Yes!", "Of course."
MAX_SENTENCE_CHARS = 300
MAX_TITLE_LINES = 3
MAX_TITLE_CHARS = 40  # a shorter line without a final stop is a title, not an answer


@dataclass
class Section:
    heading: str = ""
    sentences: list[str] = field(default_factory=list)


_CODE = re.compile(r"\w\(")  # "FCNID(QIBM_DB_SECADM)": a command in capitals, not a running head


def _is_caps(line: str) -> bool:
    letters = [c for c in line if c.isalpha()]
    return len(letters) >= 4 and all(c.isascii() and c.isupper() for c in letters) and not _CODE.search(line)


def join_lines(lines: list[str]) -> str:
    """Lines of wrapped text as one string: no space where both sides are Chinese ("最简\\n式" -> "最简式")."""
    out = ""
    for line in (line.strip() for line in lines):
        if not line:
            continue
        if out and not (re.match(rf"[{_CJK}]", line) and re.search(rf"[{_CJK}]$", out)):
            out += " "
        out += line
    return out


def unwrap_hyphens(text: str) -> str:
    """Rejoin words the PDF broke at a line end ("pack-\\nages" -> "packages"); real compounds seen elsewhere
    in the text unbroken with their hyphen ("debian-\\nuser" where "debian-user" occurs) keep it."""

    def join(match: re.Match[str]) -> str:
        start = text.rfind(" ", 0, match.start()) + 1
        left = text[start : match.start() + 1].split("\n")[-1]
        right = re.match(r"[\w]+", text[match.end() - 1 :]).group(0)
        if f"{left}-{right}" in text:
            return f"{match.group(1)}-{match.group(2)}"
        return match.group(1) + match.group(2)

    return _HYPHEN_WRAP.sub(join, text)


_SENTENCE_CLOSE = re.compile(rf"[.!?]{_NOT_AFTER}(?=\s|$)|[。！？]")  # not "Mr." of "Mr. Potato"
_FINISHED = (".", "!", "?", ":", ";", "。", "！", "？", "；", "：")


def strip_overlap(previous: str, text: str, min_chars: int = 10) -> str:
    """`text` without the opening it repeats from the end of `previous` (the splitter's chunk overlap)."""
    for pos in range(max(0, len(previous) - len(text)), len(previous) - min_chars + 1):
        if (pos == 0 or previous[pos - 1].isspace()) and text.startswith(previous[pos:]):
            return text[len(previous) - pos :].lstrip()
    return text


def carry_over(previous: str, text: str) -> tuple[str, str]:
    """(the words of `text` that finish the sentence `previous` was cut in, the rest of `text`): a chunk that
    ends "comments on this proposed AD by September 21," is finished by the next one's "2020."."""
    end = previous.rstrip().rstrip(")]”’\"'")  # "(… but Ian prefers ee’-en.)" is finished
    if not end or end.endswith(_FINISHED) or PAGE_LABEL.match(end.rpartition("\n")[2].strip()):
        return "", text
    close = _SENTENCE_CLOSE.search(text, 0, MAX_SENTENCE_CHARS)
    if close is None or _opens_with_title(text[: close.end()]):
        return "", text
    return text[: close.end()], text[close.end() :].lstrip()


def _opens_with_title(text: str) -> bool:
    """Whether `text` opens with a title line ("除垢", "Troubleshooting"): a new section, not the rest of a sentence."""
    first, newline, _ = text.partition("\n")
    first = first.strip()
    return bool(newline and first and len(first) < MAX_TITLE_CHARS and not first.endswith((*_FINISHED, ","))
                and (first[0].isupper() or not first[0].isascii()))


def is_quotable(sentence: str, min_chars: int) -> bool:
    """An answer sentence: long enough, not a contents line, page number, heading, title or question."""
    s = sentence.strip()
    return (
        len(s) >= min_chars
        and not _LEADER.search(s)
        and not _LONE_NUMBER.match(s)
        and not _is_caps(s)
        and not s.endswith(("?", "？"))
        and not (len(s) < MAX_TITLE_CHARS and s[-1:].isalpha() and s.isascii())  # "The Debian archives"
    )


def _line_groups(piece: str) -> list[str]:
    """A run of text too long for one sentence (command listings, tables) cut at its lines into groups: a new
    group starts where a capitalised line follows a finished one, or where the group would grow too long,
    so "set a package to hold using" stays with the command on the line after it."""
    groups: list[list[str]] = [[]]
    size = 0
    for line in (line.strip() for line in piece.splitlines()):
        if not line:
            continue
        previous = groups[-1][-1] if groups[-1] else ""
        stop = previous.endswith((".", "!", "?")) and "/" not in previous.rsplit(" ", 1)[-1]  # not "msg00011."
        ended = stop or (line[0].isupper() and not previous.endswith((":", ",", "-")))
        fresh = previous and ended and size >= 40
        if groups[-1] and (fresh or size + len(line) > MAX_SENTENCE_CHARS):
            groups.append([])
            size = 0
        groups[-1].append(line)
        size += len(line) + 1
    return ["\n".join(g) for g in groups if g]


def split_sentences(text: str) -> list[str]:
    """Sentences in order; one that announces what follows ("There are two types:") keeps its first item, and
    a short reply ("No.", "Yes!") or a list item's number ("1.") opens the sentence after it, so an answer's
    first word is never lost."""
    out: list[str] = []
    number = ""  # a list item's number, waiting for its item
    for piece in _SENTENCE_END.split(text):
        for group in _line_groups(piece) if len(piece) > MAX_SENTENCE_CHARS else [piece]:
            item = _ITEM_NUMBER.search(group)
            sentence = join_lines((group[: item.start()] if item else group).splitlines())
            if _ENUMERATOR.match(sentence):
                number, sentence = sentence, ""
            if sentence:
                _add(out, f"{number} {sentence}".lstrip())
                number = ""
            number = item.group(1) if item else number
    return out


def _add(out: list[str], sentence: str) -> None:
    """Appends `sentence`, or joins it to the last one when that announces it ("… are:") or only replies ("No.")."""
    joins = out and (out[-1].endswith(":") or _SHORT_REPLY.match(out[-1]))
    if joins and len(out[-1]) + len(sentence) < MAX_SENTENCE_CHARS:
        out[-1] += " " + sentence
    else:
        out.append(sentence)


def _title_end(lines: list[str], start: int) -> int:
    """Index after the heading title that starts at `start`: up to the line ending in '?' (FAQ), else one line."""
    for i in range(start, min(start + MAX_TITLE_LINES, len(lines))):
        if lines[i].rstrip().endswith(("?", "？")):
            return i + 1
    return start + 1


def _question_title_end(lines: list[str], start: int) -> int:
    """Index after an unnumbered FAQ question standing on its own lines at `start` ("How many Debian
    distributions are there?" whose number the chunker left in the previous chunk), or `start` if none."""
    if not lines[start][:1].isupper():
        return start
    for i in range(start, min(start + MAX_TITLE_LINES, len(lines))):
        line = lines[i]
        if line.endswith(("?", "？")):
            return i + 1 if i + 1 < len(lines) and len(join_lines(lines[start : i + 1])) < 200 else start
        # a finished sentence, a section number or a short title line ("The Debian archives") is no part of it
        if not line or line.endswith((".", "!", ":")) or _SECTION_NUMBER.match(line) or len(line) < 50:
            return start
    return start


def _wrapped(line: str) -> bool:
    """Whether a line of prose stops mid-sentence (a comma or a word ends it), so the next line carries it on."""
    return len(line) >= 25 and (line.endswith(",") or line[-1:].isalnum()) and " " in line


def sections(text: str) -> list[Section]:
    """Split a chunk into sections at numbered headings and FAQ questions on their own lines; all-caps lines
    and page numbers are dropped."""
    lines = [line.strip() for line in unwrap_hyphens(text).splitlines()]
    out = [Section()]
    body: list[str] = []

    def close() -> None:
        out[-1].sentences.extend(split_sentences("\n".join(body)))
        body.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        if body and _WRAPPED_NUMBER.match(line) and _wrapped(body[-1]):
            body.append(line)  # a year or count the line above carries on to, no section number or page number
            i += 1
            continue
        if _SECTION_NUMBER.match(line) and i + 1 < len(lines) and lines[i + 1]:
            end = _title_end(lines, i + 1)
            close()
            out.append(Section(heading=join_lines(lines[i + 1 : end])))
            i = end
            continue
        if _NUMBERED_TITLE.match(line) and len(line) < 160:
            end = _title_end(lines, i) if not line.endswith(("?", "？")) else i + 1
            close()
            out.append(Section(heading=re.sub(r"^\S+\s+", "", join_lines(lines[i:end]))))
            i = end
            continue
        if _is_caps(line) or _LONE_NUMBER.match(line):
            i += 1
            continue
        # a question line starts a section unless it carries on a wrapped sentence (a long unfinished line)
        if not body or body[-1].endswith((".", "!", "?", ":", "？", "。")) or len(body[-1]) <= 60:
            end = _question_title_end(lines, i)
            if end > i:
                close()
                out.append(Section(heading=join_lines(lines[i:end])))
                i = end
                continue
        body.append(line)
        i += 1
    close()
    return [s for s in out if s.heading or s.sentences]
