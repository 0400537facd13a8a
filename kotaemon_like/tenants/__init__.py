"""Tenants: one deployment serving several businesses. A tenant comes from the credential (a `pk_` or `sk_` key,
a staff login, the deployment's own API key), never from a request field; the default tenant needs no set-up."""

from .directory import TenantDirectory
from .records import DEFAULT_TENANT, KEY_KINDS, Tenant, TenantKey

__all__ = ["DEFAULT_TENANT", "KEY_KINDS", "Tenant", "TenantDirectory", "TenantKey"]
