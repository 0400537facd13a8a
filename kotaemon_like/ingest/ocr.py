"""Text of a PDF page: its text layer, else Tesseract OCR (through pymupdf) when the page is an image.

`ocr: auto` reads a page by OCR only when it has no text layer but shows an image and Tesseract's
language data is installed (Debian: tesseract-ocr, tesseract-ocr-chi-sim); `force` reads every page by
OCR; `off` never. Pages without text are counted by kind, so a blank page is reported as blank and a
scanned page that could not be read says how to make it readable.
"""

from __future__ import annotations

import glob
import logging
import os
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

import pymupdf

log = logging.getLogger(__name__)

OcrMode = Literal["auto", "off", "force"]
INSTALL_HINT = "install Tesseract (Debian: apt-get install tesseract-ocr tesseract-ocr-chi-sim)"


@lru_cache(maxsize=8)
def find_tessdata(explicit: str = "") -> str | None:
    """Tesseract's language folder: `explicit`, else $TESSDATA_PREFIX, else where the installed tesseract looks."""
    for candidate in (explicit, os.environ.get("TESSDATA_PREFIX", "")):
        if candidate:
            return candidate if Path(candidate).is_dir() else None
    if shutil.which("tesseract"):
        try:
            listed = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, timeout=20).stdout
        except (OSError, subprocess.SubprocessError):
            listed = ""
        match = re.search(r'languages in "(.+?)"', listed)
        if match and Path(match.group(1)).is_dir():
            return match.group(1)
    found = sorted(glob.glob("/usr/share/tesseract-ocr/*/tessdata") + glob.glob("/usr/share/tessdata"))
    return found[-1] if found else None


@dataclass
class PageTally:
    """Pages of one file by how they were read; `note()` says what the user should know."""

    counts: Counter = field(default_factory=Counter)  # text | ocr | blank | image | ocr_failed

    def note(self) -> str:
        c = self.counts
        parts = []
        if c["ocr"]:
            parts.append(f"{c['ocr']} page(s) read by OCR")
        if c["blank"]:
            parts.append(f"{c['blank']} blank page(s) skipped")
        unread = c["image"] + c["ocr_failed"]
        if unread:
            why = "OCR failed" if not c["image"] else f"OCR is off or unavailable; {INSTALL_HINT}"
            parts.append(f"{unread} page(s) with only images (scanned?) skipped: {why}")
        return "; ".join(parts)

    def nothing_found(self, pages: int) -> str:
        """The reason a PDF yielded no text at all."""
        c = self.counts
        if c["blank"] == pages:
            return f"all {pages} page(s) are blank; nothing to index"
        if c["ocr_failed"] and not c["image"]:
            return f"no text layer on any of its {pages} page(s), and OCR found no text in them (see the log)"
        return (
            f"no text layer on any of its {pages} page(s) (a scanned PDF?) and OCR is off or unavailable; "
            f"{INSTALL_HINT} and keep `ocr: auto`, or run `ocrmypdf in.pdf out.pdf` first"
        )


class PageReader:
    """Reads each page's text as the OCR settings say, counting every page by kind in `tally`."""

    def __init__(
        self, mode: OcrMode = "auto", languages: str = "eng+chi_sim", dpi: int = 300, max_side_px: int = 4000,
        tessdata: str = "", min_chars: int = 1, tally: PageTally | None = None,
    ):
        self.mode, self.dpi, self.max_side_px, self.min_chars = mode, dpi, max_side_px, min_chars
        self.tally = tally if tally is not None else PageTally()
        self.tessdata, self.languages = (None, "") if mode == "off" else usable_languages(languages, tessdata)
        if mode == "force" and not self.tessdata:
            raise RuntimeError(f"loaders pdf: ocr is 'force' but no Tesseract language data was found; {INSTALL_HINT}, or set ocr: auto")

    @property
    def can_ocr(self) -> bool:
        return self.tessdata is not None

    def read(self, page: pymupdf.Page, source: str) -> tuple[str, dict] | None:
        """(text, extra metadata) of the page, or None when it has no text to index (counted in the tally)."""
        try:
            text = "" if self.mode == "force" else page.get_text("text")
        except Exception as exc:  # pymupdf raises several types for damaged pages
            log.warning("page unreadable", extra={"source": source, "page": page.number + 1, "error": str(exc)})
            text = ""
        if len(text.strip()) >= self.min_chars:
            self.tally.counts["text"] += 1
            return text, {}
        if self.mode != "force" and not page.get_images(full=False):
            self.tally.counts["blank"] += 1
            return None
        if not self.can_ocr:
            self.tally.counts["image"] += 1
            return None
        text = self.ocr(page, source)
        if len(text.strip()) < self.min_chars:
            self.tally.counts["ocr_failed" if self.mode != "force" or page.get_images(full=False) else "blank"] += 1
            return None
        self.tally.counts["ocr"] += 1
        return text, {"ocr": True}

    def ocr(self, page: pymupdf.Page, source: str) -> str:
        """The page rendered (no finer than its images need, at most `dpi`, at most `max_side_px`) and read by Tesseract."""
        dpi = render_dpi(page, self.dpi, self.max_side_px)
        try:
            textpage = page.get_textpage_ocr(language=self.languages, dpi=dpi, full=True, tessdata=self.tessdata)
            return page.get_text("text", textpage=textpage)
        except Exception as exc:  # MuPDF's Tesseract errors come as RuntimeError or ValueError
            log.warning("OCR failed", extra={"source": source, "page": page.number + 1, "error": str(exc)})
            return ""


def usable_languages(languages: str, tessdata: str = "") -> tuple[str | None, str]:
    """(tessdata folder, the requested languages installed there); (None, "") when none is installed."""
    folder = find_tessdata(tessdata)
    if folder is None:
        return None, ""
    wanted = [lang for lang in languages.split("+") if lang]
    present = [lang for lang in wanted if Path(folder, f"{lang}.traineddata").is_file()]
    if missing := sorted(set(wanted) - set(present)):
        log.warning("OCR languages not installed in %s: %s", folder, ", ".join(missing))
    return (folder, "+".join(present)) if present else (None, "")


def render_dpi(page: pymupdf.Page, limit: int, max_side_px: int) -> int:
    """The resolution of the page's sharpest image (Tesseract gains nothing above it), within the limits."""
    native = 0.0
    for info in page.get_image_info():
        width_pt = info["bbox"][2] - info["bbox"][0]
        if width_pt > 0:
            native = max(native, info["width"] * 72 / width_pt)
    dpi = min(limit, native) if native >= 150 else min(limit, 300)  # small scans are upscaled: Tesseract wants ~300
    longest_pt = max(page.rect.width, page.rect.height) or 1
    return max(72, int(min(dpi, max_side_px * 72 / longest_pt)))
