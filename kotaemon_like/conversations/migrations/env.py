"""Alembic environment: runs on the connection `kotaemon_like.conversations.migrate` hands over."""

from alembic import context

from kotaemon_like.conversations.models import Base
from kotaemon_like.tenants import models as _tenant_tables  # noqa: F401  (their tables join Base.metadata)

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
