"""What the tenant directory returns: immutable records, no database objects."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from ..conversations.models import DEFAULT_TENANT

KEY_KINDS = {"public": "pk_", "secret": "sk_"}
TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
ACTIVE, DISABLED = "active", "disabled"

__all__ = ["ACTIVE", "COLOUR", "DEFAULT_TENANT", "DISABLED", "KEY_KINDS", "TENANT_ID", "Tenant", "TenantKey"]


@dataclass(frozen=True)
class Tenant:
    """One business: its branding, the origins its widget may run on and the plugins it may use."""

    id: str
    name: str
    status: str = ACTIVE
    assistant_name: str = "Assistant"
    welcome: str = ""
    colour: str = "#2563eb"
    allowed_origins: tuple[str, ...] = ()
    plugins: tuple[str, ...] | None = None  # None: every plugin the config enables
    plugin_settings: dict = field(default_factory=dict)
    created_at: dt.datetime | None = None

    @property
    def active(self) -> bool:
        return self.status == ACTIVE

    def public(self) -> dict:
        """What a widget may show (no plugin settings: they can hold a plugin's credentials)."""
        return {"tenant": self.id, "name": self.name, "assistant_name": self.assistant_name, "welcome": self.welcome,
                "colour": self.colour}


@dataclass(frozen=True)
class TenantKey:
    id: int
    tenant_id: str
    kind: str  # public | secret
    name: str
    prefix: str
    revoked: bool
    created_at: dt.datetime
    last_used: dt.datetime | None
