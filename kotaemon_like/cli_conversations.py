"""`kl db`, `kl tickets`, `kl users` and `kl keys`: the conversation store from the command line."""

from __future__ import annotations

import argparse
import getpass
import sys

from . import registry
from .config import ConfigError, Settings


def add_parsers(sub) -> None:
    db = sub.add_parser("db", help="the conversation database: `kl db upgrade` applies schema migrations")
    db.add_argument("action", choices=["upgrade", "current"])
    tickets = sub.add_parser("tickets", help="list support tickets (opened by the create_ticket plugin or agents)")
    tickets.add_argument("--status", help="only tickets with this status (open, assigned, waiting_on_customer, resolved, closed)")
    users = sub.add_parser("users", help="staff accounts for the agent console: add, list, disable, reset-password")
    users_sub = users.add_subparsers(dest="action", required=True)
    add = users_sub.add_parser("add", help="add an agent or admin; the password is read from the terminal or stdin")
    add.add_argument("username")
    add.add_argument("--role", choices=["agent", "admin"], default="agent")
    add.add_argument("--name", default="", help="the name customers see on replies")
    users_sub.add_parser("list")
    for action in ("disable", "enable", "reset-password"):
        users_sub.add_parser(action).add_argument("username")
    keys = sub.add_parser("keys", help="API keys for programmatic staff access (shown once, stored hashed)")
    keys_sub = keys.add_subparsers(dest="action", required=True)
    create = keys_sub.add_parser("create", help="create a key acting as a staff user (or, with --kind, a tenant key)")
    create.add_argument("--user", help="the staff user the key acts as")
    create.add_argument("--name", default="", help="what the key is for")
    listing = keys_sub.add_parser("list")
    revoke = keys_sub.add_parser("revoke")
    revoke.add_argument("key_id", type=int)
    for command in (create, listing, revoke):
        command.add_argument("--kind", choices=["public", "secret"],
                             help="a tenant's widget (pk_) or admin (sk_) key instead of a staff key")
    keys_sub.add_parser("rotate", help="a new tenant key replacing this one (revoked now)").add_argument("key_id", type=int)
    from .cli_tenants import TENANT_HELP

    for command in (tickets, *users_sub.choices.values(), *keys_sub.choices.values()):
        command.add_argument("--tenant", help=f"tickets, staff and keys: {TENANT_HELP}")


COMMANDS = ("db", "tickets", "users", "keys")


def read_password(prompt: str = "password: ") -> str:
    """From the terminal (asked twice), or the first line of stdin when it is not a terminal; never a default."""
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if first != getpass.getpass("again: "):
            raise ConfigError("the two passwords differ; nothing was changed")
        return first
    line = sys.stdin.readline().rstrip("\n")
    if not line:
        raise ConfigError("no password given: type it at the prompt or pipe it on stdin (echo ... | kl users add NAME)")
    return line


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "db":
        return run_db(settings, args.action)
    store, desk = registry.build_conversations(settings)
    tenant = getattr(args, "tenant", None) or desk.tenant
    try:
        if args.command == "tickets":
            return run_tickets(store, tenant, args.status)
        if args.command == "users":
            return run_users(store, tenant, args)
        return run_keys(store, tenant, args)
    finally:
        store.close_store()


def run_db(settings: Settings, action: str) -> int:
    from sqlalchemy.engine import make_url

    from .conversations import migrate

    store, _ = registry.build_conversations(settings, migrate=action == "upgrade")
    try:
        where = make_url(store.url).render_as_string(hide_password=True)
        print(f"{where}: schema revision {migrate.current(store.engine) or '(none)'} (newest: {migrate.head()})")
    finally:
        store.close_store()
    return 0


def run_tickets(store, tenant: str, status: str | None) -> int:
    tickets = store.tickets(tenant, status=status)
    if not tickets:
        print("no tickets" + (f" with status {status}" if status else ""))
    for t in tickets:
        print(f"{t.number}  {t.created_at:%Y-%m-%d %H:%M}  {t.priority:<6} {t.status:<19} {t.contact:<24} {t.title}")
    return 0


def _user(store, tenant: str, username: str):
    user = store.get_user(tenant, username=username)
    if user is None:
        raise ConfigError(f"no staff user named {username!r} (see `kl users list`)")
    return user


def run_users(store, tenant: str, args) -> int:
    try:
        if args.action == "add":
            user = store.add_user(tenant, args.username, read_password(), args.role, args.name)
            print(f"added {user.role} {user.username}")
        elif args.action == "list":
            for u in store.users(tenant):
                flag = "disabled" if u.disabled else u.status
                print(f"{u.username:<20} {u.role:<6} {flag:<8} {u.display_name}")
        elif args.action == "reset-password":
            user = store.update_user(tenant, _user(store, tenant, args.username).id, password=read_password("new password: "))
            print(f"password of {user.username} changed; their console sessions were signed out")
        else:
            user = store.update_user(tenant, _user(store, tenant, args.username).id, disabled=args.action == "disable")
            print(f"{user.username} {'disabled: signed out, API keys revoked' if user.disabled else 'enabled'}")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return 0


def run_keys(store, tenant: str, args) -> int:
    if args.action == "create":
        if not args.user:
            raise ConfigError("name the staff user the key acts as (--user NAME), or give --kind public|secret for a tenant key")
        key, secret = store.create_api_key(tenant, _user(store, tenant, args.user).id, args.name)
        print(f"key {key.id} for {args.user}; it is shown this once, keep it now:\n{secret}")
    elif args.action == "list":
        users = {u.id: u.username for u in store.users(tenant)}
        for k in store.api_keys(tenant):
            used = f"{k.last_used:%Y-%m-%d %H:%M}" if k.last_used else "never"
            print(f"{k.id:<4} {k.prefix}…  {users.get(k.user_id, '?'):<16} {'revoked' if k.revoked else 'active':<8} used: {used}  {k.name}")
    elif not store.revoke_api_key(tenant, args.key_id):
        raise ConfigError(f"no active API key {args.key_id} (see `kl keys list`)")
    else:
        print(f"key {args.key_id} revoked")
    return 0
