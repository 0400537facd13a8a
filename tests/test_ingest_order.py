"""Searchable-first ordering and the watcher's settle wait: small files before big ones, removals first."""

from __future__ import annotations

import shutil
import time

import pytest
from watchdog.events import FileClosedEvent, FileDeletedEvent, FileModifiedEvent

from kotaemon_like.cli import main
from kotaemon_like.ingest.manifest import FileRecord, IndexMismatchError, Manifest
from kotaemon_like.ingest.scanner import FolderScanner
from kotaemon_like.ingest.watcher import FolderWatcher
from kotaemon_like.queues.memory import InProcessQueue

from .conftest import wait_until, write_config


def write(folder, name: str, kilobytes: int):
    path = folder / name
    path.write_text("Returns are accepted within 30 days. " * (kilobytes * 28))
    return path


@pytest.fixture
def folder(tmp_path):
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    return knowledge


def scanner_for(folder, tmp_path) -> FolderScanner:
    return FolderScanner(folder, Manifest(tmp_path / "index"), (".md", ".txt"))


def test_plan_indexes_the_smallest_files_first(folder, tmp_path):
    scanner = scanner_for(folder, tmp_path)
    write(folder, "a-manual.txt", 400)
    write(folder, "b-faq.md", 2)
    write(folder, "c-policy.txt", 40)
    changed = write(folder, "d-changed.md", 1)
    scanner.manifest.put(FileRecord("d-changed.md", "old", 1, 1, 3, "indexed"))  # indexed before, edited since

    plan = scanner.plan()

    assert plan.new == ["a-manual.txt", "b-faq.md", "c-policy.txt"] and plan.changed == ["d-changed.md"]
    assert plan.to_index == ["d-changed.md", "b-faq.md", "c-policy.txt", "a-manual.txt"]
    assert plan.sizes["a-manual.txt"] == (folder / "a-manual.txt").stat().st_size > changed.stat().st_size


def test_watcher_publishes_what_settled_together_removals_then_smallest_first(folder, tmp_path):
    queue = InProcessQueue()
    watcher = FolderWatcher(scanner_for(folder, tmp_path), queue, quiet_s=0.2)
    paths = [write(folder, "big.txt", 300), write(folder, "small.md", 1), write(folder, "middle.txt", 30)]
    for path in paths:
        watcher.on_any_event(FileClosedEvent(str(path)))
    watcher.on_any_event(FileDeletedEvent(str(folder / "gone.md")))
    time.sleep(0.25)

    jobs = watcher._settled()

    assert [(j.action, j.source) for j in jobs] == [
        ("delete", "gone.md"), ("index", "small.md"), ("index", "middle.txt"), ("index", "big.txt"),
    ]


def test_a_copy_that_ends_with_chmod_is_published_after_the_short_wait(folder, tmp_path):
    """shutil.copy closes the file, then sets its mode: that attribute change must not restart the
    full quiet period (30 s here) that files still open for writing get."""
    queue = InProcessQueue()
    watcher = FolderWatcher(scanner_for(folder, tmp_path), queue, quiet_s=30.0)
    source = write(tmp_path, "policy.md", 20)
    source.chmod(0o640)
    watcher.start()
    try:
        shutil.copy(source, folder / "policy.md")
        wait_until(lambda: queue.depth(), timeout_s=15.0, what="the copied file's job")
        job = queue.receive("test", count=1, block_s=0.1)[0].job
        assert (job.source, job.action) == ("policy.md", "index")
    finally:
        watcher.stop()


def test_a_file_still_being_written_waits_for_the_full_quiet_period(folder, tmp_path):
    watcher = FolderWatcher(scanner_for(folder, tmp_path), InProcessQueue(), quiet_s=1.0)
    path = write(folder, "growing.txt", 1)
    watcher.on_any_event(FileModifiedEvent(str(path)))  # no close yet: the writer may go on
    time.sleep(0.1)
    assert watcher._settled() == []
    time.sleep(1.0)
    assert [j.source for j in watcher._settled()] == ["growing.txt"]


def test_an_fp32_index_under_the_int8_default_is_told_to_reindex(tmp_path):
    manifest = Manifest(tmp_path / "index")
    manifest.check_embedder("all-MiniLM-L6-v2", 384)  # built before int8 became the default
    with pytest.raises(IndexMismatchError) as refused:
        manifest.check_embedder("all-MiniLM-L6-v2+int8", 384)
    message = str(refused.value)
    assert "holds fp32 vectors of 'all-MiniLM-L6-v2'" in message and "makes int8 ones" in message
    assert "run `kl reindex`" in message and "embedder.backend: torch" in message
    # and the other way round: an int8 index opened with backend torch
    manifest = Manifest(tmp_path / "index8")
    manifest.check_embedder("all-MiniLM-L6-v2+int8", 384)
    with pytest.raises(IndexMismatchError, match=r"holds int8 vectors.*kl reindex.*embedder.backend: onnx-int8"):
        manifest.check_embedder("all-MiniLM-L6-v2", 384)


@pytest.mark.slow
def test_kl_with_int8_on_an_fp32_index_says_reindex_and_mixes_nothing(workdir, capsys):
    (workdir / "data" / "knowledge" / "returns.md").write_text("Unused items can be returned within 30 days for a refund.")
    fp32 = write_config(workdir, "embedder: {type: sentence_transformers, backend: torch}", name="fp32.yaml")
    assert main(["--config", str(fp32), "index"]) == 0
    (workdir / "data" / "knowledge" / "shipping.md").write_text("Parcels ship within two working days.")
    default = write_config(workdir, "embedder: {type: sentence_transformers, backend: onnx-int8}")
    capsys.readouterr()

    assert main(["--config", str(default), "index"]) == 2
    error = capsys.readouterr().err
    line = next(line for line in error.splitlines() if line.startswith("error: "))
    assert line.startswith("error: the index in ") and "holds fp32 vectors" in line and "run `kl reindex`" in line
    assert set(Manifest(workdir / "data" / "index").all()) == {"returns.md"}  # nothing embedded with the other backend

    assert main(["--config", str(default), "reindex"]) == 0
    assert set(Manifest(workdir / "data" / "index").all()) == {"returns.md", "shipping.md"}
    assert main(["--config", str(default), "index"]) == 0
