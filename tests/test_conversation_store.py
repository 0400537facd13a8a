"""The ConversationStore conformance suite on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import pytest

from kotaemon_like.conversations.sql_store import SqlConversationStore
from kotaemon_like.conversations.testing import ConversationStoreContract

from .postgres_server import postgres_server  # noqa: F401  (fixture)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'conversations.sqlite'}"
    return request.getfixturevalue("postgres_server").create_database()


@pytest.fixture
def open_store(database_url):
    opened: list[SqlConversationStore] = []

    def open_() -> SqlConversationStore:
        opened.append(SqlConversationStore(database_url))
        return opened[-1]

    yield open_
    for store in opened:
        store.close_store()


class TestSqlConversationStore(ConversationStoreContract):
    pass


@pytest.mark.slow
def test_replicas_starting_together_migrate_a_fresh_database_once(postgres_server):  # noqa: F811
    """Several app replicas open the same empty PostgreSQL database at once: every one starts, schema at head."""
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import create_engine

    from kotaemon_like.conversations import migrate

    url = postgres_server.create_database()
    engines = [create_engine(url) for _ in range(4)]
    try:
        with ThreadPoolExecutor(len(engines)) as pool:
            list(pool.map(migrate.upgrade, engines))  # re-raises the first replica that failed
        assert migrate.current(engines[0]) == migrate.head()
    finally:
        for engine in engines:
            engine.dispose()
