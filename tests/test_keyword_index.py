"""The keyword indexes (SQLite FTS5, PostgreSQL full-text search, Qdrant sparse vectors) against one suite: BM25
order, Chinese text, delete-by-source, filters, persistence."""

from __future__ import annotations

import pytest

from kotaemon_like.components import Chunk
from kotaemon_like.stores.keyword_sqlite import SqliteFtsKeywordIndex

from .postgres_server import postgres_server  # noqa: F401  (fixture)


@pytest.fixture(params=["sqlite_fts", "qdrant", pytest.param("postgres", marks=pytest.mark.slow)])
def open_index(request, tmp_path):
    """Opens the index under test (again, on the same storage, when called twice)."""
    opened = []
    if request.param == "sqlite_fts":
        def make():
            return SqliteFtsKeywordIndex(index_dir=tmp_path)
    elif request.param == "qdrant":  # qdrant-client's local mode, on disk (no Qdrant server here)
        from kotaemon_like.stores.keyword_qdrant import QdrantKeywordIndex

        def make():
            return QdrantKeywordIndex(index_dir=tmp_path)
    else:
        from kotaemon_like.stores.keyword_postgres import PostgresKeywordIndex

        url = request.getfixturevalue("postgres_server").create_database()

        def make():
            return PostgresKeywordIndex(PostgresKeywordIndex.Params(url=url))

    def opener():
        opened.append(make())
        return opened[-1]

    yield opener
    for index in opened:
        index.close()


def chunk(cid, text, source, **meta):
    return Chunk(id=cid, text=text, source=source, page=1, metadata=meta)


CHUNKS = [
    chunk("a", "Refunds are paid within 30 days of the return.", "policy.pdf", tenant="acme"),
    chunk("b", "Shipping to Europe takes five working days.", "shipping.pdf", tenant="acme"),
    chunk("c", "退货政策：收到商品后三十天内可以退货退款。", "zh.pdf", tenant="globex"),
    chunk("d", "配送时间一般为三到五个工作日。", "zh.pdf", tenant="globex", tags=["delivery", "zh"]),
]


def test_search_english_and_chinese(open_index):
    index = open_index()
    index.upsert(CHUNKS)
    assert index.search("how long until my refund is paid?", 3)[0].chunk.id == "a"
    assert index.search("returned items refunds", 3)[0].chunk.id == "a"  # stemming: refunds ~ refund
    assert index.search("可以退款吗", 3)[0].chunk.id == "c"
    assert index.search("配送需要几天", 3)[0].chunk.id == "d"


def test_delete_by_source_and_idempotent_upsert(open_index):
    index = open_index()
    index.upsert(CHUNKS)
    index.upsert(CHUNKS)  # same ids again: still one copy each
    assert index.count() == 4
    assert index.delete("zh.pdf") == 2
    assert index.count() == 2
    assert index.search("退货", 5) == []


def test_filters(open_index):
    index = open_index()
    index.upsert(CHUNKS)
    hits = index.search("days", 5, {"tenant": "acme"})
    assert {h.chunk.id for h in hits} == {"a", "b"}
    assert [h.chunk.id for h in index.search("days", 5, {"source": "shipping.pdf"})] == ["b"]
    assert [h.chunk.id for h in index.search("配送", 5, {"tags": "delivery"})] == ["d"]
    assert index.search("配送", 5, {"tags": ["nothing"]}) == []


def test_persists_across_reopen(open_index):
    index = open_index()
    index.upsert(CHUNKS)
    index.close()
    again = open_index()
    assert again.count() == 4
    assert again.search("shipping Europe", 1)[0].chunk.metadata == {"tenant": "acme"}


def test_same_id_twice_in_one_batch_keeps_the_last(open_index):
    index = open_index()
    index.upsert([chunk("x", "first version about parcels", "a.md"), chunk("x", "second version about lockers", "a.md")])
    assert index.count() == 1
    assert index.search("lockers", 2)[0].chunk.text == "second version about lockers"
    assert index.search("parcels", 2) == []


def test_a_chunk_rewritten_later_is_found_by_its_new_words_only(open_index):
    index = open_index()
    index.upsert([chunk("x", "first version about parcels", "a.md"), chunk("y", "parcels and lockers", "b.md")])
    index.upsert([chunk("x", "second version about lockers", "a.md")])
    assert [h.chunk.id for h in index.search("parcels", 5)] == ["y"]
    assert {h.chunk.id for h in index.search("lockers", 5)} == {"x", "y"}


def test_bm25_weighs_rare_terms_over_common_ones(open_index):
    index = open_index()
    common = [chunk(f"n{i}", f"order number {i} shipped", "orders.md") for i in range(8)]
    index.upsert(common + [chunk("rare", "order number lost in customs", "customs.md")])
    hits = index.search("order customs", 3)
    assert hits[0].chunk.id == "rare" and hits[0].score > hits[1].score > 0
    assert index.sources() == {"orders.md": 8, "customs.md": 1}


@pytest.mark.slow
def test_postgres_collections_of_two_tenants_never_mix(postgres_server):
    from kotaemon_like.config import PartSpec, Settings
    from kotaemon_like.stores.keyword_postgres import PostgresKeywordIndex
    from kotaemon_like.tenants.runtime import tenant_settings

    settings = Settings(keyword_index=PartSpec(type="postgres", url=postgres_server.create_database()))
    acme, globex = (PostgresKeywordIndex(PostgresKeywordIndex.Params(**tenant_settings(settings, t).keyword_index.params))
                    for t in ("acme", "globex"))
    try:
        acme.upsert(CHUNKS[:2])
        globex.upsert(CHUNKS[2:])
        assert acme.count() == 2 and globex.count() == 2
        assert globex.search("refunds paid days", 5) == [] and acme.search("退货", 5) == []
        assert globex.delete("policy.pdf") == 0 and acme.count() == 2  # a delete never reaches another tenant
    finally:
        acme.close()
        globex.close()


@pytest.mark.slow
def test_postgres_index_written_before_postings_existed_is_ranked_the_same(postgres_server):
    """A keyword table from an earlier release (term vectors, no postings) gets its postings on first open."""
    import psycopg

    from kotaemon_like.stores.keyword_postgres import PostgresKeywordIndex

    params = PostgresKeywordIndex.Params(url=postgres_server.create_database())
    index = PostgresKeywordIndex(params)
    index.upsert(CHUNKS + [chunk(f"n{i}", f"order number {i} shipped", "orders.md") for i in range(8)])
    before = [(h.chunk.id, round(h.score, 6)) for h in index.search("order shipped Europe days", 10)]
    index.close()
    with psycopg.connect(params.url.replace("postgresql+psycopg://", "postgresql://")) as con:
        con.execute("DROP TABLE kl_keywords_postings")
    again = PostgresKeywordIndex(params)
    try:
        assert [(h.chunk.id, round(h.score, 6)) for h in again.search("order shipped Europe days", 10)] == before
        assert again.search("配送需要几天", 3)[0].chunk.id == "d"
    finally:
        again.close()


def test_pages_of_a_source_in_reading_order(open_index):
    index = open_index()
    index.upsert([Chunk(id=f"m.pdf:{p}:{i}", text=f"page {p} part {i}", source="m.pdf", page=p, metadata={})
                  for p in (3, 1, 2) for i in (1, 0)])
    assert [c.id for c in index.pages("m.pdf", 1, 2)] == ["m.pdf:1:0", "m.pdf:1:1", "m.pdf:2:0", "m.pdf:2:1"]


def test_qdrant_sparse_scores_are_bm25(tmp_path):
    """With `avg_terms` at the collection's mean length, a Qdrant score is exactly BM25 (k1 1.2, b 0.75, FTS5's
    IDF) computed by hand from the analyzer's terms."""
    import math

    from kotaemon_like.stores.analyzer import query_terms, terms
    from kotaemon_like.stores.keyword_qdrant import QdrantKeywordIndex

    chunks = CHUNKS + [chunk(f"n{i}", f"order number {i} shipped to Europe", "orders.md") for i in range(6)]
    docs = {c.id: terms(c.text) for c in chunks}
    mean = sum(map(len, docs.values())) / len(docs)
    index = QdrantKeywordIndex(QdrantKeywordIndex.Params(location=":memory:", avg_terms=mean))
    try:
        index.upsert(chunks)
        query = "refund shipped to Europe within days"
        wanted = set(query_terms(query))

        def bm25(words):
            total = 0.0
            for term in wanted & set(words):
                df = sum(term in d for d in docs.values())
                idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
                tf = words.count(term)
                total += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * len(words) / mean))
            return total

        hits = index.search(query, 20)
        expected = sorted(((bm25(w), cid) for cid, w in docs.items() if bm25(w) > 0), reverse=True)
        assert len(hits) == len(expected) > 3
        assert [round(h.score, 5) for h in hits] == [round(score, 5) for score, _ in expected]
    finally:
        index.close()


def test_qdrant_tenants_have_their_own_collections_and_idf(tmp_path):
    from kotaemon_like.stores.keyword_qdrant import QdrantKeywordIndex

    index = QdrantKeywordIndex(QdrantKeywordIndex.Params(path="kw"), index_dir=tmp_path)
    acme, globex = index.for_tenant("acme"), index.for_tenant("globex")
    try:
        acme.upsert([chunk(f"a{i}", f"parcel lockers stand in hall {i}", "lockers.md") for i in range(5)]
                    + [chunk("a-rare", "parcel refunds take a week", "refunds.md")])
        globex.upsert([chunk("g1", "parcel refunds take a week", "refunds.md"), chunk("g2", "opening hours", "hours.md")])
        assert (index.count(), acme.count(), globex.count()) == (0, 6, 2)
        assert acme.search("opening hours", 5) == [] and {h.chunk.id for h in globex.search("parcel", 5)} == {"g1"}
        # "parcel" is in every acme chunk (IDF near nothing there) but in half of globex's: the same text scores
        # differently because each tenant's statistics are its own
        (a_hit,), (g_hit,) = acme.search("parcel refunds", 1), globex.search("parcel refunds", 1)
        assert a_hit.chunk.id == "a-rare" and g_hit.chunk.id == "g1" and abs(a_hit.score - g_hit.score) > 0.1
        assert globex.delete("refunds.md") == 1 and acme.count() == 6  # a delete never reaches another tenant
    finally:
        index.close()


def test_qdrant_keyword_index_is_one_config_line_from_index_to_cited_answer(tmp_path, capsys):
    from kotaemon_like.cli import main

    from .conftest import write_config

    folder = tmp_path / "data" / "knowledge"
    folder.mkdir(parents=True)
    (tmp_path / "config").mkdir()
    (folder / "returns.md").write_text("# Returns\n\nYou can return any item within 30 days of delivery.\n\n"
                                       "# Shipping\n\nParcels to Europe take five working days.\n")
    config = write_config(tmp_path, "keyword_index: {type: qdrant}\nretriever: {type: keyword, top_k: 2}")
    assert main(["--config", str(config), "index"]) == 0
    assert (tmp_path / "data" / "index" / "qdrant-keywords").is_dir()  # the keywords went to Qdrant, not FTS5
    assert main(["--config", str(config), "ask", "how many days do I have to return an item?"]) == 0
    out = capsys.readouterr().out
    assert "30 days" in out and "returns.md p.1" in out
