"""`kl db`, `kl users`, `kl keys` and `kl tickets` as an operator runs them, on the default SQLite store."""

from __future__ import annotations

import io
import sys

import pytest

from kotaemon_like.cli import main
from kotaemon_like.conversations.sql_store import SqlConversationStore

from .conftest import write_config

pytestmark = pytest.mark.slow  # argon2 hashes take a moment on purpose


def kl(config, capsys, monkeypatch, *args: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(["--config", str(config), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_staff_accounts_keys_and_tickets_from_the_command_line(workdir, capsys, monkeypatch):
    config = write_config(workdir)
    code, out, _ = kl(config, capsys, monkeypatch, "db", "upgrade")
    database = workdir / "data" / "conversations.sqlite"
    from kotaemon_like.conversations.migrate import head

    assert code == 0 and f"schema revision {head()} (newest: {head()})" in out and database.is_file()

    code, _, err = kl(config, capsys, monkeypatch, "users", "add", "maria")
    assert code == 2 and "no password given" in err  # never a default
    code, _, err = kl(config, capsys, monkeypatch, "users", "add", "maria", stdin="short\n")
    assert code == 2 and "at least 10 characters" in err
    code, out, _ = kl(config, capsys, monkeypatch, "users", "add", "maria", "--name", "Maria", stdin="a long enough secret\n")
    assert code == 0 and "added agent maria" in out
    code, out, _ = kl(config, capsys, monkeypatch, "users", "add", "boss", "--role", "admin", stdin="another long secret\n")
    code, out, _ = kl(config, capsys, monkeypatch, "users", "list")
    assert [line.split()[:3] for line in out.splitlines()] == [["boss", "admin", "away"], ["maria", "agent", "away"]]

    code, out, _ = kl(config, capsys, monkeypatch, "keys", "create", "--user", "maria", "--name", "crm")
    secret = out.splitlines()[-1]
    assert code == 0 and secret.startswith("klk_")
    store = SqlConversationStore(f"sqlite:///{database}")
    assert store.api_key_user(secret).username == "maria"
    assert secret.encode() not in database.read_bytes()  # only its hash is stored
    code, out, _ = kl(config, capsys, monkeypatch, "users", "disable", "maria")
    assert code == 0 and store.api_key_user(secret) is None and store.verify_login("default", "maria", "a long enough secret") is None
    code, out, _ = kl(config, capsys, monkeypatch, "users", "reset-password", "boss", stdin="a brand new secret\n")
    assert code == 0 and store.verify_login("default", "boss", "a brand new secret") is not None
    code, _, err = kl(config, capsys, monkeypatch, "users", "disable", "nobody")
    assert code == 2 and "no staff user named 'nobody'" in err

    code, out, _ = kl(config, capsys, monkeypatch, "tickets")
    assert out.strip() == "no tickets"
    ticket = store.create_ticket("default", "Broken lid", "The lid cracked.", "high", "ana@example.com")
    store.set_ticket_status("default", ticket.id, "resolved")
    code, out, _ = kl(config, capsys, monkeypatch, "tickets", "--status", "resolved")
    assert ticket.number in out and "ana@example.com" in out and "Broken lid" in out
    store.close_store()


def test_tenants_and_their_keys_from_the_command_line(workdir, capsys, monkeypatch):
    from kotaemon_like.tenants import TenantDirectory

    config = write_config(workdir)
    code, out, _ = kl(config, capsys, monkeypatch, "tenants", "add", "acme", "--name", "Acme Tools",
                      "--origin", "https://acme.example", "--plugin", "order_status")
    assert code == 0 and "added tenant acme (Acme Tools)" in out
    code, _, err = kl(config, capsys, monkeypatch, "tenants", "add", "Acme", "--name", "x")
    assert code == 2 and "tenant id 'Acme' is not allowed" in err
    code, out, _ = kl(config, capsys, monkeypatch, "tenants", "list")
    assert [line.split()[:2] for line in out.splitlines()] == [["acme", "active"], ["default", "active"]]
    assert "plugins: order_status" in out and "origins: https://acme.example" in out
    code, out, _ = kl(config, capsys, monkeypatch, "keys", "create", "--tenant", "acme", "--kind", "public", "--name", "widget")
    public = out.splitlines()[-1]
    assert code == 0 and public.startswith("pk_")
    code, out, _ = kl(config, capsys, monkeypatch, "keys", "rotate", "1", "--tenant", "acme")
    rotated = out.splitlines()[-1]
    assert code == 0 and "key 1 revoked" in out and rotated.startswith("pk_") and rotated != public
    code, out, _ = kl(config, capsys, monkeypatch, "keys", "list", "--tenant", "acme", "--kind", "public")
    assert [line.split()[2:4] for line in out.splitlines()] == [["public", "revoked"], ["public", "active"]]
    assert public not in out and rotated not in out  # only prefixes are ever shown again
    code, _, err = kl(config, capsys, monkeypatch, "keys", "revoke", "2", "--tenant", "default", "--kind", "public")
    assert code == 2 and "no active public key 2 in tenant 'default'" in err  # another tenant's key is out of reach
    code, out, _ = kl(config, capsys, monkeypatch, "users", "add", "sam", "--tenant", "acme", stdin="a long enough secret\n")
    assert code == 0
    code, out, _ = kl(config, capsys, monkeypatch, "users", "list")
    assert "sam" not in out  # the default tenant's staff
    code, out, _ = kl(config, capsys, monkeypatch, "tenants", "disable", "acme")
    assert code == 0 and "tenant acme disabled" in out
    code, _, err = kl(config, capsys, monkeypatch, "index", "--tenant", "acme")
    assert code == 2 and "tenant 'acme' is disabled" in err
    code, _, err = kl(config, capsys, monkeypatch, "index", "--tenant", "nobody")
    assert code == 2 and "no tenant 'nobody'" in err
    store = SqlConversationStore(f"sqlite:///{workdir / 'data' / 'conversations.sqlite'}")
    try:
        directory = TenantDirectory(store.session)
        assert directory.resolve(public) is None and directory.resolve(rotated)[0].id == "acme"
        assert store.get_user("acme", username="sam") and store.get_user("default", username="sam") is None
    finally:
        store.close_store()


def test_kl_index_tenant_indexes_only_that_tenants_folder(workdir, capsys, monkeypatch):
    config = write_config(workdir)
    (workdir / "data" / "knowledge" / "warranty.md").write_text("# Warranty\n\n24 months from delivery.\n")
    assert kl(config, capsys, monkeypatch, "tenants", "add", "acme", "--name", "Acme")[0] == 0
    folder = workdir / "data" / "tenants" / "acme" / "knowledge"
    folder.mkdir(parents=True)
    (folder / "hours.md").write_text("# Hours\n\nAcme opens at 8 and closes at 18.\n")
    code, out, err = kl(config, capsys, monkeypatch, "index", "--tenant", "acme")
    assert code == 0 and "new      hours.md (1 chunks)" in out and "warranty" not in out
    assert f"index {workdir / 'data' / 'tenants' / 'acme' / 'index'}" in err
    assert not (workdir / "data" / "index").exists()  # the default tenant's index is untouched
    code, out, _ = kl(config, capsys, monkeypatch, "ask", "--tenant", "acme", "When do you open?")
    assert code == 0 and "8" in out and "hours.md p.1" in out
