"""Moving an index from FAISS to Qdrant (local mode on disk) without re-embedding, including an interrupted run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kotaemon_like.ingest.migrate import migrate
from kotaemon_like.stores.faiss_store import FaissVectorStore
from kotaemon_like.stores.qdrant_store import QdrantVectorStore

from .test_vector_stores import DIM, make_chunks, unit_vectors


class Interrupted(Exception):
    pass


def stop_after_first_batch(copied: int, total: int) -> None:
    raise Interrupted(f"stopped at {copied}/{total}")


def open_target(index_dir: Path) -> QdrantVectorStore:
    return QdrantVectorStore(QdrantVectorStore.Params(path="qdrant"), index_dir=index_dir, dim=DIM)


def test_interrupted_migration_finishes_on_rerun(tmp_path: Path):
    source = FaissVectorStore(index_dir=tmp_path / "faiss", dim=DIM)
    chunks, vectors = make_chunks(70), unit_vectors(70)
    source.upsert(chunks, vectors)
    source.commit()

    target = open_target(tmp_path / "qdrant")
    with pytest.raises(Interrupted):
        migrate(source, target, progress=stop_after_first_batch, batch=30)
    assert target.count() == 30  # the first batch was committed before the interruption
    target.close()  # as if the process had died: the rerun starts from a fresh client

    target = open_target(tmp_path / "qdrant")
    seen: list[tuple[int, int]] = []
    assert migrate(source, target, progress=lambda done, total: seen.append((done, total)), batch=30) == 70
    assert seen == [(30, 70), (60, 70), (70, 70)]
    assert target.count() == source.count() == 70

    for query in unit_vectors(5, seed=11):
        for filter in (None, {"tenant": "acme"}, {"tags": ["z"]}, {"source": "my files/c d.pdf"}):
            want, got = source.search(query, 8, filter), target.search(query, 8, filter)
            assert [h.chunk for h in got] == [h.chunk for h in want]
            assert [h.score for h in got] == pytest.approx([h.score for h in want], abs=1e-5)
    source.close()
    target.close()


def test_migrating_into_a_store_of_another_dimension_fails_before_copying(tmp_path: Path):
    from kotaemon_like.stores.faiss_store import DimensionMismatchError

    source = FaissVectorStore(index_dir=tmp_path / "faiss", dim=DIM)
    source.upsert(make_chunks(3), unit_vectors(3))
    target = QdrantVectorStore(QdrantVectorStore.Params(location=":memory:"), dim=DIM * 2)
    try:
        with pytest.raises(DimensionMismatchError):
            migrate(source, target)
        assert target.count() == 0
    finally:
        source.close()
        target.close()


def test_vectors_are_copied_not_recomputed(tmp_path: Path):
    source = FaissVectorStore(index_dir=tmp_path / "faiss", dim=DIM)
    chunks, vectors = make_chunks(12), unit_vectors(12, seed=5)
    source.upsert(chunks, vectors)
    target = QdrantVectorStore(QdrantVectorStore.Params(location=":memory:"), dim=DIM)
    try:
        migrate(source, target, batch=5)
        copied = {c.id: v for batch, vs in target.scan() for c, v in zip(batch, vs)}
        for chunk, vector in zip(chunks, vectors):
            np.testing.assert_allclose(copied[chunk.id], vector, atol=1e-6)
    finally:
        source.close()
        target.close()
