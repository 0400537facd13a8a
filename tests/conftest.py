"""Shared fixtures: the real evaluation data, the bundled embedder, and config files in temp folders."""

from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KL_SHARED_DATA", ROOT.parent / "shared" / "data"))
PDFS = SHARED / "pdfs"


def pytest_collection_modifyitems(config, items):
    if not SHARED.is_dir():
        raise pytest.UsageError(f"evaluation data not found at {SHARED}; set KL_SHARED_DATA")


@pytest.fixture(scope="session")
def pdfs() -> Path:
    return PDFS


@pytest.fixture(scope="session")
def embedder():
    from kotaemon_like.embedders import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
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
    target = folder / (as_name or name)
    shutil.copy(PDFS / name, target)
    return target
