"""Scanned pages through Tesseract OCR (pymupdf drives it), blank pages reported as blank, on real scans."""

from __future__ import annotations

import pymupdf
import pytest

from kotaemon_like import registry
from kotaemon_like.ingest.loaders import LoadError, PdfLoader
from kotaemon_like.ingest.ocr import PageTally, find_tessdata, render_dpi, usable_languages
from kotaemon_like.ingest.streaming import iter_documents

from .conftest import write_config

TESSERACT = find_tessdata() is not None and usable_languages("eng+chi_sim")[1] == "eng+chi_sim"
needs_tesseract = pytest.mark.skipif(
    not TESSERACT, reason="Tesseract language data not installed (apt-get install tesseract-ocr tesseract-ocr-chi-sim)"
)


def scanned_lines(pdfs, target):
    """A strip of four lines of the real scanned book page (page 1 of the ocrmypdf test file), as an image-only PDF."""
    with pymupdf.open(pdfs / "ocrmypdf_multipage_scanned.pdf") as src, pymupdf.open() as out:
        pix = src[0].get_pixmap(dpi=150, clip=pymupdf.Rect(0, 150, 384, 215))
        page = out.new_page(width=384, height=65)
        page.insert_image(page.rect, pixmap=pix)
        out.save(target)
    return target


def blank_then_text(pdfs, target):
    """A blank page followed by page 4 of the scanned file (the one with a text layer)."""
    with pymupdf.open(pdfs / "ocrmypdf_multipage_scanned.pdf") as src, pymupdf.open() as out:
        out.new_page()
        out.insert_pdf(src, from_page=3, to_page=3)
        out.save(target)
    return target


@needs_tesseract
@pytest.mark.slow
def test_scanned_page_is_read_by_ocr_and_becomes_searchable(workdir, pdfs):
    scanned_lines(pdfs, workdir / "data" / "knowledge" / "scan.pdf")
    config = write_config(workdir, "loaders: [{type: pdf, ocr: auto, ocr_languages: eng}]")
    kb = registry.build_knowledge_base(registry.load(config))
    report = registry.build_indexer(kb).sync()
    (result,) = report.results
    assert result.action == "new" and result.chunks >= 1, result
    assert result.note == "1 page(s) read by OCR"
    hits = kb.keyword_index.search("passing by the kitchen", 3)
    assert hits and hits[0].chunk.source == "scan.pdf" and hits[0].chunk.page == 1
    assert "fell over a root" in hits[0].chunk.text
    kb.close()


@needs_tesseract
@pytest.mark.slow
def test_chinese_text_in_an_image_is_read_with_ocr_force(pdfs):
    # the page has a small text layer ("我是文字") and the rest as an image: `auto` keeps the text layer,
    # `force` reads the whole page
    path = str(pdfs / "chatchat_ocr_test_zh_image.pdf")
    (auto,) = PdfLoader().load(path, "zh.pdf")
    assert "横向文本框" not in auto.text and "ocr" not in auto.metadata
    (forced,) = PdfLoader(PdfLoader.Params(ocr="force", ocr_languages="chi_sim")).load(path, "zh.pdf")
    assert "横向文本框" in forced.text and "我是文字" in forced.text and forced.metadata["ocr"] is True


def test_blank_pages_are_reported_as_blank(pdfs, tmp_path):
    blank = tmp_path / "blank.pdf"
    with pymupdf.open() as out:
        out.new_page()
        out.new_page()
        out.save(blank)
    with pytest.raises(LoadError, match=r"all 2 page\(s\) are blank"):
        PdfLoader().load(str(blank), "blank.pdf")
    tally = PageTally()
    docs = list(iter_documents(PdfLoader(), str(blank_then_text(pdfs, tmp_path / "mixed.pdf")), "mixed.pdf", tally))
    assert [d.page for d in docs] == [2]
    assert tally.note() == "1 blank page(s) skipped"


def test_scanned_pdf_with_ocr_off_says_how_to_read_it(pdfs, tmp_path):
    path = scanned_lines(pdfs, tmp_path / "scan.pdf")
    with pytest.raises(LoadError, match=r"no text layer on any of its 1 page\(s\).*apt-get install tesseract-ocr"):
        PdfLoader(PdfLoader.Params(ocr="off")).load(str(path), "scan.pdf")
    tally = PageTally()
    with pytest.raises(LoadError):
        list(iter_documents(PdfLoader(PdfLoader.Params(ocr="off")), str(path), "scan.pdf", tally))
    assert tally.counts["image"] == 1 and "tesseract-ocr" in tally.note()


def test_ocr_force_without_language_data_is_refused_at_start(tmp_path):
    with pytest.raises(RuntimeError, match="ocr is 'force'.*tesseract-ocr"):
        PdfLoader(PdfLoader.Params(ocr="force", tessdata=str(tmp_path / "missing")))
    with pytest.raises(RuntimeError, match="ocr is 'force'"):
        PdfLoader(PdfLoader.Params(ocr="force", ocr_languages="xxx_not_a_language"))
    assert PdfLoader(PdfLoader.Params(ocr="auto", tessdata=str(tmp_path / "missing"))).page_reader(PageTally()).can_ocr is False


def test_pages_are_rendered_no_finer_than_their_scans(pdfs):
    with pymupdf.open(pdfs / "ocrmypdf_multipage_scanned.pdf") as pdf:
        assert render_dpi(pdf[0], 300, 4000) == 150  # an 800 px wide scan over 384 pt
        assert render_dpi(pdf[1], 300, 4000) == 133  # a 9000 px scan over 2160 pt: capped at 4000 px a side
        assert render_dpi(pdf[4], 300, 4000) == 300  # a 72 dpi scan is upscaled for Tesseract
