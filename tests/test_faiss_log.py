"""The FAISS store's change log: batches cost what they hold, crashes lose nothing, other processes follow."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import faiss
import numpy as np

from kotaemon_like.stores import sqlite_db
from kotaemon_like.stores.faiss_store import FaissVectorStore, vector_id

from .test_vector_stores import DIM, make_chunks, unit_vectors

ROOT = Path(__file__).resolve().parents[1]


def snapshot_files(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in folder.glob("vectors.*.faiss")}


def test_batches_never_rewrite_the_whole_index(tmp_path: Path):
    """100 batches of 256: snapshots are rare and their bytes stay a constant multiple of the final index."""
    store = FaissVectorStore(FaissVectorStore.Params(snapshot_min_changes=256), index_dir=tmp_path, dim=DIM)
    written: dict[str, int] = {}
    batches, size = 100, 256
    for b in range(batches):
        store.upsert(make_chunks(size, prefix=f"b{b}-"), unit_vectors(size, seed=b))
        store.commit()
        written.update(snapshot_files(tmp_path))
    store.close()
    written.update(snapshot_files(tmp_path))
    final = max(written.values())
    # rewriting per batch would write ~batches/2 times the final size; geometric snapshots about 3 times
    assert len(written) <= 14, sorted(written)
    assert sum(written.values()) <= 4 * final
    reopened = FaissVectorStore(index_dir=tmp_path, dim=DIM)
    assert reopened.count() == batches * size
    reopened.close()


def test_a_killed_writer_loses_nothing_it_returned_from(tmp_path: Path):
    """upsert returns after its transaction commits: a process killed before close keeps every chunk."""
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(ROOT)!r})
        from kotaemon_like.stores.faiss_store import FaissVectorStore
        from tests.test_vector_stores import make_chunks, unit_vectors
        store = FaissVectorStore(index_dir={str(tmp_path)!r}, dim={DIM})
        store.upsert(make_chunks(300), unit_vectors(300))
        store.delete("a.pdf")
        os._exit(0)  # no close, no snapshot
    """)
    subprocess.run([sys.executable, "-c", script], check=True, cwd=ROOT, timeout=120)
    assert snapshot_files(tmp_path) == {}
    store = FaissVectorStore(index_dir=tmp_path, dim=DIM)
    assert store.count() == 200
    vectors = unit_vectors(300)
    hit = store.search(vectors[1], 1)[0]
    assert hit.chunk.id == "c1" and hit.score > 0.999
    store.close()


def test_a_second_process_follows_writes_deletes_and_snapshots(tmp_path: Path):
    writer = FaissVectorStore(FaissVectorStore.Params(snapshot_min_changes=0), index_dir=tmp_path, dim=DIM)
    reader = FaissVectorStore(index_dir=tmp_path, dim=DIM)
    writer.upsert(make_chunks(30), unit_vectors(30))
    assert reader.count() == 30
    writer.delete("b.pdf")
    assert reader.count() == 20
    assert "b.pdf" not in {h.chunk.source for h in reader.search(unit_vectors(30)[1], 30)}
    # the reader falls behind while the writer folds its log into snapshots twice
    writer.commit()
    writer.upsert(make_chunks(10, prefix="n"), unit_vectors(10, seed=7))
    writer.commit()
    assert reader.count() == 30
    hit = reader.search(unit_vectors(10, seed=7)[3], 1)[0]
    assert hit.chunk.id == "n3"
    # and the reader's own write goes after everything the writer did
    reader.delete("a.pdf")
    assert writer.count() == reader.count() == 30 - 10 - 4  # a.pdf: 10 of the first chunks, 4 of the new
    writer.close()
    reader.close()


def test_an_index_from_before_the_change_log_is_moved_over(tmp_path: Path):
    """Older installs kept vectors only in vectors.faiss: their index opens and searches the same."""
    chunks, vectors = make_chunks(12), unit_vectors(12)
    con = sqlite_db.connect(tmp_path / "vectors.sqlite")
    sqlite_db.create_chunk_table(con)
    ids = np.array([vector_id(c.id) for c in chunks], dtype=np.int64)
    con.executemany("INSERT INTO chunks (rowid, id, source, page, text, metadata) VALUES (?,?,?,?,?,?)",
                    [sqlite_db.chunk_row(c, int(i)) for c, i in zip(chunks, ids)])
    con.close()
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(DIM))
    index.add_with_ids(vectors, ids)
    faiss.write_index(index, str(tmp_path / "vectors.faiss"))

    store = FaissVectorStore(index_dir=tmp_path, dim=DIM)
    assert store.count() == 12
    assert store.search(vectors[5], 1)[0].chunk.id == "c5"
    assert not (tmp_path / "vectors.faiss").exists()
    store.close()
    again = FaissVectorStore(index_dir=tmp_path, dim=DIM)
    assert again.count() == 12 and again.search(vectors[7], 1)[0].chunk.id == "c7"
    again.close()
