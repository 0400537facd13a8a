"""Loaders on generated and real PDFs, and on every kind of bad file a business drops into the folder."""

from __future__ import annotations

import pymupdf
import pytest

from kotaemon_like.ingest.loaders import LoadError, PdfLoader, TextLoader

from .sample_pdfs import CHINESE, ENGLISH, ENGLISH_PAGES, SCANNED, write_cut_short

NO_OCR = PdfLoader.Params(ocr="off")  # pages as their text layers give them; OCR has its own tests (test_ocr.py)


def test_english_pdf_pages_keep_their_numbers(sample_pdfs):
    docs = PdfLoader().load(str(sample_pdfs / ENGLISH), "policy.pdf")
    assert [d.page for d in docs] == list(range(1, ENGLISH_PAGES + 1))
    assert all(d.source == "policy.pdf" and len(d.sha256) == 64 for d in docs)
    assert "two-year limited warranty" in docs[0].text and "Extended protection" in docs[7].text


def test_chinese_pdf_text(sample_pdfs):
    docs = PdfLoader().load(str(sample_pdfs / CHINESE), "zh.pdf")
    assert len(docs) == 1 and docs[0].page == 1
    assert "化学方程式" in docs[0].text and "电池保修十二个月" in docs[0].text


@pytest.mark.shared_data
def test_real_pdfs_from_the_evaluation_set(pdfs):
    docs = PdfLoader().load(str(pdfs / "federal-register-2020-17221.pdf"), "federal.pdf")
    assert [d.page for d in docs] == list(range(1, 16))
    assert "Federal Aviation Administration" in docs[0].text
    zh = PdfLoader().load(str(pdfs / "mineru_intro_zh.pdf"), "zh.pdf")
    assert "化学方程式" in zh[0].text and "国际化合物标识" in zh[0].text
    scanned = PdfLoader(NO_OCR).load(str(pdfs / "ocrmypdf_multipage_scanned.pdf"), "scan.pdf")
    assert [d.page for d in scanned] == [4] and scanned[0].metadata["pages"] == 6


def scanned_only(sample_pdfs, target):
    """The image-only pages (1-3) of the scanned sample, as a PDF of their own."""
    with pymupdf.open(sample_pdfs / SCANNED) as src, pymupdf.open() as out:
        out.insert_pdf(src, from_page=0, to_page=2)
        out.save(target)
    return target


def test_scanned_pdf_without_text_layer_is_refused(sample_pdfs, tmp_path):
    path = scanned_only(sample_pdfs, tmp_path / "scan.pdf")
    with pytest.raises(LoadError, match=r"no text layer on any of its 3 page\(s\).*OCR"):
        PdfLoader(NO_OCR).load(str(path), "scan.pdf")


def test_partly_scanned_pdf_keeps_the_pages_with_text(sample_pdfs):
    docs = PdfLoader(NO_OCR).load(str(sample_pdfs / SCANNED), "scan.pdf")
    assert [d.page for d in docs] == [4]
    assert docs[0].metadata["pages"] == 6


def test_corrupt_pdf(tmp_path, sample_pdfs):
    cut = write_cut_short(sample_pdfs / ENGLISH, tmp_path / "cut.pdf")
    with pytest.raises(LoadError, match="not a readable PDF"):
        PdfLoader().load(str(cut), "cut.pdf")
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"this is not a pdf at all" * 100)
    with pytest.raises(LoadError, match="not a readable PDF"):
        PdfLoader().load(str(junk), "junk.pdf")


def test_encrypted_pdf(tmp_path, sample_pdfs):
    locked = tmp_path / "locked.pdf"
    with pymupdf.open(sample_pdfs / ENGLISH) as doc:
        doc.save(locked, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="owner")
    with pytest.raises(LoadError, match="password-protected"):
        PdfLoader().load(str(locked), "locked.pdf")


def test_empty_files(tmp_path):
    for name, loader in (("empty.pdf", PdfLoader()), ("empty.txt", TextLoader())):
        (tmp_path / name).write_bytes(b"")
        with pytest.raises(LoadError, match="empty"):
            loader.load(str(tmp_path / name), name)


def test_text_encodings(tmp_path):
    utf8 = tmp_path / "a.md"
    utf8.write_text("\ufeff# Returns\nWe refund within 30 days.", encoding="utf-8")
    assert TextLoader().load(str(utf8), "a.md")[0].text.startswith("# Returns")
    gbk = tmp_path / "b.txt"
    gbk.write_bytes("退货政策：收到商品后三十天内可以退货退款，请保留发票和原包装。".encode("gb18030"))
    assert "退货政策" in TextLoader().load(str(gbk), "b.txt")[0].text
    binary = tmp_path / "c.txt"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(LoadError, match="not UTF-8"):
        TextLoader().load(str(binary), "c.txt")
