"""Shared fixtures: small generated PDFs, the evaluation data when present, the bundled embedder, config files.

Tests that need the evaluation data (`../shared/data`, or $KL_SHARED_DATA) are marked `shared_data` (or ask
for the `pdfs` fixture) and skip with one line when it is absent; everything else runs on a fresh clone.
"""

from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KL_SHARED_DATA", ROOT.parent / "shared" / "data"))
PDFS = SHARED / "pdfs"


NO_SHARED_DATA = f"evaluation data not found at {SHARED} (set KL_SHARED_DATA to run this test)"


def pytest_configure(config):
    config.addinivalue_line("markers", "shared_data: needs the evaluation data in ../shared/data or $KL_SHARED_DATA")


def pytest_collection_modifyitems(config, items):
    if PDFS.is_dir():
        return
    skip = pytest.mark.skip(reason=NO_SHARED_DATA)
    for item in items:
        if "shared_data" in item.keywords or "pdfs" in getattr(item, "fixturenames", ()):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def pdfs() -> Path:
    """The evaluation PDFs (the test is skipped when they are absent)."""
    return PDFS


@pytest.fixture(scope="session")
def sample_pdfs(tmp_path_factory) -> Path:
    """A folder of small PDFs generated for the tests (see tests/sample_pdfs.py)."""
    from .sample_pdfs import write_all

    return write_all(tmp_path_factory.mktemp("sample-pdfs"))


@pytest.fixture(scope="session")
def embedder():
    from kotaemon_like.embedders import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def default_model_exported() -> None:
    """The default embedder's ONNX model, exported before any test starts a `kl` process.

    The export is cached per machine (~/.cache/kotaemon_like/onnx); on a fresh one it takes 15-130 s
    (2 busy cores), which must neither count against one test's timeouts nor run in several processes at once."""
    from kotaemon_like import registry
    from kotaemon_like.embedders import SentenceTransformerEmbedder, export_onnx, resolve_model

    spec = registry.load(ROOT / "config" / "default.yaml").embedder
    if spec.type != "sentence_transformers":
        return
    params = SentenceTransformerEmbedder.Params(**spec.params)
    if params.backend.startswith("onnx"):
        export_onnx(resolve_model(params.model), quantize=params.backend == "onnx-int8", cache_dir=params.cache_dir,
                    label=Path(params.model).name)
    routing_vectors()


def routing_vectors() -> None:
    """The request classifier's vectors of plugins/requests.jsonl, embedded into the machine's cache once, before
    any test starts a `kl` process: on a fresh machine every app process would otherwise embed its ~2000
    messages at the same time (~40 s of CPU each)."""
    from kotaemon_like.config import ToolsSettings
    from kotaemon_like.tools import Toolbox

    with Toolbox(ToolsSettings(folder=ROOT / "plugins", reload=False), entry_points=False, watch=False) as box:
        box.warm_up()


@pytest.fixture
def workdir(tmp_path: Path, default_model_exported) -> Path:
    """A folder laid out like a project: data/knowledge, data/index, config/."""
    (tmp_path / "data" / "knowledge").mkdir(parents=True)
    (tmp_path / "config").mkdir()
    return tmp_path


def write_config(workdir: Path, extra: str = "", name: str = "test.yaml") -> Path:
    """A config based on config/default.yaml with paths in `workdir` and `extra` YAML sections replacing defaults."""
    import yaml

    base = yaml.safe_load((ROOT / "config" / "default.yaml").read_text())
    base["paths"] = {"knowledge": str(workdir / "data" / "knowledge"), "index": str(workdir / "data" / "index")}
    if extra:
        base.update(yaml.safe_load(textwrap.dedent(extra)))
    path = workdir / "config" / name
    path.write_text(yaml.safe_dump(base, allow_unicode=True))
    return path


def copy_pdf(name: str, folder: Path, as_name: str | None = None) -> Path:
    """Copy one evaluation PDF into `folder`; skips the test when the evaluation data is absent."""
    if not PDFS.is_dir():
        pytest.skip(NO_SHARED_DATA)
    target = folder / (as_name or name)
    shutil.copy(PDFS / name, target)
    return target


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout_s: float = 30.0, every_s: float = 0.1, what: str = "condition"):
    """Poll `predicate` until it returns something truthy; fail the test after `timeout_s`."""
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


class RedisServer:
    """A real redis-server on a free 127.0.0.1 port, restartable on the same port."""

    def __init__(self, folder: Path):
        self.folder, self.port, self.proc = folder, free_port(), None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import subprocess

        import redis

        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder), "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        wait_until(lambda: _pings(client), 10, what="redis-server to start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def _pings(client) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


@pytest.fixture
def redis_server(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed; `bash scripts/test.sh` installs it")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()
