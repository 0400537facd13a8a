"""The tenant directory on a real database: tenants, public and secret keys (hashed, rotated, revoked), the
schema migration, and one Qdrant collection shared by tenants through its `tenant` payload filter."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from kotaemon_like.components import Chunk
from kotaemon_like.conversations import migrate
from kotaemon_like.conversations.sql_store import SqlConversationStore
from kotaemon_like.stores.qdrant_store import QdrantVectorStore
from kotaemon_like.tenants import TenantDirectory
from kotaemon_like.tenants.models import TenantKeyRow


@pytest.fixture
def store(tmp_path):
    opened = SqlConversationStore(f"sqlite:///{tmp_path / 'kl.sqlite'}")
    yield opened
    opened.close_store()


@pytest.fixture
def directory(store):
    return TenantDirectory(store.session)


def test_the_migration_adds_the_default_tenant_and_matches_the_models(store):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from kotaemon_like.conversations.models import Base

    assert len(ScriptDirectory.from_config(migrate.alembic_config()).get_heads()) == 1
    assert migrate.current(store.engine) == migrate.head()
    with store.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    default = TenantDirectory(store.session).get("default")
    assert default is not None and default.active


def test_tenants_are_added_listed_changed_and_disabled(directory):
    acme = directory.add("acme", "Acme Tools", welcome="Hi!", colour="#ff0000",
                         allowed_origins=["https://acme.example/", "http://localhost:8000"], plugins=["order_status"])
    assert acme.allowed_origins == ("http://localhost:8000", "https://acme.example")
    assert acme.plugins == ("order_status",) and acme.active
    assert [t.id for t in directory.all()] == ["acme", "default"]
    for bad in ({"tenant_id": "Acme"}, {"tenant_id": "../x"}, {"tenant_id": "acme"}):
        with pytest.raises(ValueError):
            directory.add(bad["tenant_id"], "x")
    with pytest.raises(ValueError, match="origin"):
        directory.add("beta", "Beta", allowed_origins=["https://beta.example/path"])
    with pytest.raises(ValueError, match="colour"):
        directory.update("acme", colour="red")
    assert directory.update("acme", assistant_name="Ada").assistant_name == "Ada"
    assert not directory.set_status("acme", "disabled").active
    with pytest.raises(ValueError, match="default tenant"):
        directory.set_status("default", "disabled")
    with pytest.raises(LookupError):
        directory.set_status("nobody", "disabled")


def test_keys_are_stored_hashed_and_resolve_to_their_tenant(directory, store):
    directory.add("acme", "Acme")
    directory.add("beta", "Beta")
    public, pk = directory.issue_key("acme", "public", "widget")
    secret_record, sk = directory.issue_key("beta", "secret")
    assert pk.startswith("pk_") and sk.startswith("sk_") and len(pk) > 40
    with store.session() as s:
        stored = [row.key_hash for row in s.scalars(select(TenantKeyRow)).all()]
    assert pk not in str(stored) and sk not in str(stored)
    tenant, key = directory.resolve(pk)
    assert (tenant.id, key.kind, key.id) == ("acme", "public", public.id)
    assert directory.resolve(sk)[0].id == "beta" and directory.resolve(sk)[1].kind == "secret"
    assert directory.resolve(pk + "x") is None and directory.resolve("klk_" + pk[3:]) is None
    with pytest.raises(ValueError):
        directory.issue_key("acme", "staff")
    with pytest.raises(LookupError):
        directory.issue_key("nobody", "public")


def test_rotation_and_revocation_refuse_the_old_key(directory):
    directory.add("acme", "Acme")
    directory.add("beta", "Beta")
    old, old_secret = directory.issue_key("acme", "secret", "ci")
    new, new_secret = directory.rotate_key("acme", old.id)
    assert new.kind == "secret" and new.name == "ci" and new.id != old.id
    assert directory.resolve(old_secret) is None and directory.resolve(new_secret)[0].id == "acme"
    with pytest.raises(LookupError):
        directory.rotate_key("acme", old.id)  # already revoked
    beta_key, beta_secret = directory.issue_key("beta", "public")
    assert not directory.revoke_key("acme", beta_key.id)  # a key of another tenant is never touched
    assert directory.resolve(beta_secret) is not None
    assert directory.revoke_key("beta", beta_key.id) and directory.resolve(beta_secret) is None
    assert [(k.id, k.revoked) for k in directory.keys("acme")] == [(old.id, True), (new.id, False)]


def _chunk(text: str, source: str = "faq.md") -> list[Chunk]:
    return [Chunk(id=f"{source}#0", text=text, source=source, page=1, metadata={})]


@pytest.mark.parametrize("where", [":memory:", "path"])
def test_qdrant_tenants_share_a_collection_without_seeing_each_other(where, tmp_path):
    params = QdrantVectorStore.Params(location=":memory:") if where == ":memory:" else QdrantVectorStore.Params()
    shared = QdrantVectorStore(params, index_dir=tmp_path, dim=4)
    try:
        acme, beta = shared.for_tenant("acme"), shared.for_tenant("beta")
        vector = np.eye(4, dtype=np.float32)[:1]
        shared.upsert(_chunk("default shipping is free"), vector)
        acme.upsert(_chunk("acme ships in 2 days"), vector)  # the same source name and chunk id in each tenant
        beta.upsert(_chunk("beta ships in 9 days"), vector)
        seen = {name: [h.chunk.text for h in store.search(vector[0], 10)]
                for name, store in (("default", shared), ("acme", acme), ("beta", beta))}
        assert seen == {"default": ["default shipping is free"], "acme": ["acme ships in 2 days"],
                        "beta": ["beta ships in 9 days"]}
        assert [h.chunk.text for h in acme.search(vector[0], 10, filter={"source": "faq.md"})] == ["acme ships in 2 days"]
        assert (shared.count(), acme.count(), beta.count()) == (1, 1, 1)
        assert acme.delete("faq.md") == 1
        assert (shared.count(), acme.count(), beta.count()) == (1, 0, 1)
        assert [len(chunks) for chunks, _ in beta.scan()] == [1]
        acme.close()  # a view leaves the shared client open
        assert beta.count() == 1
    finally:
        shared.close()


def test_rebuilding_one_tenants_qdrant_share_keeps_the_others(tmp_path):
    shared = QdrantVectorStore(QdrantVectorStore.Params(), index_dir=tmp_path, dim=4)
    vector = np.eye(4, dtype=np.float32)[:1]
    shared.upsert(_chunk("default text"), vector)
    shared.for_tenant("acme").upsert(_chunk("acme text"), vector)
    shared.close()
    rebuilt = QdrantVectorStore(QdrantVectorStore.Params(tenant="acme"), index_dir=tmp_path, dim=4, recreate=True)
    try:
        assert rebuilt.count() == 0 and rebuilt.for_tenant(None).count() == 1
    finally:
        rebuilt.close()
    other_dim = QdrantVectorStore(QdrantVectorStore.Params(tenant="acme"), index_dir=tmp_path, dim=8, recreate=True)
    try:  # a new embedder's dimension needs a new collection, for everyone
        assert other_dim.count() == 0 and other_dim.for_tenant(None).count() == 0
    finally:
        other_dim.close()
