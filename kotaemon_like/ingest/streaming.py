"""Loading a file page by page, so a 1,000-page PDF never sits in memory as text all at once.

A loader may offer `iter_load(path, source)`, a generator of the same documents `load` returns; the
PDF loader gets a lazy twin here (same checks, same messages). Other loaders are used as they are.
"""

from __future__ import annotations

import logging
import os
from typing import Iterator

import pymupdf

from ..components import Document, Loader
from .loaders import LoadError, PdfLoader, file_sha256, no_pages_error, page_cleaner
from .ocr import PageTally

log = logging.getLogger(__name__)
STORE_SHRINK_PAGES = 32


def iter_documents(loader: Loader, path: str, source: str, tally: PageTally | None = None) -> Iterator[Document]:
    """The documents of one file, as lazily as its loader allows; raises `LoadError` like `load`.

    A PDF's pages are counted by kind (text, OCR, blank, image only) in `tally` as they are read."""
    lazy = getattr(loader, "iter_load", None)
    if lazy is not None:
        return lazy(path, source)
    if type(loader) is PdfLoader:
        return iter_pdf_pages(loader, path, source, tally)
    return iter(loader.load(path, source))


def iter_pdf_pages(loader: PdfLoader, path: str, source: str, tally: PageTally | None = None) -> Iterator[Document]:
    """`PdfLoader.load`, one page at a time: MuPDF reads the file as pages are asked for, never all of it at once."""
    sha = file_sha256(path)  # refuses anything but a regular file before MuPDF opens it
    if os.path.getsize(path) == 0:
        raise LoadError("file is empty (0 bytes)")
    try:
        pdf = pymupdf.open(path, filetype="pdf")
    except Exception as exc:  # pymupdf raises several types for damaged files
        raise LoadError(f"not a readable PDF (damaged or not a PDF: {exc})") from None
    with pdf:
        if pdf.needs_pass:
            raise LoadError("PDF is password-protected; remove the password and add it again")
        if pdf.page_count == 0:
            raise no_pages_error(pdf)
        found = 0
        cleaner = page_cleaner(pdf)
        reader = loader.page_reader(tally if tally is not None else PageTally())
        for number, page in enumerate(pdf, start=1):
            read = reader.read(page, source)
            if number % STORE_SHRINK_PAGES == 0:
                # MuPDF keeps every page's fonts and streams in its cache: 0.3 MB a page, 400 MB for 1,000 pages
                pymupdf.TOOLS.store_shrink(100)
            if read is not None:
                found += 1
                text, extra = read
                text = cleaner.clean(text, source, number)
                if text is None:  # a contents or index page
                    continue
                yield Document(text=text, source=source, page=number, sha256=sha, metadata={"pages": pdf.page_count, **extra})
        if not found:
            raise LoadError(reader.tally.nothing_found(pdf.page_count))
