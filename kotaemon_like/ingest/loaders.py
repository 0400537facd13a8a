"""Loaders: one file in, page-level documents out, or a `LoadError` that says what is wrong with the file."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pymupdf
from pydantic import BaseModel, ConfigDict, Field

from ..components import Document
from .errors import LoadError
from .files import iter_blocks, read_regular
from .ocr import OcrMode, PageReader, PageTally
from .page_kinds import PageCleaner
from .text_pages import decode_text, pseudo_pages

log = logging.getLogger(__name__)
__all__ = ["LoadError", "PdfLoader", "TextLoader", "file_sha256", "no_pages_error"]


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    for block in iter_blocks(path):
        digest.update(block)
    return digest.hexdigest()


def no_pages_error(pdf: pymupdf.Document) -> LoadError:
    """A PDF with no pages: a valid empty document, or one MuPDF had to repair (cut short, damaged)."""
    if pdf.is_repaired:
        return LoadError("not a readable PDF (damaged: no pages found; was the copy cut short?)")
    return LoadError("PDF is empty (a valid document with 0 pages); nothing to index")


def _read_nonempty(path: str) -> bytes:
    data = read_regular(path)
    if not data:
        raise LoadError("file is empty (0 bytes)")
    return data


class PdfLoader:
    """PDF text via pymupdf, one document per page that has text; pages that are images are read by OCR."""

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        min_chars: int = 1  # a page with fewer non-blank characters counts as having no text
        ocr: OcrMode = "auto"  # auto: image-only pages when Tesseract is installed; force: every page; off
        ocr_languages: str = "eng+chi_sim"  # Tesseract language codes joined by +; uninstalled ones are skipped
        ocr_dpi: int = Field(300, ge=72, le=600)  # at most; never finer than the page's own images
        tessdata: str = ""  # Tesseract's language folder; "" = $TESSDATA_PREFIX or the installed one

    suffixes = (".pdf",)

    def __init__(self, params: Params | None = None):
        self.params = params or self.Params()
        self.page_reader(PageTally())  # checks the OCR settings once, at start

    def page_reader(self, tally: PageTally) -> PageReader:
        p = self.params
        return PageReader(p.ocr, p.ocr_languages, p.ocr_dpi, tessdata=p.tessdata, min_chars=p.min_chars, tally=tally)

    def load(self, path: str, source: str) -> list[Document]:
        data = _read_nonempty(path)
        sha = hashlib.sha256(data).hexdigest()
        try:
            pdf = pymupdf.open(stream=data, filetype="pdf")
        except Exception as exc:  # pymupdf raises several types for damaged files
            raise LoadError(f"not a readable PDF (damaged or not a PDF: {exc})") from None
        with pdf:
            if pdf.needs_pass:
                raise LoadError("PDF is password-protected; remove the password and add it again")
            if pdf.page_count == 0:
                raise no_pages_error(pdf)
            documents = []
            cleaner = page_cleaner(pdf)
            reader = self.page_reader(PageTally())
            for number, page in enumerate(pdf, start=1):
                read = reader.read(page, source)
                if read is not None:
                    text, extra = read
                    text = cleaner.clean(text, source, number)
                    if text is None:  # a contents or index page
                        continue
                    documents.append(
                        Document(text=text, source=source, page=number, sha256=sha, metadata={"pages": pdf.page_count, **extra})
                    )
            if not documents:
                raise LoadError(reader.tally.nothing_found(pdf.page_count))
        return documents


def page_cleaner(pdf: pymupdf.Document) -> PageCleaner:
    """Running headers and footers are the lines repeated across pages: one cheap pass over all pages finds them
    (only each page's edge lines are kept, so a long PDF is never held as text)."""

    def texts():
        for page in pdf:
            try:
                yield page.get_text("text")
            except Exception:  # reported when the page is read for real
                continue

    return PageCleaner(texts())


class TextLoader:
    """Plain text and Markdown; UTF-8 expected, other encodings detected and logged.

    A long file is cut at line ends into pseudo-pages of about `page_chars` characters, so citations
    point somewhere useful ("p.37") and a page is the unit of work, as for a PDF.
    """

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        suffixes: tuple[str, ...] = (".txt", ".md", ".markdown")
        page_chars: int = Field(3000, ge=200)

    def __init__(self, params: Params | None = None):
        self.params = params or self.Params()
        self.suffixes = tuple(s.lower() for s in self.params.suffixes)

    def load(self, path: str, source: str) -> list[Document]:
        data = _read_nonempty(path)
        sha = hashlib.sha256(data).hexdigest()
        text = decode_text(data, source)
        del data
        if not text.strip():
            raise LoadError("file holds only whitespace")
        pages = [page for page in pseudo_pages(text, self.params.page_chars) if page.strip()]
        return [
            Document(text=page, source=source, page=number, sha256=sha, metadata={"pages": len(pages)})
            for number, page in enumerate(pages, start=1)
        ]
