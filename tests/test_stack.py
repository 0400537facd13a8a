"""The compose stack, checked without a Docker engine (none runs here).

* compose.yaml as docker-compose renders it: valid, health-gated, two published ports, no inline secret,
  every `kl` command real; config/stack.yaml names the compose services; the Dockerfile's promises.
* A rehearsal of the stack: the same processes compose would run (redis, orders, app, watcher, indexer),
  started in compose's dependency order, each gated by the healthcheck command compose.yaml declares
  (adapted to loopback ports); a real PDF dropped into the watched folder is answered with a citation.
* A real Prometheus (Debian's) scrapes the rehearsed stack; every query of the Grafana dashboard must
  return data, and promtool accepts config/prometheus.yml.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from .conftest import PDFS, ROOT, RedisServer, free_port, wait_until
from .postgres_server import postgres_server  # noqa: F401  (fixture)

COMPOSE = ROOT / "compose.yaml"
DASHBOARD = ROOT / "grafana" / "dashboards" / "kotaemon-like.json"
PROMETHEUS_CONFIG = ROOT / "config" / "prometheus.yml"
SECRET_NAME = re.compile(r"KEY|PASSWORD|SECRET|TOKEN", re.I)
KL_SERVICES = ("app", "watcher", "indexer", "orders")  # the services running the project's image
TEST_PASSWORD = "test-only-not-a-secret"


def need(binary: str, package: str) -> str:
    path = shutil.which(binary)
    if path is None:
        pytest.fail(f"{binary} is not installed; `bash scripts/test.sh` installs the Debian package {package} "
                    f"(or: apt-get install --no-install-recommends {package})")
    return path


def run_compose(env_file: Path, *args: str) -> subprocess.CompletedProcess:
    """docker-compose (Debian's, 1.29) on compose.yaml with a given env file instead of a developer's .env."""
    binary = need("docker-compose", "docker-compose")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GF_", "KL_", "COMPOSE_"))}
    return subprocess.run([binary, "-f", str(COMPOSE), "--env-file", str(env_file), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def compose(tmp_path_factory, default_model_exported) -> dict:
    """compose.yaml as docker-compose renders it: anchors merged, variables interpolated (`$$` stays escaped).
    Its rehearsals start `kl` processes: the model export and the routing vectors are cached before they do."""
    env_file = tmp_path_factory.mktemp("compose") / "test.env"
    env_file.write_text(f"GF_SECURITY_ADMIN_PASSWORD={TEST_PASSWORD}\nPOSTGRES_PASSWORD={TEST_PASSWORD}\n")
    result = run_compose(env_file, "config")
    assert result.returncode == 0, f"docker-compose config failed:\n{result.stderr}"
    return yaml.safe_load(result.stdout)


def services(compose: dict) -> dict[str, dict]:
    return compose["services"]


def published(service: dict) -> list[tuple[str, int, int]]:
    """(host ip, host port, container port) for each published port, short or long syntax."""
    out = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            out.append((port.get("host_ip", ""), int(port["published"]), int(port["target"])))
            continue
        parts = str(port).split("/")[0].split(":")
        ip = parts[0] if len(parts) == 3 else ""
        out.append((ip, int(parts[-2]), int(parts[-1])))
    return out


# ---- compose.yaml ------------------------------------------------------------------------------------

def test_compose_file_is_valid_and_requires_the_grafana_and_postgres_passwords(tmp_path):
    ok = tmp_path / "ok.env"
    ok.write_text(f"GF_SECURITY_ADMIN_PASSWORD={TEST_PASSWORD}\nPOSTGRES_PASSWORD={TEST_PASSWORD}\n")
    result = run_compose(ok, "config", "-q")
    assert result.returncode == 0, result.stderr
    for missing, present in (("GF_SECURITY_ADMIN_PASSWORD", "POSTGRES_PASSWORD"), ("POSTGRES_PASSWORD", "GF_SECURITY_ADMIN_PASSWORD")):
        partial = tmp_path / f"no-{missing}.env"
        partial.write_text(f"{present}={TEST_PASSWORD}\n")
        result = run_compose(partial, "config", "-q")
        assert result.returncode != 0 and missing in result.stderr


def test_start_order_is_gated_on_health(compose):
    svc = services(compose)
    for name, service in svc.items():
        check = service.get("healthcheck")
        assert check and check.get("test") and not check.get("disable"), f"{name} has no healthcheck"
        for dep, how in (service.get("depends_on") or {}).items():
            assert how.get("condition") == "service_healthy", f"{name} starts before {dep} is healthy"
            assert "profiles" not in svc[dep], f"{name} depends on {dep}, which only runs with a profile"
    wants = {"app": {"redis", "qdrant", "postgres"}, "indexer": {"redis", "qdrant", "postgres"}, "watcher": {"redis", "postgres"},
             "proxy": {"app"}, "prometheus": {"app"}, "grafana": {"prometheus"}}
    for name, deps in wants.items():
        assert deps <= set(svc[name].get("depends_on", {})), f"{name} should wait for {sorted(deps)}"


def test_only_the_proxy_and_grafana_are_published_on_loopback(compose):
    ports = {name: published(s) for name, s in services(compose).items() if published(s)}
    assert {name: [(p, t) for _, p, t in v] for name, v in ports.items()} == {"proxy": [(8080, 8080)], "grafana": [(3000, 3000)]}
    assert all(ip == "127.0.0.1" for v in ports.values() for ip, _, _ in v), "bind to loopback unless KL_BIND_ADDRESS says so"


def test_indexer_and_app_scale_and_every_service_is_limited_and_restarts(compose):
    svc = services(compose)
    for name in ("indexer", "app"):  # `--scale app=3 --scale indexer=4`: no fixed name, no host port
        assert "container_name" not in svc[name] and "ports" not in svc[name], name
    networks = set()
    for name, service in svc.items():
        limits = service.get("deploy", {}).get("resources", {}).get("limits", {})
        assert limits.get("memory") and limits.get("cpus"), f"{name} has no cpu/memory limit"
        assert service.get("restart") == "unless-stopped", name
        networks |= set(service.get("networks") or ["default"])
    assert len(networks) == 1, f"one private network, got {networks}"


def test_no_secret_is_written_in_compose_or_the_example_env():
    raw = yaml.safe_load(COMPOSE.read_text())  # PyYAML resolves the anchors and `<<` merges too
    for name, service in raw["services"].items():
        env = service.get("environment") or {}
        assert isinstance(env, dict), f"{name}: use the mapping form of environment"
        for key, value in env.items():
            if SECRET_NAME.search(key):
                ref = re.fullmatch(r"\$\{[A-Z0-9_]+(?::?([-?])(.*))?\}", str(value))
                assert ref and not (ref[1] == "-" and ref[2]), \
                    f"{name}.{key} must come from .env as ${{{key}}} (an empty default at most), got {value!r}"
    example = dict(line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    for key in ("KL_API_KEY", "OPENAI_API_KEY", "QDRANT_API_KEY", "GF_SECURITY_ADMIN_PASSWORD", "POSTGRES_PASSWORD"):
        assert key in example and example[key].strip() == "", f".env.example: {key} must be an empty placeholder"
    assert ".env" in (ROOT / ".gitignore").read_text().split() and ".env" in (ROOT / ".dockerignore").read_text().split()


def _kl_accepts(args: list[str]) -> bool:
    from contextlib import redirect_stderr
    from io import StringIO

    from kotaemon_like.cli import parser

    try:
        with redirect_stderr(StringIO()):
            parser().parse_args(args)
    except SystemExit:
        return False
    return True


def test_every_kl_command_in_compose_exists(compose):
    for name in KL_SERVICES:
        command = [str(a) for a in services(compose)[name]["command"]]
        assert _kl_accepts(command), f"compose.yaml service {name} runs `kl {' '.join(command)}`, which the kl CLI rejects"


def test_stack_config_names_the_compose_services(compose, monkeypatch):
    from kotaemon_like import registry

    for var in ("REDIS_URL", "QDRANT_URL", "ORDERS_URL", "KL_KNOWLEDGE_DIR", "KL_INDEX_DIR", "KL_STATE_DIR", "KL_PLUGINS_DIR"):
        monkeypatch.delenv(var, raising=False)
    settings = registry.load(ROOT / "config" / "stack.yaml")
    assert settings.server.embedded_ingest is False and settings.server.host == "0.0.0.0"
    assert settings.queue.type == "redis" and settings.memory.type == "redis" and settings.keyword_index.type == "postgres"
    urls = {"queue": settings.queue.params["url"], "memory": settings.memory.params["url"],
            "tools.breaker": settings.tools.breaker.url,
            "vector_store": settings.vector_store.params["url"],
            "order_status": settings.tools.settings["order_status"]["base_url"]}
    svc = services(compose)
    for part, url in urls.items():
        host, port = re.match(r"\w+://([\w.-]+):(\d+)", url).groups()
        assert host in svc, f"config/stack.yaml {part} points at {host}, not a compose service"
        assert port in " ".join(map(str, svc[host]["healthcheck"]["test"])) or host == "redis", \
            f"{part}: {host} is probed on another port than {port}"
    for name in ("app", "watcher", "indexer"):
        targets = {str(v).split(":")[1] for v in svc[name]["volumes"]}
        assert {str(settings.paths.knowledge), str(settings.paths.index), "/app/plugins"} <= targets, name
        assert svc[name]["command"][:2] == ["--config", "config/stack.yaml"]
    assert "/data/state" in {str(v).split(":")[1] for v in svc["app"]["volumes"]}
    for name in ("app", "indexer"):  # both reach the keyword index in postgres
        assert "@postgres:5432/" in svc[name]["environment"]["KL_DATABASE_URL"], name


def test_the_proxy_spreads_requests_over_the_app_replicas_and_streams(compose):
    caddy = need("caddy", "caddy")
    proxy = services(compose)["proxy"]
    mounts = {str(v).split(":")[1]: str(v).split(":")[0] for v in proxy["volumes"]}
    caddyfile = ROOT / "config" / "Caddyfile"
    assert Path(mounts["/etc/caddy/Caddyfile"]).resolve() == caddyfile.resolve()
    result = subprocess.run([caddy, "validate", "--config", str(caddyfile), "--adapter", "caddyfile"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    text = caddyfile.read_text()
    assert "dynamic a {$KL_APP_HOST:app} {$KL_APP_PORT:8080}" in text  # every replica behind the service name
    # uvicorn takes the customer's address from the proxy's X-Forwarded-For (per-client rate limits)
    assert services(compose)["app"]["environment"]["FORWARDED_ALLOW_IPS"] == "*" and "trusted_proxies" not in text
    assert "flush_interval -1" in text and "lb_try_duration" in text


def test_qdrant_healthcheck_speaks_http_to_readyz(compose, tmp_path):
    """The qdrant image has bash but no curl/wget: the /dev/tcp probe must pass on 200 only."""
    need("bash", "bash")
    script = [part.replace("$$", "$") for part in services(compose)["qdrant"]["healthcheck"]["test"]]  # compose's escape
    assert script[:3] == ["CMD", "bash", "-c"] and "/readyz" in script[3]
    server = tmp_path / "readyz.py"
    server.write_text(
        "import http.server, sys\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        self.send_response(int(sys.argv[2]) if self.path == '/readyz' else 404); self.end_headers()\n"
        "    def log_message(self, *a): pass\n"
        "http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()\n")
    results = {}
    for status in (200, 503):
        port = free_port()
        proc = subprocess.Popen([sys.executable, str(server), str(port), str(status)])
        try:
            wait_until(lambda: _connects(port), 10, what="the stand-in /readyz server")
            probe = script[3].replace("/6333", f"/{port}")
            results[status] = subprocess.run(["bash", "-c", probe], capture_output=True, timeout=10).returncode
        finally:
            proc.terminate()
            proc.wait(10)
    closed = subprocess.run(["bash", "-c", script[3].replace("/6333", f"/{free_port()}")], capture_output=True, timeout=10)
    assert results == {200: 0, 503: 1} and closed.returncode != 0


def _connects(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


# ---- Dockerfile --------------------------------------------------------------------------------------

def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def test_dockerfile_builds_one_slim_cpu_image_run_as_non_root():
    steps = dockerfile_instructions()
    text = (ROOT / "Dockerfile").read_text()
    froms = [arg for op, arg in steps if op == "FROM"]
    assert len(froms) >= 2 and re.search(r"PYTHON_IMAGE=python:3\.11-slim", text), "multi-stage, python:3.11-slim"
    args = dict(arg.split("=", 1) if "=" in arg else (arg, None) for op, arg in steps if op == "ARG")
    # Package sources are build arguments whose defaults work on any Docker host.
    assert args["PIP_INDEX_URL"] == "https://pypi.org/simple" and args["TORCH_INDEX_URL"] == "https://download.pytorch.org/whl/cpu"
    assert args["PIP_EXTRA_INDEX_URL"] == args["PIP_FIND_LINKS"] == args["PIP_CERT"] == ""
    runs = " ".join(arg for op, arg in steps if op == "RUN")
    assert '"torch==2.13.0+cpu"' in runs and "-c constraints.txt -r requirements.txt" in runs
    for package in ("fonts-noto-cjk", "tesseract-ocr", "tesseract-ocr-chi-sim"):
        assert re.search(rf"apt-get install [^&]*\b{package}\b", runs), f"the runtime image lacks {package}"
    health = [arg for op, arg in steps if op == "HEALTHCHECK"]
    assert len(health) == 1 and "/api/ready" in health[0] and "KL_PORT" in health[0]
    command = [json.loads(arg) for op, arg in steps if op == "CMD"][-1]
    assert _kl_accepts(command) and command[command.index("--config") + 1] == "config/stack.yaml"
    users = [arg for op, arg in steps if op == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), "the runtime user must not be root"
    assert [json.loads(arg) for op, arg in steps if op == "ENTRYPOINT"] == [["kl"]]
    env = " ".join(arg for op, arg in steps if op == "ENV")
    for setting in ("HF_HUB_OFFLINE=1", "LITELLM_LOCAL_MODEL_COST_MAP=True", "GRADIO_ANALYTICS_ENABLED=False"):
        assert setting in env
    ignored = [p for p in (ROOT / ".dockerignore").read_text().split() if not p.startswith(("#", "!"))]
    assert {".git", "data/knowledge", "data/index", "**/__pycache__", ".env"} <= set(ignored)
    for op, arg in steps:
        if op == "COPY" and "--from=" not in arg:
            sources = [a for a in arg.split() if not a.startswith("--")][:-1]
            for source in sources:
                assert (ROOT / source).exists(), f"Dockerfile copies {source}, which does not exist"
                assert not any(source == p or source.startswith(p.rstrip("/") + "/") for p in ignored), \
                    f".dockerignore excludes {source}, which the Dockerfile copies"


def test_the_image_installs_every_module_the_code_imports():
    """The image installs only what pyproject.toml declares (and their dependencies)."""
    from importlib.metadata import PackageNotFoundError, distribution, packages_distributions

    import tomllib

    def norm(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    closure, todo = set(), [re.match(r"[A-Za-z0-9_.-]+", d)[0] for d in declared]
    while todo:
        name = norm(todo.pop())
        if name in closure:
            continue
        closure.add(name)
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError:
            continue
        todo += [re.match(r"[A-Za-z0-9_.-]+", r)[0] for r in requires if "extra ==" not in r]
    owners = packages_distributions()
    missing = {}
    for path in [*(ROOT / "kotaemon_like").rglob("*.py"), *(ROOT / "plugins").glob("*.py")]:
        if path.name == "testing.py":  # shipped conformance suites run under pytest (the `test` extra), not in the image
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            for top in {n.split(".")[0] for n in names}:
                if top in sys.stdlib_module_names or top in ("kotaemon_like", "__future__"):
                    continue
                dists = {norm(d) for d in owners.get(top, [])}
                if not dists & closure:
                    missing.setdefault(top, str(path.relative_to(ROOT)))
    assert not missing, f"imported but not installed by `pip install .` (add to pyproject.toml dependencies): {missing}"


# ---- Prometheus and Grafana files --------------------------------------------------------------------

def test_promtool_accepts_the_prometheus_config():
    promtool = need("promtool", "prometheus")
    result = subprocess.run([promtool, "check", "config", str(PROMETHEUS_CONFIG)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_scrapes_what_compose_runs(compose):
    jobs = {job["job_name"]: job for job in yaml.safe_load(PROMETHEUS_CONFIG.read_text())["scrape_configs"]}
    svc = services(compose)
    app_sd = jobs["app"]["dns_sd_configs"][0]  # every app replica is scraped
    assert app_sd == {**app_sd, "names": ["app"], "type": "A", "port": 8080} and "8080" in svc["app"]["command"]
    assert jobs["watcher"]["static_configs"][0]["targets"] == ["watcher:9101"] and "9101" in svc["watcher"]["command"]
    sd = jobs["indexer"]["dns_sd_configs"][0]
    assert sd == {**sd, "names": ["indexer"], "type": "A", "port": 9102} and "9102" in svc["indexer"]["command"]


def dashboard_queries() -> list[tuple[str, str]]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [(p["title"], t["expr"]) for p in panels if p["type"] != "row" for t in p["targets"]]


def test_grafana_is_provisioned_with_the_datasource_and_the_dashboard(compose):
    datasource = yaml.safe_load((ROOT / "grafana/provisioning/datasources/prometheus.yml").read_text())["datasources"][0]
    provider = yaml.safe_load((ROOT / "grafana/provisioning/dashboards/provider.yml").read_text())["providers"][0]
    grafana = services(compose)["grafana"]
    mounts = {str(v).split(":")[1]: str(v).split(":")[0] for v in grafana["volumes"]}
    assert Path(mounts[provider["options"]["path"]]) == ROOT / "grafana" / "dashboards"
    assert Path(mounts["/etc/grafana/provisioning"]) == ROOT / "grafana" / "provisioning"
    assert datasource["url"] == "http://prometheus:9090" and datasource["type"] == "prometheus"
    env = grafana["environment"]
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "true" and env["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    assert env["GF_SECURITY_ADMIN_PASSWORD"] == TEST_PASSWORD  # from the env file, nowhere else
    home = env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (ROOT / "grafana" / "dashboards" / Path(home).name).is_file() and home.startswith(provider["options"]["path"])

    from kotaemon_like import metrics  # noqa: F401  (registers every metric)
    from prometheus_client import REGISTRY

    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    known = {m.name + s for m in REGISTRY.collect() for s in suffixes.get(m.type, ("",))} | {"up"}
    jobs = {job["job_name"] for job in yaml.safe_load(PROMETHEUS_CONFIG.read_text())["scrape_configs"]}
    panels = [p for p in json.loads(DASHBOARD.read_text())["panels"] if p["type"] != "row"]
    assert panels and all(p["targets"] and p["datasource"]["uid"] == datasource["uid"] for p in panels)
    for title, expr in dashboard_queries():
        names = set(re.findall(r"\b(kl_\w+|up)\s*[{\[(]", expr))
        assert names and names <= known, f"{title}: unknown metric in {expr}"
        assert set(re.findall(r'job=~?"([\w|]+)"', expr)) <= jobs | {"app|watcher|indexer"}, title
    titles = " ".join(p["title"] for p in panels).lower()
    for topic in ("chat requests", "latency", "generator", "i don't know", "plugin", "breaker", "queue", "dead letters",
                  "freshness", "documents", "chunks"):
        assert topic in titles, f"no panel about {topic}"


# ---- the rehearsal: the stack's own processes, in compose's order, gated by its healthchecks ---------

# `kl` exactly as compose runs it, except that a worker's or watcher's metrics server listens on
# 127.0.0.1 instead of all interfaces (inside a container 0.0.0.0 is right; on a test machine it is not).
BOOT = (  # SIGUSR1 prints every thread's stack into the service's log (`Rehearsal.stacks`)
    "import faulthandler, functools, signal, sys, kotaemon_like.metrics as m; "
    "faulthandler.register(signal.SIGUSR1, all_threads=True); "
    "m.serve_metrics = functools.partial(m.serve_metrics, host='127.0.0.1'); "
    "from kotaemon_like.cli import main; sys.exit(main(sys.argv[1:]))"
)
CONTAINER_PORTS = {"app": 8080, "watcher": 9101, "indexer": 9102, "orders": 8081}


class Rehearsal:
    """The stack's processes on loopback; `stop` ends every one of them.

    `replicas` runs more than one process of a service (`{"app": 2}`: instances `app` and `app-2`), as
    `docker compose up --scale app=2` would; the conversation store and keyword index are in `database_url`.
    """

    def __init__(self, folder: Path, compose: dict, database_url: str, replicas: dict[str, int] | None = None):
        self.folder, self.compose, self.database_url = folder, compose, database_url
        self.knowledge, self.index, self.tenants, self.state = (folder / d for d in ("knowledge", "index", "tenants", "state"))
        for d in (self.knowledge, self.index, self.tenants, self.state):
            d.mkdir()
        self.instances = {name if i == 1 else f"{name}-{i}": name for name in CONTAINER_PORTS
                          for i in range(1, (replicas or {}).get(name, 1) + 1)}
        self.ports = {name: free_port() for name in self.instances}
        self.procs: dict[str, subprocess.Popen] = {}
        self.redis = RedisServer(folder)
        self.config = self._override()

    def _override(self) -> Path:
        config = yaml.safe_load((ROOT / "config" / "stack.yaml").read_text())
        # qdrant-client's local mode lets one process open a folder, and app and indexer are two
        # processes: the rehearsal keeps the vectors in the FAISS store instead, which is shared across
        # processes by design (workers write under the queue's lock, readers reload on change).
        # Everything else is config/stack.yaml as the stack runs it (bar a shorter settle time).
        config["vector_store"] = {"type": "faiss"}
        config["watcher"]["quiet_s"] = 0.3
        path = self.folder / "stack-rehearsal.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def env(self, name: str) -> dict[str, str]:
        """The service's environment from compose.yaml, with service addresses turned into loopback ones."""
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "LITELLM_LOCAL_MODEL_COST_MAP": "True",
               "GRADIO_ANALYTICS_ENABLED": "False", "TOKENIZERS_PARALLELISM": "false"}
        for key, value in (self.compose["services"][self.instances[name]].get("environment") or {}).items():
            env[key] = "" if value is None else str(value)
        env.update({"REDIS_URL": self.redis.url, "ORDERS_URL": self.url("orders"), "KL_KNOWLEDGE_DIR": str(self.knowledge),
                    "KL_INDEX_DIR": str(self.index), "KL_TENANTS_DIR": str(self.tenants), "KL_STATE_DIR": str(self.state), "KL_PLUGINS_DIR": str(ROOT / "plugins"),
                    "ORDERS_DATA": str(ROOT / "data" / "orders.json"), "KL_API_KEY": ""})
        if "KL_DATABASE_URL" in env:  # conversations and the keyword index: a PostgreSQL server on loopback
            env["KL_DATABASE_URL"] = self.database_url
        env.pop("QDRANT_URL", None)
        return env

    def command(self, name: str) -> list[str]:
        args = [str(a) for a in self.compose["services"][self.instances[name]]["command"]]
        port = str(CONTAINER_PORTS[self.instances[name]])
        args = [str(self.ports[name]) if a == port else "127.0.0.1" if a == "0.0.0.0" else a for a in args]
        args = [str(self.config) if a == "config/stack.yaml" else a for a in args]
        assert str(self.ports[name]) in args, f"{name}: compose's command does not name port {port}"
        assert _kl_accepts(args), f"{name}: the kl CLI rejects {args}"
        return [sys.executable, "-c", BOOT, *args]

    def healthcheck(self, name: str) -> list[str]:
        """The healthcheck compose.yaml declares for `name`, pointed at this rehearsal's port."""
        service = self.instances.get(name, name)
        test = [str(t).replace("$$", "$") for t in self.compose["services"][service]["healthcheck"]["test"]]  # compose's escape
        if name == "redis":
            assert test[0] == "CMD-SHELL" and "redis-cli ping" in test[1]
            return ["sh", "-c", test[1].replace("redis-cli", f"redis-cli -h 127.0.0.1 -p {self.redis.port}")]
        assert test[0] == "CMD" and test[1] == "python", f"{name}: expected a python urllib healthcheck"
        container = f"127.0.0.1:{CONTAINER_PORTS[service]}/"
        assert container in test[3], f"{name}: the healthcheck does not probe {container}"
        return [sys.executable, test[2], test[3].replace(container, f"127.0.0.1:{self.ports[name]}/")]

    def healthy(self, name: str) -> bool:
        if name in self.procs and self.procs[name].poll() is not None:
            raise AssertionError(f"{name} exited with {self.procs[name].returncode}:\n{self.log(name)}")
        try:
            return subprocess.run(self.healthcheck(name), capture_output=True, timeout=10).returncode == 0
        except subprocess.TimeoutExpired:  # as in compose: a check that times out failed, and is tried again
            return False

    def start(self, name: str) -> None:
        log = open(self.folder / f"{name}.log", "wb")
        self.procs[name] = subprocess.Popen(self.command(name), cwd=ROOT, env=self.env(name), stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    def log(self, name: str, tail: int = 4000) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""

    def stacks(self, name: str, tail: int = 12000) -> str:
        """What every thread of `name` is doing now (for a failure message): its log after a stack dump."""
        proc = self.procs.get(name)
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGUSR1)
            time.sleep(1)
        return f"--- {name}:\n{self.log(name, tail)}"

    def up(self, timeout_s: float = 420) -> None:
        """Start each service once everything it depends on passes its healthcheck, as compose does."""
        need("redis-server", "redis-server")
        need("redis-cli", "redis-server")
        self.redis.start()
        # qdrant: the FAISS folder stands in for it (see _override); postgres: the server behind database_url
        healthy = {"redis", "qdrant", "postgres"}
        wait_until(lambda: self.healthy("redis"), 20, what="redis healthcheck")
        pending = set(self.instances)
        deadline = time.monotonic() + timeout_s
        while pending:
            for name in sorted(pending):
                deps = set(self.compose["services"][self.instances[name]].get("depends_on") or {})
                if name not in self.procs and deps <= healthy:
                    self.start(name)
                if name in self.procs and self.healthy(name):
                    pending.discard(name)
                    if not any(self.instances[p] == self.instances[name] for p in pending):
                        healthy.add(self.instances[name])  # compose waits for every replica of a service
            assert time.monotonic() < deadline, "not healthy in time: " + "; ".join(
                f"{n}:\n{self.log(n, 1500)}" for n in sorted(pending))
            time.sleep(1)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        self.redis.stop()


@pytest.fixture(scope="module")
def stack(compose, tmp_path_factory, postgres_server):
    rehearsal = Rehearsal(tmp_path_factory.mktemp("stack"), compose, postgres_server.create_database())
    try:
        rehearsal.up()
        yield rehearsal
    finally:
        rehearsal.stop()


def chat(stack: Rehearsal, message: str) -> dict:
    response = httpx.post(f"{stack.url('app')}/api/chat", json={"message": message, "stream": False}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def indexed(stack: Rehearsal, name: str):
    documents = httpx.get(f"{stack.url('app')}/api/documents", timeout=10).json()["documents"]
    return next((d for d in documents if d["name"] == name and d["status"] == "indexed"), None)


@pytest.mark.slow
@pytest.mark.shared_data
def test_rehearsed_stack_answers_from_a_dropped_pdf_with_a_citation(stack):
    name = "federal-register-2020-17221.pdf"
    partial = stack.knowledge / (name + ".part")  # copied under a temporary name, then renamed, like a download
    shutil.copy(PDFS / name, partial)
    partial.rename(stack.knowledge / name)
    document = wait_until(lambda: indexed(stack, name), 120, every_s=0.5, what=f"{name} indexed by the indexer process")
    assert document["chunks"] > 10
    body = chat(stack, "How many flight control computers does the 737 MAX have?")
    assert body["done"]["answered"], body
    assert body["answer"].strip()
    cited = [c for c in body["citations"] if c["source"] == name]
    assert cited and all(isinstance(c["page"], int) and 1 <= c["page"] <= 15 for c in cited), body["citations"]
    ready = httpx.get(f"{stack.url('app')}/api/ready", timeout=10).json()
    assert ready["ready"] and ready["chunks"] >= document["chunks"]


# ---- Prometheus for real -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def prometheus(stack, tmp_path_factory):
    """Debian's prometheus scraping the rehearsal every second, with config/prometheus.yml's job names."""
    binary = need("prometheus", "prometheus")
    folder = tmp_path_factory.mktemp("prometheus")
    port = free_port()
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    config["global"] = {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"}
    local = {"app": stack.ports["app"], "watcher": stack.ports["watcher"], "indexer": stack.ports["indexer"], "prometheus": port}
    for job in config["scrape_configs"]:
        job.pop("dns_sd_configs", None)  # the app and indexer replicas' DNS names: here, one local process each
        job["static_configs"] = [{"targets": [f"127.0.0.1:{local[job['job_name']]}"]}]
    path = folder / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    log = open(folder / "prometheus.log", "wb")
    proc = subprocess.Popen([binary, f"--config.file={path}", f"--storage.tsdb.path={folder / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def targets_up():
        assert proc.poll() is None, (folder / "prometheus.log").read_text()[-2000:]
        try:
            active = httpx.get(f"{url}/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
        except (httpx.HTTPError, ValueError):  # ValueError: a starting Prometheus answers with a non-JSON body
            return False
        return len(active) == len(local) and all(t["health"] == "up" for t in active)

    try:
        wait_until(targets_up, 60, every_s=0.5, what="prometheus targets up")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def query(url: str, expr: str) -> list[dict]:
    body = httpx.get(f"{url}/api/v1/query", params={"query": expr}, timeout=10).json()
    assert body["status"] == "success", f"{expr}: {body}"
    return body["data"]["result"]


@pytest.mark.slow
def test_every_dashboard_query_returns_data(stack, prometheus):
    orders = stack.url("orders")

    def faults(rate: float) -> None:
        httpx.post(f"{orders}/admin/faults", json={"failure_rate": rate}, timeout=5).raise_for_status()

    # Rounds of traffic, each seen by at least one scrape, so every counter *increases* after Prometheus
    # first saw it (rate() of a series that appeared at its final value is 0). The orders service
    # succeeds, then fails three times (the breaker opens), then the breaker skips the plugin.
    plan = [0.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    try:
        for round_no, failure_rate in enumerate(plan):
            if round_no in (0, 2):  # an ingest: the watcher's event, the indexer's job, freshness
                note = f"support-hours-{round_no}.md"
                (stack.knowledge / note).write_text("The support desk opens at 8 am and closes at 6 pm on weekdays.\n")
                wait_until(lambda: indexed(stack, note), 60, every_s=0.3, what=f"{note} indexed")
            faults(failure_rate)
            assert chat(stack, "When does the support desk open?")["citations"]
            assert not chat(stack, "Do you sell gift cards for the ski resort in Patagonia?")["done"]["answered"]
            chat(stack, "Where is my order 12345?")
            time.sleep(2.5)
    finally:
        faults(0.0)
    time.sleep(2)

    empty = []
    for title, expr in dashboard_queries():
        concrete = expr.replace("$__rate_interval", "1m").replace("$__range", "10m")
        values = [float(r["value"][1]) for r in query(prometheus, concrete)]
        if not any(v == v for v in values):  # no series, or only NaN (a quantile of nothing)
            empty.append(f"{title}: {concrete} -> {values}")
    assert not empty, "dashboard queries without data:\n" + "\n".join(empty)
    stages = {r["metric"]["stage"] for r in query(prometheus, 'sum by (stage) (kl_chat_stage_seconds_count{job="app"})')}
    assert stages == {"retrieval", "first_token", "total"}
    breakers = {r["metric"]["plugin"]: float(r["value"][1]) for r in query(prometheus, "kl_tool_breaker_state")}
    assert breakers.get("order_status") == 1.0, f"the order_status breaker should show open: {breakers}"
