"""Schema migrations shipped in the package: `upgrade(engine)` brings any database to the newest revision."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

log = logging.getLogger(__name__)
logging.getLogger("alembic").setLevel(logging.WARNING)  # it narrates every plugin it loads at INFO
MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(connection=None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every migration not yet applied (a no-op on an up-to-date database)."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # one migrator at a time: replicas started together would race to create the same tables;
            # the lock ends with the transaction, and the next one finds the schema already current
            connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('kotaemon_like.migrations'))"))
        command.upgrade(alembic_config(connection), revision)
    log.info("conversation database at schema %s", revision)


def current(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()
