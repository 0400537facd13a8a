"""Loaders: one file in, page-level documents out, or a `LoadError` that says what is wrong with the file."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pymupdf
from charset_normalizer import from_bytes
from pydantic import BaseModel, ConfigDict

from ..components import Document

log = logging.getLogger(__name__)


class LoadError(Exception):
    """The file cannot be indexed; the message is shown to the user next to the file name."""


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_nonempty(path: str) -> bytes:
    data = Path(path).read_bytes()
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
                raise LoadError("not a readable PDF (damaged: no pages found; was the copy cut short?)")
            documents = []
            for number, page in enumerate(pdf, start=1):
                try:
                    text = page.get_text("text")
                except Exception as exc:
                    log.warning("page unreadable", extra={"source": source, "page": number, "error": str(exc)})
                    continue
                if len(text.strip()) >= self.params.min_chars:
                    documents.append(
                        Document(text=text, source=source, page=number, sha256=sha, metadata={"pages": pdf.page_count})
                    )
            if not documents:
                raise LoadError(
                    f"no text layer on any of its {pdf.page_count} page(s) (a scanned PDF?); "
                    "run OCR on it first, e.g. `ocrmypdf in.pdf out.pdf`"
                )
        return documents


class TextLoader:
    """Plain text and Markdown; UTF-8 expected, other encodings detected and logged."""

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        suffixes: tuple[str, ...] = (".txt", ".md", ".markdown")

    def __init__(self, params: Params | None = None):
        self.params = params or self.Params()
        self.suffixes = tuple(s.lower() for s in self.params.suffixes)

    def load(self, path: str, source: str) -> list[Document]:
        data = _read_nonempty(path)
        sha = hashlib.sha256(data).hexdigest()
        text = self._decode(data, source)
        if not text.strip():
            raise LoadError("file holds only whitespace")
        return [Document(text=text, source=source, page=1, sha256=sha)]

    @staticmethod
    def _decode(data: bytes, source: str) -> str:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            best = from_bytes(data).best()
            if best is None or "\x00" in str(best):
                raise LoadError(
                    f"not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start}) and no other "
                    "encoding fits; save it as UTF-8"
                ) from None
            log.warning("text file is not UTF-8; decoded as %s", best.encoding, extra={"source": source})
            return str(best)
