"""Qdrant vector store: a Qdrant server (`url`, the compose stack) or qdrant-client's local mode.

Local mode (`path` on disk or `location: ":memory:"`) has the same client API but is a brute-force
Python implementation for tests and small collections, and only one process may open its folder.
Embedders return L2-normalised vectors and the collection uses dot-product distance, so scores are
cosine similarity exactly as FAISS's inner product gives them and relevance thresholds mean the same.
(Dot rather than Cosine: equal for unit vectors, and local mode re-normalises every stored vector per
query under Cosine.) An existing Cosine collection is accepted as is.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import re
import threading
import uuid
from importlib.metadata import version
from pathlib import Path
from typing import Any, Iterator, Literal, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from qdrant_client import QdrantClient, models

from ..components import Chunk, Filter, ScoredChunk
from ..config import ConfigError
from .faiss_store import DimensionMismatchError

log = logging.getLogger(__name__)

# Fixed namespace: the same chunk id must map to the same point id on every machine and run.
_POINT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://kotaemon-like/chunk")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # as sqlite_db: a key is never a path or an expression
_TOP_LEVEL_FIELDS = ("source", "page")  # every other filter key is a metadata field, as in sqlite_db.filter_sql


class QdrantUnavailableError(ConfigError):
    """Qdrant cannot be reached or its local folder is in use; a ConfigError so every entry point shows one sentence."""


def point_id(chunk_id: str) -> str:
    """A stable UUID for a chunk id (Qdrant ids are unsigned ints or UUIDs)."""
    return str(uuid.uuid5(_POINT_NAMESPACE, chunk_id))


def qdrant_filter(filter: Filter | None) -> models.Filter | None:
    """A Qdrant filter with sqlite_db.filter_sql's meaning: every key must match; a list value means any of."""
    if not filter:
        return None
    conditions: list[models.Condition] = []
    for key, value in filter.items():
        if not _KEY.match(key):
            raise ValueError(f"filter key {key!r} is not a plain name")
        field = key if key in _TOP_LEVEL_FIELDS else f"metadata.{key}"
        values = list(value) if isinstance(value, (list, tuple, set)) else [value]
        # Qdrant matches a condition on an array field when any element matches, which is what tags need.
        if len(values) == 1:
            match: models.Match = models.MatchValue(value=values[0])
        else:
            match = models.MatchAny(any=values)
        conditions.append(models.FieldCondition(key=field, match=match))
    return models.Filter(must=conditions)


def _payload(chunk: Chunk, tenant: str | None) -> dict[str, Any]:
    payload = {"chunk_id": chunk.id, "text": chunk.text, "source": chunk.source, "page": chunk.page,
               "metadata": dict(chunk.metadata)}
    if tenant:
        payload["tenant"] = tenant
    return payload


def tenant_scope(tenant: str | None, filter: models.Filter | None = None) -> models.Filter:
    """`filter` narrowed to one tenant's points (or, for the default tenant, to the points without a tenant)."""
    scope: models.Condition = (models.FieldCondition(key="tenant", match=models.MatchValue(value=tenant)) if tenant
                               else models.IsEmptyCondition(is_empty=models.PayloadField(key="tenant")))
    must = [scope, *((filter.must or []) if filter is not None else [])]
    return models.Filter(must=must)


def _chunk(payload: dict[str, Any]) -> Chunk:
    return Chunk(id=payload["chunk_id"], text=payload["text"], source=payload["source"], page=int(payload["page"]),
                 metadata=payload.get("metadata") or {})


class QdrantParams(BaseModel):
    """Where a Qdrant collection lives: a server (`url`) or local mode (`path`, `location`)."""

    model_config = ConfigDict(extra="forbid")
    url: str | None = None  # a Qdrant server, e.g. http://qdrant:6333; else local mode
    api_key: SecretStr | None = None  # normally "${QDRANT_API_KEY:-}" so the value never sits in the file
    path: str = "qdrant"  # local mode folder, relative to the index folder
    location: Literal[":memory:"] | None = None  # local mode without a folder (tests)
    collection: str = "kotaemon_like"
    # one tenant's share of a collection several tenants use: its points carry `tenant` and every
    # search, count and delete filters on it; unset (the default tenant): the points without one
    tenant: str | None = None
    batch_size: int = Field(256, gt=0)  # points per upsert request
    timeout: int = Field(10, gt=0)  # seconds per server request

    @field_validator("url", "api_key", "location", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # `${QDRANT_API_KEY:-}` interpolates to "" when the variable is not set
        return None if value == "" else value

    @model_validator(mode="after")
    def _one_mode(self) -> QdrantParams:
        if self.url and self.location:
            raise ValueError("set either url (a Qdrant server) or location (\":memory:\"), not both")
        return self


class QdrantCollection:
    """One Qdrant collection of chunk points (payload: text, source, page, metadata, tenant): the connection,
    delete-by-source, counts and tenant views that the vector store and the keyword index share."""

    Params = QdrantParams
    kind = "collection"  # for messages: what this collection holds
    section = "vector_store"  # its config section, for messages

    def __init__(self, params: QdrantParams, index_dir: Path | str = "data/index"):
        self.params = params
        self.collection = self.params.collection
        self.tenant = self.params.tenant
        self._owns_client = True
        self.local = not self.params.url
        on_disk = self.local and not self.params.location
        self.folder: Path | None = Path(index_dir) / self.params.path if on_disk else None
        # qdrant-client's local mode keeps plain numpy arrays and dicts; the server client is thread-safe
        self._lock: Any = threading.RLock() if self.local else contextlib.nullcontext()
        self._client: QdrantClient | None = self._connect()

    @property
    def where(self) -> str:
        """The server URL, the local folder or ":memory:", for messages."""
        return self.params.url or self.params.location or str(self.folder)

    def _connect(self) -> QdrantClient:
        p = self.params
        if p.url:
            key = p.api_key.get_secret_value() if p.api_key else None
            # the client's own version check runs in a thread and only warns; _check_server does it in line
            return QdrantClient(url=p.url, api_key=key, timeout=p.timeout, check_compatibility=False)
        if self.folder is None:
            return QdrantClient(location=p.location)
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            return QdrantClient(path=str(self.folder))
        except RuntimeError as exc:
            if "already accessed" not in str(exc):
                raise
            raise QdrantUnavailableError(
                f"the Qdrant folder {self.folder} is already open in another process or store; close that one, "
                f"or set {self.section}.url to a Qdrant server when several processes share the index"
            ) from None

    def _check_server(self, client: QdrantClient) -> None:
        try:
            server = client.info().version
        except Exception as exc:  # httpx / grpc errors differ by transport; all mean the server is not there
            raise QdrantUnavailableError(
                f"cannot reach Qdrant at {self.where} ({type(exc).__name__}); start the qdrant service "
                f"or fix {self.section}.url"
            ) from None
        mine = version("qdrant-client")
        ours, theirs = (re.match(r"(\d+)\.(\d+)", v) for v in (mine, server))
        if not (ours and theirs):
            return
        (c_major, c_minor), (s_major, s_minor) = ((int(m[1]), int(m[2])) for m in (ours, theirs))
        # Qdrant's rule: a client works with servers of the same major version and at most one minor apart
        if s_major != c_major or abs(s_minor - c_minor) > 1:
            log.warning("Qdrant server %s at %s may not work with qdrant-client %s", server, self.where, mine)

    def _index_payload(self, info: models.CollectionInfo) -> None:
        # local mode ignores payload indexes (and warns); a server uses them for filters and delete-by-source
        if self.local:
            return
        client = self._require()
        if "source" not in (info.payload_schema or {}):
            client.create_payload_index(self.collection, "source", models.PayloadSchemaType.KEYWORD)
        if "tenant" not in (info.payload_schema or {}):
            client.create_payload_index(self.collection, "tenant", models.KeywordIndexParams(
                type=models.KeywordIndexType.KEYWORD, is_tenant=True))

    def _require(self) -> QdrantClient:
        if self._client is None:
            raise RuntimeError(f"the Qdrant {self.kind} at {self.where} is closed")
        return self._client

    def _point_id(self, chunk_id: str) -> str:
        # two tenants' files of one name must not share point ids
        return point_id(f"{self.tenant}/{chunk_id}" if self.tenant else chunk_id)

    def delete(self, source: str) -> int:
        selector = tenant_scope(self.tenant, qdrant_filter({"source": source}))
        with self._lock:
            client = self._require()
            # Collect ids first: a filter delete does not say how many points it removed.
            ids: list[Any] = []
            offset = None
            while True:
                points, offset = client.scroll(
                    self.collection, scroll_filter=selector, limit=1000, offset=offset,
                    with_payload=False, with_vectors=False,
                )
                ids.extend(p.id for p in points)
                if offset is None:
                    break
            for start in range(0, len(ids), 1000):
                client.delete(self.collection, models.PointIdsList(points=ids[start:start + 1000]), wait=True)
        return len(ids)

    def count(self) -> int:
        with self._lock:
            return int(self._require().count(self.collection, count_filter=tenant_scope(self.tenant), exact=True).count)

    def for_tenant(self, tenant: str | None):
        """The same collection and client seen as another tenant's (closing the view leaves the client open)."""
        view = copy.copy(self)
        view.tenant, view._owns_client = tenant, False
        return view

    def commit(self) -> None:
        """Nothing to do: every upsert and delete waits until Qdrant has applied it."""

    def close(self) -> None:
        """Close the client; in local mode this releases the folder lock. Safe to call twice."""
        if not self._owns_client:
            return
        with self._lock:
            client, self._client = self._client, None
            if client is not None:
                client.close()


class QdrantVectorStore(QdrantCollection):
    """One Qdrant collection holding chunk vectors with their payloads (text, source, page, metadata)."""

    class Params(QdrantParams):
        pass

    kind = "vector store"

    def __init__(self, params: Params | None = None, index_dir: Path | str = "data/index", dim: int = 384,
                 recreate: bool = False):
        """`recreate` (used by `kl reindex` only) empties this tenant's share of the collection first, or deletes
        the whole collection when its dimension differs (then every tenant sharing it must be reindexed)."""
        super().__init__(params or self.Params(), index_dir)
        self.dim = dim
        # `kl reindex` deletes the index folder: that rebuilds a local collection kept inside it, nothing else
        self._reindex_clears = True  # `kl reindex` opens the store with recreate=True
        try:
            if recreate:
                self._drop_collection()
            self._ensure_collection()
        except BaseException:
            self.close()
            raise

    def _drop_collection(self) -> None:
        client = self._require()
        if client.collection_exists(self.collection):
            vectors = client.get_collection(self.collection).config.params.vectors
            if getattr(vectors, "size", None) == self.dim:  # other tenants' points stay
                client.delete(self.collection, models.FilterSelector(filter=tenant_scope(self.tenant)), wait=True)
                log.warning("emptied %s's share of Qdrant collection %s at %s to rebuild it",
                            self.tenant or "the default tenant", self.collection, self.where)
                return
            client.delete_collection(self.collection)
            log.warning("deleted Qdrant collection %s at %s to rebuild it", self.collection, self.where)

    def _ensure_collection(self) -> None:
        client = self._require()
        if not self.local:
            self._check_server(client)
        exists = client.collection_exists(self.collection)
        if not exists:
            try:
                client.create_collection(
                    self.collection, vectors_config=models.VectorParams(size=self.dim, distance=models.Distance.DOT)
                )
                log.info("created Qdrant collection %s (dim %d) at %s", self.collection, self.dim, self.where)
            except Exception:
                # another indexer may have created it first; anything else surfaces in the check below
                if not client.collection_exists(self.collection):
                    raise
        info = client.get_collection(self.collection)
        vectors = info.config.params.vectors
        size = vectors.size if isinstance(vectors, models.VectorParams) else None
        if size != self.dim:
            shape = f"{size}-dimensional" if size else "named (multi-vector)"
            todo = "run `kl reindex`" if self._reindex_clears else (
                "set vector_store.collection to a new name (or delete this one) and run `kl reindex`"
            )
            raise DimensionMismatchError(
                f"the Qdrant collection '{self.collection}' at {self.where} holds {shape} vectors but the embedder "
                f"makes {self.dim}; {todo} to rebuild it with the configured embedder"
            )
        if vectors.distance not in (models.Distance.COSINE, models.Distance.DOT):
            log.warning("Qdrant collection %s uses %s distance; scores will not be cosine similarity",
                        self.collection, vectors.distance)
        self._index_payload(info)

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        if not chunks:
            return
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise DimensionMismatchError(f"vectors have shape {vectors.shape}; this store holds dimension {self.dim}")
        size = self.params.batch_size
        with self._lock:
            client = self._require()
            for start in range(0, len(chunks), size):
                part = chunks[start:start + size]
                client.upsert(
                    self.collection,
                    models.Batch(
                        ids=[self._point_id(c.id) for c in part],
                        vectors=vectors[start:start + size].tolist(),
                        payloads=[_payload(c, self.tenant) for c in part],
                    ),
                    wait=True,  # acknowledged writes are durable, so commit() has nothing left to do
                )

    def search(self, vector: np.ndarray, k: int, filter: Filter | None = None) -> list[ScoredChunk]:
        if k <= 0:
            return []
        query = np.asarray(vector, dtype=np.float32).reshape(-1).tolist()
        with self._lock:
            result = self._require().query_points(
                self.collection, query=query, limit=k, query_filter=tenant_scope(self.tenant, qdrant_filter(filter)),
                with_payload=True,
            )
        return [ScoredChunk(_chunk(p.payload or {}), float(p.score)) for p in result.points]

    def missing(self, chunk_ids: Sequence[str]) -> set[str]:
        """Those of `chunk_ids` with no point here (yet: a file whose text is indexed before its vectors)."""
        if not chunk_ids:
            return set()
        points = {self._point_id(cid): cid for cid in chunk_ids}
        with self._lock:
            found = self._require().retrieve(self.collection, ids=list(points), with_payload=False, with_vectors=False)
        return set(chunk_ids) - {points[str(p.id)] for p in found}

    def scan(self, batch: int = 1000) -> Iterator[tuple[list[Chunk], np.ndarray]]:
        """Every stored chunk with its vector, `batch` at a time (for migrating to another store)."""
        offset = None
        while True:
            with self._lock:
                points, offset = self._require().scroll(
                    self.collection, scroll_filter=tenant_scope(self.tenant), limit=batch, offset=offset,
                    with_payload=True, with_vectors=True,
                )
            if points:
                yield ([_chunk(p.payload or {}) for p in points],
                       np.asarray([p.vector for p in points], dtype=np.float32))
            if offset is None:
                return
