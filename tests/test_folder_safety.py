"""Whatever lands in the knowledge folder, nothing can hang the indexer or read outside the folder."""

from __future__ import annotations

import os
import pytest

from kotaemon_like import registry
from kotaemon_like.cli import main
from kotaemon_like.ingest.files import read_regular, refusal
from kotaemon_like.ingest.loaders import LoadError, PdfLoader, TextLoader
from kotaemon_like.ingest.manifest import Manifest
from kotaemon_like.ingest.scanner import FolderScanner

from .conftest import write_config


def empty_pdf() -> bytes:
    """A valid PDF whose page tree holds no page."""
    body = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
    first, second = body.index(b"1 0 obj"), body.index(b"2 0 obj")
    return body + (
        b"xref\n0 3\n0000000000 65535 f \n%010d 00000 n \n%010d 00000 n \n"
        b"trailer << /Size 3 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (first, second, len(body))
    )


@pytest.fixture
def hostile(workdir):
    """A knowledge folder holding one good file and every kind of entry that must not be read."""
    folder = workdir / "data" / "knowledge"
    (folder / "sub").mkdir()
    (folder / "good.md").write_text("Refunds take five days.\n")
    os.symlink("/etc/passwd", folder / "passwd.txt")
    os.symlink("/dev/zero", folder / "zero.txt")
    os.mkfifo(folder / "pipe.txt")
    os.symlink("../good.md", folder / "sub" / "alias.md")  # a link that stays inside is fine
    os.symlink(workdir, folder / "outside")  # a linked folder is never walked into
    return folder


def test_scanner_refuses_links_out_devices_and_fifos(hostile, tmp_path):
    plan = FolderScanner(hostile, Manifest(tmp_path / "index"), (".md", ".txt")).plan()
    refused = {r.source: r.error for r in plan.skipped}
    assert sorted(plan.new) == ["good.md", "sub/alias.md"]
    assert "outside the knowledge folder" in refused["passwd.txt"]
    assert "outside the knowledge folder" in refused["zero.txt"]
    assert "FIFO" in refused["pipe.txt"] and "not a regular file" in refused["pipe.txt"]
    assert all(r.action == "failed" for r in plan.skipped)


def test_reads_never_block_on_a_fifo_or_follow_a_device(hostile):
    with pytest.raises(LoadError, match="FIFO"):
        read_regular(hostile / "pipe.txt")  # would block forever with open()
    with pytest.raises(LoadError, match="character device"):
        read_regular(hostile / "zero.txt")  # would grow without bound with read_bytes()
    assert refusal(hostile / "sub" / "alias.md", hostile) is None
    with pytest.raises(LoadError, match="FIFO"):
        TextLoader().load(str(hostile / "pipe.txt"), "pipe.txt")


def test_latin1_text_is_decoded_correctly(tmp_path):
    short = tmp_path / "menu.txt"
    short.write_bytes("café crème".encode("latin-1"))
    assert len(short.read_bytes()) == 10
    assert TextLoader().load(str(short), "menu.txt")[0].text == "café crème"
    cyrillic = tmp_path / "ru.txt"
    cyrillic.write_bytes("Возврат товара в течение 30 дней.".encode("cp1251"))
    assert TextLoader().load(str(cyrillic), "ru.txt")[0].text == "Возврат товара в течение 30 дней."


def test_long_text_gets_pseudo_pages(tmp_path):
    path = tmp_path / "long.txt"
    lines = [f"Line {i}: the warranty covers part number {i}." for i in range(2000)]
    path.write_text("\n".join(lines))
    docs = TextLoader(TextLoader.Params(page_chars=3000)).load(str(path), "long.txt")
    assert len(docs) > 20 and [d.page for d in docs] == list(range(1, len(docs) + 1))
    assert all(len(d.text) <= 3000 for d in docs) and "".join(d.text for d in docs) == path.read_text()
    assert all(d.text.endswith("\n") for d in docs[:-1])  # cut at line ends
    assert docs[0].metadata["pages"] == len(docs)
    page = next(d.page for d in docs if "part number 1500." in d.text)
    assert page > 1


def test_valid_empty_pdf_is_called_empty_not_damaged(tmp_path):
    path = tmp_path / "blank.pdf"
    path.write_bytes(empty_pdf())
    with pytest.raises(LoadError, match="PDF is empty") as caught:
        PdfLoader().load(str(path), "blank.pdf")
    assert "damaged" not in str(caught.value)
    from kotaemon_like.ingest.streaming import iter_pdf_pages

    with pytest.raises(LoadError, match="PDF is empty"):
        list(iter_pdf_pages(PdfLoader(), str(path), "blank.pdf"))


@pytest.mark.slow
def test_kl_index_strict_reports_each_failure_and_reads_nothing_outside(hostile, workdir, capsys):
    (hostile / "blank.pdf").write_bytes(empty_pdf())
    (hostile / "menu.txt").write_bytes("café crème".encode("latin-1"))
    config = write_config(workdir, "ingest: {max_file_mb: 200, max_file_chunks: 50}")
    (hostile / "huge.md").write_text("\n".join(f"Sentence {i} about returns." for i in range(20000)))

    assert main(["--config", str(config), "index", "--strict"]) == 1
    lines = capsys.readouterr().out.splitlines()
    failed = {line.split()[1].rstrip(":") for line in lines if line.strip().startswith("failed")}
    assert failed == {"passwd.txt", "zero.txt", "pipe.txt", "blank.pdf", "huge.md"}, lines
    assert any("huge.md: more than 50 chunks" in line for line in lines)
    assert any("blank.pdf: PDF is empty" in line for line in lines)
    assert "3 new" in lines[-1]  # good.md, sub/alias.md, menu.txt
    assert main(["--config", str(config), "index"]) == 0  # without --strict the same run is a success

    kb = registry.build_knowledge_base(registry.load(config))
    try:
        assert kb.keyword_index.count() == kb.vector_store.count()
        assert not [h for h in kb.keyword_index.search("root bin bash", 10) if "root:" in h.chunk.text]
        assert {h.chunk.source for h in kb.keyword_index.search("returns", 10)} <= {"good.md", "sub/alias.md"}
        assert [h.chunk.text for h in kb.keyword_index.search("crème", 5)] == ["café crème"]
    finally:
        kb.close()
