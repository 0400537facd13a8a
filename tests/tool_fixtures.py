"""Fixtures for the tool tests: the real demo orders API on loopback and Toolboxes wired to it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from kotaemon_like.config import ToolsSettings
from kotaemon_like.demo_orders import DemoOrdersServer
from kotaemon_like.tools import Toolbox

from .conftest import ROOT, free_port

PLUGINS = ROOT / "plugins"


@pytest.fixture
def orders_server():
    """The demo orders API (uvicorn) on a free port, in a thread that ends itself after two minutes at most."""
    server = DemoOrdersServer(free_port(), max_lifetime_s=120).start()
    yield server
    server.stop()


@pytest.fixture
def desk(tmp_path):
    """The conversation desk plugins reach through ToolContext.conversations, on a SQLite store in tmp_path."""
    from kotaemon_like.config import ConversationSettings
    from kotaemon_like.conversations.desk import ConversationDesk
    from kotaemon_like.conversations.sql_store import SqlConversationStore

    store = SqlConversationStore(f"sqlite:///{tmp_path / 'conversations.sqlite'}")
    yield ConversationDesk(store, ConversationSettings(), "default")
    store.close_store()


@pytest.fixture
def make_toolbox(tmp_path, orders_server):
    """Builds a Toolbox over the real plugins/ folder (or another one), pointed at the demo orders API."""
    made: list[Toolbox] = []

    def make(folder: Path = PLUGINS, embedder=None, watch: bool = False, **tools) -> Toolbox:
        settings = {
            "order_status": {"base_url": orders_server.url},
        }
        if folder != PLUGINS:
            settings = {}
        tools.setdefault("settings", settings)
        tools.setdefault("timeout_s", 2.0)
        box = Toolbox(ToolsSettings(folder=folder, **tools), embedder, watch=watch, entry_points=False)
        made.append(box)
        return box

    yield make
    for box in made:
        box.close()


def write_plugin(folder: Path, filename: str, source: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / filename
    path.write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
    return path


def simple_plugin(name: str, reply: str = "done", extra: str = "") -> str:
    """Source of a minimal sync plugin called `name` that answers `reply`."""
    return f'''
        from kotaemon_like.tools import ToolPlugin

        class Plugin(ToolPlugin):
            name = "{name}"
            description = "A test plugin."
            {extra}
            def run(self, text: str = "") -> str:
                return "{reply}" + text
    '''
