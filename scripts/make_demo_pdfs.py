"""Build the demo knowledge base's PDFs from their Markdown sources (committed, so the PDFs can be rebuilt).

    python scripts/make_demo_pdfs.py

Reads kotaemon_like/demo/sources/*.md; each `---` line starts a new page. Writes the PDFs into
kotaemon_like/demo/knowledge/. Chinese text uses pymupdf's built-in CJK fallback font, embedded as a subset.
"""

from __future__ import annotations

from pathlib import Path

import pymupdf
from markdown_it import MarkdownIt

DEMO = Path(__file__).resolve().parents[1] / "kotaemon_like" / "demo"
CSS = """
* {font-family: sans-serif; font-size: 10.5px; line-height: 1.4;}
h1 {font-size: 17px;} h2 {font-size: 13px; margin-top: 10px;}
table {border-collapse: collapse;} td, th {border: 0.5px solid #888; padding: 3px; font-size: 9.5px;}
"""
A4 = pymupdf.paper_rect("a4")
BODY = pymupdf.Rect(56, 56, A4.width - 56, A4.height - 64)


def build(source: Path, target: Path) -> int:
    """One PDF page per `---` section of `source`; returns the page count."""
    markdown = MarkdownIt("commonmark").enable("table")
    sections = [s for s in source.read_text(encoding="utf-8").split("\n---\n") if s.strip()]
    with pymupdf.open() as doc:
        for number, section in enumerate(sections, start=1):
            page = doc.new_page(width=A4.width, height=A4.height)
            spare, _ = page.insert_htmlbox(BODY, markdown.render(section), css=CSS)
            if spare < 0:
                raise SystemExit(f"{source.name}: section {number} does not fit on one page; split it with ---")
            page.insert_text((A4.width - 110, A4.height - 36), f"Page {number} of {len(sections)}", fontsize=8)
        doc.set_metadata({"title": source.stem, "author": "Kestrel Market (fictional demo shop)"})
        doc.subset_fonts()
        doc.save(target, garbage=3, deflate=True)
    return len(sections)


def main() -> None:
    for source in sorted((DEMO / "sources").glob("*.md")):
        target = DEMO / "knowledge" / f"{source.stem}.pdf"
        print(f"{target.relative_to(DEMO.parents[1])}: {build(source, target)} pages")


if __name__ == "__main__":
    main()
