"""The tenant tables, in the conversation database (same metadata, same Alembic history: revision 0002)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..conversations.models import Base, HashedKey, utcnow


class TenantRow(Base):
    __tablename__ = "tenants"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # a slug: data/tenants/<id>/
    name: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | disabled
    assistant_name: Mapped[str] = mapped_column(String(80), default="Assistant")
    welcome: Mapped[str] = mapped_column(Text, default="")
    colour: Mapped[str] = mapped_column(String(16), default="#2563eb")
    allowed_origins: Mapped[list] = mapped_column(default=list)  # e.g. ["https://shop.example"]
    plugins: Mapped[list | None] = mapped_column(nullable=True)  # enabled plugin names; NULL: the config's
    plugin_settings: Mapped[dict] = mapped_column(default=dict)  # per plugin name, over the config's
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TenantKeyRow(HashedKey, Base):
    """A public (`pk_`) or secret (`sk_`) key of a tenant."""

    __tablename__ = "tenant_keys"
    kind: Mapped[str] = mapped_column(String(16))  # public | secret
    __table_args__ = (Index("ix_tenant_keys_tenant", "tenant_id", "kind"),)
