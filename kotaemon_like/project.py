"""`kl init DIR`: a project folder that `kl` runs in, made from the defaults shipped with the package.

DIR/config/default.yaml   the embedded default config (relative paths in it are from the folder kl runs in)
DIR/plugins/              the example tool plugins (order status, tickets, hand-off to a person) and
                          requests.jsonl, the labelled messages the router's classifier learns from
DIR/data/knowledge/       the watched folder; with the demo shop's knowledge base unless `--empty`
DIR/data/orders.json      the demo orders `kl demo-orders` serves
DIR/.env.example          the environment variables kl reads
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .config import ConfigError

PACKAGE = Path(__file__).resolve().parent
DEFAULTS = PACKAGE / "defaults"
DEMO_KNOWLEDGE = PACKAGE / "demo" / "knowledge"
ENV_EXAMPLE = """\
# Copy to .env and fill in what you use; kl reads these from the environment (export them, or use
# your process manager's env file). Never commit a real key.

# The API key for `kl serve`. Empty: the API and UI are open (they listen on 127.0.0.1 only).
KL_API_KEY=

# An LLM provider's key, read only when config/default.yaml names a litellm generator, e.g.
#   generator: {type: litellm, model: openai/gpt-4o-mini, api_key_env: OPENAI_API_KEY}
OPENAI_API_KEY=

# Another config file than ./config/default.yaml.
# KL_CONFIG=config/default.yaml

# Where the order_status plugin finds the orders API (`kl demo-orders` serves the demo one).
ORDERS_URL=http://127.0.0.1:8081
"""


def init_project(target: Path, demo: bool = True) -> list[str]:
    """Create the project folder `target`; returns the paths written. Never overwrites an existing config."""
    config = target / "config" / "default.yaml"
    if config.exists():
        raise ConfigError(f"{config} already exists; `kl init` only creates new projects (choose another folder)")
    if not (DEFAULTS / "default.yaml").is_file():
        raise ConfigError(f"the packaged defaults are missing from {DEFAULTS}; reinstall kotaemon-like")
    written = []

    def place(source: Path, destination: Path) -> None:
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
        written.append(str(destination))

    place(DEFAULTS / "default.yaml", config)
    for plugin in sorted((DEFAULTS / "plugins").glob("*.py")) + sorted((DEFAULTS / "plugins").glob("*.jsonl")):
        place(plugin, target / "plugins" / plugin.name)  # the plugins, and the labelled messages routing learns from
    knowledge = target / "data" / "knowledge"
    knowledge.mkdir(parents=True, exist_ok=True)
    if demo:
        for document in sorted(DEMO_KNOWLEDGE.iterdir()):
            place(document, knowledge / document.name)
    place(DEFAULTS / "orders.json", target / "data" / "orders.json")
    env = target / ".env.example"
    if not env.exists():
        env.write_text(ENV_EXAMPLE, encoding="utf-8")
        written.append(str(env))
    return written
