"""One conformance suite for the VectorStore contract, run against every registered vector store.

A new backend is one line in CONFIGS. Vectors are small random unit vectors, so no model is needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from kotaemon_like import registry
from kotaemon_like.components import Chunk, VectorStore
from kotaemon_like.stores.faiss_store import DimensionMismatchError

DIM = 16

# registered type -> the parameter sets it is tested with
CONFIGS: dict[str, list[dict[str, Any]]] = {
    "faiss": [{}],
    "qdrant": [{"path": "qdrant"}, {"location": ":memory:"}],
}
CASES = [
    pytest.param((kind, params), id=f"{kind}-{params.get('location') or 'disk'}")
    for kind in sorted(registry.BUILTINS["vector_store"])
    for params in CONFIGS.get(kind, [])
]


def unit_vectors(n: int, seed: int = 0, dim: int = DIM) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def make_chunks(n: int, prefix: str = "c") -> list[Chunk]:
    """Chunks over three sources and two tenants; `tags` is a list field, as the loaders' metadata can be."""
    sources = ["a.pdf", "b.pdf", "my files/c d.pdf"]
    tag_sets = [["x"], ["y", "z"], ["x", "z"], []]
    return [
        Chunk(
            id=f"{prefix}{i}", text=f"chunk {i}", source=sources[i % 3], page=i // 3 + 1,
            metadata={"tenant": "acme" if i % 2 == 0 else "globex", "tags": tag_sets[i % 4]},
        )
        for i in range(n)
    ]


def matches(chunk: Chunk, filter: dict[str, Any]) -> bool:
    """The contract's filter meaning: every key matches; a list value is any of; a list field matches any element."""
    for key, wanted in filter.items():
        value = getattr(chunk, key) if key in ("source", "page") else chunk.metadata.get(key)
        wanted = set(wanted) if isinstance(wanted, list) else {wanted}
        have = set(value) if isinstance(value, list) else {value}
        if not wanted & have:
            return False
    return True


@pytest.fixture(params=CASES)
def backend(request) -> tuple[str, dict[str, Any]]:
    return request.param


@pytest.fixture
def open_store(backend, tmp_path: Path) -> Callable[..., VectorStore]:
    """Opens the backend's store in one folder (again after close = reopen); closes whatever is left open."""
    kind, params = backend
    cls = registry.lookup("vector_store", kind)
    opened: list[VectorStore] = []

    def open_(dim: int = DIM) -> VectorStore:
        store = cls(cls.Params(**params), index_dir=tmp_path / "index", dim=dim)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()


@pytest.fixture
def persistent(backend) -> None:
    if backend[1].get("location") == ":memory:":
        pytest.skip("an in-memory store does not outlive its client")


@pytest.fixture
def filled(open_store) -> tuple[VectorStore, list[Chunk], np.ndarray]:
    store = open_store()
    chunks, vectors = make_chunks(30), unit_vectors(30)
    store.upsert(chunks, vectors)
    store.commit()
    return store, chunks, vectors


def ids(hits) -> list[str]:
    return [h.chunk.id for h in hits]


def test_every_registered_store_is_in_the_suite():
    assert set(registry.BUILTINS["vector_store"]) <= set(CONFIGS)


def test_search_orders_by_cosine_similarity(filled):
    store, chunks, vectors = filled
    query = unit_vectors(1, seed=99)[0]
    expected = np.argsort(-(vectors @ query))[:5]
    hits = store.search(query, 5)
    assert ids(hits) == [chunks[i].id for i in expected]
    assert [h.score for h in hits] == pytest.approx([float(vectors[i] @ query) for i in expected], abs=1e-5)
    exact = store.search(vectors[7], 1)[0]
    assert exact.chunk == chunks[7] and exact.score == pytest.approx(1.0, abs=1e-5)


def test_payload_round_trips_for_citations(filled):
    store, chunks, vectors = filled
    hit = store.search(vectors[5], 1)[0].chunk
    assert (hit.id, hit.text, hit.source, hit.page) == (chunks[5].id, chunks[5].text, chunks[5].source, chunks[5].page)
    assert dict(hit.metadata) == {"tenant": "globex", "tags": ["y", "z"]}
    assert hit.citation() == chunks[5].citation()


def test_missing_names_the_chunks_without_a_vector(filled):
    store, chunks, vectors = filled
    assert store.missing([chunks[0].id, "not-stored", chunks[1].id]) == {"not-stored"}
    store.delete(chunks[1].source)
    assert store.missing([chunks[0].id, chunks[1].id]) == {chunks[1].id}
    assert store.missing([]) == set()


def test_delete_by_source_returns_the_number_removed(filled):
    store, chunks, vectors = filled
    assert store.delete("b.pdf") == 10
    store.commit()
    assert store.count() == 20
    assert all(h.chunk.source != "b.pdf" for h in store.search(vectors[1], 30))
    assert store.delete("b.pdf") == 0
    assert store.delete("never-indexed.pdf") == 0


@pytest.mark.parametrize(
    "filter",
    [
        {"source": "a.pdf"},
        {"source": ["a.pdf", "my files/c d.pdf"]},
        {"tenant": "acme"},
        {"tags": "x"},
        {"tags": ["y", "nope"]},
        {"tenant": "globex", "tags": "z"},
        {"page": [1, 2]},
        {"tenant": "nobody"},
    ],
    ids=repr,
)
def test_filters_match_the_contract(filled, filter):
    store, chunks, vectors = filled
    hits = store.search(unit_vectors(1, seed=3)[0], 100, filter)
    assert sorted(ids(hits)) == sorted(c.id for c in chunks if matches(c, filter))
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_filter_keys_must_be_plain_names(filled):
    store, _, vectors = filled
    with pytest.raises(ValueError, match="plain name"):
        store.search(vectors[0], 3, {"tenant') OR 1=1 --": "x"})


def test_empty_store(open_store):
    store = open_store()
    query = unit_vectors(1)[0]
    assert store.count() == 0
    assert store.search(query, 5) == []
    assert store.search(query, 5, {"tenant": "acme"}) == []
    assert store.delete("a.pdf") == 0
    assert list(store.scan()) == []


def test_k_larger_than_count_and_k_zero(filled):
    store, chunks, vectors = filled
    assert len(store.search(vectors[0], 1000)) == len(chunks)
    assert store.search(vectors[0], 0) == []


def test_reupsert_is_idempotent_and_the_update_wins(filled):
    store, chunks, vectors = filled
    updated = [Chunk(c.id, c.text + " (v2)", c.source, c.page, c.metadata) for c in chunks[:10]]
    moved = unit_vectors(10, seed=42)
    store.upsert(updated, moved)
    store.upsert(updated, moved)
    store.commit()
    assert store.count() == len(chunks)
    hit = store.search(moved[4], 1)[0]
    assert hit.chunk.id == chunks[4].id and hit.chunk.text == "chunk 4 (v2)"
    assert hit.score == pytest.approx(1.0, abs=1e-5)


def test_unicode_payloads_and_odd_file_names(open_store):
    store = open_store()
    texts = ["退货政策：收到商品后七天内可以无理由退货。", "Emoji ok 🙂🚚📦 and accents: café, naïve", "مرحبا بالعالم"]
    sources = ["手册/退货 政策.pdf", "my docs/FAQ (final) v2.pdf", "ملف.txt"]
    meta = {"tenant": "租户", "tags": ["标签", "🙂"]}
    chunks = [Chunk(f"{s}#{i}", t, s, 1, meta) for i, (t, s) in enumerate(zip(texts, sources))]
    vectors = unit_vectors(3, seed=7)
    store.upsert(chunks, vectors)
    store.commit()
    for chunk, vector in zip(chunks, vectors):
        assert store.search(vector, 1)[0].chunk == chunk
        assert ids(store.search(vector, 3, {"source": chunk.source})) == [chunk.id]
    assert len(store.search(vectors[0], 3, {"tags": "🙂", "tenant": "租户"})) == 3
    assert store.delete("手册/退货 政策.pdf") == 1 and store.count() == 2


def test_scan_returns_every_chunk_with_its_vector(open_store):
    store = open_store()
    chunks, vectors = make_chunks(25), unit_vectors(25)
    store.upsert(chunks, vectors)
    store.commit()
    batches = list(store.scan(batch=7))
    assert all(len(b) == len(v) <= 7 for b, v in batches)
    scanned = {c.id: (c, v) for b, vs in batches for c, v in zip(b, vs)}
    assert sum(len(b) for b, _ in batches) == 25 and set(scanned) == {c.id for c in chunks}
    for chunk, vector in zip(chunks, vectors):
        assert scanned[chunk.id][0] == chunk
        np.testing.assert_allclose(scanned[chunk.id][1], vector, atol=1e-5)


def test_upsert_rejects_vectors_of_another_size(open_store):
    store = open_store()
    with pytest.raises(DimensionMismatchError):
        store.upsert(make_chunks(2), unit_vectors(2, dim=DIM + 1))
    with pytest.raises(ValueError):
        store.upsert(make_chunks(2), unit_vectors(3))


def test_persists_across_reopen(open_store, persistent):
    store = open_store()
    chunks, vectors = make_chunks(20), unit_vectors(20)
    store.upsert(chunks, vectors)
    store.delete("a.pdf")
    store.commit()
    before = store.search(vectors[1], 5, {"tenant": "globex"})
    store.close()
    store.close()  # closing twice is harmless
    reopened = open_store()
    assert reopened.count() == 13
    after = reopened.search(vectors[1], 5, {"tenant": "globex"})
    assert ids(after) == ids(before)
    assert [h.score for h in after] == pytest.approx([h.score for h in before], abs=1e-6)


def test_reopen_with_another_dimension_says_to_reindex(open_store, persistent):
    store = open_store()
    store.upsert(make_chunks(3), unit_vectors(3))
    store.close()
    with pytest.raises(DimensionMismatchError, match="kl reindex"):
        open_store(dim=DIM * 2)


# Qdrant-specific behaviour: connection modes, the local folder lock and the compose config.

def test_qdrant_local_folder_is_locked_until_closed(tmp_path: Path):
    from kotaemon_like.stores.qdrant_store import QdrantUnavailableError, QdrantVectorStore

    first = QdrantVectorStore(index_dir=tmp_path, dim=DIM)
    with pytest.raises(QdrantUnavailableError, match="already open"):
        QdrantVectorStore(index_dir=tmp_path, dim=DIM)
    first.close()
    second = QdrantVectorStore(index_dir=tmp_path, dim=DIM)
    second.close()
    with pytest.raises(RuntimeError, match="closed"):
        second.count()


def test_qdrant_server_that_is_not_there_is_one_clear_error(tmp_path: Path):
    from kotaemon_like.stores.qdrant_store import QdrantUnavailableError, QdrantVectorStore

    params = QdrantVectorStore.Params(url="http://127.0.0.1:9", timeout=2)  # discard port: nothing listens
    with pytest.raises(QdrantUnavailableError, match=r"cannot reach Qdrant at http://127.0.0.1:9.*vector_store.url"):
        QdrantVectorStore(params, index_dir=tmp_path, dim=DIM)


def test_qdrant_params(monkeypatch):
    from pydantic import ValidationError

    from kotaemon_like.stores.qdrant_store import QdrantVectorStore

    assert QdrantVectorStore.Params(api_key="", url="").api_key is None  # what "${QDRANT_API_KEY:-}" gives
    with pytest.raises(ValidationError, match="not both"):
        QdrantVectorStore.Params(url="http://qdrant:6333", location=":memory:")
    with pytest.raises(ValidationError):
        QdrantVectorStore.Params(host="qdrant")  # unknown keys are errors, not silently ignored


def test_stack_config_selects_qdrant_from_the_environment(monkeypatch):
    root = Path(__file__).resolve().parents[1]
    monkeypatch.setenv("QDRANT_URL", "http://vectors.internal:6333")
    monkeypatch.setenv("QDRANT_API_KEY", "s3cret")
    monkeypatch.delenv("KL_INDEX_DIR", raising=False)
    settings = registry.load(root / "config" / "stack.yaml")
    params = registry.parse_params("vector_store", settings.vector_store, "vector_store", settings.source_file)
    assert settings.vector_store.type == "qdrant" and str(settings.paths.index) == "/data/index"
    assert params.url == "http://vectors.internal:6333" and params.api_key.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(params)
