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
    assert code == 0 and "schema revision 0001 (newest: 0001)" in out and database.is_file()

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
