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
from .text_pages import decode_text, pseudo_pages
from .page_kinds import PageCleaner

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
    """PDF text via pymupdf, one document per page that has text."""

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        min_chars: int = 1  # a page with fewer non-blank characters counts as having no text

    suffixes = (".pdf",)

    def __init__(self, params: Params | None = None):
        self.params = params or self.Params()

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
            for number, page in enumerate(pdf, start=1):
                try:
                    text = page.get_text("text")
                except Exception as exc:
                    log.warning("page unreadable", extra={"source": source, "page": number, "error": str(exc)})
                    continue
                if len(text.strip()) >= self.params.min_chars:
                    text = cleaner.clean(text, source, number)
                    if text is None:  # a contents or index page
                        continue
                    documents.append(
                        Document(text=text, source=source, page=number, sha256=sha, metadata={"pages": pdf.page_count})
                    )
            if not documents:
                raise LoadError(
                    f"no text layer on any of its {pdf.page_count} page(s) (a scanned PDF?); "
                    "run OCR on it first, e.g. `ocrmypdf in.pdf out.pdf`"
                )
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
