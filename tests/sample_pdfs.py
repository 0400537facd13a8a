"""Small PDFs made on the fly with pymupdf, so the tests need no downloaded documents.

Text written for these tests (no third-party content): an English policy with numbered pages, a Chinese
notice, and a scanned-looking PDF whose pages 1-3 are images only and page 4 has a text layer.
"""

from __future__ import annotations

from pathlib import Path

import pymupdf

ENGLISH_PAGES = 8
ENGLISH = "warranty-policy.pdf"
CHINESE = "售后 说明.pdf"
SCANNED = "scanned-letter.pdf"

TOPICS = [
    "The Harbor Lamp H2 comes with a two-year limited warranty that covers manufacturing defects.",
    "Send warranty claims to the Claims Desk with the order number and a photo of the fault.",
    "Batteries are covered for twelve months and must keep at least seventy percent of their capacity.",
    "Water damage, dropped units and repairs by third parties are excluded from the warranty.",
    "A replacement unit ships within five working days after the Claims Desk approves the claim.",
    "Refurbished units carry a six-month warranty and are marked with a green label under the base.",
    "The International Validation Branch reviews claims from customers outside the European Union.",
    "Extended protection adds a third year for nine euros and must be bought within thirty days.",
]
CHINESE_TEXT = (
    "售后服务说明\n化学方程式不是本店的商品。本店的台灯保修两年，电池保修十二个月。"
    "申请保修时请提供订单号和故障照片，客服中心审核通过后五个工作日内寄出新机。"
    "进水、摔坏以及第三方维修不在保修范围内。"
)


def _filler(topic: str, n: int) -> str:
    return " ".join(f"{topic} Clause {i + 1} of this page repeats the rule for clarity." for i in range(n))


def write_english(path: Path, pages: int = ENGLISH_PAGES) -> Path:
    """A multi-page English policy; page N opens with TOPICS[N-1] and has enough text for several chunks."""
    with pymupdf.open() as doc:
        for n in range(pages):
            page = doc.new_page()
            page.insert_textbox(pymupdf.Rect(50, 50, 550, 800), f"Page {n + 1}. " + _filler(TOPICS[n % len(TOPICS)], 10),
                                fontsize=10)
        doc.save(path)
    return path


def write_chinese(path: Path) -> Path:
    """A one-page Chinese notice (pymupdf's built-in simplified Chinese font)."""
    with pymupdf.open() as doc:
        doc.new_page().insert_textbox(pymupdf.Rect(50, 50, 550, 800), CHINESE_TEXT, fontname="china-s", fontsize=11)
        doc.save(path)
    return path


def write_scanned(path: Path, pages: int = 6, text_page: int = 4) -> Path:
    """Pages are pictures of text (no text layer) except `text_page`, which also has real text."""
    with pymupdf.open() as doc:
        for n in range(1, pages + 1):
            with pymupdf.open() as scratch:
                src = scratch.new_page(width=300, height=200)
                src.insert_text((20, 40), f"Scanned letter, page {n}", fontsize=14)
                png = src.get_pixmap(dpi=72, colorspace=pymupdf.csGRAY).tobytes("png")
            page = doc.new_page(width=300, height=200)
            page.insert_image(page.rect, stream=png)
            if n == text_page:
                page.insert_text((20, 120), "This page was typed, not scanned: reply by 30 June.", fontsize=9)
        doc.save(path, deflate=True)
    return path


def write_cut_short(source: Path, path: Path, keep: int = 300) -> Path:
    """A copy of `source` cut after `keep` bytes, as an interrupted download leaves it."""
    path.write_bytes(source.read_bytes()[:keep])
    return path


def write_all(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_english(folder / ENGLISH)
    write_chinese(folder / CHINESE)
    write_scanned(folder / SCANNED)
    return folder
