"""`kl tenants` and the tenant side of `kl keys` (public `pk_` / secret `sk_` keys); `--tenant` for other commands."""

from __future__ import annotations

import argparse

from . import registry
from .config import ConfigError, Settings
from .tenants import DEFAULT_TENANT, TenantDirectory

TENANT_COMMANDS = ("index", "reindex", "ask", "chat", "watch", "worker")  # run on a tenant's folders and index
TENANT_HELP = "this tenant's (default: the default tenant)"


def add_parsers(sub) -> None:
    tenants = sub.add_parser("tenants", help="businesses served by this deployment: add, list, disable, enable")
    tenants_sub = tenants.add_subparsers(dest="action", required=True)
    add = tenants_sub.add_parser("add", help="add a tenant; its folders are data/tenants/<id>/knowledge and index")
    add.add_argument("tenant_id", help="a slug: lowercase letters, digits, '-'")
    add.add_argument("--name", required=True, help="the business's name")
    add.add_argument("--assistant-name", help="what the assistant calls itself (default: Assistant)")
    add.add_argument("--welcome", help="the widget's first message")
    add.add_argument("--colour", help="the widget's colour, #RRGGBB")
    add.add_argument("--origin", action="append", default=[], help="a site allowed to embed the widget (repeat)")
    add.add_argument("--plugin", action="append", default=None, help="an enabled plugin (repeat; default: all enabled)")
    tenants_sub.add_parser("list")
    for action in ("disable", "enable"):
        tenants_sub.add_parser(action).add_argument("tenant_id")
    for name, command in sub.choices.items():
        if name in TENANT_COMMANDS:
            command.add_argument("--tenant", help=f"folders and index: {TENANT_HELP}")


def open_directory(settings: Settings):
    store, _ = registry.build_conversations(settings)
    return store, TenantDirectory(store.session)


def for_tenant(settings: Settings, tenant_id: str | None) -> Settings:
    """The config as `tenant_id` runs it (its folders and namespaces); the config itself for the default tenant."""
    if not tenant_id or tenant_id == DEFAULT_TENANT:
        return settings
    from .tenants.runtime import tenant_settings

    store, directory = open_directory(settings)
    try:
        tenant = directory.get(tenant_id)
    finally:
        store.close_store()
    if tenant is None:
        raise ConfigError(f"no tenant {tenant_id!r}; see `kl tenants list` or add it with `kl tenants add`")
    if not tenant.active:
        raise ConfigError(f"tenant {tenant_id!r} is disabled; enable it with `kl tenants enable {tenant_id}`")
    own = tenant_settings(settings, tenant)
    own.paths.knowledge.mkdir(parents=True, exist_ok=True)
    return own


def run(args: argparse.Namespace, settings: Settings) -> int:
    store, directory = open_directory(settings)
    try:
        if args.command == "tenants":
            return run_tenants(directory, args)
        return run_keys(directory, args.tenant or DEFAULT_TENANT, args)
    except (ValueError, LookupError) as exc:
        raise ConfigError(str(exc).strip('"')) from None
    finally:
        store.close_store()


def run_tenants(directory: TenantDirectory, args) -> int:
    if args.action == "add":
        fields = {k: v for k, v in (("assistant_name", args.assistant_name), ("welcome", args.welcome),
                                    ("colour", args.colour), ("plugins", args.plugin)) if v is not None}
        tenant = directory.add(args.tenant_id, args.name, allowed_origins=args.origin, **fields)
        print(f"added tenant {tenant.id} ({tenant.name}); issue its widget key with "
              f"`kl keys create --tenant {tenant.id} --kind public`")
    elif args.action == "list":
        for t in directory.all():
            plugins = "all" if t.plugins is None else ",".join(t.plugins) or "none"
            origins = " ".join(t.allowed_origins) or "-"
            print(f"{t.id:<16} {t.status:<8} {t.name:<24} plugins: {plugins:<16} origins: {origins}")
    else:
        tenant = directory.set_status(args.tenant_id, "disabled" if args.action == "disable" else "active")
        note = ": its keys and staff logins are refused" if not tenant.active else ""
        print(f"tenant {tenant.id} {tenant.status}{note}")
    return 0


def run_keys(directory: TenantDirectory, tenant_id: str, args) -> int:
    if args.action == "create":
        key, secret = directory.issue_key(tenant_id, args.kind, args.name)
        print(f"{key.kind} key {key.id} of tenant {tenant_id}; it is shown this once, keep it now:\n{secret}")
    elif args.action == "rotate":
        key, secret = directory.rotate_key(tenant_id, args.key_id)
        print(f"key {args.key_id} revoked; its replacement, {key.kind} key {key.id}, is shown this once:\n{secret}")
    elif args.action == "list":
        for k in (k for k in directory.keys(tenant_id) if k.kind == args.kind):
            used = f"{k.last_used:%Y-%m-%d %H:%M}" if k.last_used else "never"
            print(f"{k.id:<4} {k.prefix}…  {k.kind:<7} {'revoked' if k.revoked else 'active':<8} used: {used}  {k.name}")
    elif not directory.revoke_key(tenant_id, args.key_id):
        raise ConfigError(f"no active {args.kind} key {args.key_id} in tenant {tenant_id!r} (see `kl keys list --kind {args.kind}`)")
    else:
        print(f"key {args.key_id} revoked")
    return 0
