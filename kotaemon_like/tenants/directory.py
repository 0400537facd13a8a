"""The tenant directory on SQLAlchemy: tenants, and their public and secret keys (hashed like staff API keys)."""

from __future__ import annotations

import datetime as dt
import logging
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..conversations.credentials import new_token, token_hash
from ..conversations.models import utcnow
from ..conversations.records import aware
from .models import TenantKeyRow, TenantRow
from .records import ACTIVE, COLOUR, DEFAULT_TENANT, DISABLED, KEY_KINDS, TENANT_ID, Tenant, TenantKey

log = logging.getLogger(__name__)
USED_EVERY_S = 60  # last_used is written at most this often per key, not on every request
EDITABLE = ("name", "assistant_name", "welcome", "colour", "allowed_origins", "plugins", "plugin_settings")


def _tenant(row: TenantRow) -> Tenant:
    return Tenant(row.id, row.name, row.status, row.assistant_name, row.welcome, row.colour,
                  tuple(row.allowed_origins or ()), None if row.plugins is None else tuple(row.plugins),
                  dict(row.plugin_settings or {}), row.created_at)


def _key(row: TenantKeyRow) -> TenantKey:
    return TenantKey(row.id, row.tenant_id, row.kind, row.name, row.prefix, row.revoked, row.created_at, row.last_used)


def origin(value: str) -> str:
    """`scheme://host[:port]` as browsers send it in `Origin`, or ValueError naming the bad value."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise ValueError(f"allowed origin {value!r} is not an origin; write it as https://shop.example (no path)")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _check(fields: dict) -> dict:
    if "colour" in fields and not COLOUR.match(fields["colour"] or ""):
        raise ValueError(f"colour {fields['colour']!r} is not a colour; write it as #RRGGBB, e.g. #2563eb")
    if "allowed_origins" in fields:
        fields["allowed_origins"] = sorted({origin(o) for o in fields["allowed_origins"] or ()})
    if fields.get("plugins") is not None:
        fields["plugins"] = sorted(set(fields["plugins"]))
    if "plugin_settings" in fields and not isinstance(fields["plugin_settings"], dict):
        raise ValueError("plugin settings must be an object: {plugin name: {setting: value}}")
    if "name" in fields and not (fields["name"] or "").strip():
        raise ValueError("a tenant needs a name")
    return fields


class TenantDirectory:
    """Tenants and their keys. Needs the conversation store's sessionmaker (`store.session`)."""

    def __init__(self, session):
        self.session = session

    # -- tenants ---------------------------------------------------------------------------
    def add(self, tenant_id: str, name: str, **fields) -> Tenant:
        """A new active tenant; ValueError for a bad id or field, or one that exists."""
        if not TENANT_ID.match(tenant_id or ""):
            raise ValueError(f"tenant id {tenant_id!r} is not allowed: 2-40 lowercase letters, digits or '-', "
                             "starting with a letter or digit")
        unknown = set(fields) - set(EDITABLE)
        if unknown:
            raise ValueError(f"unknown tenant field {sorted(unknown)[0]!r}; valid: {', '.join(EDITABLE)}")
        row = TenantRow(id=tenant_id, status=ACTIVE, **_check({"name": name, "welcome": "", "colour": "#2563eb",
                                                                "assistant_name": "Assistant", "allowed_origins": [],
                                                                "plugins": None, "plugin_settings": {}, **fields}))
        try:
            with self.session.begin() as s:
                s.add(row)
        except IntegrityError:
            raise ValueError(f"a tenant {tenant_id!r} already exists") from None
        log.info("tenant added", extra={"tenant": tenant_id})
        return _tenant(row)

    def get(self, tenant_id: str) -> Tenant | None:
        with self.session() as s:
            row = s.get(TenantRow, tenant_id)
            return _tenant(row) if row else None

    def all(self) -> list[Tenant]:
        with self.session() as s:
            return [_tenant(r) for r in s.scalars(select(TenantRow).order_by(TenantRow.id)).all()]

    def update(self, tenant_id: str, **fields) -> Tenant:
        """Change branding, origins or plugins; LookupError for an unknown tenant."""
        unknown = set(fields) - set(EDITABLE)
        if unknown:
            raise ValueError(f"unknown tenant field {sorted(unknown)[0]!r}; valid: {', '.join(EDITABLE)}")
        fields = _check(dict(fields))
        with self.session.begin() as s:
            row = s.get(TenantRow, tenant_id)
            if row is None:
                raise LookupError(f"no tenant {tenant_id!r}")
            for key, value in fields.items():
                setattr(row, key, value)
            return _tenant(row)

    def set_status(self, tenant_id: str, status: str) -> Tenant:
        """Disable (its keys and staff stop working at once) or re-enable a tenant. The default stays active."""
        if status not in (ACTIVE, DISABLED):
            raise ValueError(f"status must be active or disabled (got {status!r})")
        if tenant_id == DEFAULT_TENANT and status == DISABLED:
            raise ValueError("the default tenant cannot be disabled; it serves the deployment's own credentials")
        with self.session.begin() as s:
            row = s.get(TenantRow, tenant_id)
            if row is None:
                raise LookupError(f"no tenant {tenant_id!r}")
            row.status = status
            result = _tenant(row)
        log.info("tenant %s", status, extra={"tenant": tenant_id})
        return result

    # -- keys ------------------------------------------------------------------------------
    def issue_key(self, tenant_id: str, kind: str, name: str = "") -> tuple[TenantKey, str]:
        """A new key of `kind` (public | secret) and the key itself, which is returned once and never stored."""
        if kind not in KEY_KINDS:
            raise ValueError(f"key kind must be public or secret (got {kind!r})")
        with self.session.begin() as s:
            if s.get(TenantRow, tenant_id) is None:
                raise LookupError(f"no tenant {tenant_id!r}")
            return self._issue(s, tenant_id, kind, name)

    @staticmethod
    def _issue(s, tenant_id: str, kind: str, name: str) -> tuple[TenantKey, str]:
        secret = new_token(KEY_KINDS[kind])
        row = TenantKeyRow(tenant_id=tenant_id, kind=kind, name=name[:120], prefix=secret[:10],
                           key_hash=token_hash(secret), revoked=False, created_at=utcnow())
        s.add(row)
        s.flush()
        return _key(row), secret

    def keys(self, tenant_id: str) -> list[TenantKey]:
        with self.session() as s:
            rows = s.scalars(select(TenantKeyRow).where(TenantKeyRow.tenant_id == tenant_id).order_by(TenantKeyRow.id))
            return [_key(r) for r in rows.all()]

    def revoke_key(self, tenant_id: str, key_id: int) -> bool:
        """True when an active key of this tenant was revoked (a key of another tenant is never touched)."""
        with self.session.begin() as s:
            result = s.execute(update(TenantKeyRow).where(
                TenantKeyRow.tenant_id == tenant_id, TenantKeyRow.id == key_id, TenantKeyRow.revoked.is_(False),
            ).values(revoked=True))
            return result.rowcount == 1

    def rotate_key(self, tenant_id: str, key_id: int) -> tuple[TenantKey, str]:
        """A new key of the same kind and name, and the old one revoked, in one transaction."""
        with self.session.begin() as s:
            old = s.scalars(select(TenantKeyRow).where(
                TenantKeyRow.tenant_id == tenant_id, TenantKeyRow.id == key_id, TenantKeyRow.revoked.is_(False),
            ).with_for_update()).first()
            if old is None:
                raise LookupError(f"no active key {key_id} in tenant {tenant_id!r}")
            old.revoked = True
            return self._issue(s, tenant_id, old.kind, old.name)

    def resolve(self, secret: str) -> tuple[Tenant, TenantKey] | None:
        """The tenant and key record of an active key; None for an unknown or revoked one.
        The tenant may be disabled: the caller decides what to answer."""
        if not secret.startswith(tuple(KEY_KINDS.values())):
            return None
        now = utcnow()
        with self.session.begin() as s:
            key = s.scalars(select(TenantKeyRow).where(TenantKeyRow.key_hash == token_hash(secret))).first()
            if key is None or key.revoked:
                return None
            if key.last_used is None or (now - aware(key.last_used)).total_seconds() > USED_EVERY_S:
                key.last_used = now
            tenant = s.get(TenantRow, key.tenant_id)
            return (_tenant(tenant), _key(key)) if tenant else None
