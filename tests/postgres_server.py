"""A real PostgreSQL 15 (Debian's `postgresql`) on a free 127.0.0.1 port, in a temporary folder removed afterwards."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from .conftest import free_port

PG_BIN = Path(os.environ.get("KL_PG_BIN", "/usr/lib/postgresql/15/bin"))


class PostgresServer:
    """initdb + pg_ctl as the `postgres` user when run as root (PostgreSQL refuses to run as root)."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="kl-pg-"))
        self.port, self.password = free_port(), secrets.token_urlsafe(16)
        self.data = self.folder / "data"
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)

    def start(self) -> "PostgresServer":
        password_file = self.folder / "pw"
        password_file.write_text(self.password)
        if self._as:
            shutil.chown(self.folder, "postgres")
            shutil.chown(password_file, "postgres")
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "kl", "--auth-host=scram-sha-256",
                  "--auth-local=trust", f"--pwfile={password_file}", "-E", "UTF8", "--locale=C.UTF-8")
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=off -c max_connections=100"
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"), "-w",
                  "-t", "60", "start")
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://kl:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A fresh, empty database; its SQLAlchemy URL."""
        import psycopg

        name = f"t_{secrets.token_hex(6)}"
        with psycopg.connect(f"postgresql://kl:{self.password}@127.0.0.1:{self.port}/postgres", autocommit=True) as con:
            con.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server():
    if not (PG_BIN / "initdb").exists():
        pytest.fail(f"PostgreSQL 15 is not installed ({PG_BIN}/initdb missing); `bash scripts/test.sh` installs it")
    server = PostgresServer().start()
    yield server
    server.stop()
