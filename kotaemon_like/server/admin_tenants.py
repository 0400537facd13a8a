"""The tenants admin API: create, list, change and disable tenants; issue, rotate and revoke their keys.

Who may: the deployment's own key or an admin of the default tenant manage every tenant (and alone create or
disable them); a tenant's secret key or its own admin manage only that tenant. Keys are in a response once.
"""

from __future__ import annotations

import logging
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ..tenants import Tenant, TenantKey
from .api import get_state
from .state import AppState
from .tenancy import Caller, caller

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/admin/tenants", tags=["tenants"])


class TenantFields(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=120)
    assistant_name: str | None = Field(None, min_length=1, max_length=80)
    welcome: str | None = Field(None, max_length=2000)
    colour: str | None = Field(None, max_length=16, description="#RRGGBB")
    allowed_origins: list[str] | None = Field(None, max_length=50, description="e.g. https://shop.example")
    plugins: list[str] | None = Field(None, max_length=100, description="enabled plugins (of those the config enables)")
    plugin_settings: dict[str, dict] | None = None


class NewTenant(TenantFields):
    id: str = Field(min_length=2, max_length=40, description="a slug: lowercase letters, digits, '-'")
    name: str = Field(min_length=1, max_length=120)


class TenantChange(TenantFields):
    status: Literal["active", "disabled"] | None = None


class NewKey(BaseModel):
    kind: Literal["public", "secret"]
    name: str = Field("", max_length=120)


def tenant_dict(tenant: Tenant) -> dict:
    return {"id": tenant.id, "name": tenant.name, "status": tenant.status, "assistant_name": tenant.assistant_name,
            "welcome": tenant.welcome, "colour": tenant.colour, "allowed_origins": list(tenant.allowed_origins),
            "plugins": None if tenant.plugins is None else list(tenant.plugins), "plugin_settings": tenant.plugin_settings,
            "created_at": tenant.created_at.isoformat(timespec="seconds") if tenant.created_at else None}


def key_dict(key: TenantKey) -> dict:
    return {"id": key.id, "tenant": key.tenant_id, "kind": key.kind, "name": key.name, "prefix": key.prefix,
            "revoked": key.revoked, "created_at": key.created_at.isoformat(timespec="seconds"),
            "last_used": key.last_used.isoformat(timespec="seconds") if key.last_used else None}


def manager(who: Caller = Depends(caller)) -> Caller:
    if who.kind in ("anonymous", "public"):
        raise HTTPException(status_code=401 if who.kind == "anonymous" else 403,
                            detail="managing tenants needs the tenant's secret key, its admin or the deployment's key")
    if who.kind == "staff" and who.user.role != "admin":
        raise HTTPException(status_code=403, detail="only an admin may do this")
    return who


def managed(tenant_id: str, who: Caller = Depends(manager), state: AppState = Depends(get_state)) -> Tenant:
    """The tenant named in the path when the caller may manage it; 404 alike for unknown and foreign ones."""
    tenant = state.tenants.get(tenant_id) if who.may_manage(tenant_id) else None
    if tenant is None:
        raise HTTPException(status_code=404, detail=f"no tenant {tenant_id!r} you manage")
    return tenant


def super_admin(who: Caller = Depends(manager)) -> Caller:
    if not who.super_admin:
        raise HTTPException(status_code=403, detail="only the deployment's administrator may create or disable tenants")
    return who


def _fields(body: BaseModel) -> dict:
    return {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None and k not in ("id", "status")}


@router.get("", summary="Tenants the caller manages (all of them for the deployment's administrator)")
def tenants(who: Caller = Depends(manager), state: AppState = Depends(get_state)):
    return {"tenants": [tenant_dict(t) for t in state.tenants.all() if who.may_manage(t.id)]}


@router.post("", status_code=201, summary="Create a tenant (its folders are made on first use)")
def create(body: NewTenant, who: Caller = Depends(super_admin), state: AppState = Depends(get_state)):
    try:
        tenant = state.tenants.add(body.id, body.name, **{k: v for k, v in _fields(body).items() if k != "name"})
    except ValueError as exc:
        return JSONResponse({"error": str(exc)}, status_code=409 if "exists" in str(exc) else 422)
    return tenant_dict(tenant)


@router.get("/{tenant_id}")
def one(tenant: Tenant = Depends(managed)):
    return tenant_dict(tenant)


@router.patch("/{tenant_id}", summary="Change branding, origins or plugins; disable or enable (administrator only)")
def change(body: TenantChange, tenant: Tenant = Depends(managed), who: Caller = Depends(manager),
           state: AppState = Depends(get_state)):
    try:
        if body.status is not None and body.status != tenant.status:
            if not who.super_admin:
                raise HTTPException(status_code=403, detail="only the deployment's administrator may disable a tenant")
            tenant = state.tenants.set_status(tenant.id, body.status)
        if _fields(body):
            tenant = state.tenants.update(tenant.id, **_fields(body))
    except ValueError as exc:
        return JSONResponse({"error": str(exc)}, status_code=422)
    state.runtimes.drop(tenant.id)  # rebuilt on next use with the new plugins; a disabled one is not
    return tenant_dict(tenant)


@router.get("/{tenant_id}/keys")
def keys(tenant: Tenant = Depends(managed), state: AppState = Depends(get_state)):
    return {"keys": [key_dict(k) for k in state.tenants.keys(tenant.id)]}


@router.post("/{tenant_id}/keys", status_code=201, summary="Issue a public (pk_) or secret (sk_) key; shown once")
def issue(body: NewKey, tenant: Tenant = Depends(managed), state: AppState = Depends(get_state)):
    record, secret = state.tenants.issue_key(tenant.id, body.kind, body.name)
    log.info("tenant key issued", extra={"tenant": tenant.id, "kind": body.kind, "key_id": record.id})
    return {**key_dict(record), "key": secret}


@router.post("/{tenant_id}/keys/{key_id}/rotate", status_code=201, summary="A new key replacing this one (revoked now)")
def rotate(key_id: int, tenant: Tenant = Depends(managed), state: AppState = Depends(get_state)):
    try:
        record, secret = state.tenants.rotate_key(tenant.id, key_id)
    except LookupError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    log.info("tenant key rotated", extra={"tenant": tenant.id, "old_key_id": key_id, "key_id": record.id})
    return {**key_dict(record), "key": secret, "replaces": key_id}


@router.delete("/{tenant_id}/keys/{key_id}")
def revoke(key_id: int, tenant: Tenant = Depends(managed), state: AppState = Depends(get_state)):
    if not state.tenants.revoke_key(tenant.id, key_id):
        raise HTTPException(status_code=404, detail=f"no active key {key_id} in tenant {tenant.id!r}")
    log.info("tenant key revoked", extra={"tenant": tenant.id, "key_id": key_id})
    return {"revoked": key_id}
